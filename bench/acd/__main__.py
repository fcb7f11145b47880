"""`python -m bench.acd`: the whole call path under load, ours and native app_queue, one run.

Starts a private Asterisk 22 (the stack's root, its own ports), our service as a process of its
own on a throwaway database, and one SIPp UAS for all agents' phones. For each side (ours: the
menu in our Stasis app, then our ACD; native: Read() then Queue()), SIPp callers come at each
rate of `--rates` for `--step-seconds`; a side stops at its first rate with a failed call. A
call succeeded when its caller's SIPp script completed and an agent's phone answered it.

Printed per step: calls attempted / succeeded / failed; CPU seconds per call of our service, of
Asterisk and of PostgreSQL (every postgres process on the machine: nothing else should load it
meanwhile), and of the SIPp processes; our event-to-action and queue-to-agent-ring latencies
(p50/p99 from our own histograms, `/metrics`); our RSS at the step's peak concurrency. Then the
highest rate each side sustained with no failed call, and the ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from bench.acd import figures, native, procstat
from bench.acd.phones import AgentPhones, SippStats, start_callers
from bench.acd.profile import PySpy
from bench.acd.service import MENU, Service, free_tcp_port
from ivr import prompts as ivr_prompts
from ivr.loader import load_menu_file
from stack import asterisk

OURS, NATIVE = "ours", "native"
RTP_PORTS = (61000, 64999)  # above the kernel's ephemeral range and the tests' 20000-59999


@dataclass
class Step:
    side: str
    rate: float
    attempted: int
    succeeded: int
    failed: int
    seconds: float
    cpu: dict[str, float]                    # process group -> CPU seconds in the step
    peak_concurrent: int = 0
    rss_at_peak: int = 0
    rss_max: int = 0
    latency_ms: dict[str, float | None] = field(default_factory=dict)
    counts: dict[str, float] = field(default_factory=dict)  # ours, per call: ARI requests, commits

    def per_call(self, group: str) -> float:
        return self.cpu[group] / self.attempted if self.attempted else 0.0


def _rates(text: str) -> list[float]:
    try:
        rates = [float(x) for x in text.split(",") if x.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"rates are numbers, e.g. 2,4,8: {exc}") from exc
    if not rates or any(not 0.1 <= r <= 200 for r in rates) or rates != sorted(set(rates)):
        raise argparse.ArgumentTypeError("rates: ascending, distinct, 0.1..200 calls/s")
    return rates


def _sides(text: str) -> list[str]:
    sides = [x.strip() for x in text.split(",") if x.strip()]
    if not sides or not set(sides) <= {OURS, NATIVE} or len(set(sides)) != len(sides):
        raise argparse.ArgumentTypeError("ours and/or native, comma-separated")
    return sides


def _bounded(kind, low, high):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from exc
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be within {low}..{high}")
        return value
    return parse


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.acd", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rates", type=_rates, default=_rates("8,12,16,20,30,40,50,60"),
                   help="call rates (calls/s) to try, ascending (default 8,12,16,20,30,40,50,60)")
    p.add_argument("--step-seconds", type=_bounded(int, 5, 300), default=12,
                   help="how long callers come at each rate (default 12)")
    p.add_argument("--agents", type=_bounded(int, 1, 1000), default=420,
                   help="agents (phones) in the queue (default 420: enough for 60 calls/s, so "
                        "that agents are never what limits a side)")
    p.add_argument("--answer-after-ms", type=_bounded(int, 0, 10_000), default=1000,
                   help="agents answer after ringing this long (default 1000: one short ring)")
    p.add_argument("--key-after-ms", type=_bounded(int, 100, 10_000), default=800,
                   help="callers press 1 this long after the answer, during the prompt (800)")
    p.add_argument("--hangup-after-ms", type=_bounded(int, 1000, 120_000), default=6000,
                   help="callers hang up this long after the answer (default 6000)")
    p.add_argument("--wrap-up-seconds", type=_bounded(int, 0, 600), default=1,
                   help="after-call work of an agent, both sides (default 1)")
    p.add_argument("--ring-cycle-seconds", type=_bounded(float, 1, 30), default=5.0,
                   help="R1 ring cadence; the ring limit is 3 cycles on both sides (default 5)")
    p.add_argument("--sides", default=[OURS, NATIVE], type=_sides,
                   help="which sides to run, in this order (default ours,native)")
    p.add_argument("--json", type=Path, default=None, help="also write the figures here")
    p.add_argument("--py-spy", type=Path, default=None, metavar="OUT.svg",
                   help="profile our service with py-spy during our side (a flame graph)")
    p.add_argument("--keep", action="store_true", help="keep the database and service log")
    args = p.parse_args(argv)
    if args.key_after_ms + 500 >= args.hangup_after_ms:
        p.error("--hangup-after-ms must leave time after the key")
    return args


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.work = Path(tempfile.mkdtemp(prefix="bench-acd-"))
        self.inst = asterisk.Instance(
            name=f"bench-{secrets.token_hex(4)}", root=asterisk.ensure_root(),
            ari_password=secrets.token_urlsafe(18), ari_port=free_tcp_port(),
            sip_port=free_tcp_port(), rtp_start=RTP_PORTS[0], rtp_end=RTP_PORTS[1])
        self.service = Service(inst=self.inst, storage=self.work / "storage",
                               log_path=self.work / "service.log",
                               ring_cycle_seconds=args.ring_cycle_seconds)
        self.phones = AgentPhones(count=args.agents, answer_after_ms=args.answer_after_ms)
        self.postgres = procstat.CpuGroup("postgres")
        self.next_number = 13900000000

    @property
    def terms(self) -> native.QueueTerms:
        return native.QueueTerms(ring_limit_seconds=int(3 * self.args.ring_cycle_seconds),
                                 wrap_up_seconds=self.args.wrap_up_seconds,
                                 max_wait_seconds=300, menu_timeout_seconds=5)

    async def setup(self) -> None:
        asterisk.start(self.inst)
        await self.phones.start()
        contacts = [self.phones.contact(n) for n in range(1, self.args.agents + 1)]
        await asyncio.to_thread(self.service.start)
        await asyncio.to_thread(self.service.provision, contacts=contacts,
                                wrap_up_seconds=self.args.wrap_up_seconds,
                                max_wait_seconds=self.terms.max_wait_seconds)
        native.install(self.inst, contacts=contacts, prompt=self._menu_prompt(), terms=self.terms)

    def _menu_prompt(self) -> str:
        """The menu prompt's file as our service built it, for Read() (no extension)."""
        doc = load_menu_file(MENU)
        key = ivr_prompts.sources(doc, MENU.parent)[("main_menu", doc.default_language)].key
        if not (self.inst.prompt_host_dir / "ivr" / f"{key}.wav").exists():
            raise SystemExit("the service did not build the menu prompt")
        return f"{self.inst.prompt_dir_in_root}/ivr/{key}"

    def _cpu(self) -> dict[str, float]:
        return {"service": procstat.cpu_seconds(self.service.proc.pid),
                "asterisk": procstat.cpu_seconds(asterisk.read_pid(self.inst.pidfile) or 0),
                "postgres": self.postgres.total(),
                # the agents' phones, and the rate steps' callers once they have ended
                "sipp": procstat.cpu_seconds(self.phones.proc.pid if self.phones.proc else 0)
                + procstat.own_children_seconds()}

    @staticmethod
    def _spent(before: dict, after: dict) -> dict[str, float]:
        return {group: after[group] - before[group] for group in after}

    async def step(self, side: str, rate: float) -> Step:
        args = self.args
        count = max(1, round(rate * args.step_seconds))
        ours = side == OURS
        metrics_before = await asyncio.to_thread(self.service.metrics) if ours else {}
        commits_before = await asyncio.to_thread(self.service.commits) if ours else 0
        agents_before = self.phones.stats()
        cpu_before = self._cpu()
        started = time.monotonic()
        run = await start_callers(
            sip_port=self.inst.sip_port, dialed="95000" if ours else native.DIALED,
            from_user=None if ours else native.FROM_USER, rate=rate, count=count,
            key_after_ms=args.key_after_ms, hangup_after_ms=args.hangup_after_ms,
            first_number=self.next_number)
        self.next_number += count
        peak, rss_at_peak, rss_max = 0, 0, 0
        pid = self.service.proc.pid
        while run.proc.returncode is None:
            stats = run.stats()
            rss = procstat.rss_bytes(pid)
            rss_max = max(rss_max, rss)
            if stats is not None and stats.peak_concurrent > peak:
                peak, rss_at_peak = stats.peak_concurrent, rss
            try:
                await asyncio.wait_for(run.proc.wait(), 0.5)
            except asyncio.TimeoutError:
                pass
        callers: SippStats = await run.wait()
        await asyncio.sleep(args.wrap_up_seconds + 2.0)  # the last hang-ups handled, stats flushed
        seconds = time.monotonic() - started
        cpu = self._spent(cpu_before, self._cpu())
        agents = self.phones.stats()
        answered = agents.successful - agents_before.successful
        succeeded = min(callers.successful, answered)
        result = Step(side=side, rate=rate, attempted=count, succeeded=succeeded,
                      failed=count - succeeded, seconds=round(seconds, 1), cpu=cpu,
                      peak_concurrent=max(peak, callers.peak_concurrent), rss_at_peak=rss_at_peak,
                      rss_max=rss_max)
        if ours:
            after = await asyncio.to_thread(self.service.metrics)
            commits = await asyncio.to_thread(self.service.commits) - commits_before
            requests = sum(after.get("hotline_ari_requests_total", {}).values()) - sum(
                metrics_before.get("hotline_ari_requests_total", {}).values())
            result.counts = {"ari_requests": round(requests / count, 1),
                               "db_commits": round(commits / count, 1)}
            for name, metric, labels in (
                    ("event_to_action", "hotline_event_to_action_seconds", {}),
                    ("queue_to_ring", "hotline_queue_to_ring_seconds", {"stage": "ringing"}),
                    ("queue_to_dial", "hotline_queue_to_ring_seconds", {"stage": "dialled"})):
                buckets = figures.histogram_delta(metrics_before, after, metric, **labels)
                for q in (0.5, 0.99):
                    value = figures.quantile(buckets, q)
                    result.latency_ms[f"{name}_p{int(q * 100)}"] = (
                        None if value is None else round(value * 1000, 2))
        else:
            result.rss_at_peak = result.rss_max = 0
        return result

    async def run_side(self, side: str, profiler: PySpy | None) -> list[Step]:
        steps = []
        if profiler is not None:
            profiler.start(self.service.proc.pid)
        try:
            for rate in self.args.rates:
                step = await self.step(side, rate)
                steps.append(step)
                print(_step_line(step), flush=True)
                if step.failed:
                    break
                await asyncio.sleep(2)
        finally:
            if profiler is not None:
                profiler.stop()
        await self._settle()
        return steps

    async def _settle(self, *, idle: float = 0.05, limit: float = 90.0) -> None:
        """Wait until our service is idle again (a side that failed may leave it busy), so the
        next side is measured on a calm machine."""
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            before = procstat.cpu_seconds(self.service.proc.pid)
            await asyncio.sleep(1.0)
            if procstat.cpu_seconds(self.service.proc.pid) - before < idle:
                return

    async def teardown(self) -> None:
        await self.phones.stop()
        await asyncio.to_thread(self.service.stop, drop=not self.args.keep)
        asterisk.stop(self.inst)
        shutil.rmtree(self.inst.host_dir, ignore_errors=True)
        if not self.args.keep:
            shutil.rmtree(self.work, ignore_errors=True)
        else:
            print(f"kept: database {self.service.database}, log {self.service.log_path}")


