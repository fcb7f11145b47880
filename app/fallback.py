"""R21: the service's side of the dialplan's fallback (deploy/asterisk/extensions.conf).

When no service has our ARI application registered, `Stasis()` fails at once and the dialplan
serves the caller itself: it tries `Stasis()` again for a few seconds, then answers, apologises,
rings the agents the service last saw available and, if nobody answers, records a message. Two
things connect it to the service, both through ARI:

- `HOTLINE_FALLBACK_DIAL`, an Asterisk global variable the service keeps equal to the Dial()
  string of its agents' phones (`dial_string`): every logged-in agent who is not paused, busy
  ones included (the service cannot tell the dialplan when a call ends once it is gone, and a
  phone that is busy simply does not take the fallback's call). Checked every second, written
  when it changed and after every connect (Asterisk may be a new one).
- What the fallback did: one line per call in `fallback-<uniqueid>.sln` of Asterisk's
  recording directory, written by the caller's hang-up handler. ARI lists and fetches it as a
  stored recording (`sln` is only a format Asterisk knows; it is never played): ARI cannot read
  AstDB (GET /asterisk/variable does not evaluate dialplan functions, verified on Asterisk
  22.10) nor CDRs. A caller's message is the stored recording `fallback-<uniqueid>-message`.

On every connect (and every minute after, for calls that were still in the fallback then) the
service imports them (`Fallback.import_handled`): a call row each (`fallback-<uniqueid>` as its
channel id, so a record imported twice is one row), the message into our storage with its
call-back task as a queue's voicemail does, a call-back task for a caller who hung up unserved;
then it deletes Asterisk's copies.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import re
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

import structlog
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.ari.errors import AriError, AriNotFound
from app.callbacks import service as callbacks
from app.calls.models import Call, CallEvent
from app.calls.state import CallState, EndReason, Trigger
from app.clock import Clock
from app.config import Settings
from app.recordings.storage import Storage
from routing.agent_state import AgentState

log = structlog.get_logger(__name__)

DIAL_VARIABLE = "HOTLINE_FALLBACK_DIAL"
# Whom the fallback rings: logged in and not paused.
RINGS = frozenset({AgentState.ready, AgentState.ringing, AgentState.on_call, AgentState.wrap_up})
RECORD_FORMAT = "sln"
# fallback-<uniqueid with its dot as a dash>; a message is fallback-<...>-message.
_RECORD_NAME = re.compile(r"^fallback-(?P<uid>[A-Za-z0-9_-]+-[0-9]+)$")
_SAFE_ENDPOINT = re.compile(r"^[A-Za-z0-9_]+/[^,&\s]+$")  # no Dial() separators in it
SYNC_EVERY = 1.0
IMPORT_EVERY = 60.0


class Outcome(StrEnum):
    agent = "agent"
    message = "message"
    abandoned = "abandoned"


class Agent(Protocol):
    @property
    def state(self) -> AgentState: ...

    @property
    def endpoint(self) -> str: ...


class Ari(Protocol):
    async def set_global(self, name: str, value: str) -> None: ...

    async def stored_recordings(self) -> list[dict[str, Any]]: ...

    async def stored_recording_file(self, name: str) -> bytes: ...

    async def delete_stored_recording(self, name: str) -> None: ...


# -- decisions (pure) --------------------------------------------------------------------------
def dial_string(agents: Iterable[Agent]) -> str:
    """The Dial() argument that rings every agent the fallback should ring, e.g.
    `PJSIP/lina&PJSIP/trunk/sip:wang@10.0.0.5`; sorted, so it changes only when they do."""
    return "&".join(sorted({a.endpoint for a in agents
                            if a.state in RINGS and _SAFE_ENDPOINT.match(a.endpoint)}))


@dataclass(frozen=True)
class FallbackCall:
    """One call the fallback served, as its hang-up handler wrote it."""

    uniqueid: str
    started_at: datetime           # when Stasis() first failed
    ended_at: datetime
    caller_number: str | None
    dialed_number: str | None
    outcome: Outcome
    peer: str | None               # the answering phone as dialled, e.g. `trunk/sip:...`
    message: str | None            # the stored recording of the caller's message
    answered_at: datetime | None   # the fallback answered the caller
    rang_at: datetime | None       # the agents' phones started ringing
    agent_answered_at: datetime | None

    @property
    def channel_id(self) -> str:
        return f"fallback-{self.uniqueid}"

    @property
    def agent_endpoint(self) -> str | None:
        return f"PJSIP/{self.peer}" if self.outcome is Outcome.agent and self.peer else None


def is_record(name: str, fmt: str) -> bool:
    return fmt == RECORD_FORMAT and _RECORD_NAME.match(name) is not None


def _when(text: str) -> datetime | None:
    return datetime.fromtimestamp(int(text), UTC) if text.isdigit() else None


def parse_record(name: str, text: str) -> FallbackCall | None:
    """A record file's line as a call; None when it is not one (or not whole yet)."""
    match = _RECORD_NAME.match(name)
    fields = text.strip().split(",")
    if match is None or len(fields) < 11 or fields[0] != "v1":
        return None
    _, start, end, caller, dialed, outcome, peer, message, answered, rang, agent_at = fields[:11]
    started, ended = _when(start), _when(end)
    if started is None or ended is None or outcome not in Outcome.__members__:
        return None
    return FallbackCall(
        uniqueid=".".join(match["uid"].rsplit("-", 1)), started_at=started, ended_at=ended,
        caller_number=caller or None, dialed_number=dialed or None, outcome=Outcome(outcome),
        peer=peer or None, message=message or None, answered_at=_when(answered),
        rang_at=_when(rang), agent_answered_at=_when(agent_at))


