"""`python -m phones call [--digits "1 0"]`: place one call to the running dev stack (make call).

Prints what SIPp did and then the call as the service logged it (GET /api/calls).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time

import httpx

from phones.sipp import Caller, call, keys
from stack import paths


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m phones", description=__doc__)
    parser.add_argument("command", choices=["call"])
    parser.add_argument("--digits", default="", help='keys to press after the greeting, e.g. "1 0"')
    parser.add_argument("--dial", default="95000", help="the number dialled")
    parser.add_argument("--from-number", default="13800138000", help="the caller's number")
    parser.add_argument("--first-key-after", type=float, default=4.0,
                        help="seconds after the answer for the first key (after the greeting)")
    parser.add_argument("--gap", type=float, default=2.0, help="seconds between keys")
    parser.add_argument("--hangup-after", type=float, default=None,
                        help="seconds after the answer when the caller hangs up "
                             "(default: wait for the hotline to hang up)")
    args = parser.parse_args()
    state = json.loads((paths.state_dir() / "stack.json").read_text()) if (
        paths.state_dir() / "stack.json").exists() else {}
    sip_port = int(os.environ.get("HOTLINE_STACK_SIP_PORT",
                                  (state.get("asterisk") or {}).get("sip_port", 5060)))
    digits = args.digits.replace(",", " ")
    caller = Caller(dialed=args.dial, number=args.from_number,
                    # after the greeting; menus take a key while they are still speaking
                    script=keys(digits, first_after_ms=int(args.first_key_after * 1000),
                                gap_ms=int(args.gap * 1000)) if digits.strip() else (),
                    hangup_after_ms=int(args.hangup_after * 1000) if args.hangup_after else None,
                    max_call_ms=180_000)
    started = time.monotonic()
    result = asyncio.run(call(caller, sip_port=sip_port))
    print(f"sipp: exit {result.returncode} after {time.monotonic() - started:.1f}s"
          f" ({'the hotline hung up' if result.hung_up_by_remote else 'the caller hung up'})")
    if not result.ok:
        print(result.output[-2000:], result.errors[-2000:])
    env_file = paths.state_dir() / "stack.env"
    env = dict(line.removeprefix("export ").split("=", 1) for line in
               env_file.read_text().splitlines()) if env_file.exists() else {}
    token = os.environ.get("HOTLINE_ADMIN_TOKEN", env.get("HOTLINE_ADMIN_TOKEN", "").strip("'"))
    port = env.get("HOTLINE_HTTP_PORT", "'8000'").strip("'")
    try:
        resp = httpx.get(f"http://127.0.0.1:{port}/api/calls", params={"limit": 1},
                         headers={"Authorization": f"Bearer {token}"}, timeout=5)
        items = resp.json().get("items", [])
        if items:
            detail = httpx.get(f"http://127.0.0.1:{port}/api/calls/{items[0]['id']}",
                               headers={"Authorization": f"Bearer {token}"}, timeout=5).json()
            print(json.dumps(detail, indent=2, ensure_ascii=False))
    except httpx.HTTPError as exc:
        print(f"could not read the call log: {exc!r}")
    raise SystemExit(0 if result.ok else 1)


if __name__ == "__main__":
    main()
