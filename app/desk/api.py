"""HTTP and WebSocket of the agent desktop (R3, R13, R14).

- `GET /api/desk`: the signed-in agent, their live state (with the wrap-up deadline) and the
  call on their screen (rebuilt after a page reload).
- `POST /api/desk/state`: ready / paused with a reason / logged_out, for the agent's own seat.
- `GET /api/desk/recording`, `POST /api/desk/recording/pause|resume`: the recording of the
  agent's own current call (R16), muted while paused (card numbers and the like).
- `WS /api/desk/ws`: authenticated by the session cookie (or `?token=`); same-origin only. The
  server pushes `offer` (the screen pop, the moment the phone starts ringing), `offer_ended`,
  `connected`, `call_ended`, `agent_state` and `notice` (R15: a major complaint; team leads and
  managers without an agent seat may connect for these); the page answers `{"type": "pop_shown",
  "offer_id": ...}` once it has drawn a pop, which we store on the offer (`pop_shown_at`) and
  measure against the first ring (`hotline_screen_pop_seconds`). Every pop delivered is a view of
  the customer record and is audited (R20).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Annotated, Any, Literal

import structlog
from fastapi import APIRouter, Query, WebSocket, WebSocketDisconnect
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.audit import service as audit
from app.auth.models import RoleName, User
from app.auth.schemas import UserOut
from app.auth.service import Principal
from app.calls import service as calls
from app.clock import Clock
from app.deps import (AcdDep, ClockDep, CurrentUser, DeskDep, RecorderDep, SessionDep,
                      SessionmakerDep, SettingsDep, socket_principal, socket_session)
from app.desk import screen_pop
from app.desk.messages import ScreenPop
from app.desk.notifier import Overrun
from app.errors import AcdUnavailable, Forbidden
from app.limits import MessageBudget
from app.metrics import SCREEN_POP_SECONDS
from app.recordings.schemas import DeskRecording
from routing.models import AgentRow, OfferRow

log = structlog.get_logger(__name__)
# Team leads and managers without an agent seat watch for notices (R15) on the lead page.
WATCHERS = (RoleName.team_lead, RoleName.manager)
router = APIRouter(prefix="/api/desk", tags=["desk"])
PING_SECONDS = 25


class NotAnAgent(Forbidden):
    error_id = "not-an-agent"
    message = "this user is not linked to an agent"


class AgentLive(BaseModel):
    id: uuid.UUID
    name: str
    extension: str
    level: str
    team: str | None
    state: str
    state_reason: str | None
    state_since: Any
    wrap_up_until: Any
    call_id: uuid.UUID | None


class DeskOut(BaseModel):
    user: UserOut | None
    agent: AgentLive | None
    screen: ScreenPop | None  # the call on the agent's screen now, if any
    ring_limit_seconds: float
    timezone: str             # the centre's: the page shows times in it


class StateIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    state: Literal["ready", "paused", "logged_out"]
    reason: str | None = Field(None, pattern=r"^[a-z_]{1,32}$")

    @model_validator(mode="after")
    def _reason(self) -> "StateIn":
        if self.state == "paused" and not self.reason:
            raise ValueError("a pause needs a reason (e.g. break, lunch, training, meeting)")
        return self


def _agent_id(principal: Principal) -> uuid.UUID:
    if principal.role is not RoleName.agent and principal.agent_id is None:
        raise NotAnAgent()
    if principal.agent_id is None:
        raise NotAnAgent()
    return principal.agent_id


@router.get("", response_model=DeskOut)
async def desk(principal: CurrentUser, session: SessionDep, settings: SettingsDep,
               clock: ClockDep, acd: AcdDep) -> DeskOut:
    user = await session.get(User, principal.user_id) if principal.user_id else None
    out = DeskOut(user=UserOut.model_validate(user) if user else None, agent=None, screen=None,
                  ring_limit_seconds=settings.ring_limit_seconds, timezone=settings.timezone)
    if principal.agent_id is None:
        return out
    row = await session.get(AgentRow, principal.agent_id)
    if row is None:
        return out
    live = (acd.live_state(row.id) if acd is not None else None) or {
        "state": row.state, "state_reason": row.state_reason, "state_since": row.state_since,
        "call_id": None, "wrap_up_until": None}
    out.agent = AgentLive(id=row.id, name=row.name, extension=row.extension, level=row.level,
                          team=row.team, state=str(live["state"]),
                          state_reason=live["state_reason"], state_since=live["state_since"],
                          wrap_up_until=live.get("wrap_up_until"), call_id=live["call_id"])
    call = (await calls.by_id(session=session, call_id=live["call_id"])
            if live["call_id"] is not None else None)
    if call is not None:
        now = clock.now()
        out.screen = await screen_pop.build(
            session=session, offer_id=uuid.UUID(int=0), call_id=call.id, kind="queue",
            queue=call.queue, caller_number=call.caller_number, customer_id=call.customer_id,
            language=call.language, enqueued_at=call.enqueued_at, now=now,
            ring_limit_seconds=settings.ring_limit_seconds, calls=settings.screen_pop_calls)
        out.screen.apology_due = call.apology_due
        if call.customer_id is not None:
            audit.record(session=session, principal=principal, at=now, action="view",
                         entity="customer", entity_id=call.customer_id, reason="call",
                         call_id=call.id)
            await session.commit()
    return out


@router.post("/state", response_model=AgentLive)
async def set_state(body: StateIn, principal: CurrentUser, session: SessionDep,
                    acd: AcdDep) -> AgentLive:
    """The agent's own state (R19: every change is stored by the ACD)."""
    agent_id = _agent_id(principal)
    if acd is None:
        raise AcdUnavailable()
    await acd.request_state(agent_id, body.state, body.reason)
    row = await session.get(AgentRow, agent_id)
    live = acd.live_state(agent_id) or {}
    return AgentLive(id=agent_id, name=row.name, extension=row.extension, level=row.level,
                     team=row.team, state=str(live.get("state")),
                     state_reason=live.get("state_reason"), state_since=live.get("state_since"),
                     wrap_up_until=live.get("wrap_up_until"), call_id=live.get("call_id"))


