"""`python -m stack.supervisor`: keeps the service running (R21, #15), as systemd's
`Restart=always` or a container's restart policy would.

It runs `python -m app` (the settings come from the environment) and starts it again whenever it
exits, after a backoff (0.5 s doubling to 30 s, back to 0.5 s once an instance has run 30 s; at
once after exit status 75, "lease lost": that instance comes back as a standby). SIGTERM or
SIGINT stops every instance (SIGTERM, SIGKILL after 10 s) and ends the supervisor.

`--instances N` (or `HOTLINE_INSTANCES`) runs N instances against the same Postgres and Asterisk:
one takes the lease and is active, the others are standbys. They listen on HOTLINE_HTTP_PORT + 1
... + N, and a small TCP front on HOTLINE_HTTP_PORT (8000) forwards each new connection to the
instance whose /ready says `"role": "active"` (checked every 0.5 s, as a load balancer's health
check would), so pages and API clients keep one address across a takeover. What it does is
logged on its standard output (`[supervisor] ...`) and kept in `var/supervisor.json`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from dataclasses import asdict, dataclass, field

import httpx

from stack import paths

EXIT_LEASE_LOST = 75  # app.lease.EXIT_LEASE_LOST
MIN_DELAY, MAX_DELAY, HEALTHY_AFTER = 0.5, 30.0, 30.0


def log(message: str) -> None:
    print(f"[supervisor] {message}", flush=True)


def restart_delay(previous: float, ran_for: float, returncode: int | None) -> float:
    """The wait before starting an instance again (pure: tested)."""
    if returncode == EXIT_LEASE_LOST or ran_for >= HEALTHY_AFTER or previous <= 0:
        return MIN_DELAY
    return min(MAX_DELAY, previous * 2)


@dataclass
class Instance:
    number: int
    port: int
    pid: int | None = None
    restarts: int = 0
    last_exit: int | None = None
    role: str = "unknown"
    _delay: float = field(default=0.0, repr=False)


class Supervisor:
    def __init__(self, *, instances: int, host: str, port: int) -> None:
        self.host, self.port = host, port
        ports = [port] if instances == 1 else [port + n for n in range(1, instances + 1)]
        self.instances = [Instance(number=n, port=p) for n, p in enumerate(ports, 1)]
        self.stopping = asyncio.Event()
        self._procs: dict[int, asyncio.subprocess.Process] = {}
        self.front: asyncio.Server | None = None

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stopping.set)
        tasks = [asyncio.create_task(self._keep(inst)) for inst in self.instances]
        if len(self.instances) > 1:
            self.front = await asyncio.start_server(self._forward, self.host, self.port)
            tasks.append(asyncio.create_task(self._check_health()))
            log(f"front on {self.host}:{self.port} -> the active one of ports "
                f"{', '.join(str(i.port) for i in self.instances)}")
        await self.stopping.wait()
        log("stopping")
        if self.front is not None:
            self.front.close()
        await asyncio.gather(*(self._stop(p) for p in list(self._procs.values())))
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._save()
        log("stopped")

    async def _keep(self, inst: Instance) -> None:
        env = {**os.environ, "HOTLINE_HTTP_PORT": str(inst.port)}
        if inst.number > 1:  # after the first has started: one at a time builds the prompts
            deadline = time.monotonic() + 90
            while self.instances[0].role in ("unknown", "down") and time.monotonic() < deadline:
                await asyncio.sleep(0.5)
        while not self.stopping.is_set():
            started = time.monotonic()
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "app", cwd=paths.REPO, env=env, stdin=asyncio.subprocess.DEVNULL)
            self._procs[inst.number] = proc
            inst.pid = proc.pid
            self._save()
            log(f"instance {inst.number} started on port {inst.port} (pid {proc.pid})")
            code = await proc.wait()
            self._procs.pop(inst.number, None)
            inst.pid, inst.last_exit = None, code
            if self.stopping.is_set():
                break
            ran = time.monotonic() - started
            inst._delay = restart_delay(inst._delay, ran, code)
            inst.restarts += 1
            why = " (lease lost: back as a standby)" if code == EXIT_LEASE_LOST else ""
            log(f"instance {inst.number} (port {inst.port}) exited with {code}{why} after "
                f"{ran:.1f} s; restart {inst.restarts} in {inst._delay:.1f} s")
            self._save()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), inst._delay)

    async def _stop(self, proc: asyncio.subprocess.Process) -> None:
        with contextlib.suppress(ProcessLookupError):
            proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()

    async def _check_health(self) -> None:
        async with httpx.AsyncClient(timeout=1.0) as http:
            while True:
                for inst in self.instances:
                    try:
                        body = (await http.get(f"http://{self.host}:{inst.port}/ready")).json()
                        role = body.get("role", "active")
                    except (httpx.HTTPError, ValueError):
                        role = "down"
                    if role != inst.role:
                        log(f"instance {inst.number} (port {inst.port}) is {role}")
                        inst.role = role
                        self._save()
                await asyncio.sleep(0.5)

    def _target(self) -> Instance | None:
        """The active instance; else any that answers (a standby's /health, pages)."""
        for wanted in ("active", "starting", "standby", "stepped-down"):
            for inst in self.instances:
                if inst.role == wanted:
                    return inst
        return None

    async def _forward(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        target = self._target()
        try:
            if target is None:
                raise OSError("no instance answers")
            up_reader, up_writer = await asyncio.open_connection(self.host, target.port)
        except OSError:
            writer.close()
            return

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.CancelledError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            with contextlib.suppress(OSError):
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    def _save(self) -> None:
        state = {"pid": os.getpid(), "front": self.port if self.front else None,
                 "instances": [{k: v for k, v in asdict(i).items() if not k.startswith("_")}
                               for i in self.instances]}
        with contextlib.suppress(OSError):
            paths.state_dir().mkdir(parents=True, exist_ok=True)
            (paths.state_dir() / "supervisor.json").write_text(json.dumps(state, indent=2))


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m stack.supervisor", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instances", type=int,
                        default=int(os.environ.get("HOTLINE_INSTANCES", "1")))
    args = parser.parse_args()
    if not 1 <= args.instances <= 9:
        raise SystemExit("--instances must be 1 to 9")
    host = os.environ.get("HOTLINE_HTTP_HOST", "127.0.0.1")
    port = int(os.environ.get("HOTLINE_HTTP_PORT", "8000"))
    asyncio.run(Supervisor(instances=args.instances, host=host, port=port).run())


if __name__ == "__main__":
    main()
