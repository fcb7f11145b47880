"""The same job in native Asterisk: a Read() menu, then Queue() (app_queue) with the same
agents' phones, added to the benchmark's own Asterisk instance (the product's configuration is
untouched; only this instance gets it).

Callers reach it with the SIP user `benchnative` in From: Asterisk identifies endpoints by user
name first (deploy/asterisk/pjsip.conf), so they land on the endpoint of that name, whose context
is `bench-native`; every other caller still goes to the hotline's Stasis app. Each agent is an
endpoint of its own with a static contact (its SIPp phone), so app_queue sees each agent's device
state (in use, ringing) as it does with real phones.
"""

from __future__ import annotations

from dataclasses import dataclass

from stack import asterisk

FROM_USER = "benchnative"
DIALED = "96000"
MODULES = ("app_read.so", "app_queue.so")


@dataclass(frozen=True)
class QueueTerms:
    """What both sides are given alike (stated in docs/benchmarks.md)."""

    ring_limit_seconds: int      # R1: an agent's phone rings this long at most
    wrap_up_seconds: int         # R13
    max_wait_seconds: int        # then the caller would overflow (never reached in the bench)
    menu_timeout_seconds: int    # Read(): how long the menu waits for the key


def pjsip(contacts: list[str]) -> str:
    agents = "".join(f"""
[bench-a{n}]
type = endpoint
context = agent-phones
disallow = all
allow = alaw,ulaw,gsm
direct_media = no
dtmf_mode = rfc4733
rtp_symmetric = yes
aors = bench-a{n}

[bench-a{n}]
type = aor
contact = {contact}
""" for n, contact in enumerate(contacts, 1))
    return f"""
; bench/acd/native.py: the native app_queue side of the benchmark (this instance only)
[{FROM_USER}]
type = endpoint
context = bench-native
disallow = all
allow = alaw,ulaw,gsm
direct_media = no
dtmf_mode = rfc4733
rtp_symmetric = yes
force_rport = yes
rewrite_contact = yes
{agents}"""


def dialplan(prompt: str, terms: QueueTerms) -> str:
    """Answer, the menu prompt with one key (barge-in), then the queue; `prompt` is the path of
    the menu's prompt file without its extension, as Asterisk sees it."""
    return f"""
; bench/acd/native.py
[bench-native]
exten => {DIALED},1,Answer()
 same => n,Read(KEY,{prompt},1,,1,{terms.menu_timeout_seconds})
 same => n,Queue(bench,,,,{terms.max_wait_seconds})
 same => n,Hangup()
"""


def queues(count: int, terms: QueueTerms) -> str:
    """app_queue set up as our queue is: longest idle first (leastrecent), nobody rung while on
    a call or ringing, no announcements, music on hold, the same ring limit and wrap-up."""
    members = "".join(f"member => PJSIP/bench-a{n},0,a{n}\n" for n in range(1, count + 1))
    return f"""; bench/acd/native.py
[general]
persistentmembers = no
shared_lastcall = yes

[bench]
strategy = leastrecent
timeout = {terms.ring_limit_seconds}
retry = 1
timeoutpriority = conf
wrapuptime = {terms.wrap_up_seconds}
ringinuse = no
autofill = yes
joinempty = no
leavewhenempty = no
musicclass = default
announce-frequency = 0
announce-position = no
announce-holdtime = no
periodic-announce-frequency = 0
reportholdtime = no
memberdelay = 0
setinterfacevar = no
{members}"""


def install(inst: asterisk.Instance, *, contacts: list[str], prompt: str,
            terms: QueueTerms) -> None:
    """Add the native side to a running instance and load what it needs."""
    etc = inst.host_dir / "etc"
    with open(etc / "pjsip.conf", "a") as f:
        f.write(pjsip(contacts))
    with open(etc / "extensions.conf", "a") as f:
        f.write(dialplan(prompt, terms))
    (etc / "queues.conf").write_text(queues(len(contacts), terms))
    for module in MODULES:
        asterisk.cli(inst, f"module load {module}")
    asterisk.cli(inst, "module reload res_pjsip.so")
    asterisk.cli(inst, "dialplan reload")
    shown = asterisk.cli(inst, "queue show bench")
    if "bench has" not in shown:
        raise SystemExit(f"app_queue did not take the bench queue: {shown[:500]}")
