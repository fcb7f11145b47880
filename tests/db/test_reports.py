"""Manager reports against Postgres on known call sets: the SQL gives exactly the figures of
app/reports/definitions.py (R18, R19), buckets are local days and hours (Asia/Shanghai), CSV is
the same data, and only managers and team leads read them (R20)."""

from __future__ import annotations

import csv
import io
import random
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import select

from app.calls.models import Call
from app.main import create_app
from app.reports import queries
from app.reports.definitions import CallFacts, OfferFacts, summarise
from routing.models import AgentRow, AgentStateChange, OfferRow, QueueRow
from tests.support.settings import make_settings

# 2026-11-23 23:30 in Shanghai is 15:30 UTC: the set spans local midnight.
T0 = datetime(2026, 11, 23, 15, 30, tzinfo=UTC)
LIMIT = 15.0  # ring limit with the default 3 x 5 s


@pytest.fixture
async def client(sessionmaker, clock):
    settings = make_settings()
    app = create_app(settings, clock=clock)  # "now" is the test's clock, not today's date
    app.state.sessionmaker = app.state.report_sessionmaker = sessionmaker
    token = settings.admin_token.get_secret_value()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t",
                                 headers={"Authorization": f"Bearer {token}"}) as c:
        yield c


async def _agent(session, name: str) -> uuid.UUID:
    agent = AgentRow(name=name, extension=str(uuid.uuid4().int % 10**8), level="senior",
                     skills={}, languages=["zh"], contact=f"sip:{name}@127.0.0.1:5999")
    session.add(agent)
    await session.flush()
    return agent.id


def _call(*, start: datetime, queue: str | None = "general", queued: float | None = 10,
          answered: float | None = None, ended: float = 120, reason: str = "completed",
          agent_id: uuid.UUID | None = None, disposition: str | None = None,
          direction: str = "inbound") -> Call:
    at = lambda s: None if s is None else start + timedelta(seconds=s)  # noqa: E731
    return Call(channel_id=f"r-{uuid.uuid4()}", direction=direction, caller_number="+8613800000001",
                language="zh", state="ended", started_at=start, last_seen_at=start,
                enqueued_at=at(queued) if queue else None, queue=queue,
                connected_at=at(answered), ended_at=at(ended), end_reason=reason,
                agent_id=agent_id if answered is not None else None, disposition=disposition)


@pytest.fixture
async def known(sessionmaker):
    """Six calls around local midnight, with offers and agent states."""
    async with sessionmaker() as session, session.begin():
        session.add(QueueRow(name="general", call_type="consultation"))
        session.add(QueueRow(name="complaints", call_type="complaint"))
        wang, li = await _agent(session, "wang"), await _agent(session, "li")
        calls = [
            _call(start=T0, answered=14, agent_id=wang),                              # 4 s wait
            _call(start=T0 + timedelta(minutes=10), answered=40, agent_id=li,
                  disposition="inquiry"),                                              # 30 s, missed first
            _call(start=T0 + timedelta(minutes=20), ended=13, reason="abandoned_in_queue"),  # short
            _call(start=T0 + timedelta(minutes=40), ended=50, reason="abandoned_in_queue",
                  queue="complaints"),                                                 # abandon during a re-offer
            _call(start=T0 + timedelta(minutes=45), queue=None, ended=20,
                  reason="abandoned_in_ivr"),
            _call(start=T0 + timedelta(minutes=50), queue=None, ended=300, direction="outbound"),
        ]
        session.add_all(calls)
        await session.flush()
        o = lambda c, a, outcome, ring, after=10: OfferRow(  # noqa: E731
            call_id=c.id, agent_id=a, queue=c.queue or "", channel_id=f"leg-{uuid.uuid4()}",
            offered_at=c.started_at + timedelta(seconds=after), outcome=outcome,
            ring_seconds=ring)
        session.add_all([o(calls[0], wang, "answered", 3.5), o(calls[1], wang, "no_answer", LIMIT),
                         o(calls[1], li, "answered", 4.0, after=26),
                         o(calls[3], li, "no_answer", LIMIT),
                         o(calls[3], wang, "cancelled", 6.0, after=26)])
        for agent, state, minutes in [(wang, "ready", -30), (wang, "on_call", 0),
                                      (wang, "ready", 30), (li, "ready", 0), (li, "on_call", 10)]:
            session.add(AgentStateChange(agent_id=agent, at=T0 + timedelta(minutes=minutes),
                                         from_state="x", to_state=state, event="test"))
    return {"wang": wang, "li": li}


