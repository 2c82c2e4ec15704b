"""Flood control: a shopper writing faster than a person can read gets one polite notice and
is not answered until calm again. Plain Python over Redis, shared by every process.

Key layout, under the shop's prefix:
- `flood:<user id>` (sorted set): the shopper's recent messages, scored by time; an album
  counts once (its media_group_id is the member);
- `flood_notice:<user id>` (string): set while an episode lasts, so the notice goes once.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Literal

from bot.storage.store import Store

Verdict = Literal["ok", "notice", "quiet"]


class FloodGuard:
    def __init__(self, store: Store, clock: Callable[[], datetime], *, limit: int,
                 seconds: float) -> None:
        self.store, self.clock = store, clock
        self.limit, self.seconds = limit, seconds

    async def check(self, user_id: int, item: str) -> Verdict:
        """Count one message (`item`: its id, or its album's id); "ok" while within
        `limit` messages in `seconds`, then "notice" once, then "quiet" until calm.

        Ignored messages count too: someone who keeps flooding stays ignored, and the
        episode ends once `seconds` pass without going over the limit.
        """
        now = self.clock().timestamp()
        key = self.store.key("flood", user_id)
        window = max(int(self.seconds) + 1, 1)
        async with self.store.redis.pipeline(transaction=True) as pipe:
            pipe.zadd(key, {item: now}, nx=True)
            pipe.zremrangebyscore(key, "-inf", now - self.seconds)
            pipe.zcard(key)
            pipe.expire(key, window)
            _, _, count, _ = await pipe.execute()
        if count <= self.limit:
            return "ok"
        notice = self.store.key("flood_notice", user_id)
        if await self.store.redis.set(notice, "1", nx=True, ex=window):
            return "notice"
        await self.store.redis.expire(notice, window)
        return "quiet"
