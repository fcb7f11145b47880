"""Shared fixtures: settings for tests, and the throwaway Postgres database of this run."""

from __future__ import annotations

import os

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
    from tests.support.database import throwaway_database

    with throwaway_database(database_server) as url:
        yield url
