"""Quality inspection against real Postgres (R16, R20): sampling a month through the API (N per
agent, balanced across inspectors, kept from the retention job until reviewed, topped up never
doubled, also by two runs at once), the monthly job, scoring by the assigned inspector only
(every change audited), re-assigning, and the monthly report's numbers per agent and team for
inspectors, team leads (their team) and managers, and an agent's own scores."""

from __future__ import annotations

import asyncio
import csv
import io
import uuid
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, func, select, text, update

from app.audit.models import AuditEntry
from app.auth.models import User
from app.qa import service
from app.qa.models import CRITERIA, QaRun, QaSample
from app.recordings.models import Recording
from routing.models import AgentRow
from tests.support.clock import FakeClock
from tests.support.desk import (T0, admin_token, build_world, call_row, client, create_user,
                                fast_passwords, make_app, sign_in, sign_in_roles)

__all__ = ["fast_passwords"]
SH = ZoneInfo("Asia/Shanghai")
OCTOBER = date(2026, 10, 1)
NOW = T0  # 2026-11-23 10:00 in Shanghai: last month is October
MARKS = {"greeting": 4, "attitude": 5, "tone": 4, "summary": 3, "unexpected": 4}


async def recordings(sessionmaker, agent: AgentRow, days: list[int], *, seconds: float = 180.0,
                     retain_until: datetime | None = NOW + timedelta(days=2),
                     month: int = 10, status: str = "stored") -> list[Recording]:
    """Stored recordings of the agent's calls on those days of the month, 10:00 local."""
    rows = []
    async with sessionmaker() as session, session.begin():
        for day in days:
            at = datetime(2026, month, day, 10, tzinfo=SH)
            call = call_row(None, "13800138000", f"qa-{uuid.uuid4().hex[:8]}", agent=agent,
                            started_at=at, ended_at=at + timedelta(seconds=seconds))
            session.add(call)
            await session.flush()
            rec = Recording(id=uuid.uuid4(), name=f"rec-{uuid.uuid4().hex}", call_id=call.id,
                            agent_id=agent.id, queue="complaints", status=status, started_at=at,
                            ended_at=at + timedelta(seconds=seconds), duration_seconds=seconds,
                            format="wav", size_bytes=int(seconds * 16000), sha256="0" * 64,
                            path=(f"recordings/{uuid.uuid4().hex}.wav" if status == "stored"
                                  else None),
                            retain_until=retain_until)
            session.add(rec)
            rows.append(rec)
    return rows


@pytest.fixture
async def qa(sessionmaker, fast_passwords):
    """The world (agents A and E in team north, B in south), October recordings (A: 6, B: 4,
    E: 1), two inspectors, a team lead of north, a manager, agent A's user."""
    app = make_app(sessionmaker, FakeClock(NOW))
    world = await build_world(sessionmaker)
    await sign_in_roles(app, world, ["agent", "team_lead", "qa", "manager"])
    await create_user(app, "qa-2", "qa")
    world.tokens["qa2"] = await sign_in(app, "qa-2")
    recs = {"A": await recordings(sessionmaker, world.agent_a, [1, 5, 9, 14, 20, 28]),
            "B": await recordings(sessionmaker, world.agent_b, [3, 12, 22, 30]),
            "E": await recordings(sessionmaker, world.agent_e, [7])}
    return app, world, recs


async def post(app, token, url, body):
    async with client(app, token) as c:
        return await c.post(url, json=body)


async def put(app, token, url, body):
    async with client(app, token) as c:
        return await c.put(url, json=body)


async def get(app, token, url, **params):
    async with client(app, token) as c:
        return await c.get(url, params=params)


async def all_samples(sessionmaker) -> list[QaSample]:
    async with sessionmaker() as session:
        return list(await session.scalars(select(QaSample).order_by(QaSample.sampled_at)))


async def user_id(sessionmaker, username: str) -> uuid.UUID:
    async with sessionmaker() as session:
        return await session.scalar(select(User.id).where(User.username == username))