# -- the agent's pause of their call's recording (R16, R20) ----------------------------------

def _desk_recording(active: Any) -> DeskRecording:
    return DeskRecording(recording_id=active.id, call_id=active.call_id,
                         started_at=active.started_at, paused=active.paused_since is not None,
                         paused_since=active.paused_since)


@router.get("/recording", response_model=DeskRecording | None)
async def my_recording(principal: CurrentUser, recorder: RecorderDep) -> DeskRecording | None:
    """The recording of the agent's current call (null: the call is not recorded)."""
    active = recorder.of_agent(_agent_id(principal))
    return _desk_recording(active) if active is not None else None


@router.post("/recording/pause", response_model=DeskRecording)
async def pause_recording(principal: CurrentUser, recorder: RecorderDep) -> DeskRecording:
    """Stop recording what is said (a card number, say) until resumed: the recording is muted,
    so silence keeps the file's timeline, and the pause is marked (409 `no-recording` when the
    agent's call is not being recorded; pausing twice is fine)."""
    active = await recorder.pause(agent_id=_agent_id(principal), user_id=principal.user_id)
    return _desk_recording(active)


@router.post("/recording/resume", response_model=DeskRecording)
async def resume_recording(principal: CurrentUser, recorder: RecorderDep) -> DeskRecording:
    active = await recorder.resume(agent_id=_agent_id(principal))
    return _desk_recording(active)


