"""Call-back tasks (R8, R15, R17): opening them (voicemails, callers nobody could take, callers
who hung up waiting, resolved complaints), listing them, and each attempt's bookkeeping. The
decisions are `app.callbacks.rules`; the calls themselves are `app.calls.outbound`'s."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from app.callbacks import rules
from app.callbacks.models import CallbackAttempt, CallbackSource, CallbackTask, Voicemail
from app.callbacks.rules import AttemptOutcome, TaskStatus
from app.calls import service as calls
from app.complaints import service as complaints
from app.complaints.models import Complaint
from app.customers.models import Customer
from app.customers.numbers import normalise
from app.errors import AppError, NotFound

DEFAULT_DUE = timedelta(hours=24)
SYNC_LOCK = 7_431_021  # pg_advisory_xact_lock key: complaint call-back tasks are opened one at a time
LIVE = (TaskStatus.open, TaskStatus.in_progress)


class CallbackRefused(AppError):
    status_code = 409
    error_id = "callback-refused"
    message = "this call-back cannot be attempted now"


class UnknownTask(NotFound):
    error_id = "unknown-callback"
    message = "no such call-back task"


REFUSALS = {
    rules.Refusal.in_progress: ("callback-in-progress", "an attempt of this call-back is going on"),
    rules.Refusal.closed: ("callback-closed", "this call-back is done, unreachable or cancelled"),
    rules.Refusal.too_early: ("callback-too-early", "the next attempt is not due yet"),
}


async def open_task(*, session: AsyncSession, source: CallbackSource, customer_number: str | None,
                    language: str, call_id: uuid.UUID | None,
                    due_at: datetime, voicemail_id: uuid.UUID | None = None, note: str = "",
                    max_attempts: int = 3, complaint_id: uuid.UUID | None = None) -> CallbackTask:
    """A new open task, due at `due_at` (the caller's clock: never the real one here)."""
    task = CallbackTask(source=source, customer_number=customer_number, language=language,
                        call_id=call_id, voicemail_id=voicemail_id, note=note,
                        status=TaskStatus.open, complaint_id=complaint_id, attempts=0,
                        max_attempts=max_attempts,
                        due_at=due_at)
    session.add(task)
    await session.flush()
    return task


async def store_voicemail(*, session: AsyncSession, call_id: uuid.UUID, caller_number: str | None,
                          language: str, path: str, fmt: str, duration_seconds: float | None,
                          size_bytes: int, sha256: str, due_at: datetime,
                          max_attempts: int = 3) -> tuple[Voicemail, CallbackTask]:
    """R8: keep the message with the caller's number and open a call-back task for agents."""
    voicemail = Voicemail(call_id=call_id, caller_number=caller_number, language=language,
                          path=path, format=fmt, duration_seconds=duration_seconds,
                          size_bytes=size_bytes, sha256=sha256)
    session.add(voicemail)
    await session.flush()
    task = await open_task(session=session, source=CallbackSource.voicemail,
                           customer_number=caller_number, language=language, call_id=call_id,
                           voicemail_id=voicemail.id, due_at=due_at, max_attempts=max_attempts)
    return voicemail, task


async def open_abandoned(*, session: AsyncSession, customer_number: str | None, language: str,
                         call_id: uuid.UUID, due_at: datetime,
                         max_attempts: int) -> CallbackTask | None:
    """A caller who hung up waiting in a queue is called back, once: not when a task for that
    number is open already (nor for an anonymous caller)."""
    if normalise(customer_number) is None:
        return None
    spellings = {customer_number, normalise(customer_number)}
    if await session.scalar(select(CallbackTask.id).where(
            CallbackTask.customer_number.in_(spellings), CallbackTask.status.in_(LIVE)).limit(1)):
        return None
    return await open_task(session=session, source=CallbackSource.abandoned,
                           customer_number=customer_number, language=language, call_id=call_id,
                           note="hung up waiting in the queue", due_at=due_at,
                           max_attempts=max_attempts)


async def sync_complaints(*, session: AsyncSession, now: datetime, max_attempts: int,
                          language: str = "zh") -> int:
    """R15: a task for every complaint awaiting its call-back (resolved), and live tasks of
    complaints no longer awaiting one cancelled. A new task speaks the language of the call the
    complaint came in on (its survey's prompts), else `language`. Returns how many were opened.

    Run when a complaint changes state (the task exists from the moment it is resolved) and when
    the task list is read; under a transaction lock, so two at once cannot both open a task."""
    await session.execute(text(f"SELECT pg_advisory_xact_lock({SYNC_LOCK})"))
    awaiting = {c.id: c for c in await complaints.awaiting_callback(session=session)}
    live = {t.complaint_id: t for t in await session.scalars(select(CallbackTask).where(
        CallbackTask.complaint_id.is_not(None), CallbackTask.status.in_(LIVE)))}
    for complaint_id, task in live.items():
        if complaint_id not in awaiting and task.status == TaskStatus.open:
            task.status = TaskStatus.cancelled
    new = [c for c in awaiting.values() if c.id not in live]
    call_ids = {c.call_id for c in new} - {None}
    spoken = await calls.languages(session=session, call_ids=call_ids)
    for complaint in new:
        await open_task(
            session=session, source=CallbackSource.complaint,
            customer_number=complaint.customer_number,
            language=spoken.get(complaint.call_id) or language, call_id=complaint.call_id,
            complaint_id=complaint.id, note=f"complaint {complaint.number}",
            due_at=complaint.callback_due_at or now + DEFAULT_DUE, max_attempts=max_attempts)
    await session.flush()
    return len(new)


@dataclass(frozen=True)
class TaskView:
    task: CallbackTask
    complaint_number: str | None
    customer_name: str | None


async def _views(session: AsyncSession, query) -> list[TaskView]:
    rows = (await session.execute(
        query.add_columns(Complaint.number, Complaint.customer_name)
        .outerjoin(Complaint, Complaint.id == CallbackTask.complaint_id))).all()
    phones = {normalise(t.customer_number) for t, *_ in rows} - {None}
    names = {c.phone: c.name for c in await session.scalars(
        select(Customer).where(Customer.phone.in_(phones)))} if phones else {}
    return [TaskView(task, number, complaint_name or names.get(normalise(task.customer_number))
                     or None) for task, number, complaint_name in rows]


async def list_tasks(*, session: AsyncSession, status: str | None, limit: int = 200) -> list[TaskView]:
    """Due first (then oldest); `status` one of TaskStatus or None for all."""
    query = select(CallbackTask).order_by(CallbackTask.due_at.asc().nulls_last(),
                                          CallbackTask.created_at, CallbackTask.id).limit(limit)
    if status is not None:
        query = query.where(CallbackTask.status == status)
    return await _views(session, query)


async def get_task(*, session: AsyncSession, task_id: uuid.UUID) -> TaskView:
    views = await _views(session, select(CallbackTask).where(CallbackTask.id == task_id))
    if not views:
        raise UnknownTask()
    return views[0]


async def attempts_of(*, session: AsyncSession, task_id: uuid.UUID) -> list[CallbackAttempt]:
    return list(await session.scalars(select(CallbackAttempt).where(
        CallbackAttempt.task_id == task_id).order_by(CallbackAttempt.started_at)))


async def voicemail_of(*, session: AsyncSession, task: CallbackTask) -> Voicemail | None:
    if task.voicemail_id is None:
        return None
    return await session.get(Voicemail, task.voicemail_id)


async def claim(*, session: AsyncSession, task_id: uuid.UUID, now: datetime) -> CallbackTask:
    """Lock the task for an attempt (two agents pressing at once: the second is refused)."""
    task = await session.scalar(select(CallbackTask).where(CallbackTask.id == task_id)
                                .with_for_update())
    if task is None:
        raise UnknownTask()
    why = rules.refusal(task.status, task.next_attempt_at, now)
    if why is not None:
        error_id, message = REFUSALS[why]
        exc = CallbackRefused(message, next_attempt_at=task.next_attempt_at.isoformat()
                              if why is rules.Refusal.too_early and task.next_attempt_at else None)
        exc.error_id = error_id
        raise exc
    if not task.customer_number:
        raise CallbackRefused("the task has no number to call")
    task.status = TaskStatus.in_progress
    return task


async def start_attempt(*, session: AsyncSession, task: CallbackTask, agent_id: uuid.UUID,
                        user_id: uuid.UUID | None, call_id: uuid.UUID, at: datetime,
                        attempt_id: uuid.UUID | None = None) -> CallbackAttempt:
    """An attempt at the task begins (its call is the outbound call, R17)."""
    attempt = CallbackAttempt(id=attempt_id or uuid.uuid4(), task_id=task.id, agent_id=agent_id,
                              user_id=user_id, call_id=call_id, started_at=at)
    session.add(attempt)
    await session.flush()
    return attempt


async def settle(*, session: AsyncSession, attempt_id: uuid.UUID, outcome: AttemptOutcome,
                 reason: str | None, at: datetime, counted: bool, retry: timedelta,
                 user_id: uuid.UUID | None = None) -> CallbackTask:
    """The attempt's outcome is known: store it, and move the task on (done, again later,
    unreachable after its maximum). An attempt that never reached the customer's line (the
    agent did not answer) does not count: the task is open again at once. A complaint's
    workflow hears of every counted attempt (R15: answered -> called back; the maximum ->
    closed as unreachable), and has the last word on giving up."""
    attempt = await session.get(CallbackAttempt, attempt_id, with_for_update=True)
    assert attempt is not None
    task = await session.get(CallbackTask, attempt.task_id, with_for_update=True)
    assert task is not None
    attempt.outcome, attempt.reason = outcome, reason
    if outcome is AttemptOutcome.answered:
        attempt.customer_answered_at = at
    if not counted:
        task.status = TaskStatus.open
        await session.flush()
        return task
    after = rules.after_attempt(attempts=task.attempts, max_attempts=task.max_attempts,
                                outcome=outcome, at=at, retry=retry)
    task.attempts, task.status, task.next_attempt_at = after.attempts, after.status, after.next_attempt_at
    task.last_outcome = outcome
    if task.complaint_id is not None:
        complaint = await complaints.callback_attempted(
            session=session, complaint_id=task.complaint_id, outcome=str(outcome), at=at,
            actor="system", user_id=user_id, max_attempts=task.max_attempts)
        status = getattr(complaint, "status", None)
        if status == "closed_unreachable":
            task.status, task.next_attempt_at = TaskStatus.unreachable, None
        elif status == "called_back":
            task.status, task.next_attempt_at = TaskStatus.done, None
    await session.flush()
    return task


async def agent_answered(*, session: AsyncSession, attempt_id: uuid.UUID, at: datetime) -> None:
    """The agent picked up the call-back; the customer is dialled next."""
    attempt = await session.get(CallbackAttempt, attempt_id)
    if attempt is not None:
        attempt.agent_answered_at = at


async def lost_attempt(*, session: AsyncSession, call_id: uuid.UUID, at: datetime,
                       ended_at: datetime) -> uuid.UUID | None:
    """The attempt of an outbound call cut by a restart of the service: it does not count
    (the task is open again at once); its id, if there is one."""
    attempt = await session.scalar(select(CallbackAttempt).where(CallbackAttempt.call_id == call_id))
    if attempt is None:
        return None
    if attempt.outcome is None:
        await settle(session=session, attempt_id=attempt.id, outcome=AttemptOutcome.failed,
                     reason="lost_track", at=at, counted=False, retry=timedelta(0))
    attempt.ended_at = attempt.ended_at or ended_at
    return attempt.id


async def attempt_ended(*, session: AsyncSession, attempt_id: uuid.UUID, at: datetime,
                        outcome: AttemptOutcome | None = None, reason: str | None = None) -> None:
    attempt = await session.get(CallbackAttempt, attempt_id)
    if attempt is not None:
        attempt.ended_at = at
        if attempt.outcome is None and outcome is not None:
            attempt.outcome, attempt.reason = outcome, reason


async def withdraw(*, session: AsyncSession, attempt_id: uuid.UUID, call_id: uuid.UUID) -> None:
    """An attempt that could not start (the agent was not ready): as if never begun."""
    attempt = await session.get(CallbackAttempt, attempt_id)
    if attempt is None:
        return
    task = await session.get(CallbackTask, attempt.task_id, with_for_update=True)
    if task is not None and task.status == TaskStatus.in_progress:
        task.status = TaskStatus.open
    await session.delete(attempt)
    await calls.discard(session=session, call_id=call_id)


async def complaint_calls(*, session: AsyncSession, call_ids: set[uuid.UUID]) -> set[uuid.UUID]:
    """Which of these calls were call-back attempts of a complaint (R15, R17)."""
    if not call_ids:
        return set()
    return set(await session.scalars(
        select(CallbackAttempt.call_id)
        .join(CallbackTask, CallbackTask.id == CallbackAttempt.task_id)
        .where(CallbackAttempt.call_id.in_(call_ids),
               CallbackTask.source == CallbackSource.complaint,
               CallbackTask.complaint_id.is_not(None))))
