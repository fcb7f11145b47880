"""Asterisk 22 from Debian's sid packages, run in a chroot, one instance per configuration.

The root is built once with debootstrap into the cache dir and reused. Each instance (the dev stack,
a test run) gets its own directory inside the root (/srv/hotline/<name>) holding its generated
configuration, run, log and spool files, so several can run side by side on different ports.
Asterisk shares the host's network: ARI, SIP and RTP are reached on 127.0.0.1.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from stack import paths
from stack.proc import ensure_debian_packages, log, pid_alive, read_pid, run, stop_pid

TEMPLATES = paths.REPO / "deploy" / "asterisk"
PACKAGES = ["asterisk", "asterisk-core-sounds-en-gsm", "asterisk-moh-opsound-gsm"]
# Configuration files taken as the Debian package ships them (tone tables, not ours to write).
STOCK_CONFIG = ["indications.conf"]
_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")


def ensure_root(root: Path | None = None) -> Path:
    """Return a Debian sid root with Asterisk installed, building it first if it is missing."""
    root = root or paths.asterisk_root()
    if (root / "usr/sbin/asterisk").exists():
        _ensure_packages(root)
        return root
    ensure_debian_packages({"debootstrap": "debootstrap"})
    root.parent.mkdir(parents=True, exist_ok=True)
    with open(root.parent / f".{root.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one builder at a time; the others reuse its result
        if (root / "usr/sbin/asterisk").exists():
            return root
        building = root.with_name(root.name + ".building")
        shutil.rmtree(building, ignore_errors=True)
        log(f"building the Asterisk root in {root} (debootstrap sid, about a minute)")
        run(["debootstrap", "--variant=minbase", "sid", str(building)], stdout=subprocess.DEVNULL)
        shutil.copy("/etc/hosts", building / "etc/hosts")
        shutil.copy("/etc/resolv.conf", building / "etc/resolv.conf")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        run(["chroot", str(building), "apt-get", "-q", "-o", "Acquire::Check-Valid-Until=false",
             "update"], env=env, stdout=subprocess.DEVNULL)
        run(["chroot", str(building), "apt-get", "install", "-y", "-q", "--no-install-recommends",
             *PACKAGES], env=env, stdout=subprocess.DEVNULL)
        run(["chroot", str(building), "apt-get", "clean"], env=env)
        building.rename(root)
    return root


def _ensure_packages(root: Path) -> None:
    """Install packages added to PACKAGES since the cached root was built."""
    missing = [pkg for pkg in PACKAGES
               if not (root / f"usr/share/doc/{pkg}").exists()]
    if not missing:
        return
    log(f"adding {' '.join(missing)} to the Asterisk root")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    run(["chroot", str(root), "apt-get", "-q", "-o", "Acquire::Check-Valid-Until=false", "update"],
        env=env, stdout=subprocess.DEVNULL)
    run(["chroot", str(root), "apt-get", "install", "-y", "-q", "--no-install-recommends", *missing],
        env=env, stdout=subprocess.DEVNULL)
    run(["chroot", str(root), "apt-get", "clean"], env=env)


def module_dir(root: Path) -> str:
    """The module directory the Debian package configured (it is architecture-specific)."""
    text = (root / "etc/asterisk/asterisk.conf").read_text()
    match = re.search(r"^astmoddir\s*=>\s*(\S+)", text, re.M)
    if not match:
        raise SystemExit(f"no astmoddir in {root}/etc/asterisk/asterisk.conf")
    return match.group(1)


@dataclass(frozen=True)
class Instance:
    """One Asterisk configured for the hotline: its ports, ARI credentials and directories."""

    name: str
    ari_password: str
    root: Path = field(default_factory=paths.asterisk_root)
    ari_user: str = "hotline"
    ari_app: str = "hotline"
    http_host: str = "127.0.0.1"
    ari_port: int = 8088
    sip_host: str = "127.0.0.1"
    sip_port: int = 5060
    rtp_start: int = 10000
    rtp_end: int = 10999
    trunk_match: str = "127.0.0.1"
    # Where Asterisk's modules are; None: as the root's Debian package configured it.
    module_dir: str | None = None
    # The dialplan's fallback when no service takes a call (extensions.conf, R21): Stasis() is
    # tried again this many times 1 s apart, then agents' phones ring this long (R1: rings x
    # cadence), prompts are in this language (R5) and a message lasts this long at most (R8).
    fallback_tries: int = 5
    fallback_ring_seconds: int = 15
    fallback_language: str = "zh"
    fallback_message_seconds: int = 120

    @property
    def dir_in_root(self) -> str:
        """This instance's directory as Asterisk (inside the chroot) sees it."""
        return f"/srv/hotline/{self.name}"

    @property
    def host_dir(self) -> Path:
        return self.root / self.dir_in_root.lstrip("/")

    @property
    def prompt_dir_in_root(self) -> str:
        """Where this instance's prompts live, as Asterisk sees the path (used in sound: URIs)."""
        return f"{self.dir_in_root}/prompts"

    @property
    def prompt_host_dir(self) -> Path:
        return self.host_dir / "prompts"

    @property
    def ari_url(self) -> str:
        return f"http://{self.http_host}:{self.ari_port}"

    @property
    def config_file(self) -> str:
        return f"{self.dir_in_root}/etc/asterisk.conf"

    @property
    def pidfile(self) -> Path:
        return self.host_dir / "asterisk.pid"

    @property
    def logfile(self) -> Path:
        return self.host_dir / "log" / "messages.log"