def end_reason(call: FallbackCall, *, message_left: bool) -> EndReason:
    """An agent answered; or the caller left a message; anything else is abandoned (a message
    with nothing in it too)."""
    if call.outcome is Outcome.agent:
        return EndReason.fallback_agent
    if call.outcome is Outcome.message and message_left:
        return EndReason.fallback_message
    return EndReason.fallback_abandoned


def call_values(call: FallbackCall, *, reason: EndReason, agent_id: uuid.UUID | None,
                language: str) -> dict[str, Any]:
    """The call row of a fallback call: offered (`enqueued_at`) when agents' phones rang,
    answered by an agent (`connected_at`) when one did, as the reports count them."""
    connected = call.agent_answered_at or (call.rang_at if reason is EndReason.fallback_agent
                                           else None)
    return dict(
        channel_id=call.channel_id, direction="inbound", caller_number=call.caller_number,
        dialed_number=call.dialed_number, language=language, state=CallState.ended,
        started_at=call.started_at, answered_at=call.answered_at, ended_at=call.ended_at,
        end_reason=reason, last_seen_at=call.ended_at, ivr_outcome="fallback",
        enqueued_at=call.rang_at, connected_at=connected,
        agent_id=agent_id if reason is EndReason.fallback_agent else None)


def timeline(call: FallbackCall, *, reason: EndReason, agent_id: uuid.UUID | None,
             message: str | None) -> list[dict[str, Any]]:
    """The call's timeline: it arrived, the fallback served it, it ended."""
    return [
        dict(seq=0, at=call.started_at, from_state="", trigger=Trigger.arrived,
             to_state=CallState.ringing,
             detail={"caller_number": call.caller_number, "dialed_number": call.dialed_number}),
        dict(seq=1, at=call.ended_at, from_state=CallState.ringing, trigger="fallback",
             to_state=CallState.ended,
             detail={"end_reason": str(reason), "outcome": str(call.outcome),
                     "agent_id": str(agent_id) if agent_id else None, "peer": call.peer,
                     "message": message, "uniqueid": call.uniqueid}),
    ]


