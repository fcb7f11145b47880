"""`python -m bench.faults`: one fault at a time under a steady load of live calls (R21, #15).

Starts, as `python -m bench.acd` does, a private Asterisk 22, our service as a process of its own
(`python -m app`) on a throwaway database, one SIPp UAS playing every agent's phone, and for each
fault a SIPp caller process placing calls at `--rate` for the fault's whole episode: `--lead`
seconds of calm, the fault, `--tail` seconds after it. The service reaches Asterisk's HTTP/ARI
port and Postgres through two TCP proxies on loopback that the benchmark controls, and the
benchmark is the service's supervisor: an instance that dies is started again after
`--restart-after` seconds. The faults, in this order (`--faults` picks some):

  ari-cut               every ARI connection (the event stream, requests) cut; new ones refused
                        for `--ari-cut-seconds`, then let through: the service reconnects
  service-kill          the service killed (SIGKILL); started again `--restart-after` s later
  service-kill-standby  the same with a second instance running as a standby (the same settings,
                        another HTTP port); "not available on this build" when a second
                        instance cannot be a standby (no lease)
  asterisk-restart      Asterisk killed (SIGKILL) and started again `--asterisk-down-seconds`
                        later: the calls in progress are lost by nature
  postgres-refused      Postgres closes every connection and refuses new ones for
                        `--postgres-seconds`
  postgres-hung         Postgres passes no byte either way for `--postgres-seconds`; connections
                        stay open and new ones wait

Per fault: calls attempted; answered by an agent (the agent's phone answered that caller's
number); dropped (the caller's script failed: refused, cut off, hung up on); of the callers who
came during the fault, how many reached an agent; stuck calls (records still open
`--stuck-after-seconds` after the last caller hung up); stuck agents (ringing or on a call in the
service's live state, `/api/agents`, with none of their call's channels up in Asterisk once the
fault's callers have all gone); Asterisk channels left then; records missing (a call Asterisk
answered with no row in `calls`) or incomplete (no `ended_at` or `end_reason`); seconds from the
fault's end until an agent answered the first call placed after it. Everything on 127.0.0.1;
every wait is bounded; it stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import asyncpg
import httpx
from sqlalchemy.engine import make_url

from bench.acd import figures as acd_figures
from bench.acd import procstat
from bench.acd.__main__ import RTP_PORTS, _bounded
from bench.acd.phones import start_callers
from bench.acd.service import Service, free_tcp_port
from bench.faults import figures
from bench.faults.load import LoggedAgents
from stack import asterisk, postgres
from stack.proc import read_pid
# The same proxy the tests cut and hang (tests/support is the project's test tooling, as bench/).
from tests.support.tcp_proxy import CuttableProxy

FAULTS = ("ari-cut", "service-kill", "service-kill-standby", "asterisk-restart",
          "postgres-refused", "postgres-hung")
NOT_AVAILABLE = "not available on this build"


def _faults(text: str) -> list[str]:
    names = [x.strip() for x in text.split(",") if x.strip()]
    if not names or not set(names) <= set(FAULTS) or len(set(names)) != len(names):
        raise argparse.ArgumentTypeError(f"comma-separated, distinct, of: {', '.join(FAULTS)}")
    return names


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.faults", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--faults", type=_faults, default=list(FAULTS),
                   help="which faults, in this order (default: all six)")
    p.add_argument("--rate", type=_bounded(float, 0.2, 20), default=4.0,
                   help="callers per second, all along (default 4: well below the ~20/s the "
                        "service sustains on 2 cores, bench.acd)")
    p.add_argument("--agents", type=_bounded(int, 1, 500), default=60,
                   help="agents' phones, all ready (default 60)")
    p.add_argument("--answer-after-ms", type=_bounded(int, 0, 10_000), default=1000,
                   help="agents answer after ringing this long (default 1000)")
    p.add_argument("--key-after-ms", type=_bounded(int, 100, 10_000), default=800,
                   help="callers press 1 this long after the answer (default 800)")
    p.add_argument("--hangup-after-ms", type=_bounded(int, 2000, 120_000), default=10_000,
                   help="callers hang up this long after the answer (default 10000: ~7 s of "
                        "talk with an agent)")
    p.add_argument("--wrap-up-seconds", type=_bounded(int, 0, 600), default=2,
                   help="agents' after-call work (default 2)")
    p.add_argument("--ring-cycle-seconds", type=_bounded(float, 1, 30), default=5.0,
                   help="R1 ring cadence (default 5: the limit is 15 s)")
    p.add_argument("--lead", type=_bounded(float, 0, 300), default=10.0,
                   help="seconds of calls before each fault (default 10)")
    p.add_argument("--tail", type=_bounded(float, 5, 600), default=30.0,
                   help="seconds of calls after each fault's end (default 30)")
    p.add_argument("--ari-cut-seconds", type=_bounded(float, 0, 300), default=5.0,
                   help="how long ARI connections are refused after the cut (default 5)")
    p.add_argument("--restart-after", type=_bounded(float, 0, 300), default=5.0,
                   help="the supervisor starts a dead instance again this long after (default 5)")
    p.add_argument("--asterisk-down-seconds", type=_bounded(float, 0, 300), default=3.0,
                   help="how long Asterisk stays down before it is started again (default 3)")
    p.add_argument("--postgres-seconds", type=_bounded(float, 1, 600), default=30.0,
                   help="how long Postgres refuses / hangs (default 30)")
    p.add_argument("--stuck-after-seconds", type=_bounded(float, 0, 600), default=60.0,
                   help="a record still open this long after the last caller hung up is stuck "
                        "(default 60)")
    p.add_argument("--json", type=Path, default=None, help="also write the figures here")
    p.add_argument("--keep", action="store_true", help="keep the database and the service log")
    args = p.parse_args(argv)
    if args.key_after_ms + 500 >= args.hangup_after_ms:
        p.error("--hangup-after-ms must leave time after the key")
    return args


@dataclass
class Fault:
    name: str
    planned: float                                   # seconds, for the callers' count
    run: Callable[[], Awaitable[float]]              # injects and ends it: the end (epoch)
    prepare: Callable[[], Awaitable[str | None]] | None = None  # a reason it can't run
    cleanup: Callable[[], Awaitable[None]] | None = None


class Instances:
    """The service's processes by HTTP port, and the supervisor that starts a dead one again
    (`--restart-after`), as systemd or a container's restart policy would."""

    def __init__(self, service: Service, restart_after: float) -> None:
        self.service = service
        self.restart_after = restart_after
        self.procs: dict[int, subprocess.Popen] = {}
        self.relaunched: dict[int, float] = {}       # port -> when it was last started again
        self._retired: set[int] = set()
        self._task: asyncio.Task | None = None
        self._relaunching: set[int] = set()

    async def launch(self, port: int, *, until: str = "ready") -> None:
        self._retired.discard(port)
        self.procs[port] = await asyncio.to_thread(self.service.launch, port=port, until=until)

    def start_supervising(self) -> None:
        self._task = asyncio.create_task(self._supervise())

    async def _supervise(self) -> None:
        while True:
            for port, proc in list(self.procs.items()):
                if (proc.poll() is not None and port not in self._retired
                        and port not in self._relaunching):
                    self._relaunching.add(port)
                    asyncio.create_task(self._relaunch(port, proc.returncode))
            await asyncio.sleep(0.2)

    async def _relaunch(self, port: int, code: int | None) -> None:
        try:
            print(f"  supervisor: the instance on :{port} exited ({code}); starting it again "
                  f"in {self.restart_after:g} s", flush=True)
            await asyncio.sleep(self.restart_after)
            self.relaunched[port] = time.time()
            await self.launch(port, until="health")
        except SystemExit as exc:
            print(f"  supervisor: {exc}", flush=True)
        finally:
            self._relaunching.discard(port)

    def kill(self, port: int) -> None:
        """kill -9, as a crash: nothing drained, nothing closed."""
        proc = self.procs[port]
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def retire(self, port: int) -> None:
        """Stop an instance for good (SIGTERM: it shuts down as it should)."""
        self._retired.add(port)
        proc = self.procs.pop(port, None)
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    async def ready(self, port: int) -> tuple[int, dict]:
        try:
            async with httpx.AsyncClient(timeout=3) as client:
                resp = await client.get(f"http://127.0.0.1:{port}/ready")
                return resp.status_code, resp.json()
        except (httpx.HTTPError, ValueError):
            return 0, {}

    async def active(self, *, timeout: float = 90) -> int | None:
        """The port of the instance whose /ready is 200 (bounded wait); None if none is."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for port in list(self.procs):
                code, _ = await self.ready(port)
                if code == 200:
                    return port
            await asyncio.sleep(0.5)
        return None

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        for port in list(self.procs):
            await asyncio.to_thread(self.retire, port)


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.work = Path(tempfile.mkdtemp(prefix="bench-faults-"))
        self.inst = asterisk.Instance(
            name=f"faults-{secrets.token_hex(4)}", root=asterisk.ensure_root(),
            ari_password=secrets.token_urlsafe(18), ari_port=free_tcp_port(),
            sip_port=free_tcp_port(), rtp_start=RTP_PORTS[0], rtp_end=RTP_PORTS[1])
        self.ari_proxy = CuttableProxy(self.inst.http_host, self.inst.ari_port)
        self.pg_proxy: CuttableProxy | None = None
        self.service = Service(inst=self.inst, storage=self.work / "storage",
                               log_path=self.work / "service.log",
                               ring_cycle_seconds=args.ring_cycle_seconds)
        self.instances = Instances(self.service, args.restart_after)
        self.phones = LoggedAgents(count=args.agents, answer_after_ms=args.answer_after_ms)
        self.asterisk_proc: subprocess.Popen | None = None
        self.next_number = 13900000000
        self.episodes: list[tuple[figures.Episode, dict[str, figures.CallerCall]]] = []
        self.rows: list[figures.Row] = []
        self.last_hangup = 0.0

    # -- setting up ------------------------------------------------------------------------
    async def setup(self) -> None:
        self.asterisk_proc = await asyncio.to_thread(asterisk.start, self.inst)
        await self.ari_proxy.start()
        self.service.server = (await asyncio.to_thread(postgres.server_url))[0]
        server = make_url(self.service.server)
        self.pg_proxy = CuttableProxy(server.host or "127.0.0.1", server.port or 5432)
        await self.pg_proxy.start()
        self.service.ari_url = self.ari_proxy.url
        self.service.database_url = make_url(
            postgres.database_url(self.service.server, self.service.database)).set(
            host="127.0.0.1", port=self.pg_proxy.port).render_as_string(hide_password=False)
        await asyncio.to_thread(self.service.prepare)
        await self.phones.start()
        await self.instances.launch(self.service.port)
        contacts = [self.phones.contact(n) for n in range(1, self.args.agents + 1)]
        await asyncio.to_thread(self.service.provision, contacts=contacts,
                                wrap_up_seconds=self.args.wrap_up_seconds, max_wait_seconds=300)
        self.instances.start_supervising()

    # -- the faults ------------------------------------------------------------------------
    def faults(self) -> dict[str, Fault]:
        a = self.args

        async def ari_cut() -> float:
            self.ari_proxy.cut()
            await asyncio.sleep(a.ari_cut_seconds)
            self.ari_proxy.restore()
            return time.time()

        async def service_kill() -> float:
            port = await self.instances.active(timeout=30) or self.service.port
            before = self.instances.relaunched.get(port, 0.0)
            self.instances.kill(port)
            deadline = time.monotonic() + a.restart_after + 30
            while self.instances.relaunched.get(port, 0.0) == before:
                if time.monotonic() > deadline:
                    raise SystemExit("the supervisor did not start the service again")
                await asyncio.sleep(0.1)
            return self.instances.relaunched[port]

        standby_port = free_tcp_port()

        async def standby_prepare() -> str | None:
            if importlib.util.find_spec("app.lease") is None:
                return (f"{NOT_AVAILABLE}: no lease (app/lease.py), a second instance would "
                        "take the ARI app from the first")
            await self.instances.launch(standby_port, until="health")
            code, body = await self.instances.ready(standby_port)
            if code != 200 and body.get("role") == "standby":
                return None
            # It took the app (or answers something else): back to one instance, restarted.
            await asyncio.to_thread(self.instances.retire, standby_port)
            self.instances.kill(self.service.port)
            await asyncio.sleep(a.restart_after + 1)
            await self.instances.active()
            return f"{NOT_AVAILABLE}: a second instance answered /ready {code} {body}"

        async def standby_kill() -> float:
            port = await self.instances.active(timeout=30) or self.service.port
            killed = time.time()
            self.instances.kill(port)  # the standby takes over; the supervisor restarts this one
            return killed

        async def standby_cleanup() -> None:
            # Back to one instance: the one that is active now stays, the other stops.
            active = await self.instances.active()
            for port in list(self.instances.procs):
                if port != active:
                    await asyncio.to_thread(self.instances.retire, port)

        async def asterisk_restart() -> float:
            pid = read_pid(self.inst.pidfile)
            if pid is not None:
                os.killpg(pid, signal.SIGKILL)
            if self.asterisk_proc is not None:
                await asyncio.to_thread(self.asterisk_proc.wait)
            self.inst.pidfile.unlink(missing_ok=True)
            await asyncio.sleep(a.asterisk_down_seconds)
            self.asterisk_proc = await asyncio.to_thread(asterisk.start, self.inst)
            return time.time()

        async def pg(mode: str) -> float:
            assert self.pg_proxy is not None
            self.pg_proxy.cut() if mode == "cut" else self.pg_proxy.hang()
            await asyncio.sleep(a.postgres_seconds)
            self.pg_proxy.restore()
            return time.time()

        return {
            "ari-cut": Fault("ari-cut", a.ari_cut_seconds, ari_cut),
            "service-kill": Fault("service-kill", a.restart_after + 10, service_kill),
            "service-kill-standby": Fault("service-kill-standby", 5, standby_kill,
                                          prepare=standby_prepare, cleanup=standby_cleanup),
            "asterisk-restart": Fault("asterisk-restart", a.asterisk_down_seconds + 5,
                                      asterisk_restart),
            "postgres-refused": Fault("postgres-refused", a.postgres_seconds,
                                      lambda: pg("cut")),
            "postgres-hung": Fault("postgres-hung", a.postgres_seconds, lambda: pg("hang")),
        }

    # -- one episode -----------------------------------------------------------------------
    async def episode(self, fault: Fault) -> figures.Row:
        a = self.args
        print(f"[{fault.name}]", flush=True)
        if fault.prepare is not None and (reason := await fault.prepare()):
            print(f"  {reason}", flush=True)
            return figures.Row(fault=fault.name, note=reason)
        count = max(1, round(a.rate * (a.lead + fault.planned + a.tail)))
        run = await start_callers(
            sip_port=self.inst.sip_port, dialed="95000", from_user=None, rate=a.rate,
            count=count, key_after_ms=a.key_after_ms, hangup_after_ms=a.hangup_after_ms,
            first_number=self.next_number, trace=True)
        self.next_number += count
        start = time.time()
        await asyncio.sleep(a.lead)
        fault_start = time.time()
        fault_end = await fault.run()
        print(f"  fault {fault_end - fault_start:.1f} s; callers go on", flush=True)
        try:
            await asyncio.wait_for(run.proc.wait(), count / a.rate + a.hangup_after_ms / 1000 + 120)
        except asyncio.TimeoutError:
            run.proc.kill()
        text = run.logs()
        if a.keep:
            (self.work / f"callers-{fault.name}.log").write_text(text)
        callers = figures.parse_callers(text)
        stats = await run.wait()
        self.last_hangup = time.time()
        if fault.cleanup is not None:
            await fault.cleanup()
        episode = figures.Episode(fault.name, start, fault_start, fault_end)
        self.episodes.append((episode, callers))
        stuck, left = await self.stuck_agents()
        row = figures.Row(fault=fault.name, stuck_agents=len(stuck), channels_left=len(left))
        if stats.created != len(callers):
            row.note = f"SIPp created {stats.created} calls, logged {len(callers)}"
        for agent in stuck:
            print(f"  stuck agent {agent['name']}: {agent['state']} call {agent.get('call_id')}",
                  flush=True)
        if left:
            print(f"  channels left: {sorted(left)[:10]}", flush=True)
        return row

    async def stuck_agents(self, *, limit: float = 30.0) -> tuple[list[dict], set[str]]:
        """Agents ringing / on a call with none of their call's channels up, and the channels
        still up, once the callers have gone: polled until both are empty or `limit` passed
        (the last wrap-ups, a reconnect in progress)."""
        deadline = time.monotonic() + limit
        stuck: list[dict] = []
        channels: set[str] = set()
        while True:
            port = await self.instances.active(timeout=max(1.0, deadline - time.monotonic()))
            if port is not None:
                headers = {"Authorization": f"Bearer {self.service.token}"}
                async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10,
                                             headers=headers) as api:
                    try:
                        agents = (await api.get("/api/agents")).json()
                        channels = await self.channels()
                        calls: dict[str, set[str]] = {}
                        busy = [a["call_id"] for a in agents if a.get("call_id")
                                and a.get("state") in ("ringing", "on_call")]
                        for call_id in busy:
                            calls[str(call_id)] = await self._call_channels(api, call_id)
                        stuck = figures.stuck_agents(agents, channels, calls)
                    except (httpx.HTTPError, ValueError) as exc:
                        print(f"  (agents not read: {exc!r})", flush=True)
                if not stuck and not channels:
                    return stuck, channels
            if time.monotonic() > deadline:
                return stuck, channels
            await asyncio.sleep(2)

    async def _call_channels(self, api: httpx.AsyncClient, call_id: str) -> set[str]:
        resp = await api.get(f"/api/calls/{call_id}")
        if resp.status_code != 200:
            return set()
        call = resp.json()
        return {call["channel_id"], *(f"agent-{o['id']}" for o in call.get("offers", []))}

    async def channels(self) -> set[str]:
        """Asterisk's channels, asked directly (not through the proxy)."""
        async with httpx.AsyncClient(timeout=10) as client:
            resp = await client.get(f"{self.inst.ari_url}/ari/channels",
                                    auth=(self.inst.ari_user, self.inst.ari_password))
            resp.raise_for_status()
            return {c["id"] for c in resp.json()}

    # -- afterwards ------------------------------------------------------------------------
    async def records(self, numbers: list[str]) -> tuple[dict[str, figures.Record],
                                                         dict[str, str | None], int]:
        """(ended, has a reason) and the end reason by caller number, read directly from
        Postgres; and how many numbers have more than one row."""
        url = postgres.database_url(self.service.server, self.service.database)
        conn = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            rows = await conn.fetch(
                "SELECT caller_number, ended_at IS NOT NULL AS ended, end_reason FROM calls "
                "WHERE caller_number = ANY($1::text[])", numbers)
        finally:
            await conn.close()
        records: dict[str, figures.Record] = {}
        reasons: dict[str, str | None] = {}
        seen: dict[str, int] = {}
        for r in rows:
            n = r["caller_number"]
            seen[n] = seen.get(n, 0) + 1
            ended, reason = records.get(n, (True, True))
            records[n] = (ended and r["ended"], reason and r["end_reason"] is not None)
            reasons[n] = r["end_reason"] if n not in reasons else reasons[n]
        return records, reasons, sum(1 for c in seen.values() if c > 1)

    async def finish(self, rows: list[figures.Row]) -> list[figures.Row]:
        wait = self.last_hangup + self.args.stuck_after_seconds - time.time()
        if wait > 0:
            print(f"waiting {wait:.0f} s before reading the records (stuck = still open "
                  f"{self.args.stuck_after_seconds:g} s after the last caller hung up)", flush=True)
            await asyncio.sleep(wait)
        text = self.phones.logs()
        if self.args.keep:
            (self.work / "agents.log").write_text(text)
        agents = figures.parse_agents(text)
        numbers = [n for _, callers in self.episodes for n in callers]
        records, reasons, doubled = await self.records(numbers)
        by_name = {e.name: (e, callers) for e, callers in self.episodes}
        out = []
        for r in rows:
            if r.fault not in by_name:
                out.append(r)
                continue
            episode, callers = by_name[r.fault]
            full = figures.row(episode, callers, agents, records, reasons)
            full.stuck_agents, full.channels_left, full.note = (r.stuck_agents, r.channels_left,
                                                                r.note)
            out.append(full)
        if doubled:
            print(f"{doubled} callers have more than one row in calls", flush=True)
        return out

    async def teardown(self) -> None:
        await self.instances.close()
        await self.phones.stop()
        await self.ari_proxy.close()
        if self.pg_proxy is not None:
            await self.pg_proxy.close()
        await asyncio.to_thread(self.service.stop, drop=not self.args.keep)
        await asyncio.to_thread(asterisk.stop, self.inst)
        shutil.rmtree(self.inst.host_dir, ignore_errors=True)
        if not self.args.keep:
            shutil.rmtree(self.work, ignore_errors=True)
        else:
            print(f"kept: database {self.service.database}, the service's log "
                  f"{self.service.log_path}, the phones' logs in {self.work}")


