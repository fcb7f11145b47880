"""The real thing: a private Asterisk 22 instance (from the cached Debian sid root), our service
in-process with its lifespan, ARI reached through a proxy the tests can cut, SIPp callers."""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import socket
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

import httpx
import pytest
from asgi_lifespan import LifespanManager

from app.main import create_app
from phones.sipp import Caller, SippResult, call
from stack import asterisk
from tests.support.settings import make_settings
from tests.support.tcp_proxy import CuttableProxy

pytestmark = pytest.mark.asterisk


def _free_tcp_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def private_asterisk(*, name: str = "test", rtp_start: int, rtp_ports: int = 1000,
                     ari_app: str = "hotline") -> Iterator[asterisk.Instance]:
    """A private Asterisk on free ports with `rtp_ports` RTP ports, stopped and removed after."""
    if shutil.which("sipp") is None:
        pytest.fail("sipp is missing: run the tests with `make test` (it installs sip-tester)")
    root = asterisk.ensure_root()
    inst = asterisk.Instance(
        name=f"{name}-{uuid.uuid4().hex[:8]}", root=root, ari_password=secrets.token_urlsafe(18),
        ari_app=ari_app, ari_port=_free_tcp_port(), sip_port=_free_tcp_port(),
        rtp_start=rtp_start, rtp_end=rtp_start + rtp_ports - 1)
    asterisk.start(inst)
    try:
        yield inst
    finally:
        asterisk.stop(inst)
        shutil.rmtree(inst.host_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def asterisk_instance():
    base = 20000 + (os.getpid() % 40) * 1000  # 1000 RTP ports: 500 channels (50 calls + agents)
    with private_asterisk(rtp_start=base) as inst:
        yield inst


@pytest.fixture(scope="session")
async def ari_proxy(asterisk_instance):
    proxy = CuttableProxy(asterisk_instance.http_host, asterisk_instance.ari_port)
    await proxy.start()
    yield proxy
    await proxy.close()


@pytest.fixture(scope="session")
async def service(asterisk_instance, ari_proxy, database_url, tmp_path_factory):
    """The app with its whole lifespan, talking to the test Asterisk through the proxy."""
    settings = make_settings(
        database_url=database_url, ari_url=ari_proxy.url, ari_user=asterisk_instance.ari_user,
        ari_password=asterisk_instance.ari_password, ari_app=asterisk_instance.ari_app,
        prompt_dir=asterisk_instance.prompt_dir_in_root,
        prompt_build_dir=asterisk_instance.prompt_host_dir,
        storage_dir=tmp_path_factory.mktemp("storage"), closing_grace_seconds=1.0,
        ring_cycle_seconds=1.0,  # R1 with a shortened cadence: the ring limit is 3 s
        ari_reconnect_min_seconds=0.2, ari_reconnect_max_seconds=1.0)
    app = create_app(settings)
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=30):
        await app.state.stream.wait_connected(timeout=15)
        headers = {"Authorization": f"Bearer {settings.admin_token.get_secret_value()}"}
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t",
                                     headers=headers) as client:
            client.app = app  # type: ignore[attr-defined]
            yield client


@pytest.fixture
def place_call(asterisk_instance):
    async def _place(caller: Caller) -> SippResult:
        return await call(caller, sip_port=asterisk_instance.sip_port)

    return _place


async def wait_for_call(client: httpx.AsyncClient, caller_number: str, *, ended: bool = True,
                        timeout: float = 30) -> dict:
    """Poll the call log until the call from `caller_number` is there (and has ended)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        items = (await client.get("/api/calls", params={"limit": 50})).json()["items"]
        for item in items:
            if item["caller_number"] == caller_number and (item["ended_at"] or not ended):
                return (await client.get(f"/api/calls/{item['id']}")).json()
        await asyncio.sleep(0.2)
    raise AssertionError(f"no {'ended ' if ended else ''}call from {caller_number} in {timeout}s")


def ts(value: str) -> datetime:
    return datetime.fromisoformat(value)


def prompt_ms(client: httpx.AsyncClient, name: str, language: str = "zh") -> int:
    """How long a menu prompt plays, from its file (as the service built it for Asterisk)."""
    import wave

    app = client.app  # type: ignore[attr-defined]
    key = app.state.menus.current.keys[(name, language)]
    path = app.state.settings.prompt_build_dir / "ivr" / f"{key}.wav"
    with wave.open(str(path)) as w:
        return int(1000 * w.getnframes() / w.getframerate())