async def test_a_month_is_sampled_n_per_agent_balanced_and_kept_until_reviewed(qa, sessionmaker):
    app, world, recs = qa
    resp = await post(app, world.tokens["manager"], "/api/qa/samples", {"month": "2026-10"})
    assert resp.status_code == 200, resp.text
    assert resp.json() == {"month": "2026-10", "per_agent": 3, "agents": 3, "added": 7,
                           "assigned": 7, "unassigned": 0}
    samples = await all_samples(sessionmaker)
    per_agent = {a: sum(s.agent_id == a for s in samples) for a in
                 (world.agent_a.id, world.agent_b.id, world.agent_e.id)}
    assert per_agent == {world.agent_a.id: 3, world.agent_b.id: 3, world.agent_e.id: 1}
    qa1, qa2 = await user_id(sessionmaker, "qa-1"), await user_id(sessionmaker, "qa-2")
    load = sorted(sum(s.inspector_user_id == u for s in samples) for u in (qa1, qa2))
    assert load == [3, 4]  # R16: balanced by workload
    assert all(s.month == OCTOBER and s.review_due_at == NOW + timedelta(days=30)
               for s in samples)
    async with sessionmaker() as session:
        kept = {r.id: r.retain_until for r in await session.scalars(select(Recording))}
    sampled = {s.recording_id for s in samples}
    for rec in recs["A"] + recs["B"] + recs["E"]:
        # the retention job (deletes past retain_until) cannot take a sampled one before review
        expected = NOW + timedelta(days=30) if rec.id in sampled else NOW + timedelta(days=2)
        assert kept[rec.id] == expected


async def test_sampling_never_shortens_a_recordings_retention(sessionmaker, fast_passwords):
    app = make_app(sessionmaker, FakeClock(NOW))
    world = await build_world(sessionmaker)
    await sign_in_roles(app, world, ["manager"])
    unlimited = await recordings(sessionmaker, world.agent_a, [2], retain_until=None)
    longer = await recordings(sessionmaker, world.agent_a, [16], retain_until=NOW + timedelta(
        days=90))
    resp = await post(app, world.tokens["manager"], "/api/qa/samples", {"month": "2026-10"})
    assert resp.json()["added"] == 2
    async with sessionmaker() as session:
        kept = {r.id: r.retain_until for r in await session.scalars(select(Recording))}
    assert kept[unlimited[0].id] is None  # kept without limit stays so
    assert kept[longer[0].id] == NOW + timedelta(days=90)  # already past the review deadline


@pytest.mark.parametrize(("body", "where"), [
    ({"month": "2026-13"}, "month"), ({"month": "2026-1"}, "month"), ({}, "month"),
    ({"month": "2026-10", "per_agent": 6}, "per_agent"),
    ({"month": "2026-10", "per_agent": 0}, "per_agent"),
    ({"month": "2026-10", "seed": "x" * 65}, "seed"),
])
async def test_a_bad_sampling_request_is_refused_with_where_and_nothing_sampled(
        qa, sessionmaker, body, where):
    app, world, _ = qa
    resp = await post(app, world.tokens["manager"], "/api/qa/samples", body)
    assert (resp.status_code, resp.json()["error_id"]) == (422, "invalid-request"), resp.text
    assert where in [str(part) for e in resp.json()["details"]["errors"] for part in e["loc"]]
    assert await all_samples(sessionmaker) == []
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(QaRun)) == 0


async def test_running_again_tops_up_and_never_samples_a_recording_twice(qa, sessionmaker):
    app, world, recs = qa
    token = world.tokens["qa"]  # inspectors may run it too
    assert (await post(app, token, "/api/qa/samples", {"month": "2026-10"})).json()["added"] == 7
    again = await post(app, token, "/api/qa/samples", {"month": "2026-10"})
    assert (again.json()["added"], again.json()["assigned"]) == (0, 0)
    await recordings(sessionmaker, world.agent_e, [18, 25, 29])  # E's late-fetched recordings
    more = await post(app, token, "/api/qa/samples", {"month": "2026-10", "per_agent": 5})
    # E: 1 -> 4 (all they have); A: 3 -> 5; B: 3 -> 4 (all they have)
    assert more.json()["added"] == 3 + 2 + 1
    samples = await all_samples(sessionmaker)
    assert len(samples) == len({s.recording_id for s in samples}) == 13
    assert (await post(app, token, "/api/qa/samples", {"month": "2026-10", "per_agent": 1})
            ).json()["added"] == 0  # a smaller N later removes nothing
    async with sessionmaker() as session:
        runs = list(await session.scalars(select(QaRun)))
    assert sorted((r.actor, r.per_agent, r.added) for r in runs) == [
        ("qa-1", 1, 0), ("qa-1", 3, 0), ("qa-1", 3, 7), ("qa-1", 5, 6)]


