"""A throwaway Postgres database: created on a server, migrated to head, dropped afterwards."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def throwaway_database(server: str, prefix: str = "hotline_test") -> Iterator[str]:
    """The new database's URL (named `prefix_` and random hex), dropped when the block ends."""
    from stack import paths, postgres

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    url = postgres.ensure_database(server, name, fresh=True)
    try:
        subprocess.run([sys.executable, "-m", "alembic", "upgrade", "head"], cwd=paths.REPO,
                       env={**os.environ, "HOTLINE_DATABASE_URL": url}, check=True,
                       capture_output=True)
        yield url
    finally:
        postgres.drop_database(server, name)
