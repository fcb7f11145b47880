"""Agents whose phone registers (R9) through /api/agents against real Postgres, with the recording
fake of the telephony port as Asterisk: the credential kept is the md5 digest only, the PJSIP
objects are pushed on create, change and deactivation (and removed when no longer needed), an
unreachable Asterisk leaves the agent saved and unprovisioned until the next sync, and reads say
whether each phone is registered now."""

from __future__ import annotations

import uuid

import pytest

from routing import phones
from routing.models import AgentRow
from tests.db.test_routing_api import AGENT, FakeAcd, FakeAgentBusy, _app, _client
from tests.support.fake_telephony import FakeTelephony

PASSWORD = "correct-horse-42"
REG = {"kind": "registration", "username": "lina", "password": PASSWORD}
BODY = {**{k: v for k, v in AGENT.items() if k != "contact"}, "phone": REG}


@pytest.fixture
def acd() -> FakeAcd:
    return FakeAcd()


@pytest.fixture
def asterisk() -> FakeTelephony:
    return FakeTelephony()


@pytest.fixture
async def client(sessionmaker, acd, asterisk):
    app, token = _app(sessionmaker, acd)
    app.state.ari = asterisk
    async with _client(app, token) as c:
        yield c


async def _row(sessionmaker, agent_id: str) -> AgentRow:
    async with sessionmaker() as session:
        return await session.get(AgentRow, uuid.UUID(agent_id))


def _objects(asterisk: FakeTelephony) -> dict[tuple[str, str], dict[str, str]]:
    return {(t, i): dict(f) for (c, t, i), f in asterisk.config.items() if c == "res_pjsip"}


async def test_a_registration_agent_is_stored_with_the_digest_only_and_provisioned(
        client, asterisk, sessionmaker):
    resp = await client.post("/api/agents", json=BODY)
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["contact"] is None
    assert body["phone"] == {"kind": "registration", "username": "lina", "provisioned": True,
                             "registered": False}
    assert PASSWORD not in resp.text and "md5" not in resp.text

    row = await _row(sessionmaker, body["id"])
    digest = phones.md5_cred("lina", PASSWORD)
    assert (row.phone_kind, row.sip_username, row.sip_md5_cred, row.sip_endpoint) == (
        "registration", "lina", digest, "lina")
    assert row.sip_provisioned_at is not None
    objects = _objects(asterisk)
    assert set(objects) == {("auth", "lina"), ("aor", "lina"), ("endpoint", "lina")}
    assert objects[("auth", "lina")]["md5_cred"] == digest
    assert PASSWORD not in str(asterisk.config)


async def test_reads_show_whether_the_phone_is_registered_now(client, asterisk):
    agent = (await client.post("/api/agents", json=BODY)).json()
    contact = (await client.post("/api/agents", json={**AGENT, "extension": "8002",
                                                      "name": "Zhao"})).json()
    asterisk.endpoint_states["PJSIP/lina"] = "online"
    listed = {a["id"]: a["phone"] for a in (await client.get("/api/agents")).json()}
    assert listed[agent["id"]]["registered"] is True
    assert listed[contact["id"]] == {"kind": "contact", "contact": AGENT["contact"]}
    asterisk.endpoint_states["PJSIP/lina"] = "offline"
    one = (await client.get(f"/api/agents/{agent['id']}")).json()
    assert one["phone"]["registered"] is False
    asterisk.fail_on.add("endpoint_state")
    assert (await client.get(f"/api/agents/{agent['id']}")).json()["phone"]["registered"] is None


async def test_an_unreachable_asterisk_still_saves_the_agent_and_the_next_sync_provisions_it(
        client, asterisk, sessionmaker):
    asterisk.fail_on.add("put_config_object")
    resp = await client.post("/api/agents", json=BODY)
    assert resp.status_code == 201, resp.text
    assert resp.json()["phone"]["provisioned"] is False
    assert (await _row(sessionmaker, resp.json()["id"])).sip_provisioned_at is None

    asterisk.fail_on.clear()
    assert await phones.sync(sessionmaker=sessionmaker, telephony=asterisk,
                             now=(await _row(sessionmaker, resp.json()["id"])).created_at) == 1
    one = (await client.get(f"/api/agents/{resp.json()['id']}")).json()
    assert one["phone"]["provisioned"] is True
    assert ("endpoint", "lina") in _objects(asterisk)


async def test_sync_stops_at_an_unreachable_asterisk_and_rewrites_everything_when_back(
        client, asterisk, sessionmaker):
    first = (await client.post("/api/agents", json=BODY)).json()
    await client.post("/api/agents", json={**BODY, "extension": "8002", "name": "Zhao",
                                           "phone": {**REG, "username": "zhao"}})
    asterisk.config.clear()  # a new Asterisk knows nothing
    asterisk.commands.clear()
    asterisk.fail_on.add("put_config_object")
    now = (await _row(sessionmaker, first["id"])).created_at
    assert await phones.sync(sessionmaker=sessionmaker, telephony=asterisk, now=now) == 0
    assert [c[0] for c in asterisk.commands].count("put_config_object") == 1  # stopped at once
    asterisk.fail_on.clear()
    assert await phones.sync(sessionmaker=sessionmaker, telephony=asterisk, now=now) == 2
    assert {i for (_, i) in _objects(asterisk)} == {"lina", "zhao"}