async def test_the_sample_is_reproducible_with_the_same_seed(qa, sessionmaker):
    app, world, _ = qa
    await post(app, world.tokens["manager"], "/api/qa/samples", {"month": "2026-10", "seed": "x"})
    first = sorted(str(s.recording_id) for s in await all_samples(sessionmaker))
    async with sessionmaker() as session, session.begin():
        await session.execute(delete(QaSample))
    await post(app, world.tokens["manager"], "/api/qa/samples", {"month": "2026-10", "seed": "x"})
    assert sorted(str(s.recording_id) for s in await all_samples(sessionmaker)) == first


async def test_only_kept_stored_recordings_of_the_month_by_active_agents_are_sampled(
        qa, sessionmaker):
    app, world, recs = qa
    others = (await recordings(sessionmaker, world.agent_b, [2], month=11)
              + await recordings(sessionmaker, world.agent_b, [4], status="expired")
              + await recordings(sessionmaker, world.agent_b, [6], status="failed")
              # stored, but its retention has passed: the retention job is deleting it
              + await recordings(sessionmaker, world.agent_b, [8], retain_until=NOW))
    async with sessionmaker() as session, session.begin():
        await session.execute(update(AgentRow).where(AgentRow.id == world.agent_e.id)
                              .values(is_active=False))
    await post(app, world.tokens["manager"], "/api/qa/samples", {"month": "2026-10",
                                                                "per_agent": 5})
    sampled = {s.recording_id for s in await all_samples(sessionmaker)}
    assert not sampled & {r.id for r in others}
    assert sampled >= {r.id for r in recs["B"]}  # all four of B's October recordings
    assert len(sampled & {r.id for r in recs["A"]}) == 5
    assert not sampled & {r.id for r in recs["E"]}  # E no longer works here
    assert len(sampled) == 9


async def test_without_inspectors_samples_wait_and_are_assigned_by_the_next_run(sessionmaker,
                                                                                fast_passwords):
    app = make_app(sessionmaker, FakeClock(NOW))
    world = await build_world(sessionmaker)
    await sign_in_roles(app, world, ["manager"])
    await recordings(sessionmaker, world.agent_a, [2, 16])
    first = (await post(app, world.tokens["manager"], "/api/qa/samples",
                        {"month": "2026-10"})).json()
    assert (first["added"], first["assigned"], first["unassigned"]) == (2, 0, 2)
    await create_user(app, "qa-late", "qa")
    second = (await post(app, world.tokens["manager"], "/api/qa/samples",
                         {"month": "2026-10"})).json()
    assert (second["added"], second["assigned"], second["unassigned"]) == (0, 2, 0)


async def test_open_samples_of_a_deactivated_inspector_go_to_the_others_at_the_next_run(
        qa, sessionmaker):
    app, world, _ = qa
    await post(app, world.tokens["manager"], "/api/qa/samples", {"month": "2026-10"})
    qa1, qa2 = await user_id(sessionmaker, "qa-1"), await user_id(sessionmaker, "qa-2")
    theirs = [s for s in await all_samples(sessionmaker) if s.inspector_user_id == qa1]
    async with sessionmaker() as session, session.begin():  # one of them already scored
        await session.execute(update(QaSample).where(QaSample.id == theirs[0].id).values(
            scored_at=NOW, scored_by_user_id=qa1, **MARKS))
    async with client(app, admin_token(app)) as admin:
        resp = await admin.patch(f"/api/users/{qa1}", json={"is_active": False})
    assert resp.status_code == 200, resp.text
    again = (await post(app, world.tokens["manager"], "/api/qa/samples",
                        {"month": "2026-10"})).json()
    assert (again["added"], again["assigned"]) == (0, len(theirs) - 1)
    after = {s.id: s.inspector_user_id for s in await all_samples(sessionmaker)}
    assert after[theirs[0].id] == qa1  # a scored sample stays with who scored it
    assert all(after[s.id] == qa2 for s in theirs[1:])


