"""The lease's decisions (R21, app/lease.py) on a clock moved by hand: when the fence is open,
what a heartbeat, an unreachable Postgres, a broken session and another holder each mean; and the
ARI client's fence, and the settings that keep the fence shorter than Postgres's session timeout."""

from __future__ import annotations

import httpx
import pytest
from pydantic import ValidationError

from app.ari.client import AriClient
from app.ari.errors import AriUnavailable
from app.config import AriSettings, Settings
from app.lease import Role, Tenure, asyncpg_dsn, lease_key

TTL = 2.0


def holder(now: float = 100.0) -> Tenure:
    tenure = Tenure(ttl=TTL)
    tenure.tried(now, True)
    return tenure


def test_the_first_to_take_the_lock_is_active_and_its_fence_is_open():
    tenure = Tenure(ttl=TTL)
    assert tenure.role is Role.standby and not tenure.fence_open(0.0)
    assert tenure.may_try(0.0)
    tenure.tried(0.0, True)
    assert tenure.role is Role.active and tenure.fence_open(0.0)


def test_a_standby_that_finds_the_lock_taken_stays_standby_and_says_why():
    tenure = Tenure(ttl=TTL)
    tenure.tried(0.0, False)
    assert (tenure.role, tenure.reason) == (Role.standby, "held by another instance")
    assert not tenure.fence_open(0.0)


def test_the_fence_closes_when_the_last_answered_heartbeat_is_older_than_the_ttl():
    tenure = holder(100.0)
    tenure.answered(101.0)
    assert tenure.fence_open(101.0 + TTL)
    assert not tenure.fence_open(101.0 + TTL + 0.001)


def test_a_heartbeat_answered_on_the_same_session_reopens_a_lapsed_fence():
    # A process paused shorter than the session timeout: its session, and so the lock, lived on.
    tenure = holder(100.0)
    assert not tenure.fence_open(102.5)
    tenure.answered(102.5)
    assert tenure.fence_open(102.5) and tenure.role is Role.active


def test_a_session_that_ends_while_postgres_answers_is_lost():
    # pg_terminate_backend: heartbeats answered up to the failure, a new connection works at once.
    tenure = holder(100.0)
    tenure.answered(100.5)
    assert not tenure.may_try(100.6)
    assert tenure.role is Role.lost and not tenure.fence_open(100.6)
    assert "ended while Postgres answered" in tenure.reason


def test_a_process_woken_after_the_ttl_is_fenced_at_once_and_then_lost():
    tenure = holder(100.0)
    woke = 100.0 + 10.0  # SIGSTOP for 10 s, longer than TTL and the session timeout
    assert not tenure.fence_open(woke)  # not one command before the heartbeat's verdict
    assert not tenure.may_try(woke + 0.01)  # its session is gone, Postgres answers
    assert tenure.role is Role.lost


def test_unreachable_postgres_keeps_the_fence_of_a_holder_running_all_along():
    tenure = holder(100.0)
    now = 100.0
    for _ in range(60):  # 30 s of Postgres refusing, one attempt every 0.5 s
        now += 0.5
        tenure.unreachable(now, "ConnectionRefusedError")
        assert tenure.fence_open(now)
    assert tenure.role is Role.active and "unreachable" in tenure.reason
    # Postgres is back: the holder may try the lock again, and gets it.
    assert tenure.may_try(now + 0.5)
    tenure.tried(now + 0.5, True)
    assert tenure.fence_open(now + 0.5) and tenure.reason == "held"


def test_unreachable_does_not_revive_a_fence_that_lapsed():
    tenure = holder(100.0)
    tenure.unreachable(100.0 + TTL + 1, "TimeoutError")  # woke from a pause, Postgres away
    assert not tenure.fence_open(100.0 + TTL + 1)
    assert not tenure.may_try(100.0 + TTL + 2)  # Postgres back: the gap cannot be vouched for
    assert tenure.role is Role.lost


def test_a_holder_that_finds_another_holder_after_an_outage_has_lost():
    tenure = holder(100.0)
    tenure.unreachable(100.5, "ConnectionRefusedError")
    assert tenure.may_try(101.0)
    tenure.tried(101.0, False)
    assert tenure.role is Role.lost and not tenure.fence_open(101.0)


def test_a_standby_waits_one_ttl_after_an_outage_so_the_holder_takes_it_back_first():
    tenure = Tenure(ttl=TTL)
    tenure.unreachable(10.0, "ConnectionRefusedError")
    assert "postgres unreachable" in tenure.reason
    assert not tenure.may_try(11.0)  # connected again: the wait starts
    assert not tenure.may_try(11.0 + TTL - 0.1)
    assert tenure.may_try(11.0 + TTL)


def test_lost_is_for_good():
    tenure = holder(100.0)
    tenure.give_up("ApplicationReplaced")
    assert tenure.role is Role.lost and not tenure.fence_open(100.0)
    tenure.tried(100.1, True)
    tenure.answered(100.2)
    tenure.unreachable(100.3, "x")
    assert tenure.role is Role.lost and tenure.reason == "ApplicationReplaced"


def test_postgres_refusing_us_a_session_loses_an_active_lease_and_is_shown_on_a_standby():
    active = holder(100.0)
    active.refused("InvalidPasswordError: no")
    assert active.role is Role.lost
    standby = Tenure(ttl=TTL)
    standby.refused("InvalidCatalogNameError: no such database")
    assert standby.role is Role.standby and "refused" in standby.reason


def test_the_lock_key_is_stable_per_name_and_signed_64_bit():
    assert lease_key("hotline") == lease_key("hotline") != lease_key("hotline-2")
    assert -(2 ** 63) <= lease_key("hotline") < 2 ** 63


def test_the_lease_connects_with_the_settings_database_url_as_asyncpg_takes_it():
    assert asyncpg_dsn("postgresql+asyncpg://u:p%40ss@db:5432/hotline") == (
        "postgresql://u:p%40ss@db:5432/hotline")


async def test_a_fenced_ari_client_refuses_every_request_without_reaching_asterisk():
    seen: list[httpx.Request] = []
    held = False

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    client = AriClient(AriSettings(url="http://ari.test:8088", password="pw"),
                       transport=httpx.MockTransport(handler), fence=lambda: held)
    with pytest.raises(AriUnavailable, match="standby or fenced"):
        await client.answer("ch-1")
    with pytest.raises(AriUnavailable, match="standby or fenced"):
        await client.stored_recording_file("voicemail-1")
    assert seen == []
    held = True
    await client.answer("ch-1")
    assert [r.url.path for r in seen] == ["/ari/channels/ch-1/answer"]
    await client.aclose()


GOOD = dict(admin_token="a" * 20, ari_password="b" * 20)


def test_lease_defaults_fence_a_silent_holder_before_postgres_frees_its_lease():
    s = Settings(**GOOD)
    assert (s.lease_heartbeat_seconds, s.lease_fence_seconds,
            s.lease_session_timeout_seconds) == (0.5, 2.0, 3.0)
    assert s.lease_name is None  # the ARI app's name


@pytest.mark.parametrize(("beat", "fence", "timeout"), [
    (0.5, 3.0, 3.0),  # the fence must close before Postgres frees the lease
    (0.5, 4.0, 3.0),
    (1.0, 1.5, 3.0),  # a heartbeat and its retry must fit in the fence
])
def test_lease_timings_that_could_let_two_instances_act_are_refused(beat, fence, timeout):
    with pytest.raises(ValidationError, match="LEASE"):
        Settings(**GOOD, lease_heartbeat_seconds=beat, lease_fence_seconds=fence,
                 lease_session_timeout_seconds=timeout)
