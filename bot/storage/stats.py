"""The shop's daily counters in Redis (`Keys.stats`, `Keys.stats_replies`), in the shop's
days; what they mean and how they add up is bot/domain/stats.py's. And the questions "how
was the help?" asked at hand-backs (`Keys.help_rating`), each rated once, whose stars are
counted with the rest (bot/domain/aftersale.py: `HelpRatings`)."""

from __future__ import annotations

from datetime import date, timedelta

from redis.asyncio.client import Pipeline

from bot.storage.inbox import handling
from bot.storage.store import Store, as_text

KEEP = timedelta(days=400)


class StatsCounters:
    def __init__(self, store: Store) -> None:
        self.redis = store.redis
        self.keys = store.keys

    async def count(self, day: date, what: str, n: int = 1) -> None:
        """Counted in Redis at once; or, while an update from the inbox is in hand, with its
        next round trip (a send's record, its `done`), in the MULTI that carries its other
        writes: a new conversation's count then costs no round trip of its own, and is
        written with the update's progress, as its chat's state is."""
        key = self.keys.stats(day.isoformat())
        now = handling.get()
        if now is not None:
            held = next((p for p in now.pending if isinstance(p, HeldCounts)), None)
            if held is None:
                held = HeldCounts()
                now.pending.append(held)
            held.add(key, what, n)
            return
        async with self.redis.pipeline(transaction=True) as pipe:
            _count(pipe, key, what, n)
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


def _count(pipe: Pipeline, key: str, what: str, n: int) -> None:
    pipe.hincrby(key, what, n)
    pipe.expire(key, int(KEEP.total_seconds()))


class HeldCounts:
    """An update's counts not written yet (a bot.storage.inbox.Pending)."""

    def __init__(self) -> None:
        self.counts: dict[tuple[str, str], int] = {}
        self._written: dict[tuple[str, str], int] = {}

    def add(self, key: str, what: str, n: int) -> None:
        self.counts[key, what] = self.counts.get((key, what), 0) + n

    def write(self, pipe: Pipeline) -> bool:
        self._written = dict(self.counts)
        for (key, what), n in self._written.items():
            _count(pipe, key, what, n)
        return bool(self._written)

    def saved(self) -> None:
        # Only what went: a count made meanwhile (a task of the same update) waits its turn.
        for name, n in self._written.items():
            left = self.counts.pop(name) - n
            if left:
                self.counts[name] = left
        self._written = {}


# The ask's rating, once: 1 recorded, 0 rated before, -1 no such ask (never, or expired).
_RATE_ONCE = """
local was = redis.call('GET', KEYS[1])
if not was then return {-1, ''} end
local stars, by = string.match(was, '^(%d)(.*)$')
if stars ~= '0' then return {0, ''} end
redis.call('SET', KEYS[1], ARGV[1] .. by, 'KEEPTTL')
return {1, string.sub(by, 2)}
"""


class HelpRatingRecords:
    """A hand-back's question and its rating (`Keys.help_rating`)."""

    def __init__(self, store: Store) -> None:
        self.redis = store.redis
        self.keys = store.keys
        self._rate_once = store.redis.register_script(_RATE_ONCE)

    async def asked(self, ask: str, keep: timedelta, person: int | None = None) -> None:
        """`person`: the staff member whose help it is, whose figures its stars count in."""
        value = "0" if person is None else f"0:{person}"
        await self.redis.set(self.keys.help_rating(ask), value, ex=int(keep.total_seconds()),
                             nx=True)

    async def rate_once(self, ask: str, stars: int) -> tuple[bool | None, int | None]:
        """True: recorded; False: rated before (the first one stands); None: no such ask.
        With the staff member whose help it was, when recorded and known."""
        done, by = await self._rate_once(keys=[self.keys.help_rating(ask)], args=[stars])
        person = as_text(by)
        return (None if int(done) < 0 else bool(int(done))), int(person) if person else None
