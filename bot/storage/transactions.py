"""Optimistic Redis transactions: WATCH, read, then MULTI/EXEC, again on a conflict.

Used wherever several processes change the same keys (gifts, orders, broadcasts, rates).
WATCH/MULTI rather than Lua, so the in-process Redis runs the same code.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import WatchError

T = TypeVar("T")


async def optimistic(redis: Redis, keys: list[str],
                     body: Callable[[Pipeline], Awaitable[T]]) -> T:
    """Run `body` until it commits without a conflict on `keys`.

    `body` reads through the pipeline (immediate while watching), then either returns
    early (after `await pipe.unwatch()`), or calls `pipe.multi()`, queues its writes,
    `await pipe.execute()` and returns its result.
    """
    async with redis.pipeline(transaction=True) as pipe:
        while True:
            try:
                await pipe.watch(*keys)
                return await body(pipe)
            except WatchError:
                continue  # another client changed a watched key: read again
