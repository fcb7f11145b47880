"""The sign-in rate limit holds when the guesses come all at once (R20): an attacker sending
many wrong passwords in parallel gets no more than `login_max_failures` of them checked, and
no more than its limit from one address across user names."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from sqlalchemy import delete, func, select

from app.auth.models import LoginAttempt, User
from tests.support.clock import FakeClock
from tests.support.desk import T0, client, create_user, fast_passwords, make_app

__all__ = ["fast_passwords"]


@pytest.fixture
async def app(committing_sessionmaker, fast_passwords):
    app = make_app(committing_sessionmaker, FakeClock(T0), login_max_failures=5,
                   login_window_minutes=15)
    name = f"burst-{uuid.uuid4().hex[:8]}"
    await create_user(app, name, "agent")
    app.state.test_user = name
    yield app
    async with committing_sessionmaker() as session, session.begin():  # real commits: tidy up
        await session.execute(delete(LoginAttempt).where(LoginAttempt.username == name))
        await session.execute(delete(User).where(User.username == name))


async def test_parallel_wrong_passwords_are_limited_like_sequential_ones(app,
                                                                       committing_sessionmaker):
    name = app.state.test_user

    async def guess(i: int) -> int:
        async with client(app) as anon:
            resp = await anon.post("/api/auth/login", json={"username": name,
                                                            "password": f"guess number {i}"})
        return resp.status_code

    codes = await asyncio.gather(*(guess(i) for i in range(20)))
    assert sorted(set(codes)) == [401, 429]
    assert codes.count(401) == 5, codes  # R20: five checked, the rest refused unchecked
    async with committing_sessionmaker() as session:
        checked = await session.scalar(select(func.count()).select_from(LoginAttempt)
                                       .where(LoginAttempt.username == name))
    assert checked == 5


async def test_parallel_wrong_passwords_from_one_address_are_limited_like_sequential_ones(
        committing_sessionmaker, fast_passwords):
    """R20: guesses at many user names from one address, all at once, get no more checks than
    the address's limit (8 x the per-user limit), as one at a time would."""
    app = make_app(committing_sessionmaker, FakeClock(T0), login_max_failures=1,
                   login_window_minutes=15)
    prefix = f"spray-{uuid.uuid4().hex[:6]}"

    async def guess(i: int) -> int:
        async with client(app) as anon:
            resp = await anon.post("/api/auth/login", json={"username": f"{prefix}-{i}",
                                                            "password": f"guess number {i}"})
        return resp.status_code

    try:
        codes = await asyncio.gather(*(guess(i) for i in range(30)))
        assert codes.count(401) == 8, codes  # 1 x IP_FAILURE_FACTOR checked
        assert codes.count(429) == 22, codes
        async with committing_sessionmaker() as session:
            stored = await session.scalar(select(func.count()).select_from(LoginAttempt).where(
                LoginAttempt.username.like(f"{prefix}-%")))
        assert stored == 8
    finally:
        async with committing_sessionmaker() as session, session.begin():
            await session.execute(delete(LoginAttempt).where(
                LoginAttempt.username.like(f"{prefix}-%")))
