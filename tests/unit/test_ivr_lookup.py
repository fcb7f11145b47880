"""Self-service lookups through a webhook (R7): answers become prompts; anything else fails."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
import yaml

from ivr.lookup import LookupFailed, Lookups, complaint_status
from ivr.menu import MenuDocument, WebhookProvider

DOC = MenuDocument.model_validate(yaml.safe_load(
    (Path(__file__).resolve().parents[2] / "ivr" / "demo.yaml").read_text()))
HOOK = WebhookProvider(url="http://crm.test/lookup", timeout_seconds=1)


def lookups(handler) -> Lookups:
    return Lookups(http=httpx.AsyncClient(transport=httpx.MockTransport(handler)))


async def test_a_webhook_answer_is_spoken_as_prompts_and_digits():
    seen = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen.update(json.loads(request.content))
        return httpx.Response(200, json={"say": [{"prompt": "complaint_number_is"},
                                                 {"digits": "42"},
                                                 {"prompt": "status_closed"}]})

    answer = await lookups(handler).run(HOOK, "42", doc=DOC, caller_number="138", language="en")
    assert answer == ("complaint_number_is", "digit_4", "digit_2", "status_closed")
    assert seen == {"digits": "42", "caller_number": "138", "language": "en"}


@pytest.mark.parametrize("handler", [
    lambda r: httpx.Response(500),
    lambda r: httpx.Response(200, content=b"not json"),
    lambda r: httpx.Response(200, json={"say": []}),
    lambda r: httpx.Response(200, json={"say": [{"prompt": "no_such_prompt"}]}),
    lambda r: httpx.Response(200, json={"say": [{"digits": "12a"}]}),
])
async def test_a_webhook_that_does_not_answer_properly_fails_the_lookup(handler):
    with pytest.raises(LookupFailed):
        await lookups(handler).run(HOOK, "1", doc=DOC, caller_number=None, language="zh")


async def test_a_webhook_that_times_out_fails_the_lookup():
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    with pytest.raises(LookupFailed, match="slow|Timeout"):
        await lookups(handler).run(HOOK, "1", doc=DOC, caller_number=None, language="zh")


def complaints(found: dict[str, tuple[str, str]]) -> Lookups:
    async def find(number: str) -> tuple[str, str] | None:
        return found.get(number)

    return Lookups(providers={"complaint_status": complaint_status(find)},
                   http=httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(500))))


async def test_the_registered_complaint_provider_speaks_the_number_and_its_status():  # R7
    answer = await complaints({"2041": ("2041", "in_progress")}).run(
        "complaint_status", "2041", doc=DOC, caller_number=None, language="zh")
    assert answer == ("complaint_number_is", "digit_2", "digit_0", "digit_4", "digit_1",
                      "status_in_progress")


async def test_an_unknown_complaint_number_is_said_so():
    answer = await complaints({}).run("complaint_status", "9", doc=DOC, caller_number=None,
                                      language="zh")
    assert answer == ("complaint_not_found",)


async def test_a_complaint_in_a_status_the_menu_cannot_say_fails_the_lookup():
    with pytest.raises(LookupFailed, match="status"):
        await complaints({"7": ("7", "archived")}).run("complaint_status", "7", doc=DOC,
                                                        caller_number=None, language="zh")


async def test_a_provider_nobody_registered_fails_the_lookup():
    with pytest.raises(LookupFailed, match="unknown provider"):
        await lookups(lambda r: httpx.Response(500)).run("complaint_status", "7", doc=DOC,
                                                         caller_number=None, language="zh")