async def test_new_credentials_rename_and_a_switch_to_a_contact_follow_in_asterisk(
        client, asterisk, sessionmaker):
    agent = (await client.post("/api/agents", json=BODY)).json()
    url = f"/api/agents/{agent['id']}"

    resp = await client.patch(url, json={"phone": {**REG, "password": "new-password-99"}})
    assert resp.status_code == 200 and resp.json()["phone"]["provisioned"] is True, resp.text
    assert _objects(asterisk)[("auth", "lina")]["md5_cred"] == phones.md5_cred(
        "lina", "new-password-99")

    resp = await client.patch(url, json={"phone": {**REG, "username": "lina2"}})
    assert resp.status_code == 200 and resp.json()["phone"]["username"] == "lina2"
    assert {i for (_, i) in _objects(asterisk)} == {"lina2"}

    resp = await client.patch(url, json={"contact": "sip:8001@10.0.0.5:5070"})
    assert resp.status_code == 200, resp.text
    assert resp.json()["phone"] == {"kind": "contact", "contact": "sip:8001@10.0.0.5:5070"}
    assert _objects(asterisk) == {}
    row = await _row(sessionmaker, agent["id"])
    assert (row.sip_username, row.sip_md5_cred, row.sip_endpoint) == (None, None, None)


async def test_deactivating_logs_the_agent_out_and_removes_the_phone_from_asterisk(
        client, acd, asterisk):
    agent = (await client.post("/api/agents", json=BODY)).json()
    resp = await client.patch(f"/api/agents/{agent['id']}", json={"is_active": False})
    assert resp.status_code == 200, resp.text
    assert resp.json()["is_active"] is False and resp.json()["phone"]["provisioned"] is False
    assert ("request_state", uuid.UUID(agent["id"]), "logged_out", None) in acd.calls
    assert _objects(asterisk) == {}

    resp = await client.patch(f"/api/agents/{agent['id']}", json={"is_active": True})
    assert resp.json()["is_active"] is True and resp.json()["phone"]["provisioned"] is True
    assert ("endpoint", "lina") in _objects(asterisk)


async def test_an_agent_on_a_call_is_not_deactivated(client, acd, asterisk):
    agent = (await client.post("/api/agents", json=BODY)).json()
    acd.busy.add(uuid.UUID(agent["id"]))
    resp = await client.patch(f"/api/agents/{agent['id']}", json={"is_active": False})
    assert resp.status_code == 409 and resp.json()["error_id"] == FakeAgentBusy.error_id
    assert (await client.get(f"/api/agents/{agent['id']}")).json()["is_active"] is True
    assert ("endpoint", "lina") in _objects(asterisk)


async def test_a_user_name_moved_to_another_agent_is_not_removed_with_the_old_owner(
        client, asterisk):
    first = (await client.post("/api/agents", json=BODY)).json()
    await client.patch(f"/api/agents/{first['id']}", json={"phone": {**REG, "username": "old"}})
    asterisk.fail_on.add("delete_config_object")  # "lina" cannot be removed now
    second = await client.post("/api/agents", json={**BODY, "extension": "8002", "name": "Zhao"})
    assert second.status_code == 201, second.text
    asterisk.fail_on.clear()
    await client.patch(f"/api/agents/{first['id']}", json={"contact": "sip:8001@10.0.0.5:5070"})
    assert ("endpoint", "lina") in _objects(asterisk)  # now the second agent's


async def test_a_taken_sip_user_name_is_409(client, asterisk):
    await client.post("/api/agents", json=BODY)
    resp = await client.post("/api/agents", json={**BODY, "extension": "8002", "name": "Zhao"})
    assert resp.status_code == 409 and resp.json()["error_id"] == "sip-username-taken"
    other = (await client.post("/api/agents", json={**AGENT, "extension": "8003"})).json()
    resp = await client.patch(f"/api/agents/{other['id']}", json={"phone": REG})
    assert resp.status_code == 409 and resp.json()["error_id"] == "sip-username-taken"


@pytest.mark.parametrize("change", [
    {"phone": {**REG, "password": "pw-of-11-ch"}},
    {"phone": {**REG, "username": "13800138000"}},
    {"phone": {**REG, "username": "trunk"}},
    {"phone": REG, "contact": "sip:8001@10.0.0.5:5070"},
    {"phone": None, "contact": None},
])
async def test_bad_phones_are_422_without_echoing_the_password(client, asterisk, change):
    body = {**BODY, **change}
    resp = await client.post("/api/agents", json={k: v for k, v in body.items() if v is not None})
    assert resp.status_code == 422 and resp.json()["error_id"] == "invalid-request"
    assert "pw-of-11-ch" not in resp.text and PASSWORD not in resp.text
    assert asterisk.config == {}