RANGE = {"since": (T0 - timedelta(hours=1)).isoformat(), "until": (T0 + timedelta(hours=2)).isoformat()}


async def test_the_summary_has_exactly_the_defined_figures(client, known):
    body = (await client.get("/api/reports/summary", params=RANGE)).json()
    assert (body["calls"], body["offered"], body["answered"], body["abandoned"],
            body["short_abandoned"], body["abandoned_in_ivr"]) == (6, 4, 2, 2, 1, 1)
    assert body["abandon_rate"] == pytest.approx((2 - 1) / (4 - 1))
    assert body["service_level"] == pytest.approx(1 / (2 + 2 - 1))  # only the 4 s answer is in 15 s
    assert body["asa_seconds"] == pytest.approx((4 + 30) / 2)
    assert (body["offers_answered"], body["offers_answered_in_limit"], body["offers_missed"]) == (2, 2, 2)
    # R1 per offer: 2 answered in the limit of 4 decided (the 2 that rang out count against,
    # the one cancelled when the caller hung up does not count)
    assert body["offers_decided"] == 4 and body["three_ring_compliance"] == 0.5
    # per call by its first offer: only the first call's first phone answered (call 2's and
    # call 4's first phones rang out)
    assert (body["first_offers"], body["first_offers_in_limit"]) == (3, 1)
    assert body["three_ring_first_offer"] == pytest.approx(1 / 3)
    # as the caller feels it: answered within 15 s of entering the queue / (offered - short)
    assert body["three_ring_caller"] == pytest.approx(1 / (4 - 1))
    assert body["aht_seconds"] == pytest.approx(((120 - 14) + (120 - 40)) / 2)  # no wrap-up stored
    assert body["by_call_type"] == {"consultation": 2, "inquiry": 1, "complaint": 1,
                                    "unknown": 1, "outbound": 1}


async def test_filters_by_queue_and_call_type(client, known):
    body = (await client.get("/api/reports/summary",
                             params={**RANGE, "queue": "complaints"})).json()
    assert (body["offered"], body["abandoned"], body["offers_missed"]) == (1, 1, 1)
    body = (await client.get("/api/reports/summary",
                             params={**RANGE, "call_type": "inquiry"})).json()
    assert (body["calls"], body["answered"]) == (1, 1)


async def test_volume_buckets_are_local_days_split_at_shanghai_midnight(client, known):
    body = (await client.get("/api/reports/volume", params={**RANGE, "bucket": "day"})).json()
    assert [(i["bucket"], i["calls"]) for i in body["items"]] == [
        ("2026-11-23T00:00:00", 3), ("2026-11-24T00:00:00", 3)]
    hours = (await client.get("/api/reports/volume", params={**RANGE, "bucket": "hour"})).json()
    assert [i["bucket"][11:13] for i in hours["items"]] == ["23", "00"]


async def test_agents_report_missed_offers_and_occupancy(client, known):
    items = {i["name"]: i for i in (await client.get("/api/reports/agents", params=RANGE)).json()["items"]}
    assert (items["wang"]["offers"], items["wang"]["answered"], items["wang"]["missed"]) == (3, 1, 1)
    assert (items["li"]["offers"], items["li"]["answered"], items["li"]["missed"]) == (2, 1, 1)
    # R1 per agent over their decided offers: wang answered 1 of 2 (his cancelled one is not his)
    assert items["wang"]["three_ring_compliance"] == 0.5 and items["li"]["three_ring_compliance"] == 0.5
    # wang: nothing known before his first change (-30 min); ready 30 min, on a call 30 min,
    # then ready to the end of the range (90 min).
    assert items["wang"]["seconds_by_state"] == {"on_call": 1800.0, "ready": 1800.0 + 5400.0}
    assert items["wang"]["occupancy"] == pytest.approx(1800 / 9000)
    assert items["li"]["seconds_by_state"] == {"ready": 600.0, "on_call": 6600.0}


