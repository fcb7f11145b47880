"""An engine that reaches the test's Postgres through a `CuttableProxy`, so a test can make
the database unreachable (cut) or silent (hang) and bring it back (R21, #15)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy.ext.asyncio import AsyncEngine

from app.config import DbTimeouts
from app.db import make_engine
from tests.support.tcp_proxy import CuttableProxy

# Short limits, so that a test waits a second or two, not the service's seconds.
SHORT = DbTimeouts(connect=0.5, command=1.0, statement=1.0, lock=0.5, pool=0.5)


@asynccontextmanager
async def proxied_engine(database_url: str, timeouts: DbTimeouts = SHORT,
                         ) -> AsyncIterator[tuple[AsyncEngine, CuttableProxy]]:
    url = urlsplit(database_url)
    proxy = CuttableProxy(url.hostname or "127.0.0.1", url.port or 5432)
    await proxy.start()
    user, _, _ = url.netloc.rpartition("@")
    host = f"127.0.0.1:{proxy.port}"
    engine = make_engine(urlunsplit(url._replace(netloc=f"{user}@{host}" if user else host)),
                         timeouts, pool_size=2, max_overflow=0)
    try:
        yield engine, proxy
    finally:
        proxy.restore()
        await engine.dispose()
        await proxy.close()
