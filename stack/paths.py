"""Where the stack keeps things: a cache outside the repo (reused across clones) and a state dir."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def cache_dir() -> Path:
    """The cache for slow-to-build things (the Asterisk root); `HOTLINE_CACHE_DIR` overrides it."""
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "hotline"
    return Path(os.environ.get("HOTLINE_CACHE_DIR", default))


def asterisk_root() -> Path:
    """The Debian sid root that Asterisk runs in; `HOTLINE_ASTERISK_ROOT` overrides it."""
    return Path(os.environ.get("HOTLINE_ASTERISK_ROOT", cache_dir() / "asterisk-root"))


def state_dir() -> Path:
    """Per-checkout run state: generated secrets, pid files and logs of a running stack."""
    return Path(os.environ.get("HOTLINE_STATE_DIR", REPO / "var"))