@router.websocket("/ws")
async def desk_socket(ws: WebSocket, notifier: DeskDep, sessions: SessionmakerDep,
                      clock: ClockDep, settings: SettingsDep,
                      token: Annotated[str | None, Query()] = None) -> None:
    principal = await socket_principal(ws, token)
    if principal is None:
        return
    if principal.agent_id is None and principal.role not in WATCHERS:
        await ws.close(code=4403, reason="not an agent")
        return
    await ws.accept()
    with notifier.connect(principal.agent_id, user_id=principal.user_id,
                          role=str(principal.role)) as conn:
        budget = MessageBudget(max_bytes=settings.ws_max_message_bytes,  # #20: what it may send
                               per_second=settings.ws_messages_per_second,
                               burst=settings.ws_message_burst)
        reader = asyncio.create_task(_read(ws, sessions, clock, principal, budget))
        getter: asyncio.Task | None = None
        try:
            while True:
                getter = getter or asyncio.create_task(conn.next())
                done, _ = await asyncio.wait({getter, reader}, timeout=PING_SECONDS,
                                             return_when=asyncio.FIRST_COMPLETED)
                if reader in done:
                    break
                # R20: nothing more once the session has ended (checked on every message
                # and every ping, so a signed-out desk stops within a message or PING_SECONDS)
                if await socket_session(ws, token) is None:
                    await ws.close(code=4401, reason="the session has ended")
                    break
                if getter not in done:
                    await ws.send_json({"type": "ping"})
                    continue
                message, getter = getter.result(), None
                await ws.send_text(message.model_dump_json())
                if isinstance(message, ScreenPop):
                    asyncio.create_task(_pop_delivered(sessions, clock, principal, message))
        except (WebSocketDisconnect, Overrun, RuntimeError):
            pass
        finally:
            reader.cancel()
            if getter is not None:
                getter.cancel()
            try:
                await ws.close()
            except RuntimeError:
                pass


async def _read(ws: WebSocket, sessions: async_sessionmaker[AsyncSession], clock: Clock,
                principal: Principal, budget: MessageBudget) -> None:
    """What the page tells us: that it has drawn a pop (for the R3 timing). A message too big
    or too many too fast close the socket (1009, 1008: #20, R20)."""
    while True:
        try:
            raw = await ws.receive_text()
        except (WebSocketDisconnect, RuntimeError):
            return
        if (code := budget.refusal(raw)) is not None:
            log.warning("desk.socket_over_budget", code=code, user=principal.subject)
            await ws.close(code=code, reason="message too big" if code == budget.TOO_BIG
                           else "too many messages")
            return
        try:
            message = PopShown.model_validate(json.loads(raw))
        except (ValueError, ValidationError):
            continue  # pings and anything unknown
        await _pop_shown(sessions, clock, principal, message.offer_id)


class PopShown(BaseModel):
    type: Literal["pop_shown"]
    offer_id: uuid.UUID


async def _pop_delivered(sessions: async_sessionmaker[AsyncSession], clock: Clock,
                         principal: Principal, pop: ScreenPop) -> None:
    """R20: a pop on the screen is a view of the customer record, by this user, for this call."""
    if pop.caller.customer_id is None:
        return
    try:
        async with sessions() as session, session.begin():
            audit.record(session=session, principal=principal, at=clock.now(),
                         action="view", entity="customer", entity_id=pop.caller.customer_id,
                         reason="call", call_id=pop.call_id, detail={"via": "screen_pop"})
    except Exception as exc:  # noqa: BLE001 - logged; the pop itself was delivered
        log.error("desk.audit_failed", error=repr(exc))


POP_SHOWN_TRIES = 20  # 2 s: the call log writer stores within 20 ms unless Postgres is slow


async def _pop_shown(sessions: async_sessionmaker[AsyncSession], clock: Clock,
                     principal: Principal, offer_id: uuid.UUID) -> None:
    now = clock.now()
    # The offer's row is written behind the call (R21, app.calls.log_writer): the page may say
    # it showed the pop before the row is stored, so a missing row is tried again briefly.
    for _ in range(POP_SHOWN_TRIES):
        async with sessions() as session, session.begin():
            row = (await session.execute(
                update(OfferRow).where(OfferRow.id == offer_id,
                                       OfferRow.agent_id == principal.agent_id,
                                       OfferRow.pop_shown_at.is_(None))
                .values(pop_shown_at=now).returning(OfferRow.id, OfferRow.ringing_at))).first()
        if row is not None:
            break
        await asyncio.sleep(0.1)
    ringing_at = row.ringing_at if row is not None else None
    if ringing_at is not None:
        SCREEN_POP_SECONDS.labels(stage="shown").observe(max((now - ringing_at).total_seconds(), 0))
