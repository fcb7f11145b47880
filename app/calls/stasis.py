"""The thin layer between the ARI event stream and the call flow.

Events go into their call's queue (one worker per call: in order per call, parallel across
calls). After every (re)connect, `reconcile` compares Asterisk's channels with our open calls:
calls that ended meanwhile are closed as `lost_track` at the time we last saw them, live ones are
re-attached and carried on, and channels in our app that we never recorded are adopted.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.ari.events import (AriEvent, ApplicationReplaced, RecordingFailed, RecordingFinished,
                            StasisStart)
from app.calls import service
from app.calls.flow import CallFlow
from app.calls.log_writer import CallLogWriter
from app.calls.items import Item, Resync, item_channel_id
from app.clock import Clock
from app import latency
from app.concurrency import KeyedDispatcher
from app.config import Settings
from app.desk.notifier import DeskNotifier
from app.recordings.recorder import Recorder
from app.recordings.storage import LocalStorage, Storage
from app.metrics import ARI_EVENTS, EVENT_HANDLING_SECONDS
from app.telephony import Telephony
from ivr.lookup import Lookups
from ivr.runtime import MenuRuntime
from routing.engine import Acd

log = structlog.get_logger(__name__)
# Our own legs: agents' phones for a queue offer or a consultation, call-backs' two legs.
LEG_PREFIXES = ("agent-", "consult-", "cba-", "cbc-")
RESYNC_WAIT_SECONDS = 10.0  # how long reconciliation waits for the calls to line up


class CallStasis:
    def __init__(self, *, settings: Settings, telephony: Telephony,
                 sessionmaker: async_sessionmaker[AsyncSession], clock: Clock,
                 menus: MenuRuntime, lookups: Lookups, desk: DeskNotifier | None = None,
                 storage: Storage | None = None) -> None:
        self.app_name = settings.ari_app
        self.telephony = telephony
        self.sessions = sessionmaker
        self.clock = clock
        self.dispatcher: KeyedDispatcher[Item] = KeyedDispatcher(self._handle)
        # When each queued ARI event reached us (by id() until handled): event-to-action.
        self._received: dict[int, float] = {}
        # The ACD tells a call of its offers through the call's own queue.
        self.desk = desk or DeskNotifier()  # agents' screens (R3)
        self.acd = Acd(settings=settings, sessionmaker=sessionmaker, clock=clock,
                       notify=self.dispatcher.submit, desk=self.desk)
        # The call log of live calls, written behind the flow (#9); drained on a (re)connect
        # and on shutdown: a crash loses at most its last flush interval.
        self.call_log = CallLogWriter(sessionmaker, limits=settings.writers)
        self.flow = CallFlow(settings=settings, telephony=telephony, sessionmaker=sessionmaker,
                             clock=clock, menus=menus, lookups=lookups, acd=self.acd,
                             submit=self.dispatcher.submit, desk=self.desk,
                             call_log=self.call_log,
                             recorder=Recorder(settings=settings, telephony=telephony,
                                               sessionmaker=sessionmaker, clock=clock,
                                               storage=storage or LocalStorage(settings.storage_dir)))
        self.recorder = self.flow.recorder
        # Told when Asterisk gives our app to another client: this instance steps down (R21).
        self.on_replaced: Callable[[], None] | None = None

    async def on_event(self, event: AriEvent) -> None:
        """Called by the event stream for every parsed event: queue it for its call."""
        received = self.clock.monotonic()
        ARI_EVENTS.labels(type=event.type).inc()
        if isinstance(event, ApplicationReplaced):
            log.error("stasis.application_replaced",
                      hint=f"another ARI client connected as app {self.app_name!r}")
            if self.on_replaced is not None:
                self.on_replaced()
            return
        if event.application and event.application != self.app_name:
            return
        if isinstance(event, (RecordingFinished, RecordingFailed)) and (
                event.recording.target_uri.startswith("bridge:")):
            self.flow.recorder.on_event(event)  # R16: an agent conversation's recording
            return
        channel_id = item_channel_id(event)
        log.debug("ari.event", type=event.type, channel_id=channel_id)
        if channel_id is None:
            log.debug("stasis.event_without_channel", type=event.type)
            return
        # An agent's leg belongs to its caller's call: one queue, one order for both legs.
        self._received[id(event)] = received
        self.dispatcher.submit(self.flow.legs.get(channel_id, channel_id), event)

    async def _handle(self, channel_id: object, item: Item) -> None:
        kind = type(item).__name__
        received = self._received.pop(id(item), None)
        with EVENT_HANDLING_SECONDS.labels(item=kind).time():
            if received is None:  # our own items (timers, offers, requests)
                with latency.outside():
                    await self.flow.handle(str(channel_id), item)
                return
            with latency.handling(kind, received, self.clock.monotonic):
                await self.flow.handle(str(channel_id), item)

    async def on_disconnect(self) -> None:
        """The stream dropped: remember that every open call was alive until now."""
        now = self.clock.now()
        for call in self.flow.calls.values():
            call.last_seen_at = max(call.last_seen_at, now)
        await self.call_log.drain()
        try:
            async with self.sessions() as session, session.begin():
                await service.mark_open_calls_seen(session=session, at=now)
        except Exception as exc:  # noqa: BLE001 - the in-memory stamp is still there
            log.warning("stasis.mark_seen_failed", error=repr(exc))

    async def reconcile(self, *, retry_seconds: float = 2.0) -> None:
        """After a (re)connect: line our open calls up with the channels Asterisk has, then the
        ACD's agents with the calls still live, and hang up agents' legs nobody owns (R21).
        Retried until it has succeeded (it runs while the stream is connected; a drop cancels
        it and the next connect starts it again)."""
        attempt = 0
        while True:
            attempt += 1
            try:
                await self._reconcile()
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - Asterisk or Postgres not answering yet
                log.warning("stasis.reconcile_retry", attempt=attempt, error=repr(exc))
                await asyncio.sleep(min(retry_seconds, 0.2 * 2 ** attempt))

    async def _reconcile(self) -> None:
        channels = {c.id: c for c in await self.telephony.list_channels()}
        await self.call_log.drain()  # what follows reads the call log back
        async with self.sessions() as session:
            rows = await service.open_calls(session=session)
            # Call-backs (R17) are the outbound flow's to line up, not calls to adopt.
            outbound = [row for row in rows if row.direction == "outbound"]
            rows = [row for row in rows if row.direction != "outbound"]
            seqs = {row.id: await service.last_seq(session=session, call_id=row.id) for row in rows
                    if row.channel_id not in self.flow.calls}
        for row in rows:
            if row.channel_id not in self.flow.calls:
                self.flow.adopt(row, seqs[row.id])
        known = list(self.flow.calls)
        loop = asyncio.get_running_loop()
        lined_up = []
        for channel_id in known:
            done = loop.create_future()
            lined_up.append(done)
            self.dispatcher.submit(channel_id, Resync(channel_id, channels.get(channel_id), done))
        adopted = 0
        for channel in channels.values():
            if (channel.id in self.flow.calls or channel.id in self.flow.legs
                    or channel.id.startswith(LEG_PREFIXES)
                    or not self._in_our_app(channel.dialplan.app_name, channel.dialplan.app_data)):
                continue
            # In our app but never recorded (we died between StasisStart and the insert).
            args = channel.dialplan.app_data.split(",")[1:]
            self.dispatcher.submit(channel.id, StasisStart(type="StasisStart", args=args,
                                                           channel=channel,
                                                           application=self.app_name))
            adopted += 1
        await self.flow.outbound.reconcile(outbound, channels)
        # Every call lined up (its agent's leg found again, or let go) before what is left over
        # is judged: an agent's leg nobody owns now is hung up, and the agents follow the calls.
        if lined_up:
            await asyncio.wait(lined_up, timeout=RESYNC_WAIT_SECONDS)
        orphans = [c for c in channels if c.startswith(LEG_PREFIXES) and c not in self.flow.legs]
        for leg in orphans:
            log.warning("stasis.orphan_leg_hung_up", leg=leg)
            await self.flow.runtime.safely(self.flow.runtime.hang_up(leg))
        await self.acd.line_up(self.flow.busy_agents())
        try:  # R16: recordings of calls that ended while we were away are kept now
            await self.recorder.recover()
        except Exception as exc:  # noqa: BLE001 - the next connect tries again
            log.error("stasis.recordings_recovery_failed", error=repr(exc))
        log.info("stasis.reconciled", channels=len(channels), open_calls=len(known),
                 adopted=adopted, orphan_legs=len(orphans))

    def _in_our_app(self, app_name: str, app_data: str) -> bool:
        return app_name.lower() == "stasis" and app_data.split(",")[0] == self.app_name

    async def drain(self) -> None:
        """Handle every queued item, then store the call log they wrote (tests read it next)."""
        await self.dispatcher.drain()
        await self.call_log.drain()

    async def close(self) -> None:
        await self.acd.close()
        await self.flow.close()
        await self.dispatcher.close()
        await self.call_log.close()  # what the last items wrote
