"""The call log of live calls, written behind the calls (#9, #15): everything a live call
writes — its row, its timeline, its menu path, its offers to agents, and the records it leaves
(a call-back task, a message) — so that no caller waits on Postgres (R21).

The calls hand each write here and go on; one task stores them in the order they came, many
calls' writes in one transaction every `flush_seconds` (or sooner when `max_batch` are queued),
one executemany per kind, kinds in the order their rows refer to each other: new call rows,
timeline rows, menu steps, new offers, then the call rows' and offers' updates (a row's updates
merged in order, last write wins per column), then the records (`Job`s, each run in the order
it was put). A call's row ends as the call left it and its timeline keeps the call's order
(`seq`).

What stays synchronous: reads (with a short timeout on the call path: `call_read_timeout`),
and the outbound call-back's attempt, which an agent asked for and which needs Postgres to
claim its task. A batch that failed for a bad row is retried one write at a time
(`app.ordered_writer`), a write that still fails is logged.

Durability (R21, #15): while Postgres cannot be reached the writes wait in memory, in order,
and are stored when it returns (`app.ordered_writer`: up to `max_pending` writes, default
200,000: 11-14 minutes at 20 calls/s and 12-15 writes a call). The writer is drained on
shutdown, when the event stream drops and before reconciling with Asterisk after a (re)connect
(each bounded: during an outage it returns with the rest still pending); a crash or kill loses
what was queued: normally the last `flush_seconds` of the call log (default 20 ms) and the batch
being written, during an outage the backlog.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.calls.models import Call, CallEvent
from app.config import WriterSettings
from app.ordered_writer import OrderedWriter, update_rows
from ivr.models import IvrStepRow
from routing.models import OfferRow

_CALL_COLUMNS = frozenset(Call.__table__.c.keys()) - {"id", "channel_id", "started_at",
                                                      "updated_at"}


@dataclass(frozen=True)
class Transition:
    """A timeline row `from -> trigger -> to` and the call row's move to `to_state`."""

    call_id: uuid.UUID
    seq: int
    at: datetime
    from_state: str
    trigger: str
    to_state: str
    detail: dict[str, Any] = field(default_factory=dict)
    updates: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CallUpdate:
    """Fields of the call row that are not its state (the menu's node, the language...)."""

    call_id: uuid.UUID
    values: dict[str, Any]


@dataclass(frozen=True)
class IvrStep:
    """Step `seq` of the caller's path through the menu."""

    call_id: uuid.UUID
    seq: int
    at: datetime
    node: str
    input: str
    outcome: str


@dataclass(frozen=True)
class CallOpen:
    """A new call's row (R1: the caller is answered before it is stored)."""

    values: dict[str, Any]


@dataclass(frozen=True)
class OfferOpen:
    """An offer of the call to an agent's phone (R1)."""

    values: dict[str, Any]


@dataclass(frozen=True)
class OfferUpdate:
    offer_id: uuid.UUID
    values: dict[str, Any]


@dataclass(frozen=True)
class Job:
    """A record the call leaves in another domain (a call-back task, a message): run in the
    batch's transaction, after the call rows it refers to, in the order it was put."""

    run: Callable[[AsyncSession], Awaitable[Any]]
    name: str


Write = Transition | CallUpdate | IvrStep | CallOpen | OfferOpen | OfferUpdate | Job


class CallLogWriter(OrderedWriter[Write]):
    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], *,
                 flush_seconds: float = 0.02, max_batch: int = 1000,
                 limits: WriterSettings | None = None) -> None:
        super().__init__(sessionmaker, store, name="call-log-writer",
                         flush_seconds=flush_seconds, max_batch=max_batch, limits=limits)

    def transition(self, **fields: Any) -> None:
        self.put_nowait([_checked(Transition(**fields))])

    def update(self, call_id: uuid.UUID, **values: Any) -> None:
        if values:
            self.put_nowait([_checked(CallUpdate(call_id=call_id, values=values))])

    def ivr_step(self, **fields: Any) -> None:
        self.put_nowait([IvrStep(**fields)])

    def open_call(self, **values: Any) -> None:
        self.put_nowait([CallOpen(values)])

    def open_offer(self, **values: Any) -> None:
        self.put_nowait([OfferOpen(values)])

    def update_offer(self, offer_id: uuid.UUID, **values: Any) -> None:
        if values:
            self.put_nowait([OfferUpdate(offer_id, values)])

    def job(self, name: str, run: Callable[[AsyncSession], Awaitable[Any]]) -> None:
        self.put_nowait([Job(run, name)])


def _checked(write: Transition | CallUpdate) -> Transition | CallUpdate:
    """A column that is not the call row's fails here, in the flow, not later in a batch."""
    values = write.updates if isinstance(write, Transition) else write.values
    if unknown := set(values) - _CALL_COLUMNS:
        raise ValueError(f"not columns of a call's row: {sorted(unknown)}")
    return write


async def store(session: AsyncSession, writes: Sequence[Write]) -> None:
    """Store writes of many calls, one executemany per kind (their order kept per call)."""
    calls: list[dict[str, Any]] = []
    events: list[dict[str, Any]] = []
    steps: list[dict[str, Any]] = []
    offers: list[dict[str, Any]] = []
    rows: dict[uuid.UUID, dict[str, Any]] = {}  # the call rows' new values, merged in order
    offer_rows: dict[uuid.UUID, dict[str, Any]] = {}
    jobs: list[Job] = []
    for w in writes:
        match w:
            case CallOpen():
                calls.append(w.values)
            case OfferOpen():
                offers.append(w.values)
            case OfferUpdate():
                offer_rows.setdefault(w.offer_id, {}).update(w.values)
            case Job():
                jobs.append(w)
            case Transition():
                events.append(dict(call_id=w.call_id, seq=w.seq, at=w.at,
                                   from_state=str(w.from_state), trigger=str(w.trigger),
                                   to_state=str(w.to_state), detail=w.detail or {}))
                rows.setdefault(w.call_id, {}).update(
                    w.updates, state=str(w.to_state), last_seen_at=w.at)
            case CallUpdate():
                rows.setdefault(w.call_id, {}).update(w.values)
            case IvrStep():
                steps.append(dict(call_id=w.call_id, seq=w.seq, at=w.at, node=w.node,
                                  input=w.input[:64], outcome=w.outcome[:100]))
    if calls:  # a channel's row already there (seen twice) is kept
        await session.execute(
            insert(Call.__table__).on_conflict_do_nothing(index_elements=["channel_id"]), calls)
    if events:  # a row already there (a step replayed after a restart) is kept
        await session.execute(
            insert(CallEvent.__table__)
            .on_conflict_do_nothing(constraint="uq_call_events_call_id_seq"), events)
    if steps:
        await session.execute(
            insert(IvrStepRow.__table__)
            .on_conflict_do_nothing(constraint="uq_ivr_steps_call_id_seq"), steps)
    if offers:
        await session.execute(insert(OfferRow.__table__).on_conflict_do_nothing(), offers)
    await update_rows(session, Call.__table__, rows)
    await update_rows(session, OfferRow.__table__, offer_rows)
    for job in jobs:
        await job.run(session)
