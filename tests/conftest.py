"""Shared fixtures: settings for tests, and the throwaway Postgres database of this run."""

from __future__ import annotations

import os
import uuid

import pytest

from app import logs

logs.configure(level=os.environ.get("HOTLINE_TEST_LOG_LEVEL", "INFO"))


@pytest.fixture(scope="session")
def database_server() -> str:
    """A PostgreSQL server: HOTLINE_DATABASE_URL, else 127.0.0.1:5432, else a private cluster."""
    from stack import postgres

    server, _ = postgres.server_url()
    return server


@pytest.fixture(scope="session")
def database_url(database_server: str):
    """A throwaway database for this test run, migrated to head, dropped at the end."""
    import subprocess
    import sys

    from stack import paths, postgres

    name = f"hotline_test_{uuid.uuid4().hex[:10]}"
    url = postgres.ensure_database(database_server, name, fresh=True)
    subprocess.run([sys.executable, "-m", "alembic", "upgrade", "head"], cwd=paths.REPO,
                   env={**os.environ, "HOTLINE_DATABASE_URL": url}, check=True,
                   capture_output=True)
    yield url
    postgres.drop_database(database_server, name)