# -- the running part --------------------------------------------------------------------------
class Fallback:
    """Keeps the dial string in Asterisk and imports what the fallback served."""

    def __init__(self, *, ari: Ari, agents: Callable[[], Mapping[uuid.UUID, Agent]],
                 settings: Settings, sessionmaker: async_sessionmaker[AsyncSession],
                 clock: Clock, storage: Storage) -> None:
        self.ari = ari
        self.storage = storage
        self.agents = agents
        self.settings = settings
        self.sessions = sessionmaker
        self.clock = clock
        self._written: str | None = None
        self._task: asyncio.Task[None] | None = None
        self._importing: asyncio.Task[int] | None = None
        self._import_lock = asyncio.Lock()

    async def connected(self) -> None:
        """After every connect: the dial string again; what was served meanwhile is imported
        beside (`imported()` waits for it)."""
        self._written = None
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="fallback-sync")
        await self.sync()
        self._importing = asyncio.create_task(self.import_handled(), name="fallback-import")

    async def imported(self) -> int:
        """Wait for the import the last connect started; how many calls it brought in."""
        return await self._importing if self._importing is not None else 0

    async def close(self) -> None:
        for task in (self._task, self._importing):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def _run(self) -> None:
        since_import = 0.0
        while True:
            await asyncio.sleep(SYNC_EVERY)
            try:
                await self.sync()
                since_import += SYNC_EVERY
                if since_import >= IMPORT_EVERY:
                    since_import = 0.0
                    await self.import_handled()
            except Exception as exc:  # noqa: BLE001 - the loop outlives any one bad turn
                log.error("fallback.sync_failed", error=repr(exc))

    async def sync(self) -> bool:
        """Write the dial string if it changed (or was never written to this Asterisk)."""
        wanted = dial_string(self.agents().values())
        if wanted == self._written:
            return False
        try:
            await self.ari.set_global(DIAL_VARIABLE, wanted)
        except AriError as exc:
            log.debug("fallback.dial_not_written", error=str(exc))
            return False
        self._written = wanted
        log.info("fallback.dial_written", agents=wanted.count("&") + 1 if wanted else 0)
        return True

    async def import_handled(self) -> int:
        """Import every call the fallback served; returns how many. Never raises: what fails is
        left in Asterisk and tried again at the next connect or minute."""
        async with self._import_lock:
            try:
                stored = await self.ari.stored_recordings()
            except AriError as exc:
                log.warning("fallback.import_failed", error=str(exc))
                return 0
            done = 0
            for name in sorted(r.get("name", "") for r in stored
                               if is_record(r.get("name", ""), r.get("format", ""))):
                try:
                    done += await self._import_one(name)
                except Exception as exc:  # noqa: BLE001 - one bad record never stops the rest
                    log.error("fallback.import_failed", record=name, error=repr(exc))
            if done:
                log.info("fallback.imported", calls=done)
            return done

    async def _import_one(self, name: str) -> int:
        text = (await self.ari.stored_recording_file(name)).decode(errors="replace")
        call = parse_record(name, text)
        if call is None:
            log.warning("fallback.record_unreadable", record=name, text=text[:200])
            return 0
        data = b""
        if call.message:
            with contextlib.suppress(AriNotFound):
                data = await self.ari.stored_recording_file(call.message)
        message_left = len(data) > 44  # more than a WAV header: something was said
        reason = end_reason(call, message_left=message_left)
        endpoint = call.agent_endpoint
        agent_id = next((i for i, a in self.agents().items() if a.endpoint == endpoint), None) \
            if endpoint else None
        relative = None
        if message_left:
            relative = (Path("voicemail") / call.started_at.strftime("%Y/%m/%d")
                        / f"{call.message}.wav")
            await self.storage.put(relative.as_posix(), data)
        async with self.sessions() as session, session.begin():
            new = await session.scalar(
                insert(Call).values(id=uuid.uuid4(), **call_values(
                    call, reason=reason, agent_id=agent_id,
                    language=self.settings.default_language))
                .on_conflict_do_nothing(index_elements=["channel_id"]).returning(Call.id))
            if new is not None:
                for event in timeline(call, reason=reason, agent_id=agent_id,
                                      message=str(relative) if relative else None):
                    session.add(CallEvent(call_id=new, **event))
                await self._follow_up(session, call, new, reason, relative, data)
        for stale in (call.message, name):  # Asterisk's copies, once ours are stored
            if stale:
                await self.ari.delete_stored_recording(stale)
        log.info("fallback.call_imported", record=name, end_reason=str(reason),
                 agent=str(agent_id) if agent_id else None, new=new is not None)
        return 1

    async def _follow_up(self, session: AsyncSession, call: FallbackCall, call_id: uuid.UUID,
                         reason: EndReason, relative: Path | None, data: bytes) -> None:
        """R8: a message becomes a call-back task, as a queue's voicemail does; a caller who
        hung up unserved is called back as one abandoned in a queue is."""
        terms = {"due_at": self.clock.now() + timedelta(hours=self.settings.callback_due_hours),
                 "max_attempts": self.settings.callback_max_attempts}
        language = self.settings.default_language
        if reason is EndReason.fallback_message and relative is not None:
            await callbacks.store_voicemail(
                session=session, call_id=call_id, caller_number=call.caller_number,
                language=language, path=str(relative), fmt="wav",
                duration_seconds=_wav_seconds(data), size_bytes=len(data),
                sha256=hashlib.sha256(data).hexdigest(), **terms)
        elif reason is EndReason.fallback_abandoned:
            await callbacks.open_abandoned(session=session, customer_number=call.caller_number,
                                           language=language, call_id=call_id, **terms)


def _wav_seconds(data: bytes) -> float | None:
    """A PCM WAV's length from its header (8 kHz mono 16-bit as Asterisk records: 16000 B/s)."""
    if len(data) < 44 or data[:4] != b"RIFF":
        return None
    rate = int.from_bytes(data[28:32], "little")  # bytes per second
    return round((len(data) - 44) / rate, 1) if rate else None

