"""The staff group's outbox: Telegram allows a group about 20 messages a minute.

Every call that posts into the staff chat (new topics, cards, copies, edits, notices) takes
a slot first. Slots are reserved in Redis, so every process of the bot shares one budget:
the sorted set `<key>` holds the times of the slots given out in the last minute and the
ones booked ahead. A call never fails for want of a slot and is never dropped: it waits
for the first free one, in the order it asked. When the wait grows long, staff are told
once, ahead of the late message, so they know why the topic lags.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TypeVar

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from bot.storage.transactions import optimistic

log = logging.getLogger(__name__)

T = TypeVar("T")
Clock = Callable[[], datetime]
Sleep = Callable[[float], Awaitable[None]]
WINDOW = 60.0  # seconds: the limit is per minute


class Outbox:
    def __init__(
        self,
        redis: Redis,
        key: str,
        clock: Clock,
        *,
        per_minute: int = 20,
        late_after: timedelta = timedelta(seconds=30),
        sleep: Sleep = asyncio.sleep,
        on_late: Callable[[float], Awaitable[None]] | None = None,
        late_key: str | None = None,
    ) -> None:
        self.redis = redis
        self.key = key
        self.late_key = late_key or f"{key}:late"  # Keys.staff_outbox_late for the staff chat
        self.clock = clock
        self.per_minute = per_minute
        self.late_after = late_after.total_seconds()
        self.sleep = sleep
        self.on_late = on_late  # posts the "running late" notice; it goes through send() too
        self._order = asyncio.Lock()  # asyncio locks are fair: first to ask, first served
        self._notices: set[asyncio.Task[None]] = set()  # kept referenced until they ran

    async def send(self, call: Callable[[], Awaitable[T]], cost: int = 1) -> T:
        """Run `call` once its `cost` slots are free (an album of five costs five)."""
        cost = max(1, min(cost, self.per_minute))
        async with self._order:
            at = await self._reserve(cost)
            wait = at - self.clock().timestamp()
            if wait > self.late_after and self.on_late is not None \
                    and await self._first_late(at):
                # The notice takes the slot just booked; the message takes the next one.
                notice = asyncio.create_task(self._late_notice(at, wait))
                self._notices.add(notice)
                notice.add_done_callback(self._notices.discard)
                notice.add_done_callback(_log_failure)
                at = await self._reserve(cost)
        await self._until(at)
        return await call()

    async def _late_notice(self, at: float, wait: float) -> None:
        assert self.on_late is not None
        await self._until(at)
        await self.on_late(wait)

    async def _until(self, at: float) -> None:
        wait = at - self.clock().timestamp()
        if wait > 0:
            await self.sleep(wait)

    async def _reserve(self, cost: int) -> float:
        """Book `cost` slots at the earliest time the last minute allows; return that time."""
        async def book(pipe: Pipeline) -> float:
            now = self.clock().timestamp()
            booked = [score for _, score in await pipe.zrange(self.key, 0, -1, withscores=True)
                      if score > now - WINDOW]
            at = max([now, *booked[-1:]])  # never ahead of someone who asked first
            if len(booked) + cost > self.per_minute:
                # The slot frees a minute after the one `cost` places from the end.
                at = max(at, booked[len(booked) + cost - self.per_minute - 1] + WINDOW)
            pipe.multi()
            pipe.zremrangebyscore(self.key, "-inf", now - WINDOW)
            pipe.zadd(self.key, {f"{at}:{uuid.uuid4().hex}": at for _ in range(cost)})
            pipe.expire(self.key, int(at - now + WINDOW) + 1)
            await pipe.execute()
            return at

        return await optimistic(self.redis, [self.key], book)

    async def _first_late(self, at: float) -> bool:
        """True once per backlog. The flag holds the time the backlog drains (by the clock
        the outbox is given, so it can be a test's) and grows with each late message."""
        flag, now = self.late_key, self.clock().timestamp()
        until = await self.redis.get(flag)
        await self.redis.set(flag, max(at, float(until or 0)), ex=int(at - now + WINDOW))
        return until is None or float(until) < now

def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("the staff chat's late notice failed", exc_info=task.exception())
