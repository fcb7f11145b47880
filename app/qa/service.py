"""Quality inspection (R16): sampling each month's recordings, assigning and scoring them, and
the monthly figures. The decisions are pure (`sampling.py`, `scoring.py`); this module reads
and writes Postgres.

Retention: a sampled recording is kept until it is reviewed. At sampling its `retain_until`
becomes at least the review deadline (HOTLINE_QA_REVIEW_DAYS after sampling), so the recording
retention job cannot delete it first; and while its sample is unscored, the QA job keeps its
`retain_until` at least a day ahead (`hold_unreviewed`), also past an overdue deadline. A
recording kept without limit (`retain_until` None) is left so.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import structlog
from sqlalchemy import func, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.audit import service as audit
from app.auth.models import RoleName, User
from app.auth.service import Principal
from app.errors import AppError, Conflict, Forbidden, NotFound
from app.qa import sampling, scoring
from app.qa.models import CRITERIA, QaRun, QaSample
from app.recordings.models import Recording, RecordingStatus
from routing.models import AgentRow

log = structlog.get_logger(__name__)
LOCK = 7_431_016  # pg_advisory_xact_lock key: one sampling run at a time
HOLD = timedelta(days=1)  # unscored samples' recordings are kept at least this far ahead
SYSTEM = "system"


class SampleUnassigned(Conflict):
    error_id = "sample-unassigned"
    message = "this sample has no inspector yet; a manager assigns one first"


class SampleAlreadyScored(Conflict):
    error_id = "sample-already-scored"
    message = "this sample is scored; only its inspector may revise the score"


class NotYourSample(Forbidden):
    error_id = "not-your-sample"
    message = "only the inspector this sample is assigned to may score it"


class NotAnInspector(AppError):
    status_code = 422
    error_id = "not-an-inspector"
    message = "samples go to active users with the role qa"


class CommentRequired(AppError):
    status_code = 422
    error_id = "comment-required"
    message = "a criterion scored 1 or 2 needs a comment saying why"


class TeamNotYours(Forbidden):
    error_id = "team-not-yours"
    message = "a team lead sees their own team's figures only"


@dataclass(frozen=True)
class RunResult:
    month: date
    per_agent: int
    agents: int
    added: int
    assigned: int
    unassigned: int

    def as_dict(self) -> dict[str, Any]:
        return {"month": self.month.strftime("%Y-%m"), "per_agent": self.per_agent,
                "agents": self.agents, "added": self.added, "assigned": self.assigned,
                "unassigned": self.unassigned}


async def sample_month(*, session: AsyncSession, month: date, now: datetime, zone: Any,
                       per_agent: int, min_seconds: float, review_days: int, actor: str,
                       seed: str = "") -> RunResult:
    """Sample `per_agent` stored recordings of each active agent for the local month, topping up
    what earlier runs sampled, and assign every unassigned open sample; within the caller's
    transaction, under an advisory lock (two runs at once: the second waits and adds nothing)."""
    await session.execute(text(f"SELECT pg_advisory_xact_lock({LOCK})"))
    start, end = sampling.month_bounds(month, zone)
    stored = (await session.execute(
        select(Recording.id, Recording.agent_id, Recording.started_at, Recording.duration_seconds)
        .join(AgentRow, AgentRow.id == Recording.agent_id)
        .outerjoin(QaSample, QaSample.recording_id == Recording.id)
        .where(Recording.status == RecordingStatus.stored, Recording.path.is_not(None),
               Recording.started_at >= start, Recording.started_at < end,
               # one the retention job may be deleting now is no use to an inspector
               or_(Recording.retain_until.is_(None), Recording.retain_until > now),
               AgentRow.is_active.is_(True), QaSample.id.is_(None)))).all()
    candidates: dict[uuid.UUID, list[sampling.Candidate]] = {}
    for rec_id, agent_id, started_at, duration in stored:
        candidates.setdefault(agent_id, []).append(
            sampling.Candidate(rec_id, started_at, duration))
    earlier: dict[uuid.UUID, list[datetime]] = {}
    for agent_id, started_at in (await session.execute(
            select(QaSample.agent_id, Recording.started_at)
            .join(Recording, Recording.id == QaSample.recording_id)
            .where(QaSample.month == month))).all():
        earlier.setdefault(agent_id, []).append(started_at)

    review_due_at = scoring.review_due(now, review_days=review_days)
    rows = []
    for agent_id in sorted(candidates, key=str):
        for c in sampling.pick(candidates[agent_id], n=per_agent, already=earlier.get(agent_id, []),
                               start=start, end=end, min_seconds=min_seconds,
                               seed=sampling.seed_of(month, agent_id, seed)):
            rows.append({"id": uuid.uuid4(), "recording_id": c.recording_id, "month": month,
                         "agent_id": agent_id, "sampled_at": now, "review_due_at": review_due_at,
                         "revision": 0})
    added = 0
    if rows:
        made = await session.execute(insert(QaSample).values(rows).on_conflict_do_nothing(
            index_elements=["recording_id"]).returning(QaSample.recording_id))
        kept = list(made.scalars())
        added = len(kept)
        # R16: not deleted before the review (see the module's docstring)
        await session.execute(update(Recording).where(
            Recording.id.in_(kept), Recording.retain_until.is_not(None),
            Recording.retain_until < review_due_at).values(retain_until=review_due_at))
    assigned, unassigned = await assign_open(session=session, now=now)
    session.add(QaRun(month=month, ran_at=now, actor=actor, per_agent=per_agent, seed=seed,
                      added=added, assigned=assigned))
    log.info("qa.sampled", month=month.isoformat(), per_agent=per_agent, added=added,
             assigned=assigned, unassigned=unassigned, actor=actor)
    return RunResult(month, per_agent, len(set(candidates) | set(earlier)), added, assigned,
                     unassigned)


async def inspectors(*, session: AsyncSession) -> list[User]:
    return list(await session.scalars(select(User).where(
        User.role == RoleName.qa, User.is_active.is_(True)).order_by(User.username)))


async def assign_open(*, session: AsyncSession, now: datetime) -> tuple[int, int]:
    """Every open sample without an active inspector (none yet, or theirs was deactivated or
    given another role) to the active inspector with the least open work (`sampling.assign`);
    (assigned now, still unassigned)."""
    users = await inspectors(session=session)
    active = [u.id for u in users]
    waiting = list(await session.scalars(
        select(QaSample).where(QaSample.scored_at.is_(None),
                               or_(QaSample.inspector_user_id.is_(None),
                                   QaSample.inspector_user_id.not_in(active)))
        .order_by(QaSample.month, QaSample.sampled_at, QaSample.agent_id, QaSample.id)))
    if not waiting:
        return 0, 0
    load = dict((await session.execute(
        select(QaSample.inspector_user_id, func.count()).where(
            QaSample.inspector_user_id.is_not(None), QaSample.scored_at.is_(None))
        .group_by(QaSample.inspector_user_id))).all())
    plan = sampling.assign([s.id for s in waiting], inspectors=[u.id for u in users],
                           open_load=load)
    for sample in waiting:
        if sample.id in plan:
            if sample.inspector_user_id is not None:
                log.info("qa.reassigned", sample_id=str(sample.id), why="inspector-inactive",
                         to=str(plan[sample.id]))
            sample.inspector_user_id, sample.assigned_at = plan[sample.id], now
    await session.flush()
    return len(plan), len(waiting) - len(plan)


async def hold_unreviewed(*, session: AsyncSession, now: datetime) -> int:
    """Keep the recordings of unscored samples at least a day ahead (R16: kept until reviewed)."""
    result = await session.execute(
        update(Recording).where(
            Recording.id.in_(select(QaSample.recording_id).where(QaSample.scored_at.is_(None))),
            Recording.status == RecordingStatus.stored, Recording.retain_until.is_not(None),
            Recording.retain_until < now + HOLD).values(retain_until=now + HOLD))
    return result.rowcount or 0


async def monthly(*, session: AsyncSession, settings: Any, now: datetime) -> RunResult | None:
    """The QA job's turn: sample last month if no run for it was made after it ended; keep the
    recordings of unscored samples."""
    await hold_unreviewed(session=session, now=now)
    month = sampling.previous_month(now, settings.zone)
    _, end = sampling.month_bounds(month, settings.zone)
    done = await session.scalar(select(func.count()).select_from(QaRun).where(
        QaRun.month == month, QaRun.ran_at >= end))
    if done:
        return None
    return await sample_month(session=session, month=month, now=now, zone=settings.zone,
                              per_agent=settings.qa_samples_per_agent,
                              min_seconds=settings.qa_min_duration_seconds,
                              review_days=settings.qa_review_days, actor=SYSTEM)


async def run_forever(*, sessionmaker: async_sessionmaker[AsyncSession], settings: Any,
                      clock: Any) -> None:
    """The service's background QA job (cancelled at shutdown)."""
    while True:
        try:
            async with sessionmaker() as session, session.begin():
                await monthly(session=session, settings=settings, now=clock.now())
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - tried again at the next turn
            log.error("qa.job_failed", error=repr(exc))
        await asyncio.sleep(settings.qa_job_seconds)