async def test_abandoned_calls_are_listed_with_their_numbers_and_as_csv(client, known):
    body = (await client.get("/api/reports/abandoned", params=RANGE)).json()
    assert [i["waited_seconds"] for i in body["items"]] == [40.0, 3.0]
    assert body["items"][0]["caller_national"] == "13800000001"
    resp = await client.get("/api/reports/abandoned", params={**RANGE, "format": "csv"})
    assert resp.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(resp.text)))
    assert [r["waited_seconds"] for r in rows] == ["40.0", "3.0"]


async def test_summary_as_csv_is_one_row_with_the_same_figures(client, known):
    resp = await client.get("/api/reports/summary", params={**RANGE, "format": "csv"})
    (row,) = list(csv.DictReader(io.StringIO(resp.text)))
    assert (row["offered"], row["abandoned"], row["calls_inquiry"]) == ("4", "2", "1")


@pytest.mark.parametrize("params", [{"since": "2026-11-23T00:00:00"},
                                    {"since": RANGE["until"], "until": RANGE["since"]}])
async def test_bad_ranges_are_refused(client, params):
    resp = await client.get("/api/reports/summary", params=params)
    assert resp.status_code == 400 and resp.json()["error_id"] == "invalid-range"


async def test_sql_and_the_definitions_agree_on_random_calls(sessionmaker):
    """Random calls in two queues (one with its own service-level threshold), each rung to up to
    three phones in turn, answered ones wrapped up by their agent (some wrap-ups still running):
    the SQL gives exactly the figures of definitions.py (R1, R18, R19, #18)."""
    rng = random.Random(7)
    facts, offers = [], []
    changes: list[tuple[uuid.UUID, datetime, str, uuid.UUID | None]] = []
    async with sessionmaker() as session, session.begin():
        session.add(QueueRow(name="general", call_type="consultation"))
        session.add(QueueRow(name="complaints", call_type="complaint", service_level_seconds=25))
        agents = [await _agent(session, f"x{i}") for i in range(4)]
        answered_calls = []
        for i in range(300):
            start = T0 + timedelta(seconds=rng.randint(0, 7200))
            queued = rng.choice([None, rng.uniform(0, 30)])
            answered = rng.choice([None, (queued or 0) + rng.uniform(0, 40)]) if queued is not None else None
            ended = (answered or queued or 0) + rng.uniform(0.5, 200)
            reason = ("completed" if answered is not None else
                      rng.choice(["abandoned_in_queue", "overflow"]) if queued is not None else
                      rng.choice(["abandoned_in_ivr", "completed"]))
            queue = rng.choice(["general", "complaints"]) if queued is not None else None
            agent = rng.choice(agents)
            c = _call(start=start, queued=queued, answered=answered, ended=ended, reason=reason,
                      agent_id=agent, queue=queue)
            session.add(c)
            await session.flush()
            mine = []
            if queued is not None:
                for n in range(rng.randint(0, 3)):
                    outcome = rng.choice(["answered", "no_answer", "busy", "cancelled", "rejected"])
                    ring = rng.uniform(0, 20)
                    session.add(OfferRow(call_id=c.id, agent_id=rng.choice(agents), queue=queue,
                                         channel_id=f"l-{i}-{n}",
                                         offered_at=start + timedelta(seconds=queued + n * 16),
                                         outcome=outcome, ring_seconds=ring))
                    mine.append(OfferFacts(outcome, ring))
            offers.extend(mine)
            facts.append((c, mine[0] if mine else None))
            if answered is not None:
                answered_calls.append(c)
                changes.append((agent, c.ended_at, "wrap_up", c.id))
                if rng.random() < 0.8:  # else the wrap-up runs on until the agent's next change
                    changes.append((agent, c.ended_at + timedelta(seconds=rng.uniform(0, 30)),
                                    "ready", None))
        for agent, at, state, call_id in changes:
            session.add(AgentStateChange(agent_id=agent, at=at, from_state="x", to_state=state,
                                         event="test", call_id=call_id))
    wrap: dict[uuid.UUID, float] = {}
    for agent in agents:  # each wrap-up lasts until the agent's next change, if there is one
        mine = sorted((at, state, call_id) for a, at, state, call_id in changes if a == agent)
        for (at, state, call_id), nxt in zip(mine, mine[1:] + [None]):
            if state == "wrap_up" and nxt is not None:
                wrap[call_id] = wrap.get(call_id, 0.0) + (nxt[0] - at).total_seconds()
    assert any(v > 0 for v in wrap.values())
    calls = [CallFacts(c.started_at, c.enqueued_at, c.connected_at, c.ended_at, c.end_reason,
                       queue=c.queue, wrap_up_seconds=wrap.get(c.id, 0.0), first_offer=first)
             for c, first in facts]
    async with sessionmaker() as session:
        sql = await queries.summary(
            session=session, f=queries.Filters(T0, T0 + timedelta(hours=3)),
            threshold_seconds=15, short_abandon_seconds=5, ring_limit_seconds=LIMIT)
    pure = summarise(calls, offers, threshold_seconds=15, short_abandon_seconds=5,
                     ring_limit_seconds=LIMIT, queue_thresholds={"complaints": 25})
    for field in pure.__dataclass_fields__:
        expected, got = getattr(pure, field), getattr(sql, field)
        assert got == pytest.approx(expected), field
    assert pure.three_ring_compliance < pure.offers_answered_in_limit / pure.offers_answered


