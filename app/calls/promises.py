"""Call-back tasks a live call opens (R8): a caller nobody could take is promised a call-back, a
caller who hung up waiting is called back. A part of the inbound call, used by queue waiting
and messages; the tasks themselves are `app.callbacks`'. Opened through the call log, behind
the call and after its row (R21)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.callbacks import service as callbacks
from app.callbacks.models import CallbackSource
from app.calls.items import LiveCall
from app.calls.runtime import CallRuntime


class Promises:
    def __init__(self, runtime: CallRuntime) -> None:
        self.rt = runtime

    def terms(self) -> dict[str, Any]:
        """When a new call-back task is due and how often it may be tried (settings)."""
        settings = self.rt.settings
        return {"due_at": self.rt.clock.now() + timedelta(hours=settings.callback_due_hours),
                "max_attempts": settings.callback_max_attempts}

    async def no_agent(self, call: LiveCall, why: str) -> None:
        """Nobody could take the call (or the caller left no message): we call back. Written
        behind with the call log, after the call's row (R21: the caller never waits on it)."""
        terms, number, language = self.terms(), call.caller_number, call.language

        async def run(session: AsyncSession) -> None:
            await callbacks.open_task(session=session, source=CallbackSource.no_agent,
                                      customer_number=number, language=language,
                                      call_id=call.id, note=why, **terms)

        self.rt.call_log.job("callback.no_agent", run)

    async def abandoned(self, call: LiveCall) -> None:
        """The caller hung up waiting: a call-back task (one per number while it is open)."""
        terms, number, language = self.terms(), call.caller_number, call.language

        async def run(session: AsyncSession) -> None:
            await callbacks.open_abandoned(session=session, customer_number=number,
                                           language=language, call_id=call.id, **terms)

        self.rt.call_log.job("callback.abandoned", run)
