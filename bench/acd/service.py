"""Our service as a process of its own (`python -m app`), so that its CPU time and memory can be
read from /proc: a throwaway database (created, migrated, dropped), the benchmark's menu, its
queue and agents provisioned through the HTTP API as an administrator would."""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx
from prometheus_client.parser import text_string_to_metric_families

from stack import asterisk, paths, postgres

MENU = Path(__file__).with_name("menu.yaml")
QUEUE = "bench"


@dataclass
class Service:
    inst: asterisk.Instance
    storage: Path
    log_path: Path
    ring_cycle_seconds: float
    server: str = ""  # found at start (stack.postgres: the local server, or a private one)
    database: str = field(default_factory=lambda: f"hotline_bench_{secrets.token_hex(4)}")
    token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    port: int = field(default_factory=lambda: free_tcp_port())
    proc: subprocess.Popen | None = None
    # Where the service reaches ARI and Postgres, when not directly (bench.faults: through a
    # proxy it controls); empty: the instance's ARI, the throwaway database.
    ari_url: str = ""
    database_url: str = ""

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self, database_url: str) -> dict[str, str]:
        inst = self.inst
        return {**os.environ,
                "HOTLINE_ENV": "development", "HOTLINE_DATABASE_URL": database_url,
                "HOTLINE_ARI_URL": self.ari_url or inst.ari_url, "HOTLINE_ARI_USER": inst.ari_user,
                "HOTLINE_ARI_PASSWORD": inst.ari_password, "HOTLINE_ARI_APP": inst.ari_app,
                "HOTLINE_PROMPT_DIR": inst.prompt_dir_in_root,
                "HOTLINE_PROMPT_BUILD_DIR": str(inst.prompt_host_dir),
                "HOTLINE_ADMIN_TOKEN": self.token, "HOTLINE_HTTP_PORT": str(self.port),
                "HOTLINE_IVR_FILE": str(MENU), "HOTLINE_STORAGE_DIR": str(self.storage),
                "HOTLINE_RING_CYCLE_SECONDS": str(self.ring_cycle_seconds),
                "HOTLINE_LOG_FORMAT": "json", "HOTLINE_LOG_LEVEL": "INFO"}

    def start(self, *, timeout: float = 90) -> None:
        self.prepare()
        self.proc = self.launch(timeout=timeout)

    def prepare(self) -> str:
        """The throwaway database, created and migrated; its URL (direct, not proxied)."""
        self.server = self.server or postgres.server_url()[0]
        url = postgres.ensure_database(self.server, self.database, fresh=True)
        subprocess.run([sys.executable, "-m", "alembic", "upgrade", "head"], cwd=paths.REPO,
                       env=self.env(url), check=True, stdout=subprocess.DEVNULL)
        self.database_url = self.database_url or url
        return url

    def launch(self, *, port: int | None = None, timeout: float = 90,
               until: str = "ready") -> subprocess.Popen:
        """`python -m app` on `port` (default: ours), logging to our log; waits until `/ready`
        answers 200 (`until="ready"`) or `/health` does (`"health"`: a standby is not ready)."""
        port = port or self.port
        env = self.env(self.database_url) | {"HOTLINE_HTTP_PORT": str(port)}
        log = open(self.log_path, "ab")
        proc = subprocess.Popen([sys.executable, "-m", "app"], cwd=paths.REPO, env=env,
                                stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        log.close()
        deadline = time.monotonic() + timeout
        url = f"http://127.0.0.1:{port}/{until}"
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise SystemExit(f"the service exited with {proc.returncode}; see {self.log_path}")
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    return proc
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        proc.kill()
        raise SystemExit(f"the service was not ready within {timeout}s; see {self.log_path}")

    def api(self) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, timeout=30,
                            headers={"Authorization": f"Bearer {self.token}"})

    def provision(self, *, contacts: list[str], wrap_up_seconds: int,
                  max_wait_seconds: int) -> None:
        """The queue and one ready agent per contact, through the HTTP API."""
        with self.api() as api:
            resp = api.post("/api/queues", json={
                "name": QUEUE, "call_type": "consultation", "wrap_up_seconds": wrap_up_seconds,
                "max_wait_seconds": max_wait_seconds})
            resp.raise_for_status()
            for n, contact in enumerate(contacts, 1):
                resp = api.post("/api/agents", json={
                    "name": f"Agent {n}", "extension": f"{7000 + n}", "level": "intermediate",
                    "languages": ["zh"], "contact": contact})
                resp.raise_for_status()
                agent_id = resp.json()["id"]
                api.post(f"/api/agents/{agent_id}/state",
                         json={"state": "ready"}).raise_for_status()

    def metrics(self) -> dict[str, dict[tuple, float]]:
        """/metrics as {sample name: {sorted labels: value}}."""
        text = httpx.get(f"{self.base_url}/metrics", timeout=10).text
        out: dict[str, dict[tuple, float]] = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                out.setdefault(sample.name, {})[tuple(sorted(sample.labels.items()))] = sample.value
        return out

    def commits(self) -> int:
        """Transactions committed in the benchmark's database so far (pg_stat_database)."""
        return asyncio.run(self._commits())

    async def _commits(self) -> int:
        conn = await asyncpg.connect(postgres.database_url(self.server, "postgres")
                                     .replace("postgresql+asyncpg://", "postgresql://"))
        try:
            return int(await conn.fetchval(
                "SELECT xact_commit FROM pg_stat_database WHERE datname = $1", self.database))
        finally:
            await conn.close()

    def stop(self, *, drop: bool = True) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if drop and self.server:
            postgres.drop_database(self.server, self.database)


def free_tcp_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]