def _step_line(s: Step) -> str:
    lat = " ".join(f"{k}={v}" for k, v in (s.latency_ms | s.counts).items())
    return (f"[{s.side} {s.rate:g}/s] attempted {s.attempted} ok {s.succeeded} failed {s.failed}"
            f" | cpu/call ms: service {s.per_call('service') * 1000:.1f} asterisk "
            f"{s.per_call('asterisk') * 1000:.1f} postgres {s.per_call('postgres') * 1000:.1f} sipp "
            f"{s.per_call('sipp') * 1000:.1f} | peak {s.peak_concurrent} calls, rss "
            f"{s.rss_at_peak / 2**20:.0f} MiB | {lat}")


def sustained(steps: list[Step]) -> float | None:
    best = None
    for s in steps:
        if s.failed:
            break
        best = s.rate
    return best


def report(results: dict[str, list[Step]], args: argparse.Namespace, started: datetime,
           load: tuple) -> str:
    m = procstat.machine()
    lines = [f"Machine: {m['nproc']} CPUs ({m['cpu']}), {m['memory_gib']} GiB; "
             f"{started:%Y-%m-%d %H:%M} UTC; load average at the start {load[0]:.2f}, "
             f"{load[1]:.2f}, {load[2]:.2f}; at the end "
             + ", ".join(f"{x:.2f}" for x in procstat.load_average()), ""]
    rows = []
    for side, steps in results.items():
        for s in steps:
            rows.append([side, f"{s.rate:g}", str(s.attempted), str(s.succeeded), str(s.failed),
                         f"{s.per_call('service') * 1000:.1f}" if side == OURS else "-",
                         f"{s.per_call('asterisk') * 1000:.1f}",
                         f"{s.per_call('postgres') * 1000:.1f}",
                         f"{s.per_call('sipp') * 1000:.1f}", str(s.peak_concurrent),
                         f"{s.rss_at_peak / 2**20:.0f}" if side == OURS else "-",
                         _pair(s.latency_ms, "event_to_action"), _pair(s.latency_ms, "queue_to_ring")])
    lines.append(figures.table(rows, [
        "side", "calls/s", "attempted", "ok", "failed", "ours ms CPU/call",
        "Asterisk ms CPU/call", "Postgres ms CPU/call", "SIPp ms CPU/call", "peak calls",
        "our RSS MiB at peak", "event→action p50/p99 ms", "queue→ring p50/p99 ms"]))
    lines.append("")
    for side, steps in results.items():
        total = sum(s.attempted for s in steps)
        ok = sum(s.succeeded for s in steps)
        lines.append(f"{side}: {total} calls attempted, {ok} succeeded, {total - ok} failed; "
                     f"sustained with no failed call: {_rate(sustained(steps))}")
    ours, nat = sustained(results.get(OURS, [])), sustained(results.get(NATIVE, []))
    if ours and nat:
        top = nat == args.rates[-1] and not results[NATIVE][-1].failed
        lines.append(f"rate ratio ours/native: {ours / nat:.2f}"
                     + (" (native sustained the highest rate tried: a lower bound)" if top else ""))
    ours_steps = [s for s in results.get(OURS, []) if not s.failed]
    if ours_steps:
        svc = sum(s.cpu["service"] for s in ours_steps) / sum(s.attempted for s in ours_steps)
        ast = sum(s.cpu["asterisk"] for s in ours_steps) / sum(s.attempted for s in ours_steps)
        lines.append(f"ours, over the sustained steps: {svc * 1000:.1f} ms CPU per call in our "
                     f"service vs {ast * 1000:.1f} ms in Asterisk (ratio {svc / ast:.2f}); per "
                     f"call {ours_steps[-1].counts.get('ari_requests')} ARI requests and "
                     f"{ours_steps[-1].counts.get('db_commits')} database transactions")
    return "\n".join(lines)


def _pair(lat: dict, name: str) -> str:
    a, b = lat.get(f"{name}_p50"), lat.get(f"{name}_p99")
    return "-" if a is None and b is None else f"{a} / {b}"


def _rate(rate: float | None) -> str:
    return "none" if rate is None else f"{rate:g} calls/s"


async def main(args: argparse.Namespace) -> int:
    started, load = datetime.now(UTC), procstat.load_average()
    print(f"load average {load}; {procstat.machine()}", flush=True)
    bench = Bench(args)
    results: dict[str, list[Step]] = {}
    try:
        await bench.setup()
        profiler = PySpy(args.py_spy) if args.py_spy else None
        for side in args.sides:
            results[side] = await bench.run_side(side, profiler if side == OURS else None)
    finally:
        await bench.teardown()
    text = report(results, args, started, load)
    print("\n" + text)
    if args.json:
        args.json.write_text(json.dumps({
            "started": started.isoformat(), "machine": procstat.machine(),
            "args": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
            "steps": {side: [asdict(s) for s in steps] for side, steps in results.items()}},
            indent=2))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    raise SystemExit(asyncio.run(main(parse_args())))
