"""The load: SIPp callers placed at a rate, and one SIPp UAS that plays every agent's phone.

Callers (one SIPp process per rate step) are answered, press one key `key_after_ms` after the
answer (while the menu speaks: barge-in), wait in the queue and hang up `hangup_after_ms` after
the answer. Each has its own number (an injection file), so each is a different customer. The
agents' phones are one SIPp UAS on one port: every agent has its own contact (`sip:aN@...`),
they all land there, ring, answer after `answer_after_ms` and stay until the caller hangs up
(the agents' side of `phones.sipp`). Counts come from SIPp's statistics file (`-trace_stat`).
"""

from __future__ import annotations

import asyncio
import csv
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from phones.dtmf import dtmf_pcap
from phones.sipp import AgentPhone, agent_scenario, free_udp_port, sdp


def sipp() -> str:
    path = shutil.which("sipp")
    if path is None:
        raise SystemExit("sipp is missing (Debian package sip-tester; `make test` installs it)")
    return path


def caller_scenario(*, from_user: str, key_pcap: Path, key_after_ms: int,
                    hangup_after_ms: int, trace: bool = False) -> str:
    """The UAC: INVITE, answered, one key after `key_after_ms`, BYE at `hangup_after_ms`.
    `from_user` may be `[field0]` (the injection file's number). `trace`: a line in SIPp's log
    file (`-trace_logs`) when the call starts, is answered and has ended well, each with the
    caller's number, the Call-ID and the time (`[timestamp]`, epoch seconds last):
    `start|<number>|<call-id>|<time>` (and `answered|…`, `done|…`)."""

    def mark(what: str) -> str:
        if not trace:
            return ""
        return (f'\n  <nop><action><log message="{what}|{from_user}|[call_id]|[timestamp]"/>'
                "</action></nop>")
    head = f"""From: "bench" <sip:{from_user}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>"""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<scenario name="bench caller">{mark("start")}
  <send retrans="500"><![CDATA[
INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
{head}
Call-ID: [call_id]
CSeq: 1 INVITE
Contact: <sip:{from_user}@[local_ip]:[local_port]>
Max-Forwards: 70
Content-Type: application/sdp
Content-Length: [len]

{sdp("caller")}]]></send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
  <recv response="200" rtd="true"/>{mark("answered")}
  <send><![CDATA[
ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
{head}[peer_tag_param]
Call-ID: [call_id]
CSeq: 1 ACK
Contact: <sip:{from_user}@[local_ip]:[local_port]>
Max-Forwards: 70
Content-Length: 0

]]></send>
  <pause milliseconds="{key_after_ms}"/>
  <nop><action><exec play_pcap_audio="{key_pcap}"/></action></nop>
  <pause milliseconds="{hangup_after_ms - key_after_ms}"/>
  <send retrans="500"><![CDATA[
BYE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
{head}[peer_tag_param]
Call-ID: [call_id]
CSeq: 2 BYE
Contact: <sip:{from_user}@[local_ip]:[local_port]>
Max-Forwards: 70
Content-Length: 0

]]></send>
  <recv response="200"/>{mark("done")}
