"""R15: major complaints and crises go to the department head at once. A notice on the desk
screens of the head and of every team lead and manager watching (through the one DeskNotifier),
and a JSON POST to the department's webhook if it has one. The webhook runs in the background
with a short timeout: a slow or failing receiver is logged and never holds up the intake."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import httpx
import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import RoleName
from app.complaints.models import URGENT_SEVERITIES, Complaint, Department
from app.desk.messages import Notice
from app.desk.notifier import DeskNotifier

log = structlog.get_logger(__name__)
LEADS = (str(RoleName.team_lead), str(RoleName.manager))
SEVERITY_RANK = {"general": 0, "major": 1, "crisis": 2}


def is_raise(old: str, new: str) -> bool:
    """Whether a severity change makes the complaint more urgent and major or crisis."""
    return new in URGENT_SEVERITIES and SEVERITY_RANK.get(new, 0) > SEVERITY_RANK.get(old, 0)


class Webhooks:
    """POSTs to departments' webhooks in the background (`transport` for tests)."""

    def __init__(self, *, timeout_seconds: float, transport: httpx.AsyncBaseTransport | None = None):
        self.timeout = timeout_seconds
        self.transport = transport
        self._tasks: set[asyncio.Task] = set()

    def post(self, url: str, payload: dict[str, Any]) -> None:
        task = asyncio.create_task(self._post(url, payload))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _post(self, url: str, payload: dict[str, Any]) -> None:
        try:
            async with httpx.AsyncClient(timeout=self.timeout, transport=self.transport) as http:
                resp = await http.post(url, json=payload)
            if resp.status_code >= 300:
                log.warning("complaint.webhook_refused", url=url, status=resp.status_code)
            else:
                log.info("complaint.webhook_sent", url=url, status=resp.status_code)
        except Exception as exc:  # noqa: BLE001 - logged; the complaint is stored regardless
            log.warning("complaint.webhook_failed", url=url, error=repr(exc))

    async def drain(self) -> None:
        """Wait for the POSTs under way (tests, shutdown)."""
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)


async def urgent(*, session: AsyncSession, desk: DeskNotifier, webhooks: Webhooks,
                 complaint: Complaint, at: datetime, why: str) -> int:
    """Tell the department head (if the complaint has a department), the team leads and the
    managers watching, and the department's webhook; how many screens got the notice. `why`:
    intake, severity or dispatch."""
    department = (await session.get(Department, complaint.department_id)
                  if complaint.department_id else None)
    text = (f"{complaint.severity.upper()} complaint {complaint.number}"
            + (f" for {department.name}" if department else "") + f": {complaint.summary[:200]}")
    notice = Notice(kind="urgent_complaint", text=text, complaint_id=complaint.id,
                    complaint_number=complaint.number, severity=complaint.severity,
                    department=department.name if department else None, at=at)
    heads = [department.head_user_id] if department and department.head_user_id else []
    screens = desk.notice(notice, user_ids=heads, roles=LEADS)
    if department is not None and department.webhook_url:
        webhooks.post(department.webhook_url, {
            "event": "urgent_complaint", "why": why, "complaint_id": str(complaint.id),
            "number": complaint.number, "severity": complaint.severity,
            "status": complaint.status, "department": department.name,
            "summary": complaint.summary, "at": at.isoformat()})
    return screens
