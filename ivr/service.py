"""IVR storage: menu versions (one active) and callers' paths."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from ivr.models import IvrStepRow, IvrVersion


async def active(*, session: AsyncSession) -> IvrVersion | None:
    return await session.scalar(select(IvrVersion).where(IvrVersion.is_active))


async def get(*, session: AsyncSession, version_id: int) -> IvrVersion | None:
    return await session.get(IvrVersion, version_id)


async def activate_source(*, session: AsyncSession, source: str, sha256: str, name: str,
                          origin: str, created_by: str) -> IvrVersion:
    """Make this menu the active one; the same text as the active version adds no new version."""
    current = await active(session=session)
    if current is not None and current.sha256 == sha256:
        return current
    await session.execute(update(IvrVersion).where(IvrVersion.is_active).values(is_active=False))
    await session.flush()
    version = IvrVersion(name=name, source=source, sha256=sha256, origin=origin,
                         created_by=created_by, is_active=True)
    session.add(version)
    await session.flush()
    return version


async def list_versions(*, session: AsyncSession, limit: int = 50) -> list[IvrVersion]:
    return list(await session.scalars(select(IvrVersion).order_by(IvrVersion.id.desc()).limit(limit)))


async def last_step(*, session: AsyncSession, call_id: uuid.UUID) -> int:
    """The seq of the call's last path step (0: none yet)."""
    seq = await session.scalar(select(func.max(IvrStepRow.seq)).where(IvrStepRow.call_id == call_id))
    return seq or 0


async def path_of(*, session: AsyncSession, call_id: uuid.UUID) -> list[IvrStepRow]:
    return list(await session.scalars(select(IvrStepRow).where(IvrStepRow.call_id == call_id)
                                      .order_by(IvrStepRow.seq)))
