"""A SIPp caller: builds the scenario XML and runs `sipp` against Asterisk on loopback.

The caller sends INVITE with G.711 and RFC 2833/4733 telephone-events, then follows its script
(pauses, keys played from the DTMF pcaps Debian's sip-tester ships, a few seconds of speech),
then either hangs up `hangup_after_ms` after the answer or waits for the hotline to hang up
(answering its BYE). If the hotline hangs up first the
scenario still succeeds; `SippResult.hung_up_by_remote` says which happened.

Agents' phones (`AgentPhone`, a UAS per agent on its own port) are either dialled at their
contact URI through the trunk, or register first (`Registration`): a one-shot SIPp REGISTER from
the phone's own port, answering Asterisk's 401 digest challenge, then the UAS takes the port; at
stop the UAS ends and the phone unregisters (Expires: 0) from the same port.
"""

from __future__ import annotations

import asyncio
import re
import shutil
import socket
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape

from phones.dtmf import dtmf_pcap

PCAP_DIR = Path("/usr/share/sip-tester")
DTMF_PCAP = {**{str(d): f"dtmf_2833_{d}.pcap" for d in range(10)},
             "*": "dtmf_2833_star.pcap", "#": "dtmf_2833_pound.pcap"}


@dataclass(frozen=True)
class Pause:
    ms: int


@dataclass(frozen=True)
class Press:
    """One key, as an RFC 2833 telephone-event (the pcap takes about 0.2 s)."""

    digit: str


@dataclass(frozen=True)
class Speak:
    """About 4.7 s of speech-like G.711 audio (sip-tester's g711a.pcap), e.g. for a voicemail."""

    ms = 4800


Step = Pause | Press | Speak


def keys(digits: str, *, first_after_ms: int = 1000, gap_ms: int = 700) -> tuple[Step, ...]:
    """Press `digits` (spaces ignored): the first after `first_after_ms`, then one every `gap_ms`."""
    steps: list[Step] = [Pause(first_after_ms)]
    for digit in digits.replace(" ", ""):
        steps += [Press(digit), Pause(gap_ms)]
    return tuple(steps)


@dataclass(frozen=True)
class Caller:
    """What one SIPp caller does on its call, from the moment it is answered."""

    dialed: str = "95000"
    number: str = "13800138000"
    name: str = "Test Caller"
    script: tuple[Step, ...] = ()
    # Hang up this long after the answer (None: wait for the hotline's BYE, at most `max_call_ms`).
    hangup_after_ms: int | None = None
    max_call_ms: int = 60_000

    def __post_init__(self) -> None:
        bad = [s.digit for s in self.script if isinstance(s, Press) and s.digit not in DTMF_PCAP]
        if bad:
            raise ValueError(f"cannot press {bad}: keys are 0-9, * and #")
        if not re.fullmatch(r"[0-9+*#]{1,32}", self.dialed):
            raise ValueError(f"cannot dial {self.dialed!r}")
        if not re.fullmatch(r"\+?[0-9]{1,20}", self.number):
            raise ValueError(f"caller number {self.number!r} must be digits")

    @property
    def script_ms(self) -> int:
        return sum(s.ms for s in self.script if isinstance(s, (Pause, Speak)))


@dataclass
class SippResult:
    returncode: int
    output: str
    errors: str
    messages: str = field(repr=False, default="")

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def hung_up_by_remote(self) -> bool:
        """True when the hotline sent BYE (rather than the caller)."""
        return re.search(r"message received[^\n]*\n\s*BYE sip:", self.messages) is not None


def write_key_pcaps(caller: Caller, directory: Path) -> list[Path]:
    """One pcap per key press of the script, each with its own RTP timestamp (see phones.dtmf)."""
    paths = []
    presses = [s for s in caller.script if isinstance(s, Press)]
    for n, press in enumerate(presses):
        path = directory / f"key-{n}.pcap"
        path.write_bytes(dtmf_pcap(press.digit, press=n))
        paths.append(path)
    return paths


