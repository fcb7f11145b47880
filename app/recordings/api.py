"""HTTP: call recordings (R16) and who may hear them (R20).

- `GET /api/recordings`: newest first; filters `call_id`, `agent_id`, `queue`, `status`, `since`,
  `until` (start times, with an offset); keyset pages (`limit`, `cursor`).
- `GET /api/recordings/{id}`: metadata and the paused parts (offsets and wall times).
- `GET /api/recordings/{id}/file`: the WAV, with HTTP Range (206 / 416) for players that seek.

Quality inspectors and managers hear every recording; team leads those of their team's agents;
agents their own only when `HOTLINE_RECORDINGS_AGENT_ACCESS` is on; the admin token none (it
sets the system up; listening to customers is no part of that). Every list, view and download
is written to `audit_log`.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse

from app.audit import service as audit
from app.auth.models import RoleName
from app.auth.service import Principal
from app.config import Settings
from app.deps import ClockDep, CurrentUser, SessionDep, SettingsDep, StorageDep
from app.errors import AppError, Conflict, Forbidden, NotFound
# The call list's keyset cursor and time checks: the same contract here.
from app.pagination import decode_cursor, encode_cursor, time_range
from app.recordings import service
from app.recordings.models import Recording, RecordingStatus
from app.recordings.schemas import (RecordingDetail, RecordingPage, recording_detail,
                                    recording_out)

router = APIRouter(prefix="/api/recordings", tags=["recordings"])
LISTENERS = (RoleName.qa, RoleName.manager)


class RecordingExpired(AppError):
    status_code = 410
    error_id = "recording-expired"
    message = "the recording's retention has passed and its file was deleted"


class RecordingNotStored(Conflict):
    error_id = "recording-not-stored"
    message = "the recording has no file (still recording, or it failed)"


class FileMissing(NotFound):
    error_id = "recording-file-missing"
    message = "the recording's file is missing from storage"


def scope_of(principal: Principal, settings: Settings) -> service.Scope:
    """R20: whose recordings this principal may hear; Forbidden if none by their role."""
    if principal.role in LISTENERS:
        return service.Scope()
    if principal.role is RoleName.team_lead:
        return service.Scope(team=principal.team) if principal.team else service.Scope(nothing=True)
    if principal.role is RoleName.agent and settings.recordings_agent_access:
        if principal.agent_id is None:
            return service.Scope(nothing=True)
        return service.Scope(agent_id=principal.agent_id)
    raise Forbidden("your role may not hear recordings")


def may_hear(scope: service.Scope, recording: Recording, agent_team: str | None) -> bool:
    if scope.nothing:
        return False
    if scope.agent_id is not None and recording.agent_id != scope.agent_id:
        return False
    if scope.team is not None and agent_team != scope.team:
        return False
    return True


async def _readable(settings: Settings, session, principal: Principal,
                    recording_id: uuid.UUID) -> tuple[Recording, str | None]:
    scope = scope_of(principal, settings)
    recording = await service.get(session=session, recording_id=recording_id)
    if recording is None:
        raise NotFound(f"no recording {recording_id}")
    name, team = await service.agent_team(session=session, agent_id=recording.agent_id)
    if not may_hear(scope, recording, team):
        raise Forbidden("not a recording of your team's (or your own) calls")
    return recording, name


@router.get("", response_model=RecordingPage)
async def list_recordings(
    request: Request, session: SessionDep, user: CurrentUser, settings: SettingsDep,
    clock: ClockDep, call_id: uuid.UUID | None = None,
    agent_id: uuid.UUID | None = None,
    queue: Annotated[str | None, Query(max_length=64)] = None,
    status: RecordingStatus | None = None,
    since: Annotated[datetime | None, Query(description="started at or after (with offset)")] = None,
    until: Annotated[datetime | None, Query(description="started before (with offset)")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page")] = None,
) -> RecordingPage:
    scope = scope_of(user, settings)
    since, until = time_range(since, until)
    filters = service.Filters(call_id=call_id, agent_id=agent_id, queue=queue, since=since,
                              until=until, status=str(status) if status else None)
    rows = await service.list_recordings(session=session, filters=filters, scope=scope,
                                         limit=limit + 1,
                                         after=decode_cursor(cursor) if cursor else None)
    page, more = rows[:limit], len(rows) > limit
    audit.record(session=session, principal=user, at=clock.now(),
                 action="view", entity="recording", entity_id="list", reason="list",
                 call_id=call_id, detail={"ids": [str(r.id) for r, _ in page],
                                          "filters": dict(request.query_params)})
    await session.commit()
    return RecordingPage(items=[recording_out(r, name) for r, name in page],
                         next_cursor=encode_cursor(page[-1][0].started_at, page[-1][0].id)
                         if more else None)


@router.get("/{recording_id}", response_model=RecordingDetail)
async def get_recording(recording_id: uuid.UUID, session: SessionDep, user: CurrentUser,
                        settings: SettingsDep, clock: ClockDep) -> RecordingDetail:
    recording, name = await _readable(settings, session, user, recording_id)
    pauses = await service.pauses_of(session=session, recording_id=recording.id)
    audit.record(session=session, principal=user, at=clock.now(),
                 action="view", entity="recording", entity_id=recording.id, reason="metadata",
                 call_id=recording.call_id)
    await session.commit()
    return recording_detail(recording, name, pauses)


@router.get("/{recording_id}/file", response_class=FileResponse,
            responses={200: {"content": {"audio/wav": {}}}, 206: {"description": "a range"},
                       410: {"description": "expired"}, 416: {"description": "bad range"}})
async def get_recording_file(recording_id: uuid.UUID, request: Request, session: SessionDep,
                             user: CurrentUser, settings: SettingsDep, clock: ClockDep,
                             storage: StorageDep) -> FileResponse:
    """The recording itself; `Range: bytes=...` gives 206 with Content-Range (416 if the range
    is outside the file). Every request is audited as a download."""
    recording, _ = await _readable(settings, session, user, recording_id)
    if recording.status == RecordingStatus.expired:
        raise RecordingExpired(deleted_at=recording.deleted_at.isoformat()
                               if recording.deleted_at else None)
    if recording.status != RecordingStatus.stored or recording.path is None:
        raise RecordingNotStored(status=recording.status)
    path = storage.local_path(recording.path)
    if path is None:
        raise FileMissing()
    audit.record(session=session, principal=user, at=clock.now(),
                 action="download", entity="recording", entity_id=recording.id, reason="listen",
                 call_id=recording.call_id,
                 detail={"range": request.headers.get("range")} if "range" in request.headers
                 else {})
    await session.commit()
    return FileResponse(path, media_type="audio/wav",
                        filename=f"{recording.name}.{recording.format}",
                        headers={"Cache-Control": "private, no-store"})
