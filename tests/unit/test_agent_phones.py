"""Agents' phones (R9): the credential Asterisk keeps, how each kind is dialled, the objects we
push, and what the agent API accepts as a phone."""

from __future__ import annotations

import hashlib

import pytest
from pydantic import ValidationError

from phones.sipp import Registration, register_scenario
from routing import phones
from routing.schemas import AgentIn, AgentPatch, ContactPhone, RegistrationPhone

BASE = {"name": "Li Na", "extension": "8001", "level": "junior"}
REG = {"kind": "registration", "username": "lina", "password": "correct-horse-42"}


def test_md5_cred_is_the_digest_of_username_realm_and_password():
    assert phones.md5_cred("lina", "correct-horse-42") == hashlib.md5(
        b"lina:hotline:correct-horse-42").hexdigest()
    assert len(phones.md5_cred("lina", "x" * 12)) == 32
    assert phones.md5_cred("lina", "correct-horse-42", realm="other") != phones.md5_cred(
        "lina", "correct-horse-42")


def test_a_contact_is_dialled_through_the_trunk_and_a_registration_at_its_own_endpoint():
    assert phones.dial_endpoint(phone_kind="contact", contact="sip:8001@10.0.0.5:5070",
                                sip_username=None) == "PJSIP/trunk/sip:8001@10.0.0.5:5070"
    assert phones.dial_endpoint(phone_kind="registration", contact=None,
                                sip_username="lina") == "PJSIP/lina"


def test_the_pushed_objects_are_an_md5_auth_an_aor_and_the_endpoint_naming_them_last():
    objects = phones.pjsip_objects("lina", "0" * 32)
    assert [t for t, _ in objects] == ["auth", "aor", "endpoint"]
    auth, aor, endpoint = (dict(fields) for _, fields in objects)
    assert auth == {"auth_type": "md5", "username": "lina", "realm": phones.REALM,
                    "md5_cred": "0" * 32}
    assert aor["max_contacts"] == "1" and aor["remove_existing"] == "yes"
    assert (endpoint["auth"], endpoint["aors"], endpoint["context"]) == (
        "lina", "lina", phones.CONTEXT)
    assert endpoint["identify_by"] == "username"  # digest-authenticated, never by address (#20)
    assert "password" not in str(objects)


def test_existing_clients_give_a_contact_and_get_a_contact_phone():
    agent = AgentIn(**BASE, contact="sip:8001@10.0.0.5:5070")
    assert agent.phone == ContactPhone(kind="contact", contact="sip:8001@10.0.0.5:5070")
    assert AgentIn(**BASE, phone={"kind": "contact", "contact": "sip:a@b"}).phone.contact == "sip:a@b"


def test_a_registration_phone_keeps_its_password_secret():
    agent = AgentIn(**BASE, phone=REG)
    assert isinstance(agent.phone, RegistrationPhone)
    assert agent.phone.password.get_secret_value() == "correct-horse-42"
    assert "correct-horse-42" not in repr(agent) + agent.model_dump_json()


@pytest.mark.parametrize("body", [
    {},                                                             # no phone
    {"contact": "sip:a@b", "phone": REG},                           # both
    {"phone": {**REG, "kind": "sip"}},
    {"phone": {k: v for k, v in REG.items() if k != "password"}},
    {"phone": {**REG, "contact": "sip:a@b"}},                       # a field of the other kind
])
def test_an_agent_needs_exactly_one_well_formed_phone(body):
    with pytest.raises(ValidationError):
        AgentIn(**BASE, **body)


@pytest.mark.parametrize("username", [
    "8001",        # a number: the trunk's callers are identified by theirs
    "1lina", "Lina", "li", "li na", "li.na", "lína", "x" * 33,
    "trunk", "anonymous", "sipp",
])
def test_sip_user_names_start_with_a_letter_and_avoid_reserved_ones(username):
    with pytest.raises(ValidationError):
        AgentIn(**BASE, phone={**REG, "username": username})


@pytest.mark.parametrize("password", ["short-pw-11", "x" * 65, "has a space-12", "密码密码密码密码密码密码",
                                      "tab\tinside-12"])
def test_passwords_are_12_to_64_printable_ascii_characters(password):
    with pytest.raises(ValidationError):
        AgentIn(**BASE, phone={**REG, "password": password})


def test_good_user_names_and_passwords_pass():
    for username in ("lina", "li_na", "li-na-2", "a" * 32):
        AgentIn(**BASE, phone={**REG, "username": username})
    for password in ("x" * 12, "x" * 64, "P@ss]w0rd!{}~"):
        AgentIn(**BASE, phone={**REG, "password": password})


def test_a_patch_may_change_the_phone_by_contact_or_phone_but_not_both_or_to_null():
    assert AgentPatch(contact="sip:a@b").phone == ContactPhone(kind="contact", contact="sip:a@b")
    assert isinstance(AgentPatch(phone=REG).phone, RegistrationPhone)
    assert AgentPatch(name="x").phone is None
    for body in ({"contact": "sip:a@b", "phone": REG}, {"phone": None}, {"contact": None},
                 {"is_active": None}):
        with pytest.raises(ValidationError):
            AgentPatch(**body)


def test_the_sipp_register_scenario_answers_the_challenge_with_the_credentials():
    xml = register_scenario(Registration("lina", "correct-horse-42", registrar_port=5099),
                            expires=60)
    assert xml.count("REGISTER sip:[remote_ip]:[remote_port] SIP/2.0") == 2
    assert '<recv response="401" auth="true"/>' in xml
    assert "[authentication username=lina password=correct-horse-42]" in xml
    assert "Expires: 60" in xml and "Contact: <sip:lina@[local_ip]:[local_port]>" in xml
    assert "correct-horse-42" not in repr(Registration("lina", "correct-horse-42"))
    with pytest.raises(ValueError):
        Registration("lina", "no]brackets")  # SIPp's keyword syntax


async def test_registered_says_unknown_when_asterisk_does_not_answer_in_time(monkeypatch):
    """GET /api/agents must not wait out ARI's request timeout when Asterisk hangs (R21)."""
    import asyncio
    import uuid
    from types import SimpleNamespace

    monkeypatch.setattr(phones, "REGISTERED_WAIT_SECONDS", 0.05)

    class Hanging:
        async def endpoint_state(self, technology: str, resource: str) -> str | None:
            if resource == "slow":
                await asyncio.sleep(10)
            return "online"

    agents = [SimpleNamespace(id=uuid.uuid4(), is_active=True, phone_kind="registration",
                              sip_username=name) for name in ("lina", "slow")]
    loop = asyncio.get_running_loop()
    started = loop.time()
    states = await phones.registered(Hanging(), agents)
    assert loop.time() - started < 1
    assert states == {agents[0].id: None, agents[1].id: None}
    monkeypatch.setattr(phones, "REGISTERED_WAIT_SECONDS", 5)
    fast = [agents[0]]
    assert await phones.registered(Hanging(), fast) == {agents[0].id: True}
