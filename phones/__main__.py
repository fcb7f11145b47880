"""Phones for the running dev stack (`make up`).

`python -m phones call [--digits "1 0"]` (make call): one SIPp caller; prints what SIPp did and
then the call as the service logged it (GET /api/calls/{id}).

`python -m phones agent [--name wang] [--answer-after 1 | --never] [--register USER:PASS]`
(make agent): a SIPp desk phone for an agent, kept running until Ctrl-C; the agent is created
(or its phone updated) and set ready, and the demo menu's queues (`general`, which its 0 leads
to, `consultation` and `complaints`) are created if missing, recording agent conversations
(R16: callers hear that the call may be recorded), so that `make call DIGITS=0` reaches this
phone. It prints a sign-in for the agent desk page (`/desk`, user name = the agent's name; the
password from `--password` or a new one), where a person sees the screen pop while this phone rings and records the call (R3, R6,
R14). With `--register` the agent's phone is a PJSIP registration with those credentials
(provisioned by the service) and the SIPp phone registers to Asterisk before it waits for calls;
without, it is reached at its contact URI through the trunk.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import signal
import time
import zlib

import httpx

from phones.sipp import (AgentPhone, Caller, Registration, RegistrationRefused, RunningPhone,
                         call, free_udp_port, keys)
from stack import paths


def _api() -> httpx.Client:
    """A client for the stack's API with the admin token (from var/stack.env)."""
    env_file = paths.state_dir() / "stack.env"
    env = dict(line.removeprefix("export ").split("=", 1) for line in
               env_file.read_text().splitlines()) if env_file.exists() else {}
    token = os.environ.get("HOTLINE_ADMIN_TOKEN", env.get("HOTLINE_ADMIN_TOKEN", "").strip("'"))
    port = env.get("HOTLINE_HTTP_PORT", "'8000'").strip("'")
    return httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10,
                        headers={"Authorization": f"Bearer {token}"})


def _sip_port() -> int:
    """Asterisk's SIP port in the running stack."""
    state = json.loads((paths.state_dir() / "stack.json").read_text()) if (
        paths.state_dir() / "stack.json").exists() else {}
    return int(os.environ.get("HOTLINE_STACK_SIP_PORT",
                              (state.get("asterisk") or {}).get("sip_port", 5060)))


def place_call(args: argparse.Namespace) -> int:
    sip_port = _sip_port()
    digits = args.digits.replace(",", " ")
    caller = Caller(dialed=args.dial, number=args.from_number,
                    # after the greeting; menus take a key while they are still speaking
                    script=keys(digits, first_after_ms=int(args.first_key_after * 1000),
                                gap_ms=int(args.gap * 1000)) if digits.strip() else (),
                    hangup_after_ms=int(args.hangup_after * 1000) if args.hangup_after else None,
                    max_call_ms=int(args.max_seconds * 1000))
    started = time.monotonic()
    result = asyncio.run(call(caller, sip_port=sip_port))
    print(f"sipp: exit {result.returncode} after {time.monotonic() - started:.1f}s"
          f" ({'the hotline hung up' if result.hung_up_by_remote else 'the caller hung up'})")
    if not result.ok:
        print(result.output[-2000:], result.errors[-2000:])
    try:
        with _api() as api:
            items = api.get("/api/calls", params={"limit": 1}).json().get("items", [])
            if items:
                detail = api.get(f"/api/calls/{items[0]['id']}").json()
                print(json.dumps(detail, indent=2, ensure_ascii=False))
    except httpx.HTTPError as exc:
        print(f"could not read the call log: {exc!r}")
    return 0 if result.ok else 1


def _desk_user(api: httpx.Client, args: argparse.Namespace, agent_id: str) -> tuple[str, str]:
    """The agent's sign-in for the desk page (R20): created, or its password reset."""
    username, password = args.name.lower(), args.password or secrets.token_urlsafe(9)
    resp = api.post("/api/users", json={"username": username, "display_name": args.name,
                                        "role": "agent", "password": password,
                                        "agent_id": agent_id})
    if resp.status_code == 409:
        user = next(u for u in api.get("/api/users").json() if u["username"] == username)
        resp = api.patch(f"/api/users/{user['id']}", json={"password": password,
                                                            "agent_id": agent_id,
                                                            "is_active": True})
    resp.raise_for_status()
    return username, password

# The queues of the demo menu (ivr/demo.yaml), with recording on (R16).
DEMO_QUEUES = (("general", "consultation"), ("consultation", "consultation"),
               ("complaints", "complaint"))


