"""Writing the audit log (R20). Callers pass the principal; the row says who, when, what, why."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.audit.models import AuditEntry
from app.auth.service import Principal


def record(*, session: AsyncSession, principal: Principal, at: datetime, action: str,
           entity: str, entity_id: uuid.UUID | str, reason: str,
           call_id: uuid.UUID | None = None, detail: dict[str, Any] | None = None) -> AuditEntry:
    """Add an entry to the session; it is written with the caller's transaction."""
    entry = AuditEntry(at=at, user_id=principal.user_id, actor=principal.subject,
                       role=str(principal.role), action=action, entity=entity,
                       entity_id=str(entity_id), reason=reason, call_id=call_id,
                       detail=detail or {})
    session.add(entry)
    return entry


async def entries(*, session: AsyncSession, entity: str | None = None,
                  entity_id: str | None = None, limit: int = 200) -> list[AuditEntry]:
    query = select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit)
    if entity is not None:
        query = query.where(AuditEntry.entity == entity)
    if entity_id is not None:
        query = query.where(AuditEntry.entity_id == entity_id)
    return list(await session.scalars(query))