@pytest.mark.parametrize(("role", "status"), [("agent", 403), ("qa", 403), ("team_lead", 200),
                                              ("manager", 200)])
async def test_only_managers_and_team_leads_read_reports(client, role, status):  # R20
    from app.auth.service import Principal
    from app.deps import current_principal
    from app.auth.models import RoleName

    client._transport.app.dependency_overrides[current_principal] = (  # type: ignore[attr-defined]
        lambda: Principal(subject="u", role=RoleName(role)))
    for path in ("summary", "volume", "agents", "abandoned"):
        assert (await client.get(f"/api/reports/{path}")).status_code == status, path


# -- the hourly rollups give the same figures as the raw rows ----------------------------------
async def _all_reports(session, f):
    from app.reports.queries import Params  # noqa: F401 - documents what the figures take
    p = dict(threshold_seconds=15, short_abandon_seconds=5, ring_limit_seconds=LIMIT)
    return {
        "summary": await queries.summary(session=session, f=f, **p),
        "types": await queries.by_call_type(session=session, f=f, **p),
        "days": await queries.volume(session=session, f=f, bucket="day", zone="Asia/Shanghai",
                                     **p),
        "hours": await queries.volume(session=session, f=f, bucket="hour",
                                      zone="Asia/Shanghai", **p),
        "agents": await queries.agents(session=session, f=f, ring_limit_seconds=LIMIT,
                                       threshold_seconds=15, short_abandon_seconds=5),
        "occupancy": await queries.occupancy(
            session=session, f=f, p=queries.Params(15, 5, LIMIT), zone="Asia/Shanghai",
            bucket="hour", shifts=[]),
    }


def _same(a, b):
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for k in a:
            _same(a[k], b[k])
    elif isinstance(a, list):
        assert len(a) == len(b)
        for x, y in zip(a, b, strict=True):
            _same(x, y)
    elif hasattr(a, "__dataclass_fields__"):
        _same(a.__dict__, b.__dict__)
    elif isinstance(a, float):
        assert a == pytest.approx(b)
    else:
        assert a == b


@pytest.mark.parametrize(("since_min", "until_min"), [(-60, 120), (-47, 93), (1, 59), (-200, 300),
                                                  (-3000, 3000), (-2880, 1500)])
