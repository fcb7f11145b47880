"""HTTP: call-back tasks (R8, R15, R17). The list (complaints awaiting a call-back are turned
into tasks first), one task with its attempts, starting an attempt (the agent's phone rings
first, then the customer is dialled: `app.calls.outbound`), and a voicemail's recording. Agents,
team leads, managers and admins; every read and attempt is audited (R20)."""

from __future__ import annotations

import uuid
from typing import Literal

from fastapi import APIRouter, Query, status
from fastapi.responses import FileResponse

from app import dialrules
from app.audit import service as audit
from app.auth.access import SEES_ALL, customer_fields
from app.auth.models import RoleName
from app.auth.service import Principal, require_role
from app.callbacks import service
from app.callbacks.schemas import AttemptIn, AttemptOut, AttemptStarted, TaskDetail, TaskOut
from app.calls.live import LiveCalls
from app.deps import ClockDep, CurrentUser, LiveCallsDep, SessionDep, SettingsDep
from app.errors import AppError, Forbidden, NotFound

router = APIRouter(prefix="/api/callbacks", tags=["callbacks"])
WORKERS = (RoleName.agent, RoleName.team_lead, RoleName.manager)


class NoAgent(AppError):
    status_code = 422
    error_id = "no-agent"
    message = "name the agent who calls back (`agent_id`): this user is no agent"


def _full_number(calls: LiveCalls, principal: Principal, task_id: uuid.UUID) -> bool:
    """R20: supervisors see the number; an agent only on their own call-back going on now."""
    if principal.role in SEES_ALL or principal.role is RoleName.team_lead:
        return True
    attempt = calls.callback_attempt(task_id)
    return attempt is not None and attempt.agent_id == principal.agent_id


def _out(calls: LiveCalls, principal: Principal, view: service.TaskView) -> dict:
    task = view.task
    customer = customer_fields({"customer_name": view.customer_name,
                                "customer_number": task.customer_number},
                               full=_full_number(calls, principal, task.id))  # R20, #20
    return dict(
        id=task.id, source=task.source, **customer,
        complaint_id=task.complaint_id, complaint_number=view.complaint_number,
        call_id=task.call_id, has_voicemail=task.voicemail_id is not None,
        created_at=task.created_at, due_at=task.due_at, attempts=task.attempts,
        max_attempts=task.max_attempts, next_attempt_at=task.next_attempt_at,
        status=task.status, last_outcome=task.last_outcome)


@router.get("", response_model=list[TaskOut])
async def list_tasks(session: SessionDep, user: CurrentUser, settings: SettingsDep,
                     clock: ClockDep, calls: LiveCallsDep,
                     status_: Literal["open", "in_progress", "done", "unreachable", "cancelled"]
                     | None = Query(None, alias="status"),
                     limit: int = Query(200, ge=1, le=1000)) -> list[TaskOut]:
    """Due first. Resolved complaints awaiting their call-back get a task here (R15)."""
    require_role(user, *WORKERS)
    now = clock.now()
    await service.sync_complaints(session=session, now=now,
                                  max_attempts=settings.callback_max_attempts,
                                  language=settings.default_language)
    views = await service.list_tasks(session=session, status=status_, limit=limit)
    audit.record(session=session, principal=user, at=now, action="view", entity="callback_tasks",
                 entity_id="list", reason="callbacks", detail={"status": status_,
                                                               "count": len(views)})
    await session.commit()
    return [TaskOut(**_out(calls, user, v)) for v in views]


@router.get("/{task_id}", response_model=TaskDetail)
async def get_task(task_id: uuid.UUID, session: SessionDep, user: CurrentUser, clock: ClockDep,
                   calls: LiveCallsDep) -> TaskDetail:
    require_role(user, *WORKERS)
    view = await service.get_task(session=session, task_id=task_id)
    attempts = await service.attempts_of(session=session, task_id=task_id)
    audit.record(session=session, principal=user, at=clock.now(),
                 action="view", entity="callback_task", entity_id=task_id, reason="callbacks")
    await session.commit()
    return TaskDetail(**_out(calls, user, view),
                      attempt_log=[AttemptOut.model_validate(a) for a in attempts])


@router.post("/{task_id}/attempts", response_model=AttemptStarted,
             status_code=status.HTTP_202_ACCEPTED)
async def start_attempt(task_id: uuid.UUID, body: AttemptIn, session: SessionDep,
                        user: CurrentUser, clock: ClockDep, calls: LiveCallsDep,
                        settings: SettingsDep) -> AttemptStarted:
    """Call the customer back now (R17): the agent's phone rings first. 409 when the next
    attempt is not due yet (`callback-too-early`), the task is done or given up
    (`callback-closed`), an attempt is going on (`callback-in-progress`), or the agent is not
    ready (`agent-busy`); 422 `number-not-allowed` when the task's number matches none of
    `HOTLINE_OUTBOUND_NUMBERS` (#20, R20: never dialled)."""
    require_role(user, *WORKERS)
    agent_id = body.agent_id or user.agent_id
    if agent_id is None:
        raise NoAgent()
    if user.role is RoleName.agent and agent_id != user.agent_id:
        raise Forbidden("agents call back from their own phone")
    view = await service.get_task(session=session, task_id=task_id)  # 404 before anything rings
    dialrules.check_number(view.task.customer_number, settings.outbound_numbers)
    await session.rollback()
    live = await calls.begin_callback(task_id=task_id, agent_id=agent_id, user_id=user.user_id)
    audit.record(session=session, principal=user, at=clock.now(),
                 action="call", entity="callback_task", entity_id=task_id, reason="callback",
                 call_id=live.call_id, detail={"agent_id": str(agent_id),
                                               "attempt_id": str(live.attempt_id)})
    await session.commit()
    return AttemptStarted(attempt_id=live.attempt_id, call_id=live.call_id)


@router.get("/{task_id}/voicemail", response_class=FileResponse)
async def voicemail(task_id: uuid.UUID, session: SessionDep, user: CurrentUser,
                    settings: SettingsDep, clock: ClockDep) -> FileResponse:
    """The message the customer left (R8), as WAV."""
    require_role(user, *WORKERS)
    view = await service.get_task(session=session, task_id=task_id)
    message = await service.voicemail_of(session=session, task=view.task)
    path = settings.storage_dir / message.path if message else None
    if message is None or path is None or not path.is_file():
        raise NotFound("this task has no voicemail")
    audit.record(session=session, principal=user, at=clock.now(),
                 action="listen", entity="voicemail", entity_id=message.id, reason="callbacks",
                 call_id=message.call_id)
    await session.commit()
    return FileResponse(path, media_type="audio/wav", filename=f"voicemail-{message.id}.wav")
