"""py-spy for the benchmark only: found on PATH or in a cache venv of its own, installed there
from PyPI on first use; never in the product's lock. Without it the benchmark runs unprofiled."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from stack import paths

VENV = paths.cache_dir() / "bench-tools"


def find_py_spy() -> str | None:
    """py-spy's path, installing it into the bench venv if needed; None if that fails."""
    found = shutil.which("py-spy") or (str(VENV / "bin/py-spy") if (VENV / "bin/py-spy").exists()
                                       else None)
    if found:
        return found
    try:
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(VENV / "bin/pip"), "install", "-q", "py-spy"], check=True)
    except (subprocess.CalledProcessError, OSError) as exc:
        print(f"py-spy unavailable ({exc}); running without the profile", flush=True)
        return None
    return str(VENV / "bin/py-spy")


class PySpy:
    """`py-spy record` of one process while a side runs: a flame graph at `out` (`.svg`), or
    collapsed stacks (any other suffix, e.g. `.txt`: one line per stack with its samples)."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.proc: subprocess.Popen | None = None

    def start(self, pid: int) -> None:
        exe = find_py_spy()
        if exe is None:
            return
        self.proc = subprocess.Popen([exe, "record", "--pid", str(pid), "--output", str(self.out),
                                      "--rate", "200", "--nonblocking",
                                      "--format", "flamegraph" if self.out.suffix == ".svg"
                                      else "raw"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(2)  # SIGINT: py-spy writes the graph and exits
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
