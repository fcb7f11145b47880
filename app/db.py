"""Database plumbing: the declarative base, engine and session factory, and the schema check.

Every access is bounded (R21, #15): `make_engine` sets asyncpg's connect and command timeouts,
the server's statement, lock and idle-in-transaction timeouts and the pool's wait, so a hung
or partitioned Postgres makes a query fail within seconds instead of hanging whoever awaits it.
The service runs two engines: one with the short limits for calls, the ACD and the API, and
one with long statement limits (`Settings.db_long_timeouts`, a small pool) for the reports and
the background jobs (rollups, retention, QA sampling) and the command-line tools. Migrations
(`migrations/env.py`) build their own engine with no statement limit."""

from __future__ import annotations

import asyncio
from pathlib import Path

import structlog
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import MetaData, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase

from app.config import DbTimeouts

log = structlog.get_logger(__name__)
ROOT = Path(__file__).resolve().parent.parent

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def make_engine(url: str, timeouts: DbTimeouts | None = None, *, pool_size: int = 10,
                max_overflow: int = 20) -> AsyncEngine:
    """An engine whose every access is bounded (R21): connecting, each statement on the client
    and on the server, lock waits, a transaction left idle and the wait for a pooled
    connection (`DbTimeouts`, defaults when not given). A pooled connection is pinged before
    use, so one that a failover or a partition broke is replaced rather than handed out."""
    t = timeouts or DbTimeouts()
    server_settings = {  # milliseconds, as Postgres reads a bare number
        "statement_timeout": str(round(t.statement * 1000)),
        "lock_timeout": str(round(t.lock * 1000)),
        "idle_in_transaction_session_timeout": str(round(t.idle_in_transaction * 1000)),
    }
    return create_async_engine(
        url, pool_size=pool_size, max_overflow=max_overflow, pool_pre_ping=True,
        hide_parameters=True,  # R20 (#20): an error's message never carries customers' data
        pool_timeout=t.pool,
        connect_args={"timeout": t.connect, "command_timeout": t.command,
                      "server_settings": server_settings})


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def alembic_config(url: str | None = None) -> Config:
    cfg = Config(str(ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(ROOT / "migrations"))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def head_revisions() -> set[str]:
    return set(ScriptDirectory.from_config(alembic_config()).get_heads())


async def current_revisions(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        return await conn.run_sync(lambda sync: set(MigrationContext.configure(sync).get_current_heads()))


class SchemaBehind(RuntimeError):
    pass


async def check_schema(engine: AsyncEngine) -> None:
    """Refuse to run on a schema that is behind the migrations in this checkout."""
    current, heads = await current_revisions(engine), head_revisions()
    if current != heads:
        raise SchemaBehind(
            f"database schema is at {sorted(current) or 'nothing'}, this code needs {sorted(heads)}: "
            "run `alembic upgrade head` (make up does it)"
        )


async def wait_for_database(engine: AsyncEngine, *, timeout: float = 30.0) -> None:
    """Wait until the database answers (it may still be starting)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            return
        except Exception as exc:  # noqa: BLE001 - any failure means "not yet"
            if asyncio.get_running_loop().time() > deadline:
                raise
            log.info("db.waiting", error=repr(exc))
            await asyncio.sleep(1)
