"""Where handlers run: worker threads, never the event loop, in two bounded pools.

Reads (every public endpoint, admin GETs, authentication) and writes (admin changes)
have their own thread pools. A write on SQLite waits for the database's single write
lock; with one pool, twenty queued writers would hold twenty threads and the GIL
switches between them while readers wait. A small write pool keeps the queue of writers
on the event loop, where waiting costs nothing, and leaves the threads to the readers.
More threads than that buy nothing: Python code runs one thread at a time per process
(run more workers for more cores).
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
READ_THREADS = 8
WRITE_THREADS = 2


class Pools:
    """A read and a write thread pool (created on first use, in the worker process)."""

    def __init__(self, reads: int = READ_THREADS, writes: int = WRITE_THREADS) -> None:
        self.sizes = {"read": reads, "write": writes}
        self._pools: dict[str, ThreadPoolExecutor] = {}

    def _pool(self, kind: str) -> ThreadPoolExecutor:
        pool = self._pools.get(kind)
        if pool is None:
            pool = ThreadPoolExecutor(self.sizes[kind], thread_name_prefix=f"mapekit-{kind}")
            self._pools[kind] = pool
        return pool

    async def read(self, call: Callable[..., T], *args: object) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool("read"), functools.partial(call, *args))

    async def write(self, call: Callable[..., T], *args: object) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool("write"), functools.partial(call, *args))
