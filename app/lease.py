"""The lease: of any number of service instances, exactly one is active (R21 "no interruption", #15).

The lease is a Postgres session-level advisory lock (`pg_try_advisory_lock(key)`, the key derived
from the lease name, by default the ARI app name; advisory locks are per database) held on a
dedicated asyncpg connection of its own, outside the SQLAlchemy pool. A standby tries to take it
every `lease_heartbeat_seconds` (0.5 s); the holder proves it as often with `SELECT 1` on the same
session. Postgres ends that session, and so frees the lock, when it has been silent for
`lease_session_timeout_seconds` (3 s: `idle_session_timeout`, PostgreSQL 14+; older servers only
get TCP keepalives, which never notice a frozen process whose kernel still answers).

The rule, on the monotonic clock (defaults: heartbeat 0.5 s, fence TTL 2 s, session timeout 3 s):

- **held**: we took the lock and the last *proof* is at most the fence TTL old. Only then does the
  fence let an ARI command through (`Lease.held`, checked by `AriClient` before every request).
  A proof is a heartbeat answered on our lock's session (the session is alive, so the lock was
  never released), or, see below, a failed attempt that found Postgres unreachable.
- **unreachable**: the heartbeat gets no answer within the attempt timeout ((TTL - heartbeat) / 4)
  or our session breaks, and a new connection is refused, times out or is told the server is
  starting/stopping. Nobody can take the lock from a Postgres nobody reaches, and callers must be
  served through a Postgres outage, so such an attempt counts as a proof, but only if the last
  proof was itself within the TTL (continuity: a process that was frozen longer than the TTL
  gains nothing from it). The holder keeps trying; when Postgres answers again it takes the lock
  anew on a new session if it was held without a gap; if another instance has it, **lost**.
- **lost**: our session ended while Postgres answered (`pg_terminate_backend`, or
  `idle_session_timeout` ending the session of a process that was stopped: the heartbeats were
  answered right up to the failure and a new connection works at once), or our fence lapsed
  before Postgres came back, or another instance holds the lock, or Asterisk told us
  `ApplicationReplaced` (another client took our ARI app). The fence closes at once and for good,
  and the instance steps down (`app/role.py`: the process exits with `EXIT_LEASE_LOST`, 75, and
  its supervisor starts it again, as a standby).

Why it is safe: the holder's fence closes at most TTL after its last answered heartbeat, while
Postgres frees the lock no earlier than the session timeout after that heartbeat reached it; TTL
< session timeout (validated in settings). A process stopped (SIGSTOP) longer than the TTL wakes
with its fence already stale, so not one command leaves before its next heartbeat finds its
session gone (lost) or alive (the lock was never released: held again). After a Postgres outage a
standby waits one TTL before it tries the lock, so the holder, retrying as often, takes it back
first when both reach Postgres again.

The one known limit: a partition between the active instance and Postgres alone (both reach
Asterisk, the standby reaches Postgres). The holder sees "unreachable" and keeps its fence open;
Postgres ends its silent session after the session timeout and a standby takes the lease. From
the moment the new holder connects the ARI event stream, Asterisk sends the old one
`ApplicationReplaced` and it steps down at once; until then both may issue commands (the new one
starts with reconciling). A holder that reaches neither Postgres nor Asterisk is harmless.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Callable
from enum import StrEnum

import asyncpg
import structlog
from sqlalchemy.engine import make_url

from app.metrics import LEASE_ACTIVE, LEASE_CHANGES

log = structlog.get_logger(__name__)

# The process's exit status after it lost the lease: its supervisor restarts it as a standby.
EXIT_LEASE_LOST = 75

TRY_LOCK = "SELECT pg_try_advisory_lock($1)"


class Role(StrEnum):
    standby = "standby"
    active = "active"
    lost = "lost"  # stepped down; this lease is never taken again by this object


def lease_key(name: str) -> int:
    """The advisory lock key (a signed 64-bit integer) for a lease name."""
    digest = hashlib.blake2b(f"hotline.lease:{name}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def asyncpg_dsn(database_url: str) -> str:
    """The settings' SQLAlchemy URL (postgresql+asyncpg://) as asyncpg takes it."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(
        hide_password=False)