# -- reading and scoring ----------------------------------------------------------------------

@dataclass(frozen=True)
class SampleView:
    sample: QaSample
    recording: Recording
    agent: AgentRow
    inspector: User | None


async def samples(*, session: AsyncSession, month: date | None = None,
                  inspector_user_id: uuid.UUID | None = None, agent_id: uuid.UUID | None = None,
                  sample_id: uuid.UUID | None = None) -> list[SampleView]:
    query = (select(QaSample, Recording, AgentRow, User)
             .join(Recording, Recording.id == QaSample.recording_id)
             .join(AgentRow, AgentRow.id == QaSample.agent_id)
             .outerjoin(User, User.id == QaSample.inspector_user_id)
             .order_by(QaSample.month, AgentRow.name, Recording.started_at))
    if month is not None:
        query = query.where(QaSample.month == month)
    if inspector_user_id is not None:
        query = query.where(QaSample.inspector_user_id == inspector_user_id)
    if agent_id is not None:
        query = query.where(QaSample.agent_id == agent_id)
    if sample_id is not None:
        query = query.where(QaSample.id == sample_id)
    return [SampleView(*row) for row in (await session.execute(query)).all()]


async def get(*, session: AsyncSession, sample_id: uuid.UUID) -> SampleView:
    found = await samples(session=session, sample_id=sample_id)
    if not found:
        raise NotFound("no such sample")
    return found[0]


