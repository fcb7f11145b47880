"""Two service instances as real processes (`python -m app`) on one Asterisk and one Postgres (R21,
#15): the standby takes over when the active one is killed (kill -9) or frozen (SIGSTOP) and
callers reach the menu; the frozen one, woken, issues not one ARI command and exits 75.

This module has an Asterisk and a database of its own, with its own ARI app name: the session's
in-process service (tests/e2e/conftest.py) holds that one's app and lease. Default lease timings
(heartbeat 0.5 s, fence 2 s, session timeout 3 s); the takeover times are printed, not asserted.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from phones.sipp import Caller, call
from stack import paths
from tests.e2e.conftest import _free_tcp_port, private_asterisk
from tests.support.database import throwaway_database

pytestmark = pytest.mark.asterisk


@pytest.fixture(scope="module")
def pbx():
    base = 61000 + (os.getpid() % 8) * 500  # outside the session instance's range
    with private_asterisk(name="test-ha", rtp_start=base, rtp_ports=200,
                          ari_app=f"hotline-ha-{uuid.uuid4().hex[:6]}") as inst:
        yield inst


@pytest.fixture(scope="module")
def ha_database(database_server):
    with throwaway_database(database_server, "hotline_test_ha") as url:
        yield url


class WatchingProxy:
    """A TCP proxy to ARI that notes when the instance behind it sends REST bytes (every
    connection but the event websocket's): what Asterisk would receive from it."""

    def __init__(self, port: int) -> None:
        self.target = ("127.0.0.1", port)
        self.rest_sent: list[float] = []  # monotonic times of REST bytes towards Asterisk
        self.events_muted = False  # events from Asterisk dropped (ApplicationReplaced too)
        self._server: asyncio.Server | None = None
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        kind: list[str] = []

        async def upstream() -> None:
            with contextlib.suppress(OSError, asyncio.CancelledError):
                while data := await reader.read(65536):
                    if not kind:
                        kind.append("events" if data.startswith(b"GET /ari/events") else "rest")
                    if kind[0] == "rest":
                        self.rest_sent.append(time.monotonic())
                    up_writer.write(data)
                    await up_writer.drain()
            up_writer.close()

        async def downstream() -> None:
            with contextlib.suppress(OSError, asyncio.CancelledError):
                while data := await up_reader.read(65536):
                    if self.events_muted and kind == ["events"]:
                        continue
                    writer.write(data)
                    await writer.drain()
            writer.close()

        await asyncio.gather(upstream(), downstream())

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()


@dataclass
class Instance:
    """One `python -m app` process of the pair."""

    name: str
    env: dict[str, str]
    log_path: Path
    port: int = field(default_factory=_free_tcp_port)
    proc: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "app"], cwd=paths.REPO,
            env={**self.env, "HOTLINE_HTTP_PORT": str(self.port)}, stdin=subprocess.DEVNULL,
            stdout=open(self.log_path, "ab"), stderr=subprocess.STDOUT, start_new_session=True)

    async def ready(self) -> dict:
        async with httpx.AsyncClient(timeout=2) as http:
            resp = await http.get(f"{self.base}/ready")
        return {**resp.json(), "code": resp.status_code}

    async def wait_ready(self, *, role: str, timeout: float = 90) -> float:
        """Wait until /ready answers with this role (200 for active); return when it did."""
        deadline = time.monotonic() + timeout
        last: object = None
        while time.monotonic() < deadline:
            assert self.proc is not None and self.proc.poll() is None, (
                f"{self.name} exited with {self.proc and self.proc.returncode}; "
                f"see {self.log_path}")
            with contextlib.suppress(httpx.HTTPError, ValueError):
                last = await self.ready()
                if last["role"] == role and (role != "active" or last["code"] == 200):
                    return time.monotonic()
            await asyncio.sleep(0.05)
        raise AssertionError(f"{self.name} not {role} in {timeout}s: {last}")

    def api(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.base, timeout=10, headers={
            "Authorization": f"Bearer {self.env['HOTLINE_ADMIN_TOKEN']}"})

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGCONT)
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()