class Tenure:
    """The lease's decisions, pure: what each outcome of an attempt means, and whether the fence
    is open at a given monotonic time. `Lease` does the I/O and reports here."""

    def __init__(self, *, ttl: float) -> None:
        self.ttl = ttl
        self.role = Role.standby
        self.reason = "not tried yet"
        self.proof: float | None = None  # monotonic time of the last proof while held
        self.outage = False  # an attempt found Postgres unreachable since the last good answer
        self.hold_off_until: float | None = None  # a standby's wait after an outage

    def fence_open(self, now: float) -> bool:
        """May this instance issue a command now?"""
        return (self.role is Role.active and self.proof is not None
                and now - self.proof <= self.ttl)

    def _lose(self, reason: str) -> None:
        self.role, self.reason, self.proof = Role.lost, reason, None

    def tried(self, now: float, got: bool) -> None:
        """`pg_try_advisory_lock` answered on a new session."""
        if self.role is Role.lost:
            return
        if got:
            self.role, self.proof, self.outage, self.reason = Role.active, now, False, "held"
            self.hold_off_until = None
        elif self.role is Role.active:
            self._lose("another instance took the lease while Postgres was unreachable")
        else:
            self.reason = "held by another instance"

    def answered(self, now: float) -> None:
        """The heartbeat was answered on our lock's session: the lock was never released."""
        if self.role is Role.active:
            self.proof, self.outage, self.reason = now, False, "held"

    def unreachable(self, now: float, why: str) -> None:
        """An attempt found Postgres unreachable (refused, no answer, starting or stopping)."""
        if self.role is Role.lost:
            return
        self.outage = True
        if self.role is Role.standby:
            self.reason = f"postgres unreachable: {why}"
        elif self.fence_open(now):  # continuity: only a holder running all along gains
            self.proof, self.reason = now, f"held; postgres unreachable: {why}"
        else:
            self.reason = f"fence lapsed; postgres unreachable: {why}"

    def may_try(self, now: float) -> bool:
        """A connection to Postgres is open again: may we send `pg_try_advisory_lock`? The
        holder only after an outage it was running through (else: lost); a standby after one
        TTL once an outage is over (the holder, retrying as often, gets it back first)."""
        if self.role is Role.lost:
            return False
        if self.role is Role.active:
            if not self.outage:
                self._lose("our lease session ended while Postgres answered")
            elif not self.fence_open(now):
                self._lose("the fence lapsed before Postgres could be reached again")
            return self.role is Role.active
        if self.outage:
            self.outage, self.hold_off_until = False, now + self.ttl
        if self.hold_off_until is not None and now < self.hold_off_until:
            self.reason = "waiting after a Postgres outage for the holder to come back"
            return False
        return True

    def refused(self, why: str) -> None:
        """Postgres answered but would not give us a session (credentials, database...)."""
        if self.role is Role.active:
            self._lose(f"postgres refused a new lease session: {why}")
        elif self.role is Role.standby:
            self.reason = f"postgres refused the lease session: {why}"

    def give_up(self, reason: str) -> None:
        """Told from outside that another instance serves (e.g. `ApplicationReplaced`)."""
        if self.role is not Role.lost:
            self._lose(reason)


def _unreachable(exc: BaseException) -> bool:
    """Could Postgres not be reached (as opposed to: it answered and said no)?"""
    return isinstance(exc, (OSError, TimeoutError, asyncpg.CannotConnectNowError,
                            asyncpg.TooManyConnectionsError, asyncpg.PostgresConnectionError,
                            asyncpg.ConnectionDoesNotExistError))