def sdp(origin: str) -> str:
    """Our phones' SDP: G.711 A-law and µ-law, and RFC 4733 telephone-events as payload 101."""
    return (f"v=0\no={origin} 53655765 2353687637 IN IP[local_ip_type] [local_ip]\ns=-\n"
            "c=IN IP[media_ip_type] [media_ip]\nt=0 0\nm=audio [media_port] RTP/AVP 8 0 101\n"
            "a=rtpmap:8 PCMA/8000\na=rtpmap:0 PCMU/8000\na=rtpmap:101 telephone-event/8000\n"
            "a=fmtp:101 0-15\na=sendrecv\n")


def invite(from_uri: str, user: str, origin: str) -> str:
    """An INVITE from `from_uri` with our phones' SDP (`origin` names the SDP's owner)."""
    return f"""INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: {from_uri};tag=[pid]SIPpTag00[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: 1 INVITE
Contact: <sip:{user}@[local_ip]:[local_port]>
Max-Forwards: 70
User-Agent: hotline-test-{"probe" if origin == "probe" else "phone"}
Content-Type: application/sdp
Content-Length: [len]

{sdp(origin)}"""


def caller_scenario(caller: Caller, key_pcaps: list[Path] | None = None) -> str:
    """The SIPp UAC scenario for one caller (`key_pcaps`: from `write_key_pcaps`)."""
    lines = []
    presses = iter(key_pcaps or [])
    for step in caller.script:
        match step:
            case Pause(ms=ms):
                lines.append(f'  <pause milliseconds="{ms}"/>')
            case Press(digit=digit):
                pcap = next(presses, PCAP_DIR / DTMF_PCAP[digit])
                lines.append(f'  <nop><action><exec play_pcap_audio="{pcap}"/></action></nop>')
            case Speak():
                pcap = PCAP_DIR / "g711a.pcap"
                lines.append(f'  <nop><action><exec play_pcap_audio="{pcap}"/></action></nop>')
                lines.append(f'  <pause milliseconds="{step.ms}"/>')
    wait_ms = (caller.hangup_after_ms if caller.hangup_after_ms is not None
               else caller.max_call_ms) - caller.script_ms
    name = escape(caller.name)
    from_uri = f'"{name}" <sip:{caller.number}@[local_ip]:[local_port]>'
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<scenario name="hotline caller">
  <send retrans="500"><![CDATA[
{invite(from_uri, caller.number, "caller")}]]></send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
  <recv response="200" rtd="true"/>
  <send><![CDATA[
ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: "{name}" <sip:{caller.number}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: 1 ACK
Contact: <sip:{caller.number}@[local_ip]:[local_port]>
Max-Forwards: 70
Content-Length: 0

]]></send>
{chr(10).join(lines)}
  <recv request="BYE" timeout="{max(wait_ms, 1)}" ontimeout="hangup"/>
  <send next="done"><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

]]></send>
  <label id="hangup"/>
  <send retrans="500"><![CDATA[
BYE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: "{name}" <sip:{caller.number}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: 2 BYE
Contact: <sip:{caller.number}@[local_ip]:[local_port]>
Max-Forwards: 70
Content-Length: 0

]]></send>
  <recv response="200" next="done"/>
  <label id="done"/>