def report(rows: list[figures.Row], args: argparse.Namespace, started: datetime,
           load: tuple) -> str:
    m = procstat.machine()
    lines = [f"Machine: {m['nproc']} CPUs ({m['cpu']}), {m['memory_gib']} GiB; "
             f"{started:%Y-%m-%d %H:%M} UTC; load average at the start {load[0]:.2f}, "
             f"{load[1]:.2f}, {load[2]:.2f}; at the end "
             + ", ".join(f"{x:.2f}" for x in procstat.load_average()),
             f"Load: {args.rate:g} calls/s, {args.agents} agents, answer after "
             f"{args.answer_after_ms} ms, hang-up {args.hangup_after_ms} ms after the answer, "
             f"wrap-up {args.wrap_up_seconds} s; {args.lead:g} s before and {args.tail:g} s "
             "after each fault", ""]
    table = []
    for r in rows:
        if r.note.startswith(NOT_AVAILABLE):
            table.append([r.fault] + ["-"] * 10 + [NOT_AVAILABLE])
            continue
        path = r.path_seconds
        table.append([
            r.fault, str(r.attempted), str(r.answered), str(r.dropped),
            f"{r.during_answered} / {r.during_attempted}", str(r.stuck_calls),
            str(r.stuck_agents), str(r.channels_left), str(r.missing), str(r.incomplete),
            "-" if r.recovery_seconds is None else f"{r.recovery_seconds:g}"
            + ("" if path is None else f" (calm: {path:g})"),
            ", ".join(f"{k} {v}" for k, v in sorted(r.reasons.items())) + (
                f"; {r.note}" if r.note else "")])
    lines.append(acd_figures.table(table, [
        "fault", "attempted", "answered by an agent", "dropped", "came during the fault: "
        "reached an agent / came", "stuck calls", "stuck agents", "channels left",
        "records missing", "records incomplete", "s to recover (calm path)", "end reasons"]))
    return "\n".join(lines)


async def main(args: argparse.Namespace) -> int:
    started, load = datetime.now(UTC), procstat.load_average()
    print(f"load average {load}; {procstat.machine()}", flush=True)
    bench = Bench(args)
    rows: list[figures.Row] = []
    try:
        await bench.setup()
        faults = bench.faults()
        for n, name in enumerate(args.faults):
            rows.append(await bench.episode(faults[name]))
            if n + 1 < len(args.faults):
                await asyncio.sleep(3)
        rows = await bench.finish(rows)
    finally:
        await bench.teardown()
    text = report(rows, args, started, load)
    print("\n" + text)
    if args.json:
        args.json.write_text(json.dumps({
            "started": started.isoformat(), "machine": procstat.machine(),
            "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
            "rows": [asdict(r) for r in rows]}, indent=2))
    return 0 if all(r.clean for r in rows) else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    raise SystemExit(asyncio.run(main(parse_args())))
