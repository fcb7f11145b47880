"""The one runtime every live call runs on, inbound and outbound alike (#14).

A live call is a few small parts (the voice menu, queue waiting, offers to agents, transfers,
messages, the survey; `app.calls.parts`-style modules beside this one) composed by a router
(`app.calls.flow` for inbound calls, `app.calls.outbound` for call-backs). They all use this
runtime for what every call needs:

- `fire`: the one choke point for a call's state changes. It asks the call's own table
  (`Leg.next_state`: `app.calls.state`) for the next state, logs `from -> trigger -> to` and
  hands the timeline row and the call row's changes to the call log (`app.calls.log_writer`),
  which stores them behind the call, in order, many calls per transaction (#9);
- timers (`schedule` / `cancel`): named, one of a name at a time, firing an item into the
  call's own queue (so they run in order with its events);
- `background`: work beside the call's worker, kept referenced until done;
- `safely`: clean-up that must not stop the rest of the clean-up;
- media: the service's own prompts (`prompts/system.yaml`) in the call's language, played on a
  channel or a bridge;
- the holding bridge (`hold` / `unhold`: a caller alone with music, R9) and `hang_up`;
- `legs`: an agent's or customer's leg -> the key of the call it belongs to, so that a leg's
  events are handled in that call's queue.

It knows the telephony port, the clock, the call log and the settings; it knows no part and no
domain: the parts depend on it, never the other way round.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Coroutine
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

import structlog

from app.ari.errors import AriError, AriNotFound
from app.calls.log_writer import CallLogWriter
from app.clock import Clock
from app.config import Settings
from app.telephony import Telephony

log = structlog.get_logger(__name__)


class Leg(Protocol):
    """What the runtime needs of a live call (`app.calls.items.LiveCall` for inbound calls,
    `LiveCallback` for call-backs)."""

    id: uuid.UUID                  # the call's row (`calls.id`)
    state: Any                     # a StrEnum of its kind's table
    seq: int                       # the last timeline row's number
    last_seen_at: datetime
    persisted: bool                # False: its row could not be written; nothing is stored
    language: str
    timers: dict[str, asyncio.Task[None]]

    @property
    def customer_channel(self) -> str:
        """The caller's channel, or the customer's leg of a call-back."""
        ...

    @property
    def key(self) -> str:
        """The call's queue in the dispatcher: its events and our items run there in order."""
        ...

    def next_state(self, state: Any, trigger: Any) -> Any:
        """The call's own transition table (raises `InvalidTransition`)."""
        ...


