"""Where a call goes when its queue cannot serve it (R8, R9): a pure decision.

A queue's `overflow` (validated by `routing.schemas.Overflow`, stored as given) is one of
`{"kind": "queue", "target": NAME}`, `{"kind": "voicemail", "max_seconds": N, "prompt": [...]}`
or `{"kind": "callback"}`; none means a promised call-back.

`route` decides for a call the menu hands to a queue (can it join, or where does it go instead:
no such queue, or nobody logged in who could take it) and for a call that waited its queue's
maximum (`waited=True`). An overflow to another queue is followed only while that queue is set up
and not visited yet; a queue nobody could serve passes the call on along its own overflow, so a
caller never waits for agents who are not there. Anything else ends in a call-back.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

DEFAULT_VOICEMAIL_SECONDS = 120
DEFAULT_VOICEMAIL_PROMPT = ("overflow_voicemail",)  # a system prompt (prompts/system.yaml)


class Why(StrEnum):
    """Why the call could not be served by the queue it was meant for."""

    no_queue = "no_queue"                  # the menu names a queue that is not set up
    nobody_logged_in = "nobody_logged_in"  # nobody logged in could take it (skills, level, language)
    max_wait = "max_wait"                  # it waited the queue's maximum


@dataclass(frozen=True)
class Join:
    """Wait in this queue."""

    queue: str


@dataclass(frozen=True)
class ToVoicemail:
    """The caller hears `prompt`, then leaves a message of at most `max_seconds` (R8)."""

    max_seconds: int = DEFAULT_VOICEMAIL_SECONDS
    prompt: tuple[str, ...] = DEFAULT_VOICEMAIL_PROMPT


@dataclass(frozen=True)
class CallBack:
    """Nobody can take the call: we promise to call back (a call-back task)."""


Decision = Join | ToVoicemail | CallBack


@dataclass(frozen=True)
class Routed:
    decision: Decision
    why: Why | None = None          # None: the call joins the queue it was meant for
    via: tuple[str, ...] = ()       # the queues whose overflow was followed, in order

    @property
    def overflowed(self) -> bool:
        return self.why is not None


def voicemail_of(config: Mapping[str, Any]) -> ToVoicemail:
    prompt = config.get("prompt") or DEFAULT_VOICEMAIL_PROMPT
    return ToVoicemail(max_seconds=int(config.get("max_seconds") or DEFAULT_VOICEMAIL_SECONDS),
                       prompt=(prompt,) if isinstance(prompt, str) else tuple(prompt))


def route(queue: str, *, overflows: Mapping[str, Mapping[str, Any] | None],
          staffed: Callable[[str], bool], waited: bool = False) -> Routed:
    """Where a call meant for `queue` goes. `overflows` holds every queue that is set up (name ->
    its overflow config or None); `staffed(name)` says whether anyone logged in could take the
    call there. With `waited`, the call has waited `queue`'s maximum and leaves it."""
    if queue not in overflows:
        return Routed(CallBack(), Why.no_queue)
    if not waited and staffed(queue):
        return Routed(Join(queue))
    why = Why.max_wait if waited else Why.nobody_logged_in
    via = [queue]
    current = queue
    while True:
        config = overflows[current] or {}
        kind = config.get("kind")
        if kind == "voicemail":
            return Routed(voicemail_of(config), why, tuple(via))
        target = config.get("target")
        if kind != "queue" or target not in overflows or target in via:
            return Routed(CallBack(), why, tuple(via))
        if staffed(target):
            return Routed(Join(target), why, tuple(via))
        via.append(target)
        current = target
