"""The composition root: `create_app` builds settings -> engine -> ARI client -> event stream ->
services in the lifespan, and hands them to the routes through `app.state`. Nothing else builds
clients or reaches for globals."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import structlog
from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from app import errors, health, logs
from app.ari.client import AriClient
from app.ari.stream import EventStream
from app.calls import api as calls_api
from app.calls.stasis import CallStasis
from app.clock import Clock, SystemClock
from app.config import Settings
from app.db import check_schema, make_engine, make_sessionmaker, wait_for_database
from app.metrics import ARI_CONNECTED

log = structlog.get_logger(__name__)


def create_app(settings: Settings | None = None, *, clock: Clock | None = None) -> FastAPI:
    settings = settings or Settings()
    clock = clock or SystemClock()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.database_url)
        await wait_for_database(engine)
        await check_schema(engine)
        sessionmaker = make_sessionmaker(engine)
        ari = AriClient(settings.ari)
        stasis = CallStasis(settings=settings, telephony=ari, sessionmaker=sessionmaker, clock=clock)

        async def connected() -> None:
            ARI_CONNECTED.set(1)
            await stasis.reconcile()

        async def disconnected() -> None:
            ARI_CONNECTED.set(0)
            await stasis.on_disconnect()

        stream = EventStream(settings.ari, on_event=stasis.on_event, on_connect=connected,
                             on_disconnect=disconnected)
        app.state.engine, app.state.sessionmaker = engine, sessionmaker
        app.state.ari, app.state.stasis, app.state.stream = ari, stasis, stream
        stream.start()
        log.info("service.started", ari=settings.ari_url, app=settings.ari_app)
        try:
            yield
        finally:
            await stream.stop()
            await stasis.close()
            await ari.aclose()
            await engine.dispose()
            log.info("service.stopped")

    app = FastAPI(title="Hotline", version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    app.state.clock = clock
    errors.install(app)
    app.include_router(health.router)
    app.include_router(calls_api.router)

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return app


def main() -> None:
    import uvicorn

    settings = Settings()
    logs.configure(level=settings.log_level, fmt=settings.log_format)
    uvicorn.run(create_app(settings), host=settings.http_host, port=settings.http_port,
                log_config=None, access_log=False)
