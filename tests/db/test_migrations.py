"""Migrations: the models and the migrations agree; down and up again work; a schema that is
behind is refused at start."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid

import pytest

from app.db import SchemaBehind, check_schema, make_engine
from stack import paths, postgres


def _alembic(url: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "alembic", *args], cwd=paths.REPO,
                          env={**os.environ, "HOTLINE_DATABASE_URL": url},
                          capture_output=True, text=True)


@pytest.fixture
def scratch_url(database_server: str):
    name = f"hotline_mig_{uuid.uuid4().hex[:8]}"
    url = postgres.ensure_database(database_server, name, fresh=True)
    yield url
    postgres.drop_database(database_server, name)


def test_models_match_the_migrations(database_url: str):
    result = _alembic(database_url, "check")
    assert result.returncode == 0, result.stderr + result.stdout


async def test_schema_behind_is_refused_and_head_is_accepted(scratch_url: str):
    engine = make_engine(scratch_url)
    try:
        with pytest.raises(SchemaBehind, match="alembic upgrade head"):
            await check_schema(engine)
        result = await asyncio.to_thread(_alembic, scratch_url, "upgrade", "head")
        assert result.returncode == 0, result.stderr
        await check_schema(engine)
        down = await asyncio.to_thread(_alembic, scratch_url, "downgrade", "base")
        assert down.returncode == 0, down.stderr
        with pytest.raises(SchemaBehind):
            await check_schema(engine)
    finally:
        await engine.dispose()