def run_agent(args: argparse.Namespace) -> int:
    answer_after = None if args.never else int(args.answer_after * 1000)
    extension = args.extension or str(1000 + zlib.crc32(args.name.encode()) % 9000)

    registration = None
    if args.register:
        username, _, password = args.register.partition(":")
        registration = Registration(username, password, registrar_port=_sip_port())
    handset = AgentPhone(port=free_udp_port(), user=args.name, answer_after_ms=answer_after,
                         registration=registration)
    phone_body: dict = ({"phone": {"kind": "registration", "username": registration.username,
                                   "password": registration.password}}
                        if registration else {"contact": handset.contact})

    async def main() -> None:
        with _api() as api:
            for queue, call_type in DEMO_QUEUES:  # left as they are if they exist
                api.post("/api/queues", json={"name": queue, "call_type": call_type,
                                              "record_calls": True})
            resp = api.post("/api/agents", json={
                "name": args.name, "extension": extension, "level": args.level,
                "languages": ["zh", "en"], **phone_body})
            if resp.status_code == 409 and resp.json()["error_id"] == "agent-extension-taken":
                agent = next(a for a in api.get("/api/agents").json()
                             if a["extension"] == extension)
                api.patch(f"/api/agents/{agent['id']}", json=phone_body).raise_for_status()
            else:
                if resp.status_code != 201:
                    raise SystemExit(f"agent {args.name}: {resp.text}")
                agent = resp.json()
            try:
                phone = await RunningPhone(handset).start()  # registers first, if it does
            except RegistrationRefused as exc:
                raise SystemExit(f"Asterisk refused the registration of {args.name}'s phone: "
                                 f"{exc.result.output[-500:]}") from exc
            reached = (f"registered as {registration.username}" if registration
                       else f"on {handset.contact}")
            login = _desk_user(api, args, agent["id"])
            resp = api.post(f"/api/agents/{agent['id']}/state", json={"state": "ready"})
            if resp.status_code != 200:
                await phone.stop()
                raise SystemExit(f"agent {args.name} cannot go ready: {resp.json()['message']}")
            print(f"agent {args.name} (extension {extension}) is ready, {reached}; "
                  f"{'never answers' if answer_after is None else f'answers after {args.answer_after}s'}"
                  "; Ctrl-C to stop")
            print(f"the agent desk: {api.base_url.join('/desk')}  user {login[0]}  "
                  f"password {login[1]}")
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            loop.add_signal_handler(signal.SIGINT, stop.set)
            loop.add_signal_handler(signal.SIGTERM, stop.set)
            await stop.wait()
            api.post(f"/api/agents/{agent['id']}/state", json={"state": "logged_out"})
        await phone.stop()

    asyncio.run(main())
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m phones", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    c = commands.add_parser("call", help="place one call to the hotline")
    c.add_argument("--digits", default="", help='keys to press after the greeting, e.g. "1 0"')
    c.add_argument("--dial", default="95000", help="the number dialled")
    c.add_argument("--from-number", default="13800138000", help="the caller's number")
    c.add_argument("--first-key-after", type=float, default=4.0,
                   help="seconds after the answer for the first key (after the greeting)")
    c.add_argument("--gap", type=float, default=2.0, help="seconds between keys")
    c.add_argument("--hangup-after", type=float, default=None,
                   help="seconds after the answer when the caller hangs up "
                        "(default: wait for the hotline to hang up)")
    c.add_argument("--max-seconds", type=float, default=60,
                   help="hang up after this long at the latest (a call with an agent)")
    a = commands.add_parser("agent", help="run an agent's desk phone, ready for calls")
    a.add_argument("--name", default="wang")
    a.add_argument("--extension", default=None)
    a.add_argument("--level", default="intermediate", choices=["junior", "intermediate", "senior"])
    a.add_argument("--answer-after", type=float, default=1.0, help="seconds of ringing")
    a.add_argument("--never", action="store_true", help="ring but never answer")
    a.add_argument("--register", default=None, metavar="USER:PASS",
                   help="the phone registers to Asterisk with these credentials (the agent's "
                        "phone becomes a PJSIP registration) instead of being dialled at its URI")
    a.add_argument("--password", default=None,
                   help="the agent's password for the desk page (default: a new one, printed)")
    args = parser.parse_args()
    raise SystemExit(place_call(args) if args.command == "call" else run_agent(args))


if __name__ == "__main__":
    main()