async def test_rollups_and_raw_rows_give_the_same_reports(sessionmaker, known, since_min,
                                                          until_min):
    from app.reports import rollup
    from app.reports.queries import Params

    f = queries.Filters(T0 + timedelta(minutes=since_min), T0 + timedelta(minutes=until_min))
    async with sessionmaker() as session:
        raw = await _all_reports(session, f)
    async with sessionmaker() as session, session.begin():
        done = await rollup.refresh(session=session, params=Params(15, 5, LIMIT),
                                    now=T0 + timedelta(hours=6))
    assert done["rebuilt"] and done["hours"] > 0
    async with sessionmaker() as session:
        assert await queries.usable_rollup(session=session, p=Params(15, 5, LIMIT)) is not None
        rolled = await _all_reports(session, f)
        other = await queries.usable_rollup(session=session, p=Params(20, 5, LIMIT))
    assert other is None  # another threshold: the rollup is not used
    _same(raw, rolled)


async def test_a_late_disposition_is_rolled_up_at_the_next_refresh(sessionmaker, known):
    from sqlalchemy import select as sql_select

    from app.reports import rollup
    from app.reports.queries import Params

    p, f = Params(15, 5, LIMIT), queries.Filters(T0 - timedelta(hours=1), T0 + timedelta(hours=2))
    async with sessionmaker() as session, session.begin():
        await rollup.refresh(session=session, params=p, now=T0 + timedelta(hours=6))
    async with sessionmaker() as session, session.begin():
        first = await session.scalar(sql_select(Call).where(Call.started_at == T0))
        first.disposition = "complaint"
    async with sessionmaker() as session, session.begin():
        done = await rollup.refresh(session=session, params=p, now=T0 + timedelta(hours=6))
    assert not done["rebuilt"] and done["hours"] >= 1
    async with sessionmaker() as session:
        types = await queries.by_call_type(session=session, f=f, threshold_seconds=15,
                                           short_abandon_seconds=5, ring_limit_seconds=LIMIT)
    assert types["complaint"] == 2 and types["consultation"] == 1


async def test_rollups_agree_with_the_definitions_on_random_calls(sessionmaker):
    from app.reports import rollup
    from app.reports.queries import Params

    await test_sql_and_the_definitions_agree_on_random_calls(sessionmaker)  # seeds the calls
    f = queries.Filters(T0 + timedelta(minutes=7), T0 + timedelta(minutes=173))
    async with sessionmaker() as session:
        raw = await queries.summary(session=session, f=f, threshold_seconds=15,
                                    short_abandon_seconds=5, ring_limit_seconds=LIMIT)
    async with sessionmaker() as session, session.begin():
        await rollup.refresh(session=session, params=Params(15, 5, LIMIT),
                             now=T0 + timedelta(hours=2, minutes=30))  # rolled up to T0+2h
    async with sessionmaker() as session:
        rolled = await queries.summary(session=session, f=f, threshold_seconds=15,
                                       short_abandon_seconds=5, ring_limit_seconds=LIMIT)
    _same(raw, rolled)


async def test_busy_and_idle_per_local_hour_and_per_shift(client, known):  # R19
    params = {**RANGE, "bucket": "hour"}
    items = {i["bucket"]: i for i in (await client.get("/api/reports/occupancy", params=params)).json()["items"]}
    # 23:00-24:00 local: wang ready 23:00-23:30, on a call 23:30-24:00; li ready 23:30-23:40,
    # on a call 23:40-24:00
    assert items["2026-11-23T23:00"]["seconds_by_state"] == {"on_call": 3000.0, "ready": 2400.0}
    assert items["2026-11-23T23:00"]["agents_signed_in"] == 2
    # 00:00-01:00 local: wang ready (from 00:00), li on a call
    first_hour = items["2026-11-24T00:00"]["seconds_by_state"]
    assert first_hour == {"on_call": 3600.0, "ready": 3600.0}
    assert items["2026-11-24T00:00"]["occupancy"] == 0.5
    shifts = (await client.get("/api/reports/occupancy", params={**RANGE, "bucket": "shift"})).json()["items"]
    assert [s["bucket"] for s in shifts] == ["2026-11-23 evening", "2026-11-24 night"]
    assert shifts[0]["busy_seconds"] == 3000.0 and shifts[0]["idle_seconds"] == 2400.0
    assert shifts[1]["seconds_by_state"] == {"on_call": 5400.0, "ready": 5400.0}  # to 01:30


