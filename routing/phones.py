"""Agents' phones (R9): how the ACD reaches an agent, and the PJSIP objects we keep in Asterisk.

An agent's phone is either a `contact`, a SIP URI dialled through the trunk
(`PJSIP/trunk/<contact>`: desk phones on a trunk, SIPp test phones), or a `registration`: a PJSIP
endpoint of its own that the phone registers to with a user name and password. For those we push
three sorcery objects into Asterisk through ARI dynamic configuration (astdb-backed, see
deploy/asterisk/sorcery.conf), all named by the user name: an `auth` (digest, md5 only: we keep
md5(username:realm:password), never the password), an `aor` (one contact, a new registration
replaces the old) and an `endpoint`; the ACD dials it as `PJSIP/<username>`.

The database is the truth: `sip_endpoint` is the object id we last wrote (so that a renamed,
switched or deactivated agent's objects can be removed) and `sip_provisioned_at` when the
current credentials were written. An agent saved while Asterisk is unreachable is stored anyway,
unprovisioned, and written at the next `sync` (every time the event stream connects).
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Iterable
from datetime import datetime

import structlog
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.ari.errors import AriError, AriUnavailable
from app.telephony import Telephony
from routing.models import AgentRow

log = structlog.get_logger(__name__)

# The digest realm of agents' phones. md5_cred includes it: changing it voids every stored
# credential, so it is a constant, not a setting.
REALM = "hotline"
# Letter first (never a caller's number, which the trunk's From carries: PJSIP identifies by
# user name first), lower case, fit for a sorcery id and a URL path.
USERNAME_PATTERN = r"^[a-z][a-z0-9_-]{2,31}$"
# Endpoint ids pjsip.conf already uses, and names phones and tools send by default.
RESERVED_USERNAMES = frozenset({"trunk", "anonymous", "asterisk", "sipp", "hotline"})
PASSWORD_MIN, PASSWORD_MAX = 12, 64
PASSWORD_PATTERN = r"^[\x21-\x7e]+$"  # printable ASCII, no spaces
CONTEXT = "agent-phones"  # extensions.conf: calls an agent's phone places go nowhere
CONFIG_CLASS = "res_pjsip"


def md5_cred(username: str, password: str, realm: str = REALM) -> str:
    """What PJSIP's `auth_type = md5` stores: md5(username:realm:password), hex."""
    return hashlib.md5(f"{username}:{realm}:{password}".encode()).hexdigest()  # noqa: S324 - SIP digest


def dial_endpoint(*, phone_kind: str, contact: str | None, sip_username: str | None) -> str:
    """The ARI endpoint the ACD originates to reach the agent's phone."""
    if phone_kind == "registration":
        return f"PJSIP/{sip_username}"
    return f"PJSIP/trunk/{contact}"


def pjsip_objects(username: str, md5: str) -> list[tuple[str, list[tuple[str, str]]]]:
    """The objects of one registration agent in creation order (the endpoint names the others):
    (sorcery type, fields); all have the id `username`."""
    return [
        ("auth", [("auth_type", "md5"), ("username", username), ("realm", REALM),
                  ("md5_cred", md5)]),
        ("aor", [("max_contacts", "1"), ("remove_existing", "yes")]),
        ("endpoint", [("transport", "transport-udp"), ("context", CONTEXT),
                      ("disallow", "all"), ("allow", "alaw,ulaw,gsm"), ("direct_media", "no"),
                      ("dtmf_mode", "rfc4733"), ("rtp_symmetric", "yes"), ("force_rport", "yes"),
                      ("rewrite_contact", "yes"), ("auth", username), ("aors", username),
                      ("identify_by", "username")]),
    ]


def wanted_endpoint(agent: AgentRow) -> str | None:
    """The endpoint Asterisk should hold for this agent: its user name while it is active with a
    registration phone, else none."""
    if agent.is_active and agent.phone_kind == "registration":
        return agent.sip_username
    return None


def is_provisioned(agent: AgentRow) -> bool:
    wanted = wanted_endpoint(agent)
    return (wanted is not None and agent.sip_endpoint == wanted
            and agent.sip_provisioned_at is not None)


async def _write(telephony: Telephony, agent: AgentRow) -> None:
    assert agent.sip_username is not None and agent.sip_md5_cred is not None
    for object_type, fields in pjsip_objects(agent.sip_username, agent.sip_md5_cred):
        await telephony.put_config_object(CONFIG_CLASS, object_type, agent.sip_username, fields)


async def _remove(telephony: Telephony, endpoint: str) -> None:
    for object_type in ("endpoint", "aor", "auth"):  # the endpoint names the others: first
        await telephony.delete_config_object(CONFIG_CLASS, object_type, endpoint)


