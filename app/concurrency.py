"""Per-key ordering: items with the same key are handled one after another, in arrival order;
different keys run in parallel. One failing item is logged and never stops its key's worker.

This is how one call's events stay in order while calls run side by side.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

import structlog

log = structlog.get_logger(__name__)
T = TypeVar("T")


class KeyedDispatcher(Generic[T]):
    def __init__(self, handler: Callable[[Hashable, T], Awaitable[None]]) -> None:
        self._handler = handler
        self._queues: dict[Hashable, asyncio.Queue[T]] = {}
        self._workers: dict[Hashable, asyncio.Task[None]] = {}

    def submit(self, key: Hashable, item: T) -> None:
        queue = self._queues.get(key)
        if queue is None:
            queue = self._queues[key] = asyncio.Queue()
            self._workers[key] = asyncio.create_task(self._work(key, queue), name=f"key:{key}")
        queue.put_nowait(item)

    @property
    def active_keys(self) -> int:
        return len(self._queues)

    async def _work(self, key: Hashable, queue: asyncio.Queue[T]) -> None:
        try:
            while True:
                item = queue.get_nowait() if not queue.empty() else None
                if item is None:
                    break  # nothing left: the worker ends; the next item starts a new one
                try:
                    await self._handler(key, item)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("dispatch.handler_failed", key=str(key))
        finally:
            if self._queues.get(key) is queue:
                del self._queues[key]
                del self._workers[key]

    async def drain(self) -> None:
        """Wait until every queued item has been handled."""
        while self._workers:
            await asyncio.gather(*list(self._workers.values()), return_exceptions=True)

    async def close(self) -> None:
        for task in list(self._workers.values()):
            task.cancel()
        await asyncio.gather(*list(self._workers.values()), return_exceptions=True)
        self._queues.clear()
        self._workers.clear()