async def test_two_sampling_runs_at_once_sample_each_recording_once(committing_sessionmaker):
    sm = committing_sessionmaker
    world = await build_world(sm)
    await recordings(sm, world.agent_a, [1, 8, 15, 22, 29])
    await recordings(sm, world.agent_b, [2, 9, 16])
    settings = make_app(None).state.settings

    async def run(seed: str) -> int:
        async with sm() as session, session.begin():
            result = await service.sample_month(
                session=session, month=OCTOBER, now=NOW, zone=settings.zone, per_agent=3,
                min_seconds=30, review_days=30, actor=f"run-{seed}", seed=seed)
            await asyncio.sleep(0.2)  # hold the transaction open: the other run must wait
            return result.added

    try:
        added = await asyncio.gather(run("a"), run("b"), run("c"))
        assert sorted(added) == [0, 0, 6]
        async with sm() as session:
            rows = (await session.execute(select(QaSample.agent_id, func.count())
                                          .group_by(QaSample.agent_id))).all()
        assert dict(rows) == {world.agent_a.id: 3, world.agent_b.id: 3}
    finally:
        async with sm() as session, session.begin():
            await session.execute(text("TRUNCATE qa_runs, qa_samples"))


async def test_the_monthly_job_samples_last_month_once_it_is_over(qa, sessionmaker):
    app, world, recs = qa
    settings = app.state.settings
    async with sessionmaker() as session, session.begin():  # 31 Oct 23:59 local: not yet
        assert await service.monthly(session=session, settings=settings,
                                     now=datetime(2026, 10, 31, 15, 59, tzinfo=UTC)) is not None
    # (that ran for September, which had no recordings)
    assert await all_samples(sessionmaker) == []
    async with sessionmaker() as session, session.begin():  # 1 Nov 00:01 local
        result = await service.monthly(session=session, settings=settings,
                                       now=datetime(2026, 10, 31, 16, 1, tzinfo=UTC))
    assert (result.month, result.added) == (OCTOBER, 7)
    async with sessionmaker() as session, session.begin():  # an hour later: done already
        assert await service.monthly(session=session, settings=settings,
                                     now=datetime(2026, 10, 31, 17, 1, tzinfo=UTC)) is None
    async with sessionmaker() as session:
        run = await session.scalar(select(QaRun).where(QaRun.month == OCTOBER))
    assert (run.actor, run.per_agent) == ("system", 3)


async def test_recordings_of_unscored_samples_are_kept_past_an_overdue_deadline(qa, sessionmaker):
    app, world, recs = qa
    await post(app, world.tokens["manager"], "/api/qa/samples", {"month": "2026-10"})
    samples = await all_samples(sessionmaker)
    scored, open_ = samples[0], samples[1]
    later = NOW + timedelta(days=40)  # past the 30-day review deadline
    async with sessionmaker() as session, session.begin():
        await session.execute(update(QaSample).where(QaSample.id == scored.id).values(
            scored_at=NOW, **MARKS))
        assert await service.hold_unreviewed(session=session, now=later) == len(samples) - 1
    async with sessionmaker() as session:
        kept = {r.id: r.retain_until for r in await session.scalars(select(Recording))}
    assert kept[open_.recording_id] == later + timedelta(days=1)
    assert kept[scored.recording_id] == NOW + timedelta(days=30)  # reviewed: the rule ends


async def _assigned(sessionmaker, username: str) -> QaSample:
    uid = await user_id(sessionmaker, username)
    return next(s for s in await all_samples(sessionmaker) if s.inspector_user_id == uid)


