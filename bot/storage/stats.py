"""The shop's daily counters in Redis (`Keys.stats`, `Keys.stats_replies`), in the shop's
days; what they mean and how they add up is bot/domain/stats.py's."""

from __future__ import annotations

from datetime import date, timedelta

from bot.storage.store import Store

KEEP = timedelta(days=400)


class StatsCounters:
    def __init__(self, store: Store) -> None:
        self.redis = store.redis
        self.keys = store.keys

    async def count(self, day: date, what: str, n: int = 1) -> None:
        key = self.keys.stats(day.isoformat())
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hincrby(key, what, n)
            pipe.expire(key, int(KEEP.total_seconds()))
            await pipe.execute()

    async def first_reply(self, day: date, seconds: float) -> None:
        key = self.keys.stats_replies(day.isoformat())
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.rpush(key, round(seconds, 1))
            pipe.expire(key, int(KEEP.total_seconds()))
            await pipe.execute()

    async def days(self, wanted: list[date]) -> list[tuple[dict[str, int], list[float]]]:
        """Each day's counters and first-reply times, in one round trip."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for day in wanted:
                pipe.hgetall(self.keys.stats(day.isoformat()))
                pipe.lrange(self.keys.stats_replies(day.isoformat()), 0, -1)
            raw = await pipe.execute()
        return [({(k.decode() if isinstance(k, bytes) else k): int(v)
                  for k, v in counters.items()}, [float(r) for r in replies])
                for counters, replies in zip(raw[::2], raw[1::2], strict=True)]
