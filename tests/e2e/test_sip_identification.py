"""Who Asterisk lets in (#20, R20): the trunk is known by its address alone, agents' phones by
digest authentication. SIPp probes send an INVITE without credentials from 127.0.0.2 (a loopback
address that is not the trunk's) naming the trunk or an agent, and from the trunk's address with
a caller's number; refusals land in Asterisk's security log, what fail2ban reads."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from phones.sipp import final_status, probe

pytestmark = pytest.mark.asterisk

NOT_THE_TRUNK = "127.0.0.2"


@pytest.fixture
async def agent_username(service):
    """A registration agent provisioned in Asterisk (deactivated after, which removes it)."""
    username = f"sec{uuid.uuid4().hex[:8]}"
    resp = await service.post("/api/agents", json={
        "name": username, "extension": str(uuid.uuid4().int % 10**8), "level": "junior",
        "languages": ["zh"],
        "phone": {"kind": "registration", "username": username, "password": "correct-horse-42"}})
    assert resp.status_code == 201, resp.text
    assert resp.json()["phone"]["provisioned"] is True
    yield username
    await service.patch(f"/api/agents/{resp.json()['id']}", json={"is_active": False})


async def security_log_lines(asterisk_instance, needle: str, timeout: float = 5) -> list[str]:
    """Lines of Asterisk's security log naming `needle`, waiting until there is one."""
    path = asterisk_instance.host_dir / "log" / "security.log"
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        text = path.read_text(errors="replace") if path.exists() else ""
        lines = [line for line in text.splitlines() if needle in line]
        if lines or asyncio.get_running_loop().time() > deadline:
            return lines
        await asyncio.sleep(0.2)


async def test_an_invite_naming_the_trunk_from_another_address_is_refused(
        service, asterisk_instance):
    result = await probe("trunk", local_ip=NOT_THE_TRUNK, sip_port=asterisk_instance.sip_port)
    assert final_status(result.messages) in {"401", "403"}, result.messages
    lines = await security_log_lines(asterisk_instance, f"{NOT_THE_TRUNK}/")
    assert any("InvalidAccountID" in line or "ChallengeSent" in line for line in lines), lines


async def test_an_invite_with_an_agents_user_name_and_no_password_is_refused(
        service, asterisk_instance, agent_username):
    result = await probe(agent_username, local_ip=NOT_THE_TRUNK,
                         sip_port=asterisk_instance.sip_port)
    assert final_status(result.messages) == "401", result.messages
    assert await security_log_lines(asterisk_instance, agent_username)


async def test_a_callers_number_from_another_address_is_refused(service, asterisk_instance):
    result = await probe("13855550123", local_ip=NOT_THE_TRUNK,
                         sip_port=asterisk_instance.sip_port)
    assert final_status(result.messages) in {"401", "403"}, result.messages


async def test_the_trunks_address_still_reaches_the_hotline(service, asterisk_instance):
    result = await probe("13855550124", sip_port=asterisk_instance.sip_port)
    assert final_status(result.messages) == "200", result.messages + result.output
