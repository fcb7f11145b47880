"""PostgreSQL for the stack: `HOTLINE_DATABASE_URL`, else the server on 127.0.0.1:5432, else a
private cluster (Debian's postgresql package) started under the cache dir.

What this returns is a server URL (`postgresql+asyncpg://user@host:port`); databases are created
on it by name (`hotline` for the dev stack, a throwaway one per test run).
"""

from __future__ import annotations

import asyncio
import glob
import os
import shutil
import subprocess
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from stack import paths
from stack.proc import install_debian_packages, log, run

LOCAL_SERVER = "postgresql+asyncpg://postgres@127.0.0.1:5432"
PRIVATE_PORT = int(os.environ.get("HOTLINE_PRIVATE_PG_PORT", "55432"))


def _dsn(url: str, database: str | None = None) -> str:
    u = make_url(url).set(drivername="postgresql")
    if database is not None:
        u = u.set(database=database)
    return u.render_as_string(hide_password=False)


async def _answers(url: str) -> bool:
    try:
        conn = await asyncpg.connect(_dsn(url, "postgres"), timeout=3)
    except (OSError, asyncpg.PostgresError, asyncio.TimeoutError):
        return False
    await conn.close()
    return True


def server_answers(url: str) -> bool:
    return asyncio.run(_answers(url))


def private_cluster_dir() -> Path:
    # Postgres refuses to run as root, so as root the cluster belongs to the `postgres` user and
    # lives where that user can reach it (root's home is usually closed to it).
    if os.geteuid() == 0:
        return Path(os.environ.get("HOTLINE_PRIVATE_PG_DIR", "/var/lib/hotline/postgres"))
    return Path(os.environ.get("HOTLINE_PRIVATE_PG_DIR", paths.cache_dir() / "postgres"))


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        install_debian_packages(["postgresql"])
        found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if not found:
        raise SystemExit(f"no {name} from Debian's postgresql package")
    return found[-1]


def _as_owner(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


def start_private_cluster() -> str:
    """Initialise (once) and start a private cluster on 127.0.0.1:PRIVATE_PORT; return its URL."""
    url = f"postgresql+asyncpg://postgres@127.0.0.1:{PRIVATE_PORT}"
    if server_answers(url):
        return url
    data = private_cluster_dir()
    pg_ctl, initdb = _pg_bin("pg_ctl"), _pg_bin("initdb")
    if not (data / "PG_VERSION").exists():
        log(f"initialising a private PostgreSQL cluster in {data}")
        data.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(data, "postgres", "postgres")
        run(_as_owner([initdb, "-D", str(data), "-U", "postgres", "--auth=trust", "-E", "UTF8"]),
            stdout=subprocess.DEVNULL)
    log(f"starting the private PostgreSQL cluster on port {PRIVATE_PORT}")
    run(_as_owner([pg_ctl, "-D", str(data), "-l", str(data / "server.log"), "-w", "-o",
                   f"-p {PRIVATE_PORT} -k {data} -c listen_addresses=127.0.0.1", "start"]),
        stdout=subprocess.DEVNULL)
    return url


def stop_private_cluster() -> None:
    data = private_cluster_dir()
    if (data / "postmaster.pid").exists():
        run(_as_owner([_pg_bin("pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"]),
            check=False, stdout=subprocess.DEVNULL)


def server_url() -> tuple[str, bool]:
    """A reachable server URL and whether it is our private cluster (then we stop it on down)."""
    if url := os.environ.get("HOTLINE_DATABASE_URL"):
        u = make_url(url)
        return u.set(database=None).render_as_string(hide_password=False), False
    if server_answers(LOCAL_SERVER):
        return LOCAL_SERVER, False
    return start_private_cluster(), True


def database_url(server: str, name: str) -> str:
    return make_url(server).set(database=name).render_as_string(hide_password=False)


async def _create(server: str, name: str, *, drop_first: bool) -> None:
    conn = await asyncpg.connect(_dsn(server, "postgres"))
    try:
        if drop_first:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


def ensure_database(server: str, name: str, *, fresh: bool = False) -> str:
    """Create database `name` on the server if it is missing (`fresh`: drop it first)."""
    asyncio.run(_create(server, name, drop_first=fresh))
    return database_url(server, name)


async def _drop(server: str, name: str) -> None:
    conn = await asyncpg.connect(_dsn(server, "postgres"))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def drop_database(server: str, name: str) -> None:
    asyncio.run(_drop(server, name))


def redacted(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)
