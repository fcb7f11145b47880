"""The composition root: `create_app` builds settings -> engine -> ARI client -> event stream ->
services in the lifespan, and hands them to the routes through `app.state`, which only
`app.deps` reads (routes take its `Annotated` dependencies). It also registers what one domain
needs of another: the voice menu's `complaint_status` lookup (`lookup_providers`). Nothing else
builds clients or reaches for globals."""

from __future__ import annotations

import asyncio
import gc
import os
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import structlog
from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import errors, health, limits, logs
from app.ari.client import AriClient
from app.ari.stream import EventStream
from app.auth import api as auth_api
from app.auth.service import IP_FAILURE_FACTOR
from app.callbacks import api as callbacks_api
from app.calls import api as calls_api
from app.complaints import api as complaints_api
from app.complaints import service as complaints
from app.complaints.alerts import Webhooks
from app.customers import api as customers_api
from app.desk import api as desk_api
from app.desk import page as desk_page
from app.desk.notifier import DeskNotifier
from app.qa import api as qa_api
from app.qa import page as qa_page
from app.qa import service as qa
from app.recordings import api as recordings_api
from app.recordings import retention as recording_retention
from app.recordings.storage import LocalStorage
from app.reports import api as reports_api
from app.reports import page as reports_page
from app.reports import rollup, wallboard
from app.reports.handle_times import HandleTimes
from app.surveys import api as surveys_api
from app.surveys import service as surveys_service
from app.calls.stasis import CallStasis
from app.clock import Clock, SystemClock
from app.config import Settings
from app.fallback import Fallback
from app.db import check_schema, make_engine, make_sessionmaker, wait_for_database
from app.lease import Lease
from app.metrics import ARI_CONNECTED
from app.prompts import build as build_system_prompts
from app.role import ServiceRole, StandbyGuard
from ivr import api as ivr_api
from ivr.lookup import Lookups, Provider, complaint_status
from ivr.runtime import MenuRuntime
from routing import api as routing_api
from routing import phones

log = structlog.get_logger(__name__)