</scenario>
"""


async def _finished(proc: asyncio.subprocess.Process, tmp: Path) -> SippResult:
    """Wait for a SIPp run and collect its output and its error and message traces."""
    out, _ = await proc.communicate()
    errors = "".join(p.read_text(errors="replace") for p in tmp.glob("*_errors.log"))
    messages = "".join(p.read_text(errors="replace") for p in tmp.glob("*_messages.log"))
    return SippResult(returncode=proc.returncode or 0, output=out.decode(errors="replace"),
                      errors=errors, messages=messages)


def free_udp_port(pair: bool = False) -> int:
    """A free UDP port on loopback (an even one with its neighbour free too, for RTP/RTCP)."""
    for _ in range(200):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if not pair:
            return port
        port -= port % 2
        try:
            for p in (port, port + 1, port + 2, port + 3):
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                    s.bind(("127.0.0.1", p))
            return port
        except OSError:
            continue
    raise RuntimeError("no free UDP port")


async def call(caller: Caller, *, sip_host: str = "127.0.0.1", sip_port: int = 5060,
               timeout: float | None = None, count: int = 1, rate: float = 10) -> SippResult:
    """Place `count` calls (at `rate` a second, all at once at most) and wait for them all."""
    sipp = shutil.which("sipp")
    if sipp is None:
        raise RuntimeError("sipp is not installed (Debian package sip-tester)")
    with tempfile.TemporaryDirectory(prefix="hotline-sipp-") as tmp:
        scenario = Path(tmp) / "caller.xml"
        scenario.write_text(caller_scenario(caller, write_key_pcaps(caller, Path(tmp))))
        cmd = [sipp, f"{sip_host}:{sip_port}", "-sf", str(scenario), "-s", caller.dialed,
               "-m", str(count), "-l", str(count), "-r", str(rate), "-i", "127.0.0.1",
               "-p", str(free_udp_port()),
               "-mp", str(free_udp_port(pair=True)), "-timeout",
               f"{int((timeout or caller.max_call_ms / 1000 + 30))}s", "-timeout_error",
               "-trace_err", "-trace_msg", "-nostdin"]
        proc = await asyncio.create_subprocess_exec(
            *cmd, cwd=tmp, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        return await _finished(proc, Path(tmp))


# Final answers a probe INVITE may get; anything else fails the scenario (SippResult.ok False).
PROBE_REFUSALS = ("401", "403", "404", "407", "480", "488", "603")


def probe_scenario(from_user: str) -> str:
    """One INVITE from `from_user` with no credentials: a refusal (PROBE_REFUSALS) is ACKed and
    ends the scenario; a 200 is ACKed and hung up at once. `final_status` tells which."""
    if not re.fullmatch(r"[A-Za-z0-9_.+-]{1,64}", from_user):
        raise ValueError(f"SIP user {from_user!r}: letters, digits, _ . + - only")
    head = f"""Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:{from_user}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]"""

    def in_dialog(method: str, cseq: int) -> str:
        return f"""{method} sip:[service]@[remote_ip]:[remote_port] SIP/2.0
{head}
To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: {cseq} {method}
Max-Forwards: 70
Content-Length: 0

"""
    refusals = "\n".join(f'  <recv response="{code}" optional="true" next="refused"/>'
                          for code in PROBE_REFUSALS)
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<scenario name="probe">
  <send retrans="500"><![CDATA[
{invite(f"<sip:{from_user}@[local_ip]:[local_port]>", from_user, "probe")}]]></send>
  <recv response="100" optional="true"/>
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
{refusals}
  <recv response="200"/>
  <send><![CDATA[
{in_dialog("ACK", 1)}]]></send>
  <send retrans="500"><![CDATA[
{in_dialog("BYE", 2)}]]></send>
  <recv response="200" next="done"/>
  <label id="refused"/>
  <send><![CDATA[
ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
[last_Via:]
{head.splitlines()[1]}
[last_To:]
Call-ID: [call_id]
CSeq: 1 ACK
Max-Forwards: 70
Content-Length: 0

]]></send>
  <label id="done"/>
</scenario>
"""


def final_status(messages: str) -> str | None:
    """The first final (non-1xx) answer to the INVITE in a SIPp message trace."""
    for block in messages.split("-----------------------------------------------"):
        if re.search(r"^UDP message received \[", block, re.M) and (
                m := re.search(r"^SIP/2\.0 ([2-6]\d\d) .*?^CSeq: \d+ INVITE", block, re.M | re.S)):
            return m.group(1)
    return None