async def test_only_the_assigned_inspector_scores_and_every_change_is_audited(qa, sessionmaker):
    app, world, _ = qa
    await post(app, world.tokens["manager"], "/api/qa/samples", {"month": "2026-10"})
    mine = await _assigned(sessionmaker, "qa-1")
    url = f"/api/qa/samples/{mine.id}/score"
    for who in ("qa2", "manager", "team_lead", "agent"):
        resp = await put(app, world.tokens[who], url, MARKS)
        assert (resp.status_code, resp.json()["error_id"]) == (
            403, "not-your-sample" if who == "qa2" else "forbidden"), (who, resp.text)
    async with client(app, admin_token(app)) as admin:  # admins too: managers re-assign
        assert (await admin.put(url, json=MARKS)).status_code == 403
    resp = await put(app, world.tokens["qa"], url, {**MARKS, "comment": " clear and kind "})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert (body["scores"], body["overall"], body["comment"], body["revision"],
            body["review_state"]) == (MARKS, 4.0, "clear and kind", 1, "scored")
    revised = await put(app, world.tokens["qa"], url, {**MARKS, "tone": 2,
                                                        "comment": "rushed the caller"})
    assert revised.status_code == 200, revised.text
    assert (revised.json()["scores"]["tone"], revised.json()["revision"]) == (2, 2)
    async with sessionmaker() as session:
        entries = list(await session.scalars(select(AuditEntry).where(
            AuditEntry.entity == "qa_sample", AuditEntry.entity_id == str(mine.id))
            .order_by(AuditEntry.id)))
    assert [(e.actor, e.action, e.reason) for e in entries] == [
        ("qa-1", "create", "score"), ("qa-1", "update", "revise")]
    assert entries[1].detail["before"]["tone"] == 4 and entries[1].detail["after"]["tone"] == 2
    assert entries[1].detail["before_comment"] == "clear and kind"


@pytest.mark.parametrize(("change", "where"), [
    ({"greeting": 0}, "greeting"), ({"tone": 6}, "tone"), ({"attitude": "4"}, "attitude"),
    ({"summary": 3.5}, "summary"), ({"unexpected": None}, "unexpected"),
    ({"extra": 1}, "extra"), ({"comment": "x" * 4001}, "comment"),
])
async def test_a_bad_form_is_refused_with_where_and_nothing_stored(qa, sessionmaker, change,
                                                                    where):
    app, world, _ = qa
    await post(app, world.tokens["manager"], "/api/qa/samples", {"month": "2026-10"})
    mine = await _assigned(sessionmaker, "qa-1")
    resp = await put(app, world.tokens["qa"], f"/api/qa/samples/{mine.id}/score",
                     {**MARKS, **change})
    assert resp.status_code == 422, resp.text
    assert resp.json()["error_id"] == "invalid-request"
    assert where in [str(part) for e in resp.json()["details"]["errors"] for part in e["loc"]]
    assert (await _assigned(sessionmaker, "qa-1")).scored_at is None


async def test_a_low_mark_needs_a_comment(qa, sessionmaker):
    app, world, _ = qa
    await post(app, world.tokens["manager"], "/api/qa/samples", {"month": "2026-10"})
    mine = await _assigned(sessionmaker, "qa-1")
    resp = await put(app, world.tokens["qa"], f"/api/qa/samples/{mine.id}/score",
                     {**MARKS, "attitude": 1, "comment": "  "})
    assert resp.status_code == 422
    assert resp.json()["error_id"] == "comment-required"
    assert resp.json()["details"]["criteria"] == ["attitude"]