def render(template: str, values: dict[str, object]) -> str:
    """Fill `{{name}}` placeholders; a placeholder without a value is an error, never left blank."""

    def fill(match: re.Match[str]) -> str:
        key = match.group(1)
        if key not in values:
            raise KeyError(f"template placeholder {{{{{key}}}}} has no value")
        return str(values[key])

    return _PLACEHOLDER.sub(fill, template)


def write_config(inst: Instance) -> None:
    """Generate the instance's configuration from the templates in deploy/asterisk."""
    values = {
        "instance_dir": inst.dir_in_root,
        "module_dir": inst.module_dir or module_dir(inst.root),
        "http_host": inst.http_host,
        "ari_port": inst.ari_port,
        "ari_user": inst.ari_user,
        "ari_password": inst.ari_password,
        "ari_app": inst.ari_app,
        "sip_host": inst.sip_host,
        "sip_port": inst.sip_port,
        "rtp_start": inst.rtp_start,
        "rtp_end": inst.rtp_end,
        "trunk_match": inst.trunk_match,
        "prompt_dir": inst.prompt_dir_in_root,
        "fallback_tries": inst.fallback_tries,
        "fallback_ring_seconds": inst.fallback_ring_seconds,
        "fallback_language": inst.fallback_language,
        "fallback_message_seconds": inst.fallback_message_seconds,
    }
    etc = inst.host_dir / "etc"
    # spool/recording: where ARI recordings go (Asterisk does not create it).
    for sub in ("etc", "run", "log", "spool/recording", "lib", "cache", "prompts"):
        (inst.host_dir / sub).mkdir(parents=True, exist_ok=True)
    for template in sorted(TEMPLATES.glob("*.conf")):
        target = etc / template.name
        target.write_text(render(template.read_text(), values))
        target.chmod(0o600)
    for name in STOCK_CONFIG:
        stock = inst.root / "etc/asterisk" / name
        if stock.exists():  # (a Docker image brings its own)
            shutil.copy(stock, etc / name)


def start(inst: Instance, *, timeout: float = 60.0) -> subprocess.Popen:
    """Start Asterisk in the foreground as our child (own session) and wait until ARI answers."""
    if (pid := read_pid(inst.pidfile)) is not None:
        raise SystemExit(f"Asterisk instance {inst.name!r} already runs (pid {pid})")
    write_config(inst)
    stdout = open(inst.host_dir / "console.log", "ab")
    proc = subprocess.Popen(
        ["chroot", str(inst.root), "/usr/sbin/asterisk", "-f", "-g", "-C", inst.config_file],
        stdin=subprocess.DEVNULL, stdout=stdout, stderr=subprocess.STDOUT, start_new_session=True,
    )
    inst.pidfile.write_text(str(proc.pid))
    try:
        wait_for_ari(inst, timeout=timeout, proc=proc)
    except BaseException:
        stop(inst)
        raise
    return proc


def wait_for_ari(inst: Instance, *, timeout: float, proc: subprocess.Popen | None = None) -> None:
    """Poll ARI's /asterisk/info until it answers 200 with our credentials."""
    deadline = time.monotonic() + timeout
    last_error = "no answer"
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise SystemExit(f"Asterisk exited with {proc.returncode}; see {inst.host_dir}/console.log")
        try:
            resp = httpx.get(f"{inst.ari_url}/ari/asterisk/info",
                             auth=(inst.ari_user, inst.ari_password), timeout=2)
            if resp.status_code == 200:
                return
            last_error = f"HTTP {resp.status_code}"
        except httpx.HTTPError as exc:
            last_error = repr(exc)
        time.sleep(0.2)
    raise SystemExit(f"ARI at {inst.ari_url} did not answer within {timeout}s ({last_error})")


def cli(inst: Instance, command: str, *, timeout: float = 15.0) -> str:
    """Run one Asterisk CLI command on the running instance and return its output."""
    result = subprocess.run(
        ["chroot", str(inst.root), "/usr/sbin/asterisk", "-C", inst.config_file, "-rx", command],
        capture_output=True, text=True, timeout=timeout,
    )
    return result.stdout


def stop(inst: Instance) -> None:
    """Stop the instance: a clean `core stop now`, then signals if it is still there."""
    pid = read_pid(inst.pidfile)
    if pid is None:
        inst.pidfile.unlink(missing_ok=True)
        return
    try:
        cli(inst, "core stop now", timeout=10)
    except subprocess.TimeoutExpired:
        pass
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and pid_alive(pid):
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        time.sleep(0.1)
    if pid_alive(pid):
        stop_pid(pid)
    inst.pidfile.unlink(missing_ok=True)