async def probe(from_user: str, *, local_ip: str = "127.0.0.1", sip_host: str = "127.0.0.1",
                sip_port: int = 5060, dialed: str = "95000", timeout: float = 10) -> SippResult:
    """Send one INVITE for `dialed` from `from_user` at `local_ip` (any loopback address, e.g.
    127.0.0.2: not the trunk's) without credentials; `final_status(result.messages)` says how
    Asterisk answered."""
    sipp = shutil.which("sipp")
    if sipp is None:
        raise RuntimeError("sipp is not installed (Debian package sip-tester)")
    with tempfile.TemporaryDirectory(prefix="hotline-probe-") as tmp:
        scenario = Path(tmp) / "probe.xml"
        scenario.write_text(probe_scenario(from_user))
        proc = await asyncio.create_subprocess_exec(
            sipp, f"{sip_host}:{sip_port}", "-sf", str(scenario), "-s", dialed, "-m", "1",
            "-i", local_ip, "-p", str(free_udp_port()), "-mp", str(free_udp_port(pair=True)),
            "-timeout", f"{int(timeout)}s", "-timeout_error", "-trace_err", "-trace_msg",
            "-nostdin", cwd=tmp, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        return await _finished(proc, Path(tmp))


@dataclass(frozen=True)
class Registration:
    """A phone's PJSIP registration: the credentials the hotline provisioned for the agent, and
    Asterisk's SIP address (the registrar)."""

    username: str
    password: str = field(repr=False)
    registrar_port: int = 5060
    registrar_host: str = "127.0.0.1"
    expires: int = 3600

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", self.username):
            raise ValueError(f"SIP user name {self.username!r}: letters, digits, _ . - only")
        if not re.fullmatch(r"[\x21-\x5c\x5e-\x7e]{1,128}", self.password):
            raise ValueError("the password must be printable ASCII without spaces or ']'"
                             " (SIPp's [authentication] keyword)")


def register_scenario(reg: Registration, *, expires: int) -> str:
    """REGISTER, answer the 401 challenge with digest credentials, expect 200 (any other
    answer, such as a second 401 for a wrong password, fails the scenario)."""
    user = reg.username
    head = f"""REGISTER sip:[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:{user}@[remote_ip]:[remote_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:{user}@[remote_ip]:[remote_port]>
Call-ID: [call_id]"""
    tail = f"""Contact: <sip:{user}@[local_ip]:[local_port]>
Expires: {expires}
Max-Forwards: 70
User-Agent: hotline-test-phone"""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<scenario name="register">
  <send retrans="500"><![CDATA[
{head}
CSeq: 1 REGISTER
{tail}
Content-Length: 0

]]></send>
  <recv response="100" optional="true"/>
  <recv response="401" auth="true"/>
  <send retrans="500"><![CDATA[
{head}
CSeq: 2 REGISTER
{tail}
[authentication username={user} password={reg.password}]
Content-Length: 0

]]></send>
  <recv response="100" optional="true"/>
  <recv response="200"/>
</scenario>
"""


async def register(reg: Registration, *, port: int, expires: int | None = None,
                   timeout: float = 10) -> SippResult:
    """Register (or with `expires=0` unregister) the phone on local `port` once; `ok` when
    Asterisk accepted the credentials."""
    sipp = shutil.which("sipp")
    if sipp is None:
        raise RuntimeError("sipp is not installed (Debian package sip-tester)")
    with tempfile.TemporaryDirectory(prefix="hotline-register-") as tmp:
        scenario = Path(tmp) / "register.xml"
        scenario.write_text(register_scenario(
            reg, expires=reg.expires if expires is None else expires))
        proc = await asyncio.create_subprocess_exec(
            sipp, f"{reg.registrar_host}:{reg.registrar_port}", "-sf", str(scenario), "-m", "1",
            "-i", "127.0.0.1", "-p", str(port), "-mp", str(free_udp_port(pair=True)),
            "-timeout", f"{int(timeout)}s", "-timeout_error", "-trace_err", "-trace_msg",
            "-nostdin", cwd=tmp, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
        return await _finished(proc, Path(tmp))


class RegistrationRefused(RuntimeError):
    def __init__(self, result: SippResult) -> None:
        super().__init__(f"the registration was refused: {result.output[-1000:]}"
                         f"{result.errors[-1000:]}")
        self.result = result


@dataclass(frozen=True)
class AgentPhone:
    """An agent's desk phone played by SIPp (a UAS on its own port): it rings, then answers after
    `answer_after_ms` (and stays on until the other side hangs up), or never answers
    (`answer_after_ms=None`: it rings until the hotline cancels the call)."""

    port: int
    user: str = "agent"
    answer_after_ms: int | None = 500
    # Hang up after talking this long (None: stay until the other side hangs up).
    talk_ms: int | None = None
    # Register to Asterisk with these credentials first (None: reached at `contact`).
    registration: Registration | None = None
    # Send back every RTP packet it gets (SIPp -rtp_echo): the caller hears itself, and a
    # recording of the call has both sides (R16 tests).
    echo: bool = False

    @property
    def contact(self) -> str:
        return f"sip:{self.user}@127.0.0.1:{self.port}"


def agent_scenario(phone: AgentPhone) -> str:
    ringing = """  <send><![CDATA[
SIP/2.0 180 Ringing
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:[local_ip]:[local_port];transport=[transport]>
Content-Length: 0

]]></send>"""
    keep = ("\n      <ereg regexp=\".*\" search_in=\"hdr\" header=\"From:\" assign_to=\"remote_from\"/>"
            "\n      <ereg regexp=\".*\" search_in=\"hdr\" header=\"To:\" assign_to=\"local_to\"/>"
            "\n      <ereg regexp=\"sips?:[^>;]*\" search_in=\"hdr\" header=\"Contact:\""
            " assign_to=\"remote_contact\"/>"
            if phone.talk_ms is not None and phone.answer_after_ms is not None else "")
    invite = f"""  <recv request="INVITE" crlf="true">
    <action>
      <ereg regexp="[0-9]+" search_in="hdr" header="CSeq:" assign_to="cseq"/>{keep}
    </action>
  </recv>"""
    if phone.talk_ms is None:  # the caller hangs up first (R2)
        ending = """  <recv request="BYE"/>
  <send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

]]></send>"""
    else:  # the agent hangs up after talking
        ending = f"""  <pause milliseconds="{phone.talk_ms}"/>
  <send retrans="500"><![CDATA[
BYE [$remote_contact] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: [$local_to];tag=[pid]SIPpTag01[call_number]
To: [$remote_from]
Call-ID: [call_id]
CSeq: 1 BYE
Max-Forwards: 70
Content-Length: 0

]]></send>
  <recv response="200"/>"""
    if phone.answer_after_ms is None:
        body = f"""{invite}
{ringing}
  <recv request="CANCEL"/>
  <send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

]]></send>
  <send><![CDATA[
SIP/2.0 487 Request Terminated
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
CSeq: [$cseq] INVITE
Content-Length: 0

]]></send>
  <recv request="ACK"/>"""
    else:
        body = f"""{invite}
{ringing}
  <pause milliseconds="{phone.answer_after_ms}"/>
  <send retrans="500"><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