class CallRuntime:
    def __init__(self, *, settings: Settings, telephony: Telephony, clock: Clock,
                 call_log: CallLogWriter, submit: Callable[[str, object], None]) -> None:
        self.settings = settings
        self.telephony = telephony
        self.clock = clock
        self.call_log = call_log   # the call log of live calls, written behind (#9)
        self.submit = submit       # (call key, item): into the call's own queue
        self.legs: dict[str, str] = {}  # a leg's channel -> the key of its call
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- the choke point --------------------------------------------------------------------
    def fire(self, call: Leg, trigger: StrEnum, *, at: datetime | None = None,
             detail: dict[str, Any] | None = None, **updates: Any) -> None:
        """Check the transition against the call's table, log it, hand it to the call log, then
        apply it. A failure to store it is the call log's to report; it never changes the
        call's course (#9)."""
        to = call.next_state(call.state, trigger)
        at = at or self.clock.now()
        seq = call.seq + 1
        log.info("call.transition", from_state=call.state, trigger=trigger, to_state=to)
        if call.persisted:
            self.call_log.transition(call_id=call.id, seq=seq, at=at, from_state=call.state,
                                     trigger=trigger, to_state=to, detail=detail or {},
                                     updates=updates)
        call.seq, call.state = seq, to
        call.last_seen_at = max(call.last_seen_at, at)

    def update(self, call: Leg, **values: Any) -> None:
        """Fields of the call's row that are not its state (written behind, #9)."""
        if call.persisted:
            self.call_log.update(call.id, **values)

    # -- timers and tasks -------------------------------------------------------------------
    def schedule(self, call: Leg, name: str, seconds: float, item: object) -> None:
        """A named timer of the call; the next one of the same name replaces the last (a key
        overtakes a timeout). It fires `item` into the call's own queue."""

        async def fire() -> None:
            await asyncio.sleep(seconds)
            self.submit(call.key, item)

        self.cancel(call, name)
        call.timers[name] = asyncio.create_task(fire(), name=f"{name}:{call.key}")

    def cancel(self, call: Leg, *names: str) -> None:
        for name in names:
            task = call.timers.pop(name, None)
            if task is not None and not task.done():
                task.cancel()

    def cancel_all(self, call: Leg) -> None:
        self.cancel(call, *list(call.timers))

    def background(self, coro: Coroutine[Any, Any, Any], *, name: str) -> asyncio.Task[Any]:
        """Run work beside the call's worker, holding a reference until it is done."""
        task = asyncio.create_task(coro, name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    @staticmethod
    async def safely(coro: Coroutine[Any, Any, Any]) -> None:
        """Clean-up whose failure is logged and must not stop the rest of the clean-up."""
        try:
            await coro
        except Exception as exc:  # noqa: BLE001
            log.warning("call.cleanup_failed", error=repr(exc))

    # -- media ------------------------------------------------------------------------------
    def media(self, language: str, names: tuple[str, ...] | list[str]) -> list[str]:
        """The service's own prompts (prompts/system.yaml) in the call's language."""
        language = language if language in ("zh", "en") else self.settings.default_language
        base = self.settings.prompt_dir.rstrip("/")
        return [f"sound:{base}/{language}/{name}" for name in names]

    async def play(self, call: Leg, channel: str, names: tuple[str, ...] | list[str], *,
                   playback_id: str) -> None:
        await self.telephony.play(channel, self.media(call.language, names),
                                  playback_id=playback_id, lang=call.language)

    async def say(self, call: Leg, names: tuple[str, ...] | list[str]) -> None:
        """The service's words for the state the call is in now (the closing thanks, the
        apology): on the customer's channel as `<call>.<state>`; the router hears its end."""
        await self.play(call, call.customer_channel, names, playback_id=f"{call.id}.{call.state}")

    async def play_on_bridge(self, call: Leg, bridge: str, names: tuple[str, ...] | list[str], *,
                             playback_id: str) -> None:
        await self.telephony.play_on_bridge(bridge, self.media(call.language, names),
                                            playback_id=playback_id, lang=call.language)

    # -- bridges and channels ---------------------------------------------------------------
    @staticmethod
    def holding_bridge(call: Leg) -> str:
        return f"hold-{call.id}"

    @staticmethod
    def call_bridge(call: Leg) -> str:
        """The bridge of the call's conversation with an agent (recorded there, R16)."""
        return f"call-{call.id}"

    async def hold(self, call: Leg, channel: str, moh_class: str) -> None:
        """The caller waits alone in a holding bridge with music (R9). Announcements play on
        that bridge, not on the caller's channel: a playback on a channel holds every later ARI
        command on it (joining the agent's bridge) until the playback ends."""
        bridge = self.holding_bridge(call)
        await self.telephony.create_bridge(bridge, kind="holding")
        await self.telephony.add_to_bridge(bridge, [channel])
        await self.telephony.start_bridge_moh(bridge, moh_class=moh_class)

    async def unhold(self, call: Leg, channel: str) -> None:
        bridge = self.holding_bridge(call)
        await self.safely(self.telephony.remove_from_bridge(bridge, [channel]))
        await self.safely(self.telephony.destroy_bridge(bridge))

    async def hang_up(self, channel: str) -> bool:
        """Hang a channel up; False if it was gone already (no event will say so)."""
        try:
            await self.telephony.hangup(channel)
        except AriNotFound:
            return False
        except AriError as exc:
            log.warning("call.hangup_failed", channel=channel, error=str(exc))
        return True

    def attach_leg(self, leg: str, call: Leg) -> None:
        self.legs[leg] = call.key

    def detach_leg(self, leg: str | None) -> None:
        if leg is not None:
            self.legs.pop(leg, None)

    async def drop_leg(self, leg: str | None) -> None:
        """A leg we no longer want: forgotten and hung up."""
        if leg is not None:
            self.detach_leg(leg)
            await self.safely(self.hang_up(leg))

    async def close(self, *, grace_seconds: float = 2.0) -> None:
        """Shutting down: background work (a new caller's archive entry) gets a moment to end."""
        if self._tasks:
            await asyncio.wait(set(self._tasks), timeout=grace_seconds)