</scenario>
"""


@dataclass(frozen=True)
class SippStats:
    created: int
    successful: int
    failed: int
    peak_concurrent: int


def read_stats(path: Path) -> SippStats | None:
    """The last row of a SIPp `-trace_stat` file (cumulative counts), and the highest
    CurrentCall of all rows."""
    try:
        rows = list(csv.DictReader(path.read_text(errors="replace").splitlines(), delimiter=";"))
    except FileNotFoundError:
        return None
    if not rows:
        return None
    last = rows[-1]
    return SippStats(created=int(last["TotalCallCreated"]),
                     successful=int(last["SuccessfulCall(C)"]),
                     failed=int(last["FailedCall(C)"]),
                     peak_concurrent=max(int(r["CurrentCall"]) for r in rows))


class AgentPhones:
    """One SIPp UAS answering for every agent: contacts `sip:a<n>@127.0.0.1:<port>`."""

    def __init__(self, *, count: int, answer_after_ms: int) -> None:
        self.count = count
        self.port = free_udp_port()
        self.answer_after_ms = answer_after_ms
        self._tmp = tempfile.TemporaryDirectory(prefix="bench-agents-")
        self.proc: asyncio.subprocess.Process | None = None

    def contact(self, n: int) -> str:
        return f"sip:a{n}@127.0.0.1:{self.port}"

    def scenario(self) -> str:
        return agent_scenario(AgentPhone(port=self.port, answer_after_ms=self.answer_after_ms))

    def extra_args(self) -> list[str]:
        return []

    async def start(self) -> None:
        scenario = Path(self._tmp.name) / "agents.xml"
        scenario.write_text(self.scenario())
        self.proc = await asyncio.create_subprocess_exec(
            sipp(), "-sf", str(scenario), "-i", "127.0.0.1", "-p", str(self.port),
            "-mp", str(free_udp_port(pair=True)), "-trace_stat", "-fd", "1", "-trace_err",
            *self.extra_args(), "-nostdin", cwd=self._tmp.name,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
        await asyncio.sleep(0.5)

    def stats(self) -> SippStats:
        files = list(Path(self._tmp.name).glob("*_.csv"))
        found = read_stats(files[0]) if files else None
        return found or SippStats(0, 0, 0, 0)

    def errors(self) -> str:
        return "".join(p.read_text(errors="replace")[-3000:]
                       for p in Path(self._tmp.name).glob("*_errors.log"))

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.terminate()
            await self.proc.wait()
        self._tmp.cleanup()


@dataclass
class CallerRun:
    """One rate step's callers, running."""

    proc: asyncio.subprocess.Process
    directory: tempfile.TemporaryDirectory
    started: float

    def stats(self) -> SippStats | None:
        files = list(Path(self.directory.name).glob("*_.csv"))
        return read_stats(files[0]) if files else None

    def errors(self) -> str:
        return "".join(p.read_text(errors="replace")[-3000:]
                       for p in Path(self.directory.name).glob("*_errors.log"))

    def logs(self) -> str:
        """SIPp's log file (`trace=True`: the scenario's start/answered/done lines)."""
        return "".join(p.read_text(errors="replace")
                       for p in Path(self.directory.name).glob("*_logs.log"))

    async def wait(self) -> SippStats:
        await self.proc.wait()
        stats = self.stats() or SippStats(0, 0, 0, 0)
        self.directory.cleanup()
        return stats


async def start_callers(*, sip_port: int, dialed: str, from_user: str | None, rate: float,
                        count: int, key_after_ms: int, hangup_after_ms: int,
                        first_number: int, trace: bool = False) -> CallerRun:
    """Place `count` calls at `rate` per second to `dialed`; From: `from_user`, or (None) a
    number of its own per call, from `first_number` on. `trace`: SIPp logs each call's start,
    answer and good end (`CallerRun.logs`, read it before `wait`)."""
    tmp = tempfile.TemporaryDirectory(prefix="bench-callers-")
    directory = Path(tmp.name)
    key = directory / "key-1.pcap"
    key.write_bytes(dtmf_pcap("1", press=0))
    inject: list[str] = []
    if from_user is None:
        numbers = directory / "numbers.csv"
        numbers.write_text("SEQUENTIAL\n" + "".join(f"{first_number + i}\n" for i in range(count)))
        inject = ["-inf", str(numbers)]
    scenario = directory / "callers.xml"
    scenario.write_text(caller_scenario(from_user=from_user or "[field0]", key_pcap=key,
                                        key_after_ms=key_after_ms, hangup_after_ms=hangup_after_ms,
                                        trace=trace))
    proc = await asyncio.create_subprocess_exec(
        sipp(), f"127.0.0.1:{sip_port}", "-sf", str(scenario), *inject, "-s", dialed,
        "-m", str(count), "-r", str(rate), "-rp", "1000", "-l", "100000",
        "-i", "127.0.0.1", "-p", str(free_udp_port()), "-mp", str(free_udp_port(pair=True)),
        "-timeout", f"{int(count / rate + hangup_after_ms / 1000 + 60)}s", "-timeout_error",
        "-trace_stat", "-fd", "1", "-trace_err", *(["-trace_logs"] if trace else []),
        "-nostdin", cwd=directory,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    return CallerRun(proc=proc, directory=tmp, started=time.monotonic())
