"""The live side of call recording (R16): the call flow starts a bridge recording when an agent
is connected and stops it when that agent's conversation ends (a transfer to another agent is a
new recording with that agent); agents pause and resume it; once Asterisk has finished the file
it is fetched through ARI into our storage (`app.recordings.storage`), its metadata written and
Asterisk's copy deleted.

**Pause is a mute.** An agent's pause mutes the live recording (ARI
`POST /recordings/live/{name}/mute`) rather than pausing it (`.../pause`). A muted recording keeps
writing silence, so the file's timeline stays the conversation's: a pause stored at 12:00:05 is
at `started_at + 5 s` in the file, an inspector's note "at 3:10" matches the wall clock, and the
duration read from the file is the talk time. A paused recording cuts the time out: every later
offset would shift by the paused time and the marks would need arithmetic that a late ARI
answer makes inexact. The cost is a few kilobytes of silence per pause.

A row is written (status `recording`) before Asterisk is asked to record, so that a restart of
the service can still find, fetch and keep it (`reattach`, `finish_open`, `recover`). A failure
never touches the call: recording is logged and marked `failed`, the conversation goes on.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.ari.errors import AriError, AriNotFound
from app.ari.events import RecordingFailed, RecordingFinished
from app.clock import Clock
from app.config import Settings
from app.errors import Conflict
from app.recordings import service
from app.recordings.audio import wav_info
from app.recordings.models import RecordingStatus
from app.recordings.storage import Storage
from app.telephony import Telephony

log = structlog.get_logger(__name__)
FINISH_WAIT_SECONDS = 10.0   # for Asterisk to close the file after a stop
FETCH_ATTEMPTS = 5           # transient ARI failures before the recording is marked failed
POLL_SECONDS = 0.1


class NoRecording(Conflict):
    error_id = "no-recording"
    message = "you have no recorded call now"


@dataclass
class Active:
    """A recording Asterisk is writing for one agent's conversation on a call."""

    id: uuid.UUID
    name: str
    call_id: uuid.UUID
    agent_id: uuid.UUID | None
    started_at: datetime
    paused_since: datetime | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)


def recording_name(call_id: uuid.UUID) -> str:
    """Asterisk's name for a new recording of the call (unique per agent conversation)."""
    return f"call-{call_id}-{uuid.uuid4().hex[:8]}"


