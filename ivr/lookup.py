"""Self-service lookup providers (R7): what a caller's digits mean, as prompts to speak.

A provider answers with prompt names (digits spoken as digit_0..digit_9), or raises
`LookupFailed`; the IVR then apologises and hands the caller to an agent, never to silence.
Built in: `complaint_status` (the status of a complaint by its number). Or a webhook: POST
`{"digits", "caller_number", "language"}` to a URL, which answers
`{"say": [{"prompt": "<name>"} | {"digits": "123"}, ...]}` within its timeout.
"""

from __future__ import annotations

from typing import Annotated

import httpx
import structlog
from pydantic import BaseModel, Field, TypeAdapter, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.complaints import service as complaints
from ivr.menu import COMPLAINT_STATUS_PROMPTS, MenuDocument, WebhookProvider

log = structlog.get_logger(__name__)


class LookupFailed(Exception):
    pass


def spoken_digits(digits: str) -> list[str]:
    return [f"digit_{d}" for d in digits if d.isdigit()]


class _SayPrompt(BaseModel):
    prompt: str


class _SayDigits(BaseModel):
    digits: Annotated[str, Field(pattern=r"^[0-9]{1,32}$")]


class _WebhookAnswer(BaseModel):
    say: list[_SayPrompt | _SayDigits] = Field(min_length=1, max_length=50)


_answer = TypeAdapter(_WebhookAnswer)


class Lookups:
    def __init__(self, *, sessionmaker: async_sessionmaker[AsyncSession],
                 http: httpx.AsyncClient | None = None) -> None:
        self.sessions = sessionmaker
        self.http = http or httpx.AsyncClient()

    async def aclose(self) -> None:
        await self.http.aclose()

    async def run(self, provider: str | WebhookProvider, digits: str, *, doc: MenuDocument,
                  caller_number: str | None, language: str) -> tuple[str, ...]:
        """Prompt names that answer the caller; `LookupFailed` when there is no answer."""
        try:
            if isinstance(provider, WebhookProvider):
                answer = await self._webhook(provider, digits, caller_number, language)
            elif provider == "complaint_status":
                answer = await self._complaint_status(digits)
            else:
                raise LookupFailed(f"unknown provider {provider!r}")
        except LookupFailed:
            raise
        except Exception as exc:  # the database or the network: no answer, not silence
            raise LookupFailed(repr(exc)) from exc
        unknown = [p for p in answer if p not in doc.prompts]
        if unknown:
            raise LookupFailed(f"the answer names prompts the menu does not have: {unknown}")
        return tuple(answer)

    async def _complaint_status(self, digits: str) -> list[str]:
        async with self.sessions() as session:
            complaint = await complaints.by_number(session=session, number=digits)
        if complaint is None:
            return ["complaint_not_found"]
        status = COMPLAINT_STATUS_PROMPTS.get(complaint.status)
        if status is None:
            raise LookupFailed(f"complaint {digits} has status {complaint.status!r}")
        return ["complaint_number_is", *spoken_digits(complaint.number), status]

    async def _webhook(self, provider: WebhookProvider, digits: str, caller_number: str | None,
                       language: str) -> list[str]:
        try:
            resp = await self.http.post(
                provider.url, timeout=provider.timeout_seconds,
                json={"digits": digits, "caller_number": caller_number, "language": language})
            resp.raise_for_status()
            answer = _answer.validate_python(resp.json())
        except (httpx.HTTPError, ValueError, ValidationError) as exc:
            raise LookupFailed(f"webhook {provider.url}: {exc!r}") from exc
        out: list[str] = []
        for item in answer.say:
            out += [item.prompt] if isinstance(item, _SayPrompt) else spoken_digits(item.digits)
        return out


__all__ = ["LookupFailed", "Lookups", "spoken_digits"]