CSeq: [$cseq] INVITE
Contact: <sip:[local_ip]:[local_port];transport=[transport]>
Content-Type: application/sdp
Content-Length: [len]

{sdp("agent")}
]]></send>
  <recv request="ACK" crlf="true"/>
{ending}"""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<scenario name="agent phone">
{body}
</scenario>
"""


class RunningPhone:
    """A SIPp agent phone running in the background until `stop()`."""

    def __init__(self, phone: AgentPhone) -> None:
        self.phone = phone
        self._tmp = tempfile.TemporaryDirectory(prefix="hotline-phone-")
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> "RunningPhone":
        """Register first when the phone has a `registration` (RegistrationRefused if Asterisk
        does not accept it), then answer calls."""
        if (reg := self.phone.registration) is not None:
            result = await register(reg, port=self.phone.port)
            if not result.ok:
                self._tmp.cleanup()
                raise RegistrationRefused(result)
        scenario = Path(self._tmp.name) / "agent.xml"
        scenario.write_text(agent_scenario(self.phone))
        self.proc = await asyncio.create_subprocess_exec(
            shutil.which("sipp") or "sipp", "-sf", str(scenario), "-i", "127.0.0.1",
            "-p", str(self.phone.port), "-mp", str(free_udp_port(pair=True)), "-trace_err",
            *(["-rtp_echo"] if self.phone.echo else []), "-nostdin", cwd=self._tmp.name,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
        await asyncio.sleep(0.3)  # listening
        return self

    async def stop(self) -> str:
        """Stop the phone; returns what SIPp logged as errors."""
        if self.proc is not None and self.proc.returncode is None:
            self.proc.terminate()
            await self.proc.wait()
        errors = "".join(p.read_text(errors="replace") for p in Path(self._tmp.name).glob("*_errors.log"))
        self._tmp.cleanup()
        if (reg := self.phone.registration) is not None and self.proc is not None:
            await register(reg, port=self.phone.port, expires=0)  # unregister; best effort
        return errors