@pytest.fixture
async def instances(pbx, ha_database, tmp_path):
    """Makes instances of the service (ARI directly, or through a watching proxy)."""
    made: list[Instance] = []
    proxies: list[WatchingProxy] = []
    token = secrets.token_urlsafe(24)

    async def make(name: str, *, watched: bool = False) -> tuple[Instance, WatchingProxy | None]:
        proxy = None
        ari_url = pbx.ari_url
        if watched:
            proxy = WatchingProxy(pbx.ari_port)
            await proxy.start()
            proxies.append(proxy)
            ari_url = f"http://127.0.0.1:{proxy.port}"
        env = {**os.environ, "HOTLINE_ENV": "development", "HOTLINE_DATABASE_URL": ha_database,
               "HOTLINE_ARI_URL": ari_url, "HOTLINE_ARI_USER": pbx.ari_user,
               "HOTLINE_ARI_PASSWORD": pbx.ari_password, "HOTLINE_ARI_APP": pbx.ari_app,
               "HOTLINE_PROMPT_DIR": pbx.prompt_dir_in_root,
               "HOTLINE_PROMPT_BUILD_DIR": str(pbx.prompt_host_dir),
               "HOTLINE_ADMIN_TOKEN": token, "HOTLINE_STORAGE_DIR": str(tmp_path / "storage"),
               "HOTLINE_ARI_RECONNECT_MIN_SECONDS": "0.2",
               "HOTLINE_ARI_RECONNECT_MAX_SECONDS": "1",
               "HOTLINE_LOG_FORMAT": "json", "HOTLINE_LOG_LEVEL": "INFO"}
        inst = Instance(name=name, env=env, log_path=tmp_path / f"{name}.log")
        made.append(inst)
        return inst, proxy

    yield make
    for inst in made:
        inst.stop()
    for proxy in proxies:
        await proxy.close()


async def call_reached_menu(api: httpx.AsyncClient, number: str, timeout: float = 30) -> dict:
    """The call from `number` as the API has it, once its menu has started."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            for item in (await api.get("/api/calls", params={"limit": 50})).json()["items"]:
                if item["caller_number"] == number:
                    found = (await api.get(f"/api/calls/{item['id']}")).json()
                    if "ivr_started" in [e["trigger"] for e in found["timeline"]]:
                        return found
        await asyncio.sleep(0.2)
    raise AssertionError(f"no call from {number} reached the menu in {timeout}s")


async def test_the_standby_takes_over_from_a_killed_active_instance_and_callers_reach_the_menu(
        instances, pbx):
    first, _ = await instances("first")
    first.start()
    await first.wait_ready(role="active")
    second, _ = await instances("second")
    second.start()
    await second.wait_ready(role="standby")
    standby = await second.ready()
    assert (standby["code"], standby["why"]) == (503, "standby")

    os.killpg(first.proc.pid, signal.SIGKILL)
    killed = time.monotonic()
    took_over = await second.wait_ready(role="active", timeout=30)
    print(f"\ntakeover after kill -9: {took_over - killed:.2f} s (lease, event stream, reconcile)")

    result = await call(Caller(number="13833330001", hangup_after_ms=3000), sip_port=pbx.sip_port)
    assert result.ok, result.output + result.errors
    async with second.api() as api:
        reached = await call_reached_menu(api, "13833330001")
    assert reached["answered_at"] is not None


@pytest.mark.parametrize("told_by", ["asterisk", "lease"])
async def test_a_frozen_active_instance_is_replaced_and_once_woken_issues_no_ari_command(
        instances, pbx, told_by):
    """Woken, it learns it was replaced from Asterisk (ApplicationReplaced, waiting on its event
    socket) or, with that event kept from it, from its lease: its fence is stale at once and its
    heartbeat finds its session gone."""
    frozen, watch = await instances("frozen", watched=True)
    frozen.start()
    await frozen.wait_ready(role="active")
    other, _ = await instances("other")
    other.start()
    await other.wait_ready(role="standby")

    # A caller in the menu of the instance about to freeze: its timers are due while it sleeps.
    caller = asyncio.create_task(call(Caller(number="13833330002", hangup_after_ms=14000),
                                      sip_port=pbx.sip_port))
    async with frozen.api() as api:
        await call_reached_menu(api, "13833330002")
    assert watch.rest_sent  # it did drive the call through ARI

    os.killpg(frozen.proc.pid, signal.SIGSTOP)
    stopped = time.monotonic()
    if told_by == "lease":  # before the takeover, so ApplicationReplaced never reaches it
        watch.events_muted = True
    took_over = await other.wait_ready(role="active", timeout=30)
    print(f"\ntakeover after SIGSTOP: {took_over - stopped:.2f} s")
    await asyncio.sleep(2)  # the call goes on under the new instance meanwhile

    woken = time.monotonic()
    os.killpg(frozen.proc.pid, signal.SIGCONT)
    code = await asyncio.to_thread(frozen.proc.wait, 30)
    assert code == 75, f"exit {code}; see {frozen.log_path}"  # lease lost: back as a standby
    assert [t for t in watch.rest_sent if t >= woken] == []  # not one ARI request once woken
    log = frozen.log_path.read_text()
    assert "service.lease_lost" in log
    assert ("ApplicationReplaced" if told_by == "asterisk" else
            "our lease session ended while Postgres answered") in log

    result = await caller
    assert result.ok, result.output + result.errors
    # A new caller is served by the instance that took over.
    second = await call(Caller(number="13833330003", hangup_after_ms=3000), sip_port=pbx.sip_port)
    assert second.ok, second.output + second.errors
    async with other.api() as api:
        await call_reached_menu(api, "13833330003")
        first_call = await call_reached_menu(api, "13833330002")
    assert first_call["channel_id"]