async def test_a_manager_reassigns_an_unscored_sample_to_another_inspector(qa, sessionmaker):
    app, world, _ = qa
    await post(app, world.tokens["manager"], "/api/qa/samples", {"month": "2026-10"})
    sample = await _assigned(sessionmaker, "qa-1")
    qa2 = await user_id(sessionmaker, "qa-2")
    url = f"/api/qa/samples/{sample.id}"
    async with client(app, world.tokens["manager"]) as c:
        moved = await c.patch(url, json={"inspector_user_id": str(qa2)})
        assert moved.status_code == 200, moved.text
        assert (moved.json()["inspector_user_id"], moved.json()["inspector_name"]) == (
            str(qa2), "Qa-2")
        manager_id = await user_id(sessionmaker, "manager-1")
        refused = await c.patch(url, json={"inspector_user_id": str(manager_id)})
        assert (refused.status_code, refused.json()["error_id"]) == (422, "not-an-inspector")
    assert (await put(app, world.tokens["qa"], f"{url}/score", MARKS)).status_code == 403
    assert (await put(app, world.tokens["qa2"], f"{url}/score", MARKS)).status_code == 200
    async with client(app, world.tokens["manager"]) as c:
        late = await c.patch(url, json={"inspector_user_id": str(qa2)})
    assert (late.status_code, late.json()["error_id"]) == (409, "sample-already-scored")


async def test_an_unassigned_sample_cannot_be_scored(qa, sessionmaker):
    app, world, _ = qa
    await post(app, world.tokens["manager"], "/api/qa/samples", {"month": "2026-10"})
    sample = await _assigned(sessionmaker, "qa-1")
    async with sessionmaker() as session, session.begin():
        await session.execute(update(QaSample).where(QaSample.id == sample.id)
                              .values(inspector_user_id=None))
    resp = await put(app, world.tokens["qa"], f"/api/qa/samples/{sample.id}/score", MARKS)
    assert (resp.status_code, resp.json()["error_id"]) == (409, "sample-unassigned")


async def test_an_inspectors_worklist_is_their_own(qa, sessionmaker):
    app, world, _ = qa
    await post(app, world.tokens["manager"], "/api/qa/samples", {"month": "2026-10"})
    qa1 = await user_id(sessionmaker, "qa-1")
    own = (await get(app, world.tokens["qa"], "/api/qa/samples", month="2026-10")).json()
    assert own["month"] == "2026-10" and len(own["items"]) in (3, 4)
    assert {i["inspector_user_id"] for i in own["items"]} == {str(qa1)}
    item = own["items"][0]
    assert (item["review_state"], item["scores"], item["recording_status"]) == (
        "pending", None, "stored")
    # R20: an inspector sees the recording's facts, not the caller's number
    assert "caller_number" not in item
    # the default month is the previous one (October, from 23 November)
    assert (await get(app, world.tokens["qa"], "/api/qa/samples")).json()["month"] == "2026-10"
    everything = (await get(app, world.tokens["manager"], "/api/qa/samples",
                            month="2026-10")).json()["items"]
    assert len(everything) == 7
    other = next(i for i in everything if i["inspector_user_id"] != str(qa1))
    resp = await get(app, world.tokens["qa"], f"/api/qa/samples/{other['id']}")
    assert resp.status_code == 403
    assert (await get(app, world.tokens["qa"], f"/api/qa/samples/{item['id']}")).status_code == 200
    bad = await get(app, world.tokens["qa"], "/api/qa/samples", month="2026-13")
    assert (bad.status_code, bad.json()["error_id"]) == (422, "invalid-request")


async def _scored_october(app, world, sessionmaker) -> None:
    """Known scores: A 3 samples (two scored), B 3 (one scored), E 1 (none scored)."""
    await post(app, world.tokens["manager"], "/api/qa/samples", {"month": "2026-10"})
    by_agent: dict = {}
    for s in await all_samples(sessionmaker):
        by_agent.setdefault(s.agent_id, []).append(s)
    marks = {world.agent_a.id: [(5, 4, 3, 4, 2), (3, 4, 5, 4, 2)],
             world.agent_b.id: [(4, 4, 4, 4, 5)]}
    async with sessionmaker() as session, session.begin():
        for agent_id, rows in marks.items():
            for sample, values in zip(sorted(by_agent[agent_id], key=lambda s: str(s.id)), rows):
                await session.execute(update(QaSample).where(QaSample.id == sample.id).values(
                    scored_at=NOW, comment="see notes", **dict(zip(CRITERIA, values))))


