"""A TCP proxy between the service and Asterisk's ARI port (or Postgres) that a test can cut,
hang and restore: cut is a network that drops (existing connections are closed and new ones
refused), hung one that goes silent (connections stay open, but no byte passes either way, and
new ones are accepted and left waiting)."""

from __future__ import annotations

import asyncio
import contextlib


class CuttableProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.cut_off = False
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.port = 0

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.cut_off:
            writer.close()
            return
        await self._flowing.wait()
        if self.cut_off:
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self._writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.CancelledError):
                while data := await src.read(65536):
                    await self._flowing.wait()
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._writers -= {writer, up_writer}

    def cut(self) -> None:
        """Drop every open connection and refuse new ones until `restore`."""
        self.cut_off = True
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()

    def hang(self) -> None:
        """Let no byte through, in either direction, until `restore` (nothing is closed)."""
        self._flowing.clear()

    def restore(self) -> None:
        self.cut_off = False
        self._flowing.set()
        self._flowing = asyncio.Event()
        self._flowing.set()

    async def close(self) -> None:
        self.cut()
        self._flowing.set()  # what waited sees the cut
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