def test_shifts_are_parsed_and_checked():
    from app.calendar import parse_shifts

    assert parse_shifts("late=22-6,early=6-14,mid=14-22") == [("late", 22, 6), ("early", 6, 14),
                                                              ("mid", 14, 22)]
    for bad in ("a=8-8", "a=0-25", "a=0-10,b=9-12", "a=1-2,a=3-4"):
        with pytest.raises(ValueError):
            parse_shifts(bad)


@pytest.mark.parametrize("rolled", [False, True])
async def test_a_call_spanning_midnight_counts_on_the_day_it_started(client, sessionmaker, rolled):
    """23:58 to 00:04 local: one call on the 23rd, none on the 24th."""
    from app.reports import rollup
    from app.reports.queries import Params

    start = datetime(2026, 11, 23, 15, 58, tzinfo=UTC)  # 23:58 in Shanghai
    async with sessionmaker() as session, session.begin():
        session.add(QueueRow(name="general", call_type="consultation"))
        session.add(_call(start=start, queued=5, answered=8, ended=360))
    if rolled:
        async with sessionmaker() as session, session.begin():
            await rollup.refresh(session=session, params=Params(15, 5, 15), now=start + timedelta(hours=3))
    days = (await client.get("/api/reports/volume", params={
        "bucket": "day", "since": "2026-11-23T00:00:00+08:00",
        "until": "2026-11-25T00:00:00+08:00"})).json()["items"]
    assert [(d["bucket"], d["calls"], d["answered"]) for d in days] == [("2026-11-23T00:00:00", 1, 1)]


async def test_complaint_deadlines_met_missed_and_pending(client, sessionmaker, clock):  # R15, R17
    from app.complaints.models import Complaint

    now = clock.now()  # the app's clock too: "pending" is judged at it, whatever today is
    t = now - timedelta(days=10)

    def complaint(n, **kw):
        return Complaint(number=f"77{n:04d}", customer_number="+8613800000001", summary="x",
                         created_at=t, dispatch_due_at=t + timedelta(hours=1),
                         handling_due_at=t + timedelta(days=7), **kw)

    async with sessionmaker() as session, session.begin():
        session.add_all([
            complaint(1, severity="major", status="closed", dispatched_at=t + timedelta(minutes=30),
                      resolved_at=t + timedelta(days=2), callback_due_at=t + timedelta(days=5),
                      called_back_at=t + timedelta(days=3), satisfaction=4),
            complaint(2, status="resolved", dispatched_at=t + timedelta(hours=3),
                      resolved_at=t + timedelta(days=8), callback_due_at=t + timedelta(days=11)),
            complaint(3, status="received"),
            complaint(4, status="closed_unreachable", severity="crisis",
                      dispatched_at=t + timedelta(minutes=5), resolved_at=t + timedelta(days=1),
                      callback_due_at=t + timedelta(days=4), satisfaction=None),
        ])
    body = (await client.get("/api/reports/complaints", params={
        "since": (t - timedelta(hours=1)).isoformat(), "until": now.isoformat()})).json()
    assert body["received"] == 4
    assert body["by_severity"] == {"general": 2, "major": 1, "crisis": 1}
    assert body["dispatched_within_60_minutes"] == {"met": 2, "missed": 2, "pending": 0}
    assert body["handled_within_5_working_days"] == {"met": 2, "missed": 2, "pending": 0}
    assert body["called_back_within_72_hours"] == {"met": 1, "missed": 1, "pending": 1}
    assert body["closed_unreachable"] == 1
    assert body["satisfaction"] == {"answers": 1, "average": 4.0}


