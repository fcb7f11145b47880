"""The lease against a real Postgres (R21, app/lease.py): one holder among several, a holder whose
session is killed or whose heartbeat stops loses it to the other, a fenced holder issues no ARI
command, and a Postgres that cannot be reached does not stop the holder. Durations shortened
(heartbeat 0.2 s, fence 1 s, Postgres's session timeout 2 s)."""

from __future__ import annotations

import asyncio
import time
import uuid

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from app.ari.client import AriClient
from app.ari.errors import AriUnavailable
from app.config import AriSettings
from app.lease import Lease, Role, asyncpg_dsn
from tests.support.tcp_proxy import CuttableProxy

BEAT, TTL, SESSION = 0.2, 1.0, 2.0


@pytest.fixture
def name() -> str:
    return f"test-lease-{uuid.uuid4().hex[:8]}"  # each test its own lock


@pytest.fixture
async def leases(database_url, name):
    made: list[Lease] = []

    def make(dsn: str | None = None, **kwargs) -> Lease:
        lease = Lease(dsn=dsn or asyncpg_dsn(database_url), name=name, heartbeat=BEAT, ttl=TTL,
                      session_timeout=SESSION, **kwargs)
        made.append(lease)
        return lease

    yield make
    for lease in made:
        await lease.close()


async def until(predicate, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


@pytest.fixture
async def postgres_proxy(database_url):
    """Postgres behind a proxy the test cuts: (the proxy, a DSN through it)."""
    url = make_url(asyncpg_dsn(database_url))
    proxy = CuttableProxy(url.host or "127.0.0.1", url.port or 5432)
    await proxy.start()
    yield proxy, url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    await proxy.close()


def fenced_ari(lease: Lease) -> tuple[AriClient, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    return AriClient(AriSettings(url="http://ari.test:8088", password="pw"),
                     transport=httpx.MockTransport(handler), fence=lease.held), seen


async def test_of_two_instances_only_one_takes_the_lease(leases):
    first, second = leases(), leases()
    await first.start()
    await second.start()
    assert (first.role, second.role) == (Role.active, Role.standby)
    assert first.held() and not second.held()
    assert second.reason == "held by another instance"
    await asyncio.sleep(3 * BEAT)  # heartbeats and polls go on: nothing changes
    assert (first.role, second.role) == (Role.active, Role.standby) and first.held()


async def test_closing_the_holder_releases_the_lease_to_the_standby(leases):
    first, second = leases(), leases()
    await first.start()
    await second.start()
    await first.close()
    await until(lambda: second.role is Role.active)
    assert second.held()


async def test_a_holder_told_it_was_replaced_is_fenced_at_once_and_lets_the_lease_go(leases):
    lost: list[str] = []
    first, second = leases(on_lost=lost.append), leases()
    await first.start()
    await second.start()
    first.give_up("ApplicationReplaced")
    assert not first.held() and lost == ["ApplicationReplaced"]
    await until(lambda: second.role is Role.active)


async def test_a_holder_whose_session_is_killed_has_lost_and_the_standby_takes_over(
        leases, database_url):
    lost: list[str] = []
    first, second = leases(on_lost=lost.append), leases()
    await first.start()
    await second.start()
    admin = await asyncpg.connect(asyncpg_dsn(database_url))
    try:
        killed = await admin.fetchval(
            "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' "
            "AND objid = ($1::bigint & 4294967295) AND classid = (($1::bigint >> 32) & 4294967295)"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            first.key)
    finally:
        await admin.close()
    assert killed
    await until(lambda: first.role is Role.lost)
    assert not first.held() and lost == [first.reason]
    assert "ended while Postgres answered" in first.reason
    await until(lambda: second.role is Role.active)
    assert second.held()


async def test_a_holder_whose_heartbeat_stops_is_fenced_then_loses_the_lease_for_good(leases):
    """As a process stopped with SIGSTOP: past the fence TTL it may issue no command; past the
    session timeout Postgres frees the lease for the standby; woken, it finds it has lost."""
    lost: list[str] = []
    first, second = leases(on_lost=lost.append), leases()
    await first.start()
    await second.start()
    ari, seen = fenced_ari(first)
    await ari.answer("ch-1")  # held: the command goes out
    first.paused = True
    await until(lambda: not first.held())
    with pytest.raises(AriUnavailable, match="standby or fenced"):
        await ari.hangup("ch-1")
    await until(lambda: second.role is Role.active)  # Postgres ended the silent session
    with pytest.raises(AriUnavailable):
        await ari.answer("ch-2")  # woken, before its next heartbeat: still no command
    first.paused = False
    await until(lambda: first.role is Role.lost and bool(lost))  # the service is told next
    assert not first.held()
    with pytest.raises(AriUnavailable):
        await ari.answer("ch-3")
    assert [r.url.path for r in seen] == ["/ari/channels/ch-1/answer"]
    await ari.aclose()


async def test_a_standby_is_fenced_from_the_start(leases):
    first, second = leases(), leases()
    await first.start()
    await second.start()
    ari, seen = fenced_ari(second)
    with pytest.raises(AriUnavailable, match="standby or fenced"):
        await ari.list_channels()
    assert seen == []
    await ari.aclose()


async def test_the_holder_keeps_its_fence_while_postgres_cannot_be_reached_and_takes_it_back(
        leases, postgres_proxy):
    proxy, dsn = postgres_proxy
    first = leases(dsn)
    await first.start()
    assert first.held()
    proxy.cut()  # connections dropped, new ones refused
    await until(lambda: "unreachable" in first.reason)
    outage_began = time.monotonic()
    while time.monotonic() - outage_began < 3 * TTL:  # longer than the fence and the session
        assert first.held(), first.reason
        await asyncio.sleep(BEAT / 2)
    assert first.role is Role.active
    proxy.restore()
    await until(lambda: first.reason == "held")
    assert first.role is Role.active and first.held()


async def test_a_holder_that_finds_another_holder_after_an_outage_steps_down(
        leases, postgres_proxy):
    proxy, dsn = postgres_proxy
    first, second = leases(dsn), leases()  # the second reaches Postgres directly
    await first.start()
    await second.start()
    proxy.cut()  # a partition between the holder and Postgres alone (the known limit)
    await until(lambda: second.role is Role.active)  # the cut session ended the lock
    assert first.held()  # the limit: until Postgres answers it again (or ApplicationReplaced)
    proxy.restore()
    await until(lambda: first.role is Role.lost)
    assert not first.held() and "another instance took the lease" in first.reason