def scores_of(sample: QaSample) -> dict[str, int] | None:
    if sample.scored_at is None:
        return None
    return {c: getattr(sample, c) for c in CRITERIA}


async def score(*, session: AsyncSession, principal: Principal, sample_id: uuid.UUID,
                scores: dict[str, int], comment: str, now: datetime) -> QaSample:
    """The assigned inspector scores the sample, or revises their score; audited with the
    scores before and after."""
    sample = await session.scalar(select(QaSample).where(QaSample.id == sample_id)
                                  .with_for_update())
    if sample is None:
        raise NotFound("no such sample")
    if sample.inspector_user_id is None:
        raise SampleUnassigned()
    if principal.user_id is None or principal.user_id != sample.inspector_user_id or (
            sample.scored_by_user_id not in (None, principal.user_id)):
        raise NotYourSample()
    if missing := scoring.needs_comment(scores, comment):
        raise CommentRequired(criteria=missing)
    before = scores_of(sample)
    before_comment = sample.comment
    for c in CRITERIA:
        setattr(sample, c, scores[c])
    sample.comment = comment.strip()
    sample.scored_at, sample.scored_by_user_id = now, principal.user_id
    sample.revision = (sample.revision or 0) + 1
    audit.record(session=session, principal=principal, at=now,
                 action="create" if before is None else "update", entity="qa_sample",
                 entity_id=sample.id, reason="score" if before is None else "revise",
                 detail={"before": before, "before_comment": before_comment,
                         "after": dict(scores), "comment": sample.comment,
                         "revision": sample.revision})
    await session.flush()
    log.info("qa.scored", sample_id=str(sample.id), revision=sample.revision,
             by=principal.subject)
    return sample


async def reassign(*, session: AsyncSession, principal: Principal, sample_id: uuid.UUID,
                   inspector_user_id: uuid.UUID, now: datetime) -> QaSample:
    """A manager gives an unscored sample to another active inspector (audited)."""
    sample = await session.scalar(select(QaSample).where(QaSample.id == sample_id)
                                  .with_for_update())
    if sample is None:
        raise NotFound("no such sample")
    if sample.scored_at is not None:
        raise SampleAlreadyScored()
    user = await session.get(User, inspector_user_id)
    if user is None or user.role != RoleName.qa or not user.is_active:
        raise NotAnInspector(inspector_user_id=str(inspector_user_id))
    before = sample.inspector_user_id
    sample.inspector_user_id, sample.assigned_at = user.id, now
    audit.record(session=session, principal=principal, at=now, action="update",
                 entity="qa_sample", entity_id=sample.id, reason="assign",
                 detail={"from": str(before) if before else None, "to": str(user.id)})
    await session.flush()
    return sample


# -- the monthly figures ------------------------------------------------------------------------

async def report(*, session: AsyncSession, month: date, by: str,
                 team: str | None = None) -> list[dict[str, Any]]:
    """Per agent (`by="agent"`) or per team (`by="team"`) for the month: see `scoring`."""
    query = (select(QaSample, AgentRow).join(AgentRow, AgentRow.id == QaSample.agent_id)
             .where(QaSample.month == month))
    if team is not None:
        query = query.where(AgentRow.team == team)
    groups: dict[Any, tuple[dict[str, Any], scoring.Figures, set[uuid.UUID]]] = {}
    for sample, agent in (await session.execute(query)).all():
        if by == "agent":
            key, head = agent.id, {"agent_id": str(agent.id), "agent_name": agent.name,
                                   "team": agent.team}
        else:
            key, head = agent.team, {"team": agent.team}
        _, figs, agents = groups.setdefault(key, (head, scoring.Figures(), set()))
        figs.add(scores_of(sample))
        agents.add(agent.id)
    out = [{"month": month.strftime("%Y-%m"), **head,
            **({"agents": len(agents)} if by == "team" else {}), **figs.as_dict()}
           for head, figs, agents in groups.values()]
    key = (lambda r: (r.get("team") or "", r.get("agent_name") or ""))
    return sorted(out, key=key)


def may_read(principal: Principal, team: str | None) -> str | None:
    """The team a report is narrowed to: a team lead's own (naming another is 403, and a team
    lead without a team sees none); others see all, or the team they name."""
    if principal.role is RoleName.team_lead:
        if principal.team is None or (team is not None and team != principal.team):
            raise TeamNotYours()
        return principal.team
    return team


__all__ = ["RunResult", "SampleView", "assign_open", "get", "hold_unreviewed",
           "monthly", "reassign", "report", "run_forever", "sample_month", "samples", "score"]
