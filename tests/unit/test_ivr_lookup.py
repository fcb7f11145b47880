"""Self-service lookups through a webhook (R7): answers become prompts; anything else fails."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
import yaml

from ivr.lookup import LookupFailed, Lookups
from ivr.menu import MenuDocument, WebhookProvider

DOC = MenuDocument.model_validate(yaml.safe_load(
    (Path(__file__).resolve().parents[2] / "ivr" / "demo.yaml").read_text()))
HOOK = WebhookProvider(url="http://crm.test/lookup", timeout_seconds=1)


def lookups(handler) -> Lookups:
    return Lookups(sessionmaker=None, http=httpx.AsyncClient(transport=httpx.MockTransport(handler)))


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