def create_app(settings: Settings | None = None, *, clock: Clock | None = None,
               exit_on_lease_lost: bool = False) -> FastAPI:
    """`exit_on_lease_lost`: the process exits (75) when another instance takes over (R21,
    app/role.py); `python -m app` sets it, embedded apps (tests) step down in place."""
    settings = settings or Settings()
    clock = clock or SystemClock()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.database_url, settings.db_timeouts)
        await wait_for_database(engine)
        await check_schema(engine)
        sessionmaker = make_sessionmaker(engine)
        # R21: reports and background jobs may run long statements: their own small pool with
        # long limits, so the calls' short ones stay short (app.db)
        long_engine = make_engine(settings.database_url, settings.db_long_timeouts,
                                  pool_size=2, max_overflow=4)
        long_sessionmaker = make_sessionmaker(long_engine)
        if settings.prompt_build_dir is not None:
            await asyncio.to_thread(build_system_prompts, settings.prompt_build_dir)
        menus = MenuRuntime(settings=settings, sessionmaker=sessionmaker)
        await menus.start()
        lookups = Lookups(providers=lookup_providers(sessionmaker))
        # R21: one active instance of any number; ARI commands only while the lease is ours.
        lease = Lease.from_settings(settings)
        ari = AriClient(settings.ari, fence=lease.held)
        storage = LocalStorage(settings.storage_dir)  # our files (R16), never Asterisk's disk
        stasis = CallStasis(settings=settings, telephony=ari, sessionmaker=sessionmaker,
                            clock=clock, menus=menus, lookups=lookups, desk=app.state.desk,
                            storage=storage)
        # R21: the dialplan's fallback rings these agents when no service runs; what it served
        # meanwhile is imported at every connect (only the active instance connects).
        fallback = Fallback(ari=ari, agents=lambda: stasis.acd.agents, settings=settings,
                            sessionmaker=sessionmaker, clock=clock, storage=storage)

        async def connected() -> None:
            ARI_CONNECTED.set(1)
            await stasis.reconcile()
            await fallback.connected()  # never raises
            # Agents' registration phones written (again) to Asterisk: at start and after every
            # reconnect, as it may be a new Asterisk; what fails is retried the next time.
            await phones.sync(sessionmaker=sessionmaker, telephony=ari, now=clock.now())

        async def disconnected() -> None:
            ARI_CONNECTED.set(0)
            await stasis.on_disconnect()

        stream = EventStream(settings.ari, on_event=stasis.on_event, on_connect=connected,
                             on_disconnect=disconnected)
        app.state.engine, app.state.sessionmaker = engine, sessionmaker
        app.state.report_sessionmaker = long_sessionmaker
        app.state.ari, app.state.stasis, app.state.stream = ari, stasis, stream
        app.state.menus, app.state.acd = menus, stasis.acd
        app.state.storage, app.state.recorder = storage, stasis.recorder
        app.state.fallback = fallback
        jobs: list[asyncio.Task] = []
        # #18: the estimated wait told to callers uses each queue's measured AHT
        handle_times = HandleTimes(fallback=settings.average_handle_seconds,
                                   window=timedelta(hours=settings.aht_window_hours),
                                   min_calls=settings.aht_min_calls)
        stasis.acd.handle_seconds = handle_times.get

        async def activate() -> None:
            """The lease is ours: the call machinery starts (at once when we are the only one)."""
            await stasis.acd.start()
            stream.start()
            jobs[:] = [
                asyncio.create_task(rollup.run_forever(
                    sessionmaker=long_sessionmaker, settings=settings, clock=clock),
                    name="report-rollups"),
                asyncio.create_task(handle_times.run_forever(
                    sessionmaker=long_sessionmaker, settings=settings, clock=clock),
                    name="handle-times"),
                # R17 (#18): last week's satisfaction summary made by itself on Monday and kept
                asyncio.create_task(surveys_service.run_forever(
                    sessionmaker=long_sessionmaker, settings=settings, clock=clock),
                    name="satisfaction-weeks"),
                asyncio.create_task(recording_retention.run_forever(
                    sessionmaker=long_sessionmaker, storage=storage, settings=settings,
                    clock=clock), name="recording-retention"),
                # R16: samples last month for quality inspection once it is over (settings.zone)
                asyncio.create_task(qa.run_forever(
                    sessionmaker=long_sessionmaker, settings=settings, clock=clock),
                    name="qa-sampling")]

        async def deactivate() -> None:
            for job in jobs:
                job.cancel()
            await stream.stop()
            await fallback.close()

        role = ServiceRole(lease, activate=activate, deactivate=deactivate,
                           exit_on_loss=exit_on_lease_lost)
        stasis.on_replaced = role.replaced
        app.state.role = role
        await role.start()
        _reload_menu_on_sighup(menus)
        gc.freeze()  # what start made lives on: full collections under load skip it (#9)
        log.info("service.started", ari=settings.ari_url, app=settings.ari_app,
                 role=role.describe()["role"])
        try:
            yield
        finally:
            for job in jobs:
                job.cancel()
            await stream.stop()
            await fallback.close()
            await stasis.close()
            await role.stop()  # the lease goes last: a standby takes over what we stored
            await lookups.aclose()
            await ari.aclose()
            await engine.dispose()
            await long_engine.dispose()
            log.info("service.stopped")

    app = FastAPI(title="Hotline", version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    app.state.clock = clock
    app.state.desk = DeskNotifier()  # the agents' screens (R3)
    app.state.today = wallboard.Today()  # today's figures for the wallboards
    # R15: major and crisis complaints POSTed to their department's webhook
    app.state.complaint_webhooks = Webhooks(timeout_seconds=settings.webhook_timeout_seconds)
    errors.install(app)
    app.add_middleware(StandbyGuard)  # R21: /api is the active instance's (app/role.py)
    # #20, R20: bodies capped before any route reads them (a menu's YAML has its own cap)
    app.add_middleware(limits.BodyLimit, max_bytes=settings.max_body_bytes,
                       routes=limits.settings_routes(settings.ivr_max_bytes))
    # failed bearer tokens per address, limited as sign-ins are (app.deps)
    app.state.token_failures = limits.FailureWindow(
        limit=settings.login_max_failures * IP_FAILURE_FACTOR,
        window=timedelta(minutes=settings.login_window_minutes))
    app.include_router(health.router)
    app.include_router(auth_api.router)
    app.include_router(desk_api.router)
    app.include_router(desk_page.router)
    app.include_router(customers_api.router)
    app.include_router(complaints_api.router)
    app.include_router(calls_api.router)
    app.include_router(reports_api.router)
    app.include_router(surveys_api.router)
    app.include_router(callbacks_api.router)
    app.include_router(recordings_api.router)
    app.include_router(reports_page.router)
    app.include_router(qa_api.router)
    app.include_router(qa_page.router)
    app.include_router(ivr_api.router)
    app.include_router(routing_api.router)

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return app


def lookup_providers(sessionmaker: async_sessionmaker[AsyncSession]) -> dict[str, Provider]:
    """The voice menu's named self-service providers (R7), each backed by its domain."""

    async def find_complaint(number: str) -> tuple[str, str] | None:
        async with sessionmaker() as session:
            return await complaints.status_by_number(session=session, number=number)

    return {"complaint_status": complaint_status(find_complaint)}


def _reload_menu_on_sighup(menus: MenuRuntime) -> None:
    """SIGHUP re-reads HOTLINE_IVR_FILE; a bad file is refused and the running menu stays."""
    loop = asyncio.get_running_loop()

    async def reload() -> None:
        try:
            await menus.reload_file(created_by="SIGHUP")
        except Exception as exc:  # noqa: BLE001 - MenuError or I/O: logged, menu unchanged
            log.error("ivr.reload_refused", error=str(exc))

    try:
        loop.add_signal_handler(signal.SIGHUP, lambda: asyncio.ensure_future(reload()))
    except (NotImplementedError, RuntimeError, ValueError):  # not the main thread (tests)
        pass


def main() -> None:
    import uvicorn

    os.umask(0o077)  # R20 (#20): whatever the service creates is its own only
    settings = Settings()
    logs.configure(level=settings.log_level, fmt=settings.log_format)
    # Fewer young-generation collections: a call allocates many short-lived objects (ORM rows,
    # requests, events), and the default threshold (700) collects every few of them (#9).
    gc.set_threshold(20_000, 20, 20)
    uvicorn.run(create_app(settings, exit_on_lease_lost=True), host=settings.http_host,
                port=settings.http_port, log_config=None, access_log=False,
                ws_max_size=settings.ws_max_message_bytes)  # #20: a frame past it closes