class Recorder:
    def __init__(self, *, settings: Settings, telephony: Telephony,
                 sessionmaker: async_sessionmaker[AsyncSession], clock: Clock,
                 storage: Storage) -> None:
        self.settings = settings
        self.telephony = telephony
        self.sessions = sessionmaker
        self.clock = clock
        self.storage = storage
        self.active: dict[uuid.UUID, Active] = {}        # by call id
        self._finished: dict[str, asyncio.Event] = {}     # RecordingFinished seen, by name
        self._finishing: dict[str, asyncio.Task[None]] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    # -- the call flow's side ---------------------------------------------------------------
    async def start(self, *, call_id: uuid.UUID, agent_id: uuid.UUID | None, queue: str | None,
                    bridge_id: str) -> Active | None:
        """Record the agent conversation on `bridge_id`; None if it could not start (logged,
        the row marked failed; the call goes on)."""
        if call_id in self.active:
            await self.stop(call_id)
        name, now = recording_name(call_id), self.clock.now()
        try:
            async with self.sessions() as session, session.begin():
                row = await service.create(session=session, name=name, call_id=call_id,
                                           agent_id=agent_id, queue=queue, started_at=now)
        except Exception as exc:  # noqa: BLE001 - no row, no recording: the call goes on
            log.error("recording.not_started", call_id=str(call_id), error=repr(exc))
            return None
        try:
            await self.telephony.record_bridge(bridge_id, name=name)
        except Exception as exc:  # noqa: BLE001
            log.error("recording.start_failed", call_id=str(call_id), error=repr(exc))
            await self._mark_failed(name, f"could not start: {exc}")
            return None
        active = self.active[call_id] = Active(id=row.id, name=name, call_id=call_id,
                                               agent_id=agent_id, started_at=now)
        log.info("recording.started", call_id=str(call_id), recording=name,
                 agent=str(agent_id))
        return active

    async def stop(self, call_id: uuid.UUID) -> None:
        """The agent's conversation ended: stop the recording; the file is fetched in the
        background (the call's worker does not wait for it)."""
        active = self.active.pop(call_id, None)
        if active is None:
            return
        async with active.lock:
            await self._safely_stop(active.name)  # the bridge going away ends it as well
        self.finish_later(active.name)

    def of_agent(self, agent_id: uuid.UUID) -> Active | None:
        """The recording of the agent's current conversation, if it is recorded."""
        return next((a for a in self.active.values() if a.agent_id == agent_id), None)

    # -- the agent's pause (R16, R20) -------------------------------------------------------
    async def pause(self, *, agent_id: uuid.UUID, user_id: uuid.UUID | None) -> Active:
        """Mute the agent's current recording (card numbers and the like) and mark the pause."""
        active = self.of_agent(agent_id)
        if active is None:
            raise NoRecording()
        async with active.lock:
            if self.active.get(active.call_id) is not active:
                raise NoRecording()
            if active.paused_since is None:
                await self.telephony.mute_live_recording(active.name)
                now = self.clock.now()
                async with self.sessions() as session, session.begin():
                    await service.start_pause(session=session, recording_id=active.id, at=now,
                                              by_user_id=user_id)
                active.paused_since = now
                log.info("recording.paused", recording=active.name)
        return active

    async def resume(self, *, agent_id: uuid.UUID) -> Active:
        active = self.of_agent(agent_id)
        if active is None:
            raise NoRecording()
        async with active.lock:
            if self.active.get(active.call_id) is not active:
                raise NoRecording()
            if active.paused_since is not None:
                await self.telephony.unmute_live_recording(active.name)
                now = self.clock.now()
                async with self.sessions() as session, session.begin():
                    await service.end_pauses(session=session, recording_id=active.id, at=now)
                active.paused_since = None
                log.info("recording.resumed", recording=active.name)
        return active

    # -- events and recovery ----------------------------------------------------------------
    def on_event(self, event: RecordingFinished | RecordingFailed) -> None:
        """A bridge recording ended on Asterisk's side (stopped, or its bridge went away)."""
        name = event.recording.name
        self._finished.setdefault(name, asyncio.Event()).set()
        for call_id, active in list(self.active.items()):
            if active.name == name:  # ended without our stop (the bridge was torn down)
                self.active.pop(call_id, None)
        cause = (f"Asterisk: {event.recording.cause or 'recording failed'}"
                 if isinstance(event, RecordingFailed) else None)
        self.finish_later(name, failed=cause)

    async def reattach(self, *, call_id: uuid.UUID) -> None:
        """After a restart, a call with an agent: its newest recording, if Asterisk is still
        writing it, is the call's again (with its open pause); older ones are finished."""
        if call_id in self.active:
            return
        async with self.sessions() as session:
            rows = await service.open_of_call(session=session, call_id=call_id)
            current = rows[-1] if rows else None
            pause = (await service.open_pause(session=session, recording_id=current.id)
                     if current is not None else None)
        if current is not None and await self.telephony.get_live_recording(current.name):
            self.active[call_id] = Active(id=current.id, name=current.name, call_id=call_id,
                                          agent_id=current.agent_id,
                                          started_at=current.started_at,
                                          paused_since=pause.started_at if pause else None)
            log.info("recording.reattached", recording=current.name)
        for row in rows:
            if self.active.get(call_id) is None or row.name != self.active[call_id].name:
                await self._safely_stop(row.name)
                self.finish_later(row.name)

    def finish_open(self, call_id: uuid.UUID) -> None:
        """The call ended unseen (lost track of it): keep what Asterisk recorded of it."""
        self.active.pop(call_id, None)

        async def run() -> None:
            async with self.sessions() as session:
                rows = await service.open_of_call(session=session, call_id=call_id)
            for row in rows:
                await self._safely_stop(row.name)
                self.finish_later(row.name)

        self._spawn(run(), name=f"recordings:finish-open:{call_id}")

    async def recover(self) -> int:
        """At (re)connect: recordings left `recording` by calls that have ended are fetched (or
        marked failed). Returns how many were picked up."""
        async with self.sessions() as session:
            rows = await service.open_of_ended_calls(session=session)
        for row in rows:
            if row.call_id not in self.active:
                await self._safely_stop(row.name)
                self.finish_later(row.name)
        return len(rows)

    # -- keeping the file -------------------------------------------------------------------
    def finish_later(self, name: str, *, failed: str | None = None) -> asyncio.Task[None]:
        """Fetch and keep the recording in the background, once per name."""
        task = self._finishing.get(name)
        if task is None or task.done():
            task = self._spawn(self.finish(name, failed=failed), name=f"recordings:finish:{name}")
            self._finishing[name] = task
            task.add_done_callback(lambda _: self._finishing.pop(name, None))
        return task

    async def finish(self, name: str, *, failed: str | None = None) -> None:
        """Wait until Asterisk has closed the file, fetch it through ARI, write it to our
        storage, fill the metadata, then delete it on Asterisk. Failures mark it `failed` with
        the error; Asterisk's copy is only deleted once ours is stored."""
        try:
            await self._finish(name, failed=failed)
        finally:  # kept, failed, or a late event for one kept already: its event is done with
            self._finished.pop(name, None)

    async def _finish(self, name: str, *, failed: str | None) -> None:
        async with self.sessions() as session:
            row = await service.by_name(session=session, name=name)
        if row is None or row.status != RecordingStatus.recording:
            return
        if failed is not None:
            await self._mark_failed(name, failed)
            return
        await self._until_closed(name)
        try:
            data = await self._fetch(name)
        except AriNotFound:
            await self._mark_failed(name, "Asterisk has no stored recording by this name")
            return
        except AriError as exc:
            await self._mark_failed(name, f"fetch failed: {exc}")
            return
        info = wav_info(data)
        # The file's length is the recording's (a pause is silence in it, not a gap): its end is
        # its start plus that, also when it is picked up after a restart.
        ended_at = (row.started_at + timedelta(seconds=info.duration_seconds) if info
                    else self.clock.now())
        day = row.started_at.strftime("%Y/%m/%d")
        key = f"recordings/{day}/{name}.wav"
        try:
            await self.storage.put(key, data)
            async with self.sessions() as session, session.begin():
                row = await service.by_name(session=session, name=name)
                if row is None or row.status != RecordingStatus.recording:
                    return
                days = await service.retention_days(
                    session=session, queue=row.queue,
                    default=self.settings.recording_retention_days)
                await service.mark_stored(
                    session=session, recording=row, ended_at=ended_at,
                    duration_seconds=round(info.duration_seconds, 3) if info else None,
                    size_bytes=len(data), sha256=hashlib.sha256(data).hexdigest(), path=key,
                    retain_until=service.retain_until(ended_at, days))
        except Exception as exc:  # noqa: BLE001 - storage or database: Asterisk keeps its copy
            log.error("recording.store_failed", recording=name, error=repr(exc))
            await self._mark_failed(name, f"could not store: {exc!r}")
            return
        log.info("recording.stored", recording=name, bytes=len(data),
                 seconds=info.duration_seconds if info else None)
        try:
            await self.telephony.delete_stored_recording(name)
        except AriError as exc:
            log.warning("recording.not_deleted_on_asterisk", recording=name, error=str(exc))

    async def _until_closed(self, name: str) -> None:
        """Until RecordingFinished came, or Asterisk no longer lists it live (its file is then
        closed, with the header written)."""
        event = self._finished.setdefault(name, asyncio.Event())
        loop = asyncio.get_running_loop()
        deadline = loop.time() + FINISH_WAIT_SECONDS
        while not event.is_set() and loop.time() < deadline:
            try:
                if await self.telephony.get_live_recording(name) is None:
                    return
            except AriError:
                pass
            try:
                await asyncio.wait_for(event.wait(), POLL_SECONDS)
            except TimeoutError:
                pass

    async def _fetch(self, name: str) -> bytes:
        last: AriError | None = None
        for attempt in range(FETCH_ATTEMPTS):
            try:
                return await self.telephony.stored_recording_file(name)
            except AriError as exc:  # AriNotFound: not written yet, or never
                last = exc
            await asyncio.sleep(0.2 * (attempt + 1))
        assert last is not None
        raise last

    async def _mark_failed(self, name: str, error: str) -> None:
        try:
            async with self.sessions() as session, session.begin():
                row = await service.by_name(session=session, name=name)
                if row is not None and row.status == RecordingStatus.recording:
                    await service.mark_failed(session=session, recording=row,
                                              ended_at=self.clock.now(), error=error)
            log.error("recording.failed", recording=name, error=error)
        except Exception as exc:  # noqa: BLE001 - it stays `recording`; the next recover retries
            log.error("recording.mark_failed_failed", recording=name, error=repr(exc))

    async def _safely_stop(self, name: str) -> None:
        try:
            await self.telephony.stop_live_recording(name)
        except AriError as exc:
            log.warning("recording.stop_failed", recording=name, error=str(exc))

    def _spawn(self, coro: Coroutine[Any, Any, None], *, name: str) -> asyncio.Task[None]:
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def drain(self) -> None:
        """Wait for the files being fetched (tests; shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def close(self, timeout: float = 15.0) -> None:
        """At shutdown: let the fetches going on end (what is left stays `recording` and is
        picked up by `recover` at the next start)."""
        try:
            await asyncio.wait_for(self.drain(), timeout)
        except TimeoutError:
            for task in list(self._tasks):
                task.cancel()
