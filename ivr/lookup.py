"""Self-service lookup providers (R7): what a caller's digits mean, as prompts to speak.

A provider answers with prompt names (digits spoken as digit_0..digit_9), or raises
`LookupFailed`; the IVR then apologises and hands the caller to an agent, never to silence.
Named providers are registered at composition (`app.main`): `complaint_status` (the status of a
complaint by its number) is `complaint_status(find)`, where `find` is the complaints domain's
look-up; this package knows no domain. Or a webhook: POST `{"digits", "caller_number",
"language"}` to a URL, which answers `{"say": [{"prompt": "<name>"} | {"digits": "123"}, ...]}`
within its timeout.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Annotated

import httpx
import structlog
from pydantic import BaseModel, Field, TypeAdapter, ValidationError

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

# A named provider: the caller's digits -> the prompt names that answer them.
Provider = Callable[[str], Awaitable[list[str]]]
# A complaint's (number, status) by its number, or None: what `complaint_status` asks.
FindComplaint = Callable[[str], Awaitable[tuple[str, str] | None]]


def complaint_status(find: FindComplaint) -> Provider:
    """The built-in `complaint_status` provider (R7): the complaint's number and its status."""

    async def provider(digits: str) -> list[str]:
        found = await find(digits)
        if found is None:
            return ["complaint_not_found"]
        number, state = found
        status = COMPLAINT_STATUS_PROMPTS.get(state)
        if status is None:
            raise LookupFailed(f"complaint {digits} has status {state!r}")
        return ["complaint_number_is", *spoken_digits(number), status]

    return provider


class Lookups:
    def __init__(self, *, providers: Mapping[str, Provider] | None = None,
                 http: httpx.AsyncClient | None = None) -> None:
        self.providers = dict(providers or {})
        self.http = http or httpx.AsyncClient()

    async def aclose(self) -> None:
        await self.http.aclose()

    async def run(self, provider: str | WebhookProvider, digits: str, *, doc: MenuDocument,
                  caller_number: str | None, language: str) -> tuple[str, ...]:
        """Prompt names that answer the caller; `LookupFailed` when there is no answer."""
        try:
            if isinstance(provider, WebhookProvider):
                answer = await self._webhook(provider, digits, caller_number, language)
            elif (named := self.providers.get(provider)) is not None:
                answer = await named(digits)
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


__all__ = ["FindComplaint", "LookupFailed", "Lookups", "Provider", "complaint_status",
           "spoken_digits"]