async def test_the_monthly_report_per_agent_and_team_on_known_scores(qa, sessionmaker):
    app, world, _ = qa
    await _scored_october(app, world, sessionmaker)
    agents = (await get(app, world.tokens["manager"], "/api/qa/reports/agents",
                        month="2026-10")).json()
    rows = {r["agent_name"]: r for r in agents["items"]}
    assert [r["agent_name"] for r in agents["items"]] == ["A", "E", "B"]  # north, then south
    assert rows["A"] == {"month": "2026-10", "agent_id": str(world.agent_a.id), "agent_name": "A",
                         "team": "north", "sampled": 3, "scored": 2, "avg_greeting": 4.0,
                         "avg_attitude": 4.0, "avg_tone": 4.0, "avg_summary": 4.0,
                         "avg_unexpected": 2.0, "overall": 3.6, "lowest": "unexpected"}
    assert (rows["B"]["scored"], rows["B"]["overall"], rows["B"]["lowest"]) == (1, 4.2, "greeting")
    assert (rows["E"]["sampled"], rows["E"]["scored"], rows["E"]["overall"]) == (1, 0, None)
    teams = (await get(app, world.tokens["qa"], "/api/qa/reports/teams",
                       month="2026-10")).json()["items"]
    assert [(t["team"], t["agents"], t["sampled"], t["scored"], t["overall"], t["lowest"])
            for t in teams] == [("north", 2, 4, 2, 3.6, "unexpected"),
                                ("south", 1, 3, 1, 4.2, "greeting")]
    resp = await get(app, world.tokens["manager"], "/api/qa/reports/agents", month="2026-10",
                     format="csv")
    assert resp.headers["content-type"].startswith("text/csv")
    table = list(csv.DictReader(io.StringIO(resp.text)))
    assert [(r["agent_name"], r["overall"], r["lowest"]) for r in table] == [
        ("A", "3.6", "unexpected"), ("E", "", ""), ("B", "4.2", "greeting")]


async def test_a_team_lead_reads_their_own_teams_figures_only(qa, sessionmaker):
    app, world, _ = qa
    await _scored_october(app, world, sessionmaker)
    token = world.tokens["team_lead"]  # leads north
    own = (await get(app, token, "/api/qa/reports/agents", month="2026-10")).json()
    assert own["team"] == "north"
    assert [r["agent_name"] for r in own["items"]] == ["A", "E"]
    teams = (await get(app, token, "/api/qa/reports/teams", month="2026-10")).json()["items"]
    assert [t["team"] for t in teams] == ["north"]
    other = await get(app, token, "/api/qa/reports/agents", month="2026-10", team="south")
    assert (other.status_code, other.json()["error_id"]) == (403, "team-not-yours")
    await create_user(app, "lead-nobody", "team_lead")
    nobody = await sign_in(app, "lead-nobody")
    assert (await get(app, nobody, "/api/qa/reports/teams")).status_code == 403
    narrowed = (await get(app, world.tokens["manager"], "/api/qa/reports/agents",
                          month="2026-10", team="south")).json()["items"]
    assert [r["agent_name"] for r in narrowed] == ["B"]


async def test_an_agent_sees_their_own_scored_samples_and_comments_not_the_inspector(
        qa, sessionmaker):
    app, world, _ = qa
    await _scored_october(app, world, sessionmaker)
    mine = (await get(app, world.tokens["agent"], "/api/qa/mine", month="2026-10")).json()
    # the figures are A's row of the agents report: 3 sampled, 2 scored
    assert (mine["sampled"], mine["scored"], mine["overall"]) == (3, 2, 3.6)
    assert len(mine["items"]) == 2
    assert all(i["agent_id"] == str(world.agent_a.id) and i["comment"] == "see notes"
               for i in mine["items"])
    assert all("inspector_user_id" not in i and "inspector_name" not in i for i in mine["items"])
    await create_user(app, "agent-unlinked", "agent")
    unlinked = await sign_in(app, "agent-unlinked")
    assert (await get(app, unlinked, "/api/qa/mine")).status_code == 403
