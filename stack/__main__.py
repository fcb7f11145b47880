"""`python -m stack up|down|run|status|provision|test-env`: the whole development stack.

up        provision what is missing, start Postgres (if needed), Asterisk and the service in the
          background; return once /ready answers 200. The service runs under a supervisor
          (stack/supervisor.py) that starts it again when it dies; `--instances 2` (or
          `--standby`, or HOTLINE_INSTANCES=2) runs an active instance and a standby (R21)
          behind a small front on the service's port
down      stop everything `up` started
run       like up, in the foreground: Ctrl-C stops it all
status    what runs
provision build the Asterisk root (and install SIPp, espeak-ng, sox, debootstrap if missing)
docker-config  render Asterisk's configuration and the secrets into var/docker and .env for
          docker-compose.yml (for hosts with a Docker engine)
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from stack import asterisk, paths, postgres
from stack.proc import ensure_debian_packages, log, read_pid, stop_pid

SYSTEM_COMMANDS = {"sipp": "sip-tester", "espeak-ng": "espeak-ng", "sox": "sox",
                   "debootstrap": "debootstrap"}


def _state_file() -> Path:
    return paths.state_dir() / "stack.json"


def _load_state() -> dict:
    try:
        return json.loads(_state_file().read_text())
    except FileNotFoundError:
        return {}


def _save_state(state: dict) -> None:
    paths.state_dir().mkdir(parents=True, exist_ok=True)
    _state_file().write_text(json.dumps(state, indent=2))
    _state_file().chmod(0o600)


def _secret(state: dict, name: str) -> str:
    """A generated secret, kept in the state dir so it stays the same across up/down."""
    state.setdefault("secrets", {})
    if name not in state["secrets"]:
        state["secrets"][name] = secrets.token_urlsafe(24)
    return state["secrets"][name]


def fallback_terms() -> dict:
    """The dialplan's fallback (R21) as the service is set: R1's ring limit (rings x cadence)
    and R5's language, from the same HOTLINE_ variables, else the service's defaults."""
    from app.config import Settings

    def setting(name: str) -> str:
        return os.environ.get(f"HOTLINE_{name.upper()}", str(Settings.model_fields[name].default))

    rings = int(setting("max_rings")) * float(setting("ring_cycle_seconds"))
    return {"fallback_ring_seconds": max(1, round(rings)),
            "fallback_language": setting("default_language")}


def dev_instance(state: dict) -> asterisk.Instance:
    return asterisk.Instance(
        name="dev", ari_password=_secret(state, "ari_password"),
        ari_port=int(os.environ.get("HOTLINE_STACK_ARI_PORT", "8088")),
        sip_port=int(os.environ.get("HOTLINE_STACK_SIP_PORT", "5060")),
        **fallback_terms(),
    )


def provision() -> None:
    ensure_debian_packages(SYSTEM_COMMANDS)
    asterisk.ensure_root()


def up(*, foreground: bool, instances: int = 1) -> dict:
    state = _load_state()
    if (pid := read_pid(paths.state_dir() / "service.pid")) is not None:
        raise SystemExit(f"the stack already runs (service pid {pid}); `make down` first")
    env = {k: v for k, v in os.environ.items()}
    env.setdefault("HOTLINE_ADMIN_TOKEN", _secret(state, "admin_token"))
    logs = paths.state_dir() / "log"
    logs.mkdir(parents=True, exist_ok=True)

    # Postgres
    server, private = postgres.server_url()
    env["HOTLINE_DATABASE_URL"] = postgres.ensure_database(server, "hotline")
    state["private_postgres"] = private
    log(f"database: {postgres.redacted(env['HOTLINE_DATABASE_URL'])}")
    subprocess.run([sys.executable, "-m", "alembic", "upgrade", "head"], cwd=paths.REPO, env=env,
                   check=True)

    # Asterisk: ours, unless HOTLINE_ARI_URL points at one that already runs
    if "HOTLINE_ARI_URL" in os.environ:
        log(f"using the Asterisk at {os.environ['HOTLINE_ARI_URL']} (provisioning none)")
        state["asterisk"] = None
    else:
        provision()
        inst = dev_instance(state)
        asterisk.start(inst)
        log(f"Asterisk 22: ARI {inst.ari_url}, SIP udp {inst.sip_host}:{inst.sip_port}")
        env.update(HOTLINE_ARI_URL=inst.ari_url, HOTLINE_ARI_USER=inst.ari_user,
                   HOTLINE_ARI_PASSWORD=inst.ari_password, HOTLINE_ARI_APP=inst.ari_app,
                   HOTLINE_PROMPT_DIR=inst.prompt_dir_in_root,
                   HOTLINE_PROMPT_BUILD_DIR=str(inst.prompt_host_dir))
        state["asterisk"] = {"name": inst.name, "sip_port": inst.sip_port, "ari_port": inst.ari_port}
    _save_state(state)

    # The service
    port = env.setdefault("HOTLINE_HTTP_PORT", "8000")
    host = env.setdefault("HOTLINE_HTTP_HOST", "127.0.0.1")
    stack_env = {k: v for k, v in env.items() if k.startswith("HOTLINE_")}
    (paths.state_dir() / "stack.env").write_text(
        "".join(f"export {k}='{v}'\n" for k, v in sorted(stack_env.items())))
    (paths.state_dir() / "stack.env").chmod(0o600)
    out = None if foreground else open(logs / "service.log", "ab")
    # The supervisor restarts the service when it dies (R21); its own session, so that `down`
    # stops it and every instance as one process group.
    proc = subprocess.Popen([sys.executable, "-m", "stack.supervisor", "--instances",
                             str(instances)], cwd=paths.REPO, env=env, stdin=subprocess.DEVNULL,
                            stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    (paths.state_dir() / "service.pid").write_text(str(proc.pid))
    base = f"http://{host}:{port}"
    _wait_ready(base, proc)
    log(f"ready: {base} (admin token and settings in {paths.state_dir() / 'stack.env'})")
    return {"proc": proc, "base": base}


def _wait_ready(base: str, proc: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            down()
            raise SystemExit(f"the supervisor exited with {proc.returncode}; see var/log/service.log")
        try:
            resp = httpx.get(f"{base}/ready", timeout=2)
            if resp.status_code == 200:
                return
            last = resp.text
        except httpx.HTTPError as exc:
            last = repr(exc)
        time.sleep(0.3)
    down()
    raise SystemExit(f"the service was not ready within {timeout}s: {last}")


def down() -> None:
    state = _load_state()
    pidfile = paths.state_dir() / "service.pid"
    if (pid := read_pid(pidfile)) is not None:
        log(f"stopping the service (pid {pid})")
        stop_pid(pid)
    pidfile.unlink(missing_ok=True)
    if state.get("asterisk"):
        log("stopping Asterisk")
        asterisk.stop(dev_instance(state))
    if state.get("private_postgres"):
        log("stopping the private PostgreSQL cluster")
        postgres.stop_private_cluster()
    state.pop("asterisk", None)
    state.pop("private_postgres", None)
    _save_state(state)


def status() -> int:
    state = _load_state()
    pid = read_pid(paths.state_dir() / "service.pid")
    print(f"service: {'running, supervisor pid %d' % pid if pid else 'stopped'}")
    if pid:
        try:
            sup = json.loads((paths.state_dir() / "supervisor.json").read_text())
        except (FileNotFoundError, ValueError):
            sup = {"instances": []}
        for inst in sup["instances"]:
            print(f"  instance {inst['number']}: port {inst['port']}, {inst['role']}, "
                  f"pid {inst['pid']}, restarts {inst['restarts']}")
    if state.get("asterisk"):
        apid = read_pid(dev_instance(state).pidfile)
        print(f"asterisk: {'running, pid %d' % apid if apid else 'stopped'}")
    return 0


def run_foreground(*, instances: int = 1) -> None:
    started = up(foreground=True, instances=instances)
    proc: subprocess.Popen = started["proc"]
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    log("running; Ctrl-C stops the stack")
    while not stopping and proc.poll() is None:
        time.sleep(0.3)
    down()


def docker_config() -> None:
    """What docker-compose.yml mounts: Asterisk's config (the service adds the prompts), and the
    secrets in .env."""
    state = _load_state()
    root = paths.state_dir() / "docker"
    inst = asterisk.Instance(name="docker", root=root, ari_password=_secret(state, "ari_password"),
                             module_dir="/usr/lib/x86_64-linux-gnu/asterisk/modules",
                             **fallback_terms())
    asterisk.write_config(inst)
    env = {"HOTLINE_ARI_PASSWORD": inst.ari_password,
           "HOTLINE_ADMIN_TOKEN": _secret(state, "admin_token"),
           "POSTGRES_PASSWORD": _secret(state, "postgres_password")}
    (paths.REPO / ".env").write_text("".join(f"{k}={v}\n" for k, v in env.items()))
    (paths.REPO / ".env").chmod(0o600)
    _save_state(state)
    log(f"rendered {inst.host_dir} and .env; now `docker compose up --build`")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m stack", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command",
                        choices=["up", "down", "run", "status", "provision", "docker-config"])
    parser.add_argument("--instances", type=int,
                        default=int(os.environ.get("HOTLINE_INSTANCES", "1")),
                        help="up/run: service instances, one active and the others standbys")
    parser.add_argument("--standby", action="store_true", help="up/run: --instances 2")
    args = parser.parse_args()
    instances = max(args.instances, 2 if args.standby else 1)
    if args.command == "up":
        up(foreground=False, instances=instances)
    elif args.command == "down":
        down()
    elif args.command == "run":
        run_foreground(instances=instances)
    elif args.command == "status":
        raise SystemExit(status())
    elif args.command == "provision":
        provision()
    elif args.command == "docker-config":
        docker_config()


if __name__ == "__main__":
    main()
