"""Event-to-action latency: from an ARI event reaching the service to the first ARI request
that handling it makes (answer, play, stop a prompt, bridge...), on the injected clock's
monotonic source. `handling(...)` wraps the handling of one event; the ARI client calls
`acted()` before every request. Events whose handling asks nothing of Asterisk count nowhere."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from app.metrics import EVENT_TO_ACTION_SECONDS


@dataclass
class _Pending:
    event: str
    received: float
    monotonic: Callable[[], float]
    done: bool = False


_pending: ContextVar[_Pending | None] = ContextVar("event_to_action", default=None)


@contextmanager
def handling(event: str, received: float, monotonic: Callable[[], float]) -> Iterator[None]:
    """While this runs (and in tasks it starts), the first ARI request is this event's action."""
    pending = _Pending(event, received, monotonic)
    token = _pending.set(pending)
    try:
        yield
    finally:
        pending.done = True  # tasks started meanwhile see it too: their requests are not ours
        _pending.reset(token)


@contextmanager
def outside() -> Iterator[None]:
    """Handling one of our own items (a timer, an offer): no event's latency is running, even
    if the task was started while one was (a call's worker inherits its starter's context)."""
    token = _pending.set(None)
    try:
        yield
    finally:
        _pending.reset(token)


def received() -> float | None:
    """When the event being handled reached the service (None outside an event's handling)."""
    pending = _pending.get()
    return pending.received if pending is not None else None


def acted() -> None:
    """An ARI request goes out: the first one after an event measures that event's latency."""
    pending = _pending.get()
    if pending is not None and not pending.done:
        pending.done = True
        EVENT_TO_ACTION_SECONDS.labels(event=pending.event).observe(
            max(pending.monotonic() - pending.received, 0.0))
