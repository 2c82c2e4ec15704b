"""Flood counters in Redis, shared by every process (`Keys.flood`, `Keys.flood_notice`);
what counts as a flood is bot/domain/flood.py's."""

from __future__ import annotations

from typing import TYPE_CHECKING

from redis.asyncio.client import Pipeline

if TYPE_CHECKING:
    from bot.storage.store import Store


def count_in(pipe: Pipeline, key: str, item: str, now: float, seconds: float,
             window: int) -> None:
    """Count `item` in the flood window at `key`; the third reply is the count."""
    pipe.zadd(key, {item: now}, nx=True)
    pipe.zremrangebyscore(key, "-inf", now - seconds)
    pipe.zcard(key)
    pipe.expire(key, window)


class FloodCounters:
    def __init__(self, store: Store) -> None:
        self.redis = store.redis
        self.keys = store.keys

    async def count(self, user_id: int, item: str, now: float, seconds: float,
                    window: int) -> int:
        """Count `item` (once, however often it comes) at `now`; how many items the shopper
        sent in the last `seconds`. The count is forgotten after `window` seconds' quiet."""
        from bot.storage.chat import holding  # chat.py counts with count_in, below

        state = holding(user_id)
        if state is not None and state.flood is not None and state.flood[0] == item:
            return state.flood[1]  # counted as the update's state was loaded
        async with self.redis.pipeline(transaction=True) as pipe:
            count_in(pipe, self.keys.flood(user_id), item, now, seconds, window)
            _, _, count, _ = await pipe.execute()
        return int(count)

    async def first_notice(self, user_id: int, window: int) -> bool:
        """True the first time in an episode; the episode lasts until `window` seconds pass
        without a call."""
        notice = self.keys.flood_notice(user_id)
        if await self.redis.set(notice, "1", nx=True, ex=window):
            return True
        await self.redis.expire(notice, window)
        return False