async def test_a_queue_with_its_own_threshold_has_its_own_service_level(client, sessionmaker,
                                                                        known):
    """#18: the general queue answers within 40 s (call 2 waited 30 s); changing a queue's
    threshold makes the rollups unusable until they are rebuilt with it."""
    from app.reports import rollup
    from app.reports.queries import Params

    p = Params(15, 5, LIMIT)
    async with sessionmaker() as session, session.begin():
        await rollup.refresh(session=session, params=p, now=T0 + timedelta(hours=6))
    patched = await client.patch("/api/queues/general", json={"service_level_seconds": 40})
    assert patched.status_code == 200 and patched.json()["service_level_seconds"] == 40
    async with sessionmaker() as session:
        assert await queries.usable_rollup(session=session, p=p) is None
    body = (await client.get("/api/reports/summary", params={**RANGE, "queue": "general"})).json()
    assert body["service_level"] == pytest.approx(2 / (2 + 1 - 1))
    async with sessionmaker() as session, session.begin():
        done = await rollup.refresh(session=session, params=p, now=T0 + timedelta(hours=6))
    assert done["rebuilt"]
    async with sessionmaker() as session:
        assert await queries.usable_rollup(session=session, p=p) is not None
    rolled = (await client.get("/api/reports/summary", params={**RANGE, "queue": "general"})).json()
    assert rolled["service_level"] == body["service_level"]
    reset = await client.patch("/api/queues/general", json={"service_level_seconds": None})
    assert reset.json()["service_level_seconds"] is None


# -- staffing (#18, R19) -------------------------------------------------------------------------
MONDAY = datetime(2026, 11, 23, tzinfo=UTC) - timedelta(hours=8)  # Monday 23 Nov, 00:00 Shanghai


@pytest.fixture
async def four_mondays(sessionmaker):
    """The four Mondays before 23 Nov: 100 calls each between 09:00 and 09:30 (Shanghai),
    answered after 5 s and handled in 180 s (170 s talk + 10 s wrap-up); one agent logged in
    from 09:00 to 10:00."""
    async with sessionmaker() as session, session.begin():
        session.add(QueueRow(name="general", call_type="consultation"))
        agent = await _agent(session, "wang")
        for week in range(1, 5):
            nine = MONDAY - timedelta(weeks=week) + timedelta(hours=9)
            session.add(AgentStateChange(agent_id=agent, at=nine, from_state="logged_out",
                                         to_state="ready", event="log_in"))
            session.add(AgentStateChange(agent_id=agent, at=nine + timedelta(hours=1),
                                         from_state="ready", to_state="logged_out",
                                         event="log_out"))
            for i in range(100):
                c = _call(start=nine + timedelta(seconds=17 * i), queued=1, answered=6,
                          ended=176, agent_id=agent)
                session.add(c)
                await session.flush()
                session.add(AgentStateChange(agent_id=agent, at=c.ended_at, from_state="on_call",
                                             to_state="wrap_up", event="call_ended",
                                             call_id=c.id))
                session.add(AgentStateChange(agent_id=agent, at=c.ended_at + timedelta(seconds=10),
                                             from_state="wrap_up", to_state="ready",
                                             event="wrap_up_done"))
    return agent


