"""Storing voicemails and opening call-back tasks."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from app.callbacks.models import CallbackSource, CallbackTask, Voicemail


async def open_task(*, session: AsyncSession, source: CallbackSource, customer_number: str | None,
                    language: str, call_id: uuid.UUID | None,
                    voicemail_id: uuid.UUID | None = None, note: str = "") -> CallbackTask:
    task = CallbackTask(source=source, customer_number=customer_number, language=language,
                        call_id=call_id, voicemail_id=voicemail_id, note=note)
    session.add(task)
    await session.flush()
    return task


async def store_voicemail(*, session: AsyncSession, call_id: uuid.UUID, caller_number: str | None,
                          language: str, path: str, fmt: str, duration_seconds: float | None,
                          size_bytes: int, sha256: str) -> tuple[Voicemail, CallbackTask]:
    """R8: keep the message with the caller's number and open a call-back task for agents."""
    voicemail = Voicemail(call_id=call_id, caller_number=caller_number, language=language,
                          path=path, format=fmt, duration_seconds=duration_seconds,
                          size_bytes=size_bytes, sha256=sha256)
    session.add(voicemail)
    await session.flush()
    task = await open_task(session=session, source=CallbackSource.voicemail,
                           customer_number=caller_number, language=language, call_id=call_id,
                           voicemail_id=voicemail.id)
    return voicemail, task
