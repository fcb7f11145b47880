"""Sign-in (R20): argon2 passwords, a session token as bearer and HttpOnly cookie, a rate limit
on failures, sessions that end (sign-out, shift length, idle time, deactivation, new password)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.auth.models import LoginAttempt, UserSession
from tests.support.clock import FakeClock
from tests.support.desk import (PASSWORD, T0, admin_token, client, create_user, fast_passwords,
                                make_app, sign_in)

__all__ = ["fast_passwords"]


@pytest.fixture
def clock():
    return FakeClock(T0)


@pytest.fixture
async def app(sessionmaker, clock, fast_passwords):
    app = make_app(sessionmaker, clock, session_hours=12, session_idle_minutes=120,
                   login_max_failures=5, login_window_minutes=15)
    await create_user(app, "li.na", "agent")
    return app


async def login(app, username="li.na", password=PASSWORD):
    async with client(app) as anon:
        return await anon.post("/api/auth/login", json={"username": username,
                                                        "password": password})


async def me(app, token: str | None = None, cookie: str | None = None):
    async with client(app, token) as c:
        return await c.get("/api/auth/me",
                           headers={"Cookie": f"hotline_session={cookie}"} if cookie else {})


async def test_sign_in_gives_a_token_and_an_http_only_strict_cookie(app):  # R20
    resp = await login(app)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["user"]["username"] == "li.na" and body["user"]["role"] == "agent"
    assert body["expires_at"].startswith("2026-11-23T14:00:00")  # T0 + 12 h
    cookie = resp.headers["set-cookie"]
    assert cookie.startswith(f"hotline_session={body['token']};")
    assert "HttpOnly" in cookie and "samesite=strict" in cookie.lower() and "Path=/" in cookie
    assert "Max-Age=43200" in cookie
    assert (await me(app, body["token"])).json()["username"] == "li.na"


async def test_only_the_tokens_hash_is_stored(app, sessionmaker):  # R20
    token = (await login(app)).json()["token"]
    async with sessionmaker() as session:
        hashes = list(await session.scalars(select(UserSession.token_hash)))
    assert len(hashes) == 1 and token not in hashes[0] and len(hashes[0]) == 64


async def test_user_names_are_matched_whatever_their_case(app):
    assert (await login(app, username="  Li.NA ")).status_code == 200


@pytest.mark.parametrize(("username", "password"), [("li.na", "wrong password 1"),
                                                    ("nobody", PASSWORD), ("nobody", "x")])
async def test_a_wrong_password_and_an_unknown_user_get_the_same_answer(app, username, password):
    resp = await login(app, username, password)  # R20: nothing tells which user names exist
    assert resp.status_code == 401
    assert resp.json() == {"error_id": "bad-credentials", "message": "wrong user name or password"}


async def test_five_failures_lock_the_user_name_even_for_the_right_password(app, sessionmaker):
    for _ in range(5):  # R20: login is rate-limited
        assert (await login(app, password="wrong password 1")).status_code == 401
    for password in ("wrong password 1", PASSWORD):
        resp = await login(app, password=password)
        assert resp.status_code == 429
        assert resp.json()["error_id"] == "too-many-attempts"
        assert 0 < int(resp.headers["retry-after"]) <= 15 * 60
    async with sessionmaker() as session:  # a refused attempt checks no password, stores nothing
        assert await session.scalar(select(func.count()).select_from(LoginAttempt)) == 5


async def test_the_lock_is_per_user_name(app):
    await create_user(app, "wang.fang", "agent")
    for _ in range(5):
        await login(app, password="wrong password 1")
    assert (await login(app)).status_code == 429
    assert (await login(app, "wang.fang")).status_code == 200


async def test_after_the_window_the_right_password_works_again(app, clock):  # R20
    for _ in range(5):
        await login(app, password="wrong password 1")
    assert (await login(app)).status_code == 429
    clock.advance(15 * 60 - 1)
    assert (await login(app)).status_code == 429
    clock.advance(2)
    assert (await login(app)).status_code == 200


async def test_failures_spread_over_more_than_the_window_do_not_lock(app, clock):
    for _ in range(8):
        assert (await login(app, password="wrong password 1")).status_code == 401
        clock.advance(4 * 60)  # at most four failures inside any 15 minutes
    assert (await login(app)).status_code == 200


async def test_one_address_failing_for_many_user_names_is_locked_out(app):  # R20
    for i in range(40):  # 8 x the per-user limit, from one address
        assert (await login(app, f"guess{i}", "wrong password 1")).status_code == 401
    assert (await login(app)).status_code == 429


async def test_a_session_ends_after_session_hours_even_when_used(app, clock):  # R20
    token = (await login(app)).json()["token"]
    for _ in range(7):  # used every 100 minutes: never idle for 120
        clock.advance(100 * 60)
        assert (await me(app, token)).status_code == 200
    clock.advance(20 * 60)  # 12 h since sign-in
    resp = await me(app, token)
    assert resp.status_code == 401 and "sign in again" in resp.json()["message"]


async def test_a_session_ends_after_idle_minutes_without_use(app, clock):  # R20
    token = (await login(app)).json()["token"]
    clock.advance(119 * 60)
    assert (await me(app, token)).status_code == 200  # use resets the idle time
    clock.advance(119 * 60)
    assert (await me(app, token)).status_code == 200
    clock.advance(120 * 60)
    assert (await me(app, token)).status_code == 401


async def test_sign_out_ends_the_session_and_clears_the_cookie(app):  # R20
    token = (await login(app)).json()["token"]
    other = (await login(app)).json()["token"]
    async with client(app, token) as c:
        resp = await c.post("/api/auth/logout")
    assert resp.status_code == 204
    assert resp.headers["set-cookie"].startswith('hotline_session="";') or \
        "Max-Age=0" in resp.headers["set-cookie"]
    assert (await me(app, token)).status_code == 401
    assert (await me(app, cookie=token)).status_code == 401
    assert (await me(app, other)).status_code == 200  # another browser stays signed in


async def _patch_user(app, changes: dict):
    async with client(app, admin_token(app)) as admin:
        users = (await admin.get("/api/users")).json()
        user_id = next(u["id"] for u in users if u["username"] == "li.na")
        return await admin.patch(f"/api/users/{user_id}", json=changes)


async def test_deactivating_a_user_ends_their_sessions_and_refuses_sign_in(app):  # R20
    token = (await login(app)).json()["token"]
    assert (await _patch_user(app, {"is_active": False})).status_code == 200
    assert (await me(app, token)).status_code == 401
    assert (await login(app)).json()["error_id"] == "bad-credentials"


async def test_a_new_password_ends_the_sessions_and_only_it_signs_in(app):  # R20
    token = (await login(app)).json()["token"]
    assert (await _patch_user(app, {"password": "another passphrase"})).status_code == 200
    assert (await me(app, token)).status_code == 401
    assert (await login(app)).status_code == 401
    assert (await login(app, password="another passphrase")).status_code == 200


async def test_a_new_role_ends_the_sessions(app):  # R20: a session carries the role it began with
    token = (await login(app)).json()["token"]
    assert (await _patch_user(app, {"role": "qa"})).status_code == 200
    assert (await me(app, token)).status_code == 401
    assert (await sign_in(app, "li.na")) != token


async def test_other_changes_keep_the_sessions(app):
    token = (await login(app)).json()["token"]
    assert (await _patch_user(app, {"display_name": "Li Na (north)"})).status_code == 200
    assert (await me(app, token)).json()["display_name"] == "Li Na (north)"


@pytest.mark.parametrize("changes", [{"display_name": None}, {"role": None},
                                     {"is_active": None}])
async def test_a_user_patch_cannot_null_a_required_field(app, changes):
    resp = await _patch_user(app, changes)
    assert resp.status_code == 422, resp.text


async def test_the_session_cookie_alone_authenticates(app):  # R20: the desk page's way
    token = (await login(app)).json()["token"]
    resp = await me(app, cookie=token)
    assert resp.status_code == 200 and resp.json()["username"] == "li.na"


@pytest.mark.parametrize("header", [None, "Bearer nonsense", "Basic bGk6bmE=", "Bearer "])
async def test_no_or_a_wrong_token_is_401(app, header):
    async with client(app) as anon:
        resp = await anon.get("/api/auth/me", headers={"Authorization": header} if header else {})
    assert resp.status_code == 401
    assert resp.headers["www-authenticate"] == "Bearer"


async def test_the_admin_token_works_and_is_nobody_in_particular(app):
    assert (await me(app, admin_token(app))).json() is None
    async with client(app, admin_token(app)) as admin:
        assert (await admin.get("/api/users")).status_code == 200
        assert (await admin.post("/api/auth/logout")).status_code == 204
    assert (await me(app, admin_token(app))).status_code == 200  # nothing to end


async def test_user_names_are_unique_whatever_the_case(app):
    async with client(app, admin_token(app)) as admin:
        resp = await admin.post("/api/users", json={"username": "LI.NA", "display_name": "x",
                                                    "role": "qa", "password": PASSWORD})
    assert resp.status_code == 409 and resp.json()["error_id"] == "username-taken"


async def test_a_taken_user_name_is_reported_as_such_even_if_it_contains_agent(app, sessionmaker):
    from tests.support.desk import agent_row
    async with sessionmaker() as session, session.begin():
        one, two = agent_row("X", "8201", "north"), agent_row("Y", "8202", "north")
        session.add_all([one, two])
    await create_user(app, "agent7", "agent", agent_id=one.id)
    async with client(app, admin_token(app)) as admin:
        body = {"display_name": "x", "role": "agent", "password": PASSWORD}
        dup_name = await admin.post("/api/users", json={**body, "username": "agent7",
                                                        "agent_id": str(two.id)})
        dup_agent = await admin.post("/api/users", json={**body, "username": "other",
                                                         "agent_id": str(one.id)})
    assert dup_name.json()["error_id"] == "username-taken"
    assert dup_agent.json()["error_id"] == "agent-taken"


async def test_the_session_is_touched_at_most_once_a_minute(app, clock, sessionmaker):
    token = (await login(app)).json()["token"]
    clock.advance(30)
    await me(app, token)
    async with sessionmaker() as session:
        assert await session.scalar(select(UserSession.last_seen_at)) == T0
    clock.advance(31)
    await me(app, token)
    async with sessionmaker() as session:
        assert await session.scalar(select(UserSession.last_seen_at)) == T0 + timedelta(seconds=61)