async def _taken_by_other(session: AsyncSession, endpoint: str, agent_id: uuid.UUID) -> bool:
    """Whether another active registration agent now uses this id (a user name moved on)."""
    other = await session.scalar(select(AgentRow.id).where(
        AgentRow.sip_username == endpoint, AgentRow.id != agent_id, AgentRow.is_active,
        AgentRow.phone_kind == "registration"))
    return other is not None


async def _apply(*, session: AsyncSession, telephony: Telephony, agent: AgentRow,
                 now: datetime, force: bool) -> None:
    wanted = wanted_endpoint(agent)
    try:
        if agent.sip_endpoint is not None and agent.sip_endpoint != wanted:
            if not await _taken_by_other(session, agent.sip_endpoint, agent.id):
                await _remove(telephony, agent.sip_endpoint)
            log.info("phones.removed", agent=str(agent.id), endpoint=agent.sip_endpoint)
            agent.sip_endpoint = None
            agent.sip_provisioned_at = None
        if wanted is not None and (force or not is_provisioned(agent)):
            agent.sip_endpoint, agent.sip_provisioned_at = wanted, None
            await _write(telephony, agent)
            agent.sip_provisioned_at = now
            log.info("phones.provisioned", agent=str(agent.id), endpoint=wanted)
    except AriError as exc:
        agent.sip_provisioned_at = None
        log.warning("phones.provisioning_failed", agent=str(agent.id), endpoint=wanted,
                    error=str(exc), retry="at the next sync")
        raise
    finally:
        await session.flush()


async def provision(*, session: AsyncSession, telephony: Telephony | None, agent: AgentRow,
                    now: datetime) -> bool:
    """Make Asterisk hold what the agent's row says (write, rewrite or remove its objects) and
    record that on the row (flushed; the caller commits). Asterisk unreachable or refusing:
    logged, the row stays unprovisioned and the next `sync` retries. Returns whether the agent's
    phone is provisioned now (False for a contact phone)."""
    if telephony is not None:
        try:
            await _apply(session=session, telephony=telephony, agent=agent, now=now, force=False)
        except AriError:
            pass  # logged; the next sync retries
    return is_provisioned(agent)


async def sync(*, sessionmaker: async_sessionmaker[AsyncSession], telephony: Telephony,
               now: datetime) -> int:
    """Write every registration agent's objects again and remove those of agents that no longer
    need them (at start and whenever the event stream reconnects: Asterisk may be a new one).
    Stops at an unreachable Asterisk (the next sync retries). Returns how many are provisioned."""
    done = 0
    async with sessionmaker() as session:
        rows = list(await session.scalars(
            select(AgentRow).where((AgentRow.phone_kind == "registration")
                                   | AgentRow.sip_endpoint.is_not(None))))
        for agent in _removals_first(rows):
            try:
                await _apply(session=session, telephony=telephony, agent=agent, now=now,
                             force=True)
            except AriUnavailable as exc:
                log.warning("phones.sync_interrupted", error=str(exc), provisioned=done)
                break
            except AriError:
                continue  # logged; this agent stays unprovisioned
            done += is_provisioned(agent)
        await session.commit()
    log.info("phones.synced", provisioned=done)
    return done


def _removals_first(rows: Iterable[AgentRow]) -> list[AgentRow]:
    """Agents whose stored endpoint is to go first, so that an id that moved to another agent is
    written after the old owner's removal was considered."""
    return sorted(rows, key=lambda a: a.sip_endpoint is None
                  or a.sip_endpoint == wanted_endpoint(a))


# How long the agent list waits for Asterisk to say which phones are registered (then: unknown).
REGISTERED_WAIT_SECONDS = 1.5


async def registered(telephony: Telephony | None,
                     agents: Iterable[AgentRow]) -> dict[uuid.UUID, bool | None]:
    """Whether each registration agent's phone is registered now (its endpoint `online`); None
    when Asterisk cannot be asked or does not answer within `REGISTERED_WAIT_SECONDS`."""
    targets = [a for a in agents if wanted_endpoint(a) is not None]
    if telephony is None or not targets:
        return {a.id: None for a in targets}

    async def one(agent: AgentRow) -> bool | None:
        try:
            return await telephony.endpoint_state("PJSIP", agent.sip_username or "") == "online"
        except AriError:
            return None

    try:  # an agent list must not wait out ARI's request timeout when Asterisk hangs
        states = await asyncio.wait_for(asyncio.gather(*(one(a) for a in targets)),
                                        REGISTERED_WAIT_SECONDS)
    except TimeoutError:
        return {a.id: None for a in targets}
    return {a.id: s for a, s in zip(targets, states)}
