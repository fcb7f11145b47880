"""R15's complaint workflow against Postgres: transitions with their timeline and audit, the
409 that stores nothing, call-back attempts closing a case unreachable, satisfaction."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditEntry
from app.auth.models import RoleName
from app.auth.service import Principal
from app.calendar import Calendar
from app.complaints import service
from app.complaints.models import ComplaintEvent
from app.complaints.workflow import InvalidTransition
from app.calls import models as _calls  # noqa: F401 - register the tables complaints refer to
from routing import models as _routing  # noqa: F401

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 23, 10, 0, tzinfo=SH)  # a Monday
CAL = Calendar(zone=SH)
SYSTEM_MANAGER = Principal(subject="boss", role=RoleName.manager)


async def new_complaint(session, **changes):
    fields = dict(received_at=T0, zone=SH, customer_id=None, customer_name="Wang Fang",
                  customer_number="+8613800138000", address="", responsible_person="",
                  summary="late parcel", severity="general", call_id=None, owner_agent_id=None,
                  created_by=None)
    return await service.create(session=session, **{**fields, **changes})


async def resolved_complaint(session):
    complaint = await new_complaint(session)
    complaint.status = "in_progress"
    await service.transition(session=session, complaint_id=complaint.id, to="resolved",
                             at=T0 + timedelta(days=1), principal=SYSTEM_MANAGER, calendar=CAL)
    return complaint


async def events(session, complaint):
    return list(await session.scalars(select(ComplaintEvent).where(
        ComplaintEvent.complaint_id == complaint.id).order_by(ComplaintEvent.id)))


async def test_resolving_sets_the_call_back_deadlines_and_is_in_the_timeline(session):
    complaint = await resolved_complaint(session)
    resolved = T0 + timedelta(days=1)  # Tuesday 10:00 -> Friday 10:00 (72 working hours)
    assert complaint.status == "resolved"
    assert complaint.callback_due_at == resolved + timedelta(hours=72)
    assert complaint.callback_deadline_at == resolved + timedelta(days=7)
    assert [(e.event, e.from_status, e.to_status) for e in await events(session, complaint)] == [
        ("received", None, "received"), ("resolve", "in_progress", "resolved")]
    assert await service.awaiting_callback(session=session) == [complaint]


async def test_an_answered_call_back_makes_it_called_back(session):
    complaint = await resolved_complaint(session)
    at = T0 + timedelta(days=2)
    await service.callback_attempted(session=session, complaint_id=complaint.id,
                                     outcome="no_answer", at=at)
    await service.callback_attempted(session=session, complaint_id=complaint.id,
                                     outcome="answered", at=at + timedelta(hours=1))
    await service.record_satisfaction(session=session, complaint_id=complaint.id, score=4,
                                      at=at + timedelta(hours=1))
    assert (complaint.status, complaint.callback_attempts, complaint.satisfaction) == (
        "called_back", 2, 4)
    assert complaint.called_back_at == at + timedelta(hours=1)
    assert [e.event for e in await events(session, complaint)][2:] == [
        "callback_attempt", "callback_attempt", "call_back", "satisfaction"]
    assert await service.awaiting_callback(session=session) == []


async def test_three_failed_call_backs_close_it_unreachable(session):
    complaint = await resolved_complaint(session)
    for n, outcome in enumerate(("no_answer", "busy", "failed")):
        await service.callback_attempted(session=session, complaint_id=complaint.id,
                                         outcome=outcome, at=T0 + timedelta(days=2, hours=n))
        assert complaint.status == ("closed_unreachable" if n == 2 else "resolved")
    assert complaint.closed_at == T0 + timedelta(days=2, hours=2)
    assert (await events(session, complaint))[-1].event == "close_unreachable"


async def test_an_invalid_transition_is_refused_and_stores_nothing(session):
    complaint = await new_complaint(session)
    before = await session.scalar(select(func.count()).select_from(AuditEntry))
    with pytest.raises(InvalidTransition) as error:
        await service.transition(session=session, complaint_id=complaint.id, to="closed",
                                 at=T0, principal=SYSTEM_MANAGER, calendar=CAL)
    assert (error.value.status_code, error.value.error_id) == (409, "invalid-transition")
    assert complaint.status == "received"
    assert len(await events(session, complaint)) == 1
    assert await session.scalar(select(func.count()).select_from(AuditEntry)) == before