class Lease:
    """The advisory lock on its own connection, driven every heartbeat; see the module doc."""

    def __init__(self, *, dsn: str, name: str, heartbeat: float, ttl: float,
                 session_timeout: float, monotonic: Callable[[], float] = time.monotonic,
                 on_acquired: Callable[[], object] | None = None,
                 on_lost: Callable[[str], object] | None = None) -> None:
        self.dsn, self.name, self.key = dsn, name, lease_key(name)
        self.heartbeat, self.session_timeout = heartbeat, session_timeout
        # One attempt's limit while we hold the lease: a heartbeat, a connection and a lock try
        # fit in one TTL. A standby has no fence to keep: it waits longer (a loaded Postgres).
        self.attempt_timeout = (ttl - heartbeat) / 4
        self.standby_timeout = max(self.attempt_timeout, session_timeout)
        self.tenure = Tenure(ttl=ttl)
        self._monotonic = monotonic
        self.on_acquired, self.on_lost = on_acquired, on_lost
        self._conn: asyncpg.Connection | None = None
        self._beat: asyncio.Task | None = None
        self._task: asyncio.Task | None = None
        self._acquired_once = False
        self._lost_told = False
        self.paused = False  # tests: a heartbeat that stops without the process stopping

    @classmethod
    def from_settings(cls, settings, **kwargs) -> "Lease":
        return cls(dsn=asyncpg_dsn(settings.database_url),
                   name=settings.lease_name or settings.ari_app,
                   heartbeat=settings.lease_heartbeat_seconds, ttl=settings.lease_fence_seconds,
                   session_timeout=settings.lease_session_timeout_seconds, **kwargs)

    @property
    def role(self) -> Role:
        return self.tenure.role

    @property
    def reason(self) -> str:
        return self.tenure.reason

    def held(self) -> bool:
        """The fence: True only while this instance may issue commands (see the module doc)."""
        return self.tenure.fence_open(self._monotonic())

    async def start(self) -> None:
        """Try once now (the only instance takes the lease at once), then every heartbeat."""
        await self.step()
        self._task = asyncio.create_task(self._run(), name="lease")

    async def close(self) -> None:
        """Stop, and release the lease by ending its session (a standby takes it at once)."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        await self._drop()
        LEASE_ACTIVE.set(0)

    def give_up(self, reason: str) -> None:
        """Another instance serves (ApplicationReplaced): fence closed now, then step down."""
        before = self.role
        self.tenure.give_up(reason)
        self._after(before)

    async def _run(self) -> None:
        while self.role is not Role.lost:
            await asyncio.sleep(self.heartbeat)
            if self.paused:
                continue
            try:
                await self.step()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - never let the lease loop die
                log.exception("lease.step_failed")
        await self._drop()  # lost: whatever session we still have goes, and the lock with it

    async def step(self) -> None:
        """One attempt: the heartbeat while we hold a session, else connect and try the lock."""
        before = self.role
        if self._conn is not None and self.role is Role.active:
            if not await self._heartbeat():
                await self._connect_and_try()  # our session broke: reachable or not?
        elif self._conn is not None and self.role is Role.standby:
            await self._try_lock()
        elif self.role is not Role.lost:
            await self._connect_and_try()
        self._after(before)

    async def _heartbeat(self) -> bool:
        """False when our session broke. A heartbeat with no answer yet stays in flight (a hung
        Postgres may answer later, and the session would still hold the lock)."""
        assert self._conn is not None
        if self._beat is None:
            self._beat = asyncio.ensure_future(self._conn.fetchval("SELECT 1"))
        done, _ = await asyncio.wait({self._beat}, timeout=self.attempt_timeout)
        if not done:
            self.tenure.unreachable(self._monotonic(), "no answer to the heartbeat")
            return True
        beat, self._beat = self._beat, None
        if (exc := beat.exception()) is None:
            self.tenure.answered(self._monotonic())
            return True
        log.warning("lease.session_broken", lease=self.name, error=repr(exc))
        await self._drop()
        return False

    def _limit(self) -> float:
        return self.attempt_timeout if self.role is Role.active else self.standby_timeout

    async def _connect_and_try(self) -> None:
        try:
            self._conn = await asyncio.wait_for(self._connect(), self._limit())
        except Exception as exc:  # noqa: BLE001 - classified: unreachable, or Postgres said no
            self._failed(exc)
            return
        await self._try_lock()

    async def _try_lock(self) -> None:
        assert self._conn is not None
        if not self.tenure.may_try(self._monotonic()):
            if self.role is Role.lost:
                await self._drop()
            return
        try:
            got = await asyncio.wait_for(self._conn.fetchval(TRY_LOCK, self.key), self._limit())
        except Exception as exc:  # noqa: BLE001
            await self._drop()
            self._failed(exc)
            return
        self.tenure.tried(self._monotonic(), bool(got))
        if self.role is Role.lost:
            await self._drop()

    def _failed(self, exc: BaseException) -> None:
        if _unreachable(exc):
            self.tenure.unreachable(self._monotonic(), type(exc).__name__)
        else:
            self.tenure.refused(f"{type(exc).__name__}: {exc}")

    async def _connect(self) -> asyncpg.Connection:
        conn = await asyncpg.connect(self.dsn, timeout=self._limit(),
                                     server_settings={"application_name": f"hotline-lease:{self.name}"})
        try:
            ms = int(self.session_timeout * 1000)
            keepalive = max(1, int(self.session_timeout / 3))
            # A dead host's session ends too (not only a silent process's).
            await conn.execute(f"SET tcp_keepalives_idle = {keepalive}; "
                               f"SET tcp_keepalives_interval = {keepalive}; "
                               f"SET tcp_keepalives_count = 2; SET tcp_user_timeout = {ms}")
            if conn.get_server_version().major >= 14:
                await conn.execute(f"SET idle_session_timeout = {ms}")
            else:
                log.warning("lease.no_idle_session_timeout",
                            hint="PostgreSQL < 14: a frozen holder keeps the lease until its "
                                 "TCP connection dies")
        except BaseException:
            conn.terminate()
            raise
        return conn

    async def _drop(self) -> None:
        if self._beat is not None:
            self._beat.cancel()
            await asyncio.gather(self._beat, return_exceptions=True)
            self._beat = None
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                await asyncio.wait_for(conn.close(), self.attempt_timeout)
            except Exception:  # noqa: BLE001 - going anyway
                conn.terminate()

    def _after(self, before: Role) -> None:
        """Log a change; tell the service: acquired (the first time), or lost (once)."""
        if self.role is not before:
            LEASE_CHANGES.labels(to=self.role.value).inc()
            (log.warning if self.role is Role.lost else log.info)(
                "lease.role", lease=self.name, role=self.role.value, was=before.value,
                reason=self.reason)
        LEASE_ACTIVE.set(1 if self.role is Role.active else 0)
        if self.role is Role.active and not self._acquired_once:
            self._acquired_once = True
            if self.on_acquired is not None:
                self.on_acquired()
        elif self.role is Role.lost and not self._lost_told:
            self._lost_told = True
            if self.on_lost is not None:
                self.on_lost(self.reason)
