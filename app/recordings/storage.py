"""Where recordings are kept (R16): our own storage, never Asterisk's disk.

`Storage` is what the recording service needs: put bytes under a relative key, delete a key
(missing is fine), and a local file to serve (with HTTP ranges). `LocalStorage` keeps the files
in a directory (`HOTLINE_STORAGE_DIR` by default); another backend (an object store) would
implement the same three calls.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path, PurePosixPath
from typing import Protocol


class BadKey(ValueError):
    """A key that would leave the storage root (absolute, `..`, empty parts)."""


class Storage(Protocol):
    async def put(self, key: str, data: bytes) -> None: ...

    async def delete(self, key: str) -> bool: ...

    def local_path(self, key: str) -> Path | None: ...


def check_key(key: str) -> PurePosixPath:
    """A relative, normalised key: `recordings/2026/11/23/x.wav`."""
    parts = key.split("/")
    if (not key or key.startswith("/") or any(part in ("", ".", "..") for part in parts)
            or "\\" in key or "\0" in key):
        raise BadKey(f"not a storage key: {key!r}")
    return PurePosixPath(*parts)


class LocalStorage:
    """Files under `root`; a write goes to a `.part` file first and is renamed into place, so a
    reader never sees half a file and a crash leaves no partial recording under its name."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*check_key(key).parts)

    async def put(self, key: str, data: bytes) -> None:
        await asyncio.to_thread(_write, self._path(key), data)

    async def delete(self, key: str) -> bool:
        """Remove the file; False if it was not there (already deleted: fine)."""
        path = self._path(key)
        try:
            await asyncio.to_thread(path.unlink)
        except FileNotFoundError:
            return False
        return True

    def local_path(self, key: str) -> Path | None:
        """The file to serve, if it exists."""
        path = self._path(key)
        return path if path.is_file() else None


def _write(target: Path, data: bytes) -> None:
    """R20 (#20): directories 0700 and the file 0600 from its creation (no window)."""
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with open(fd, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    partial.replace(target)