@pytest.mark.parametrize("rolled", [False, True])
async def test_staffing_gives_erlang_c_agents_per_half_hour_beside_those_logged_in(
        client, sessionmaker, four_mondays, rolled):
    """100 calls a half-hour with a 180 s AHT is the textbook 10 Erlangs: 14 agents keep 80 %
    within 20 s (Erlang C, nobody abandoned so no patience is known); one agent was there."""
    from app.reports import rollup
    from app.reports.queries import Params

    if rolled:
        async with sessionmaker() as session, session.begin():
            await rollup.refresh(session=session, params=Params(15, 5, 15), now=MONDAY)
    body = (await client.get("/api/reports/staffing", params={
        "week": "2026-11-25", "weeks": 4, "answer_seconds": 20})).json()
    assert body["week"] == "2026-11-23T00:00:00+08:00" and body["model"] == "erlang_c"
    assert body["history_since"] == "2026-10-26T00:00:00+08:00"
    assert body["aht_seconds"] == pytest.approx(180)
    items = {i["start"]: i for i in body["items"]}
    assert len(items) == 7 * 48
    nine = items["2026-11-23T09:00:00+08:00"]
    assert (nine["calls"], nine["aht_seconds"], nine["erlangs"]) == (100, 180, 10)
    assert (nine["agents_erlang_c"], nine["agents_needed"]) == (14, 14)
    assert nine["service_level"] == pytest.approx(0.888, abs=5e-4)
    assert nine["agents_logged_in"] == 1.0
    half_past = items["2026-11-23T09:30:00+08:00"]
    assert (half_past["calls"], half_past["agents_needed"], half_past["agents_logged_in"]) == (
        0, 0, 1.0)
    assert items["2026-11-24T09:00:00+08:00"]["agents_needed"] == 0  # Tuesdays had no calls
    csv_rows = list(csv.DictReader(io.StringIO((await client.get("/api/reports/staffing", params={
        "week": "2026-11-23", "answer_seconds": 20, "format": "csv"})).text)))
    assert len(csv_rows) == 336 and csv_rows[18]["agents_needed"] == "14"


async def test_staffing_uses_erlang_a_when_callers_abandon(client, sessionmaker, four_mondays):
    """Add abandons: the patience is measured and Erlang A answers with fewer agents."""
    async with sessionmaker() as session, session.begin():
        for week in range(1, 5):
            nine = MONDAY - timedelta(weeks=week) + timedelta(hours=9)
            for i in range(5):
                session.add(_call(start=nine + timedelta(seconds=300 * i), queued=1, ended=61,
                                  reason="abandoned_in_queue"))
    body = (await client.get("/api/reports/staffing", params={
        "week": "2026-11-23", "answer_seconds": 20})).json()
    nine = next(i for i in body["items"] if i["start"] == "2026-11-23T09:00:00+08:00")
    assert body["model"] == "erlang_a"
    # patience = (400 answered waits of 5 s + 20 abandons after 60 s) / 20 abandons
    assert body["patience_seconds"] == pytest.approx((400 * 5 + 20 * 60) / 20)
    assert nine["calls"] == 105 and nine["agents_erlang_a"] < nine["agents_erlang_c"]
    assert nine["agents_needed"] == nine["agents_erlang_a"]


async def test_the_monthly_analysis_has_the_months_figures(client, sessionmaker, known):
    """R18 (#18): November 2026 in Shanghai holds the known calls (23-24 Nov): the same
    figures as the summary, per queue with its threshold, satisfaction and complaints."""
    async with sessionmaker() as session, session.begin():
        first = await session.scalar(select(Call).where(Call.started_at == T0))
        first.satisfaction = 4
    body = (await client.get("/api/reports/monthly", params={"month": "2026-11"})).json()
    assert (body["since"], body["until"]) == ("2026-11-01T00:00:00+08:00",
                                              "2026-12-01T00:00:00+08:00")
    s = body["summary"]
    assert (s["calls"], s["offered"], s["answered"], s["three_ring_compliance"]) == (6, 4, 2, 0.5)
    assert body["by_call_type"]["consultation"] == 2
    assert [d["calls"] for d in body["by_day"]] == [3, 3]
    queues = {q["queue"]: q for q in body["by_queue"]}
    assert queues["general"]["threshold_seconds"] == 15 and queues["general"]["offered"] == 3
    assert queues["complaints"]["abandoned"] == 1
    assert body["satisfaction"] == {"count": 1, "average": 4.0,
                                    "distribution": {"1": 0, "2": 0, "3": 0, "4": 1, "5": 0}}
    assert body["complaints"]["received"] == 0 and body["qa_by_team"] == []
    default = (await client.get("/api/reports/monthly")).json()  # the clock is in November
    assert default["month"] == "2026-10"
    bad = await client.get("/api/reports/monthly", params={"month": "2026-13"})
    assert (bad.status_code, bad.json()["error_id"]) == (422, "invalid-month")
