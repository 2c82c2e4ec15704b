"""Outgoing calls: Telegram's limits kept across processes, and failures retried within
bounds. Plain Python over Redis, used by a session middleware (bot/app.py).

Limits (../shared/TELEGRAM.md): about 1 message a second to one chat (short bursts are
tolerated), 20 a minute to one group, about 30 a second in all. Each is a GCRA ledger in
Redis (`pace:<scope>`: the theoretical arrival time of the next message): a send books
its instant in every ledger it falls under and sleeps until the latest. Nobody polls.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import RedisError

from bot.transactions import optimistic

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limit:
    interval: float  # seconds between messages, on average
    burst: int  # messages that may go at once before the interval applies


PER_CHAT = Limit(1.0, 3)  # a reply of three messages goes at once, then one a second
PER_GROUP = Limit(3.0, 1)  # 20 in any minute, evenly
MAX_WAIT = 60.0  # a send that would wait longer goes now, and Telegram's 429 decides
RETRIES = 3  # a failed call is tried at most this many more times
MAX_RETRY_AFTER = 30.0  # a 429 asking for longer is not waited out inside one call
BACKOFF = (0.5, 1.0, 2.0)  # after a 5xx or a network failure
# Set by code that handles 429 itself (the broadcast sender pauses every sender at once).
own_retries: ContextVar[bool] = ContextVar("own_retries", default=False)


class Pacer:
    def __init__(self, redis: Redis, prefix: str, *, rate: float,
                 clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.redis, self.prefix = redis, prefix
        self.overall = Limit(1.0 / rate, max(int(rate), 1))
        self.clock, self.sleep = clock, sleep

    async def book(self, scope: str, limit: Limit, count: int = 1) -> float:
        """Book `count` messages in the ledger of `scope`; seconds to wait before sending."""
        key = f"{self.prefix}:pace:{scope}"

        async def reserve(pipe: Pipeline) -> float:
            now = self.clock()
            raw = await pipe.get(key)
            tat = max(float(raw) if raw else now, now)
            # GCRA: a message may go once now >= tat - (burst - 1) * interval, and each
            # one moves tat on by the interval.
            start = max(now, tat - (limit.burst - 1) * limit.interval)
            wait = start - now
            if wait > MAX_WAIT:
                await pipe.unwatch()
                return 0.0
            new_tat = tat + count * limit.interval
            pipe.multi()
            pipe.set(key, repr(new_tat), px=max(int((new_tat - now) * 1000) + 1000, 1))
            await pipe.execute()
            return wait

        return await optimistic(self.redis, [key], reserve)

    async def before_send(self, chat_id: int | str | None, count: int = 1) -> float:
        """Wait for the chat's and the shop's ledgers; returns the seconds waited.

        Without Redis the message goes unpaced: an apology during an outage matters more
        than the pace, and Telegram's 429 still guards the limits."""
        try:
            waits = [await self.book("all", self.overall, count)]
            if isinstance(chat_id, int):
                limit = PER_CHAT if chat_id > 0 else PER_GROUP
                waits.append(await self.book(f"chat:{chat_id}", limit, count))
        except (RedisError, OSError):
            log.debug("sending unpaced: Redis does not answer", exc_info=True)
            return 0.0
        wait = max(waits)
        if wait > 0:
            await self.sleep(wait)
        return wait
