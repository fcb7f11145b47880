"""Alembic environment: async engine on HOTLINE_DATABASE_URL (or sqlalchemy.url if set)."""

from __future__ import annotations

import asyncio
import os
from logging.config import fileConfig

from alembic import context
from sqlalchemy.ext.asyncio import create_async_engine

from app.audit import models as _audit  # noqa: F401 - register tables
from app.auth import models as _auth  # noqa: F401
from app.callbacks import models as _callbacks  # noqa: F401
from app.calls import models as _calls  # noqa: F401
from app.complaints import models as _complaints  # noqa: F401
from app.customers import models as _customers  # noqa: F401
from app.qa import models as _qa  # noqa: F401
from app.recordings import models as _recordings  # noqa: F401
from app.reports import models as _reports  # noqa: F401
from app.surveys import models as _surveys  # noqa: F401
from ivr import models as _ivr  # noqa: F401
from routing import models as _routing  # noqa: F401
from app.config import async_database_url
from app.db import Base

config = context.config
if config.config_file_name is not None and not config.attributes.get("skip_logging"):
    fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata


def database_url() -> str:
    url = config.get_main_option("sqlalchemy.url")
    if url:
        return url
    env = os.environ.get("HOTLINE_DATABASE_URL")
    if not env:
        raise SystemExit("set HOTLINE_DATABASE_URL to migrate")
    return async_database_url(env)


def run_offline() -> None:
    context.configure(url=database_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def _run(connection) -> None:  # noqa: ANN001
    context.configure(connection=connection, target_metadata=target_metadata,
                      compare_type=True, transaction_per_migration=True)
    with context.begin_transaction():
        context.run_migrations()


async def run_online() -> None:
    engine = create_async_engine(database_url())
    async with engine.connect() as connection:
        await connection.run_sync(_run)
        await connection.commit()
    await engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    asyncio.run(run_online())
