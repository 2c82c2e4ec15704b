"""Broadcasts in Redis: the record, its recipients' queue and states, the senders' claims and
heartbeats (`Keys.broadcast*`), and the sending rate every sender of the shop shares
(`Keys.broadcast_rate`, `Keys.broadcast_pause`). Who gets a broadcast, and when it starts,
ends or stops, is bot/domain/broadcasts.py's.

A recipient is marked `sending` *before* the message goes out, so a sender that dies
mid-send leaves them `sending`, and nobody sends to them again: a promotion whose outcome is
unknown is not repeated. One who was only taken (still `pending`) goes back to the queue.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from redis.asyncio.client import Pipeline

from bot.storage.store import Store, as_text
from bot.storage.transactions import optimistic

Clock = Callable[[], datetime]
SENDER_TTL = 30  # seconds a sender's heartbeat lasts: a dead one's recipients are requeued
# A customer as a broadcast's segment reads them: blocked, promotions, language and
# Telegram's language (the profile's fields), and their tags.
Candidate = tuple[int, tuple[str | None, str | None, str | None, str | None], set[str | None]]


@dataclass
class Broadcast:
    id: str
    variants: dict[str, dict[str, Any]]
    default: str
    segment: dict[str, Any]
    status: str  # scheduled, running, cancelled, done
    created_at: float
    at: float
    total: int = 0
    owner_chat: int | None = None
    status_message: int | None = None  # the owner's progress message, edited as it goes
    finished_at: float | None = None

    def variant(self, lang: str) -> dict[str, Any]:
        return self.variants.get(lang) or self.variants[self.default]

    def dump(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def load(cls, raw: str | bytes) -> Broadcast:
        return cls(**json.loads(raw))


class BroadcastRecords:
    def __init__(self, store: Store, clock: Clock) -> None:
        self.redis = store.redis
        self.keys = store.keys
        self.clock = clock

    # -- who may get it -------------------------------------------------------------------
    async def candidates(self, active_since: float | str) -> AsyncIterator[list[Candidate]]:
        """Customers heard from since `active_since` ("-inf": ever), 500 at a time, each
        with what a segment reads of them."""
        ids = [int(i) for i in await self.redis.zrangebyscore(self.keys.customers(),
                                                              active_since, "+inf")]
        for start in range(0, len(ids), 500):
            batch = ids[start:start + 500]
            async with self.redis.pipeline(transaction=False) as pipe:
                for cid in batch:
                    pipe.hmget(self.keys.customer(cid),
                               ["blocked", "promotions", "language", "telegram_language"])
                    pipe.smembers(self.keys.tags(cid))
                raw = await pipe.execute()
            found: list[Candidate] = []
            for cid, flags, tags in zip(batch, raw[::2], raw[1::2], strict=True):
                blocked, promotions, language, telegram = (as_text(v) for v in flags)
                found.append((cid, (blocked, promotions, language, telegram),
                              {as_text(t) for t in tags}))
            yield found

    # -- the record -------------------------------------------------------------------------
    async def next_number(self) -> int:
        return int(await self.redis.incr(self.keys.broadcast_seq()))

    async def create(self, broadcast: Broadcast, recipients: list[int]) -> None:
        """The broadcast and its recipients, all `pending`, in one MULTI."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(self.keys.broadcast(broadcast.id), broadcast.dump())
            for start in range(0, len(recipients), 1000):
                chunk = recipients[start:start + 1000]
                pipe.rpush(self.keys.broadcast_queue(broadcast.id), *chunk)
                pipe.hset(self.keys.broadcast_state(broadcast.id),
                          mapping=dict.fromkeys(map(str, chunk), "pending"))
            pipe.zadd(self.keys.broadcasts(), {broadcast.id: broadcast.created_at})
            await pipe.execute()

    async def get(self, bid: str) -> Broadcast | None:
        raw = await self.redis.get(self.keys.broadcast(bid))
        return Broadcast.load(raw) if raw else None

    async def update(self, bid: str, change: Callable[[Broadcast], bool]) -> Broadcast | None:
        """Change a broadcast atomically; `change` returns False to leave it as it is."""
        key = self.keys.broadcast(bid)

        async def apply(pipe: Pipeline) -> Broadcast | None:
            raw = await pipe.get(key)
            broadcast = Broadcast.load(raw) if raw else None
            if broadcast is None or not change(broadcast):
                await pipe.unwatch()
                return None
            pipe.multi()
            pipe.set(key, broadcast.dump())
            await pipe.execute()
            return broadcast

        return await optimistic(self.redis, [key], apply)

    async def all(self) -> list[Broadcast]:
        """Every broadcast, oldest first."""
        ids = await self.redis.zrange(self.keys.broadcasts(), 0, -1)
        found = [await self.get(as_text(i) or "") for i in ids]
        return [b for b in found if b is not None]

    async def recent(self, count: int) -> list[Broadcast]:
        ids = await self.redis.zrevrange(self.keys.broadcasts(), 0, count - 1)
        found = [await self.get(as_text(i) or "") for i in ids]
        return [b for b in found if b is not None]

    async def counts(self, bid: str) -> dict[str, int]:
        raw = await self.redis.hgetall(self.keys.broadcast_counts(bid))
        return {as_text(k) or "": int(v) for k, v in raw.items()}

    async def may_report(self, bid: str, every: int) -> bool:
        """True at most once in `every` seconds: the owner's progress message may be edited."""
        return bool(await self.redis.set(self.keys.broadcast_edited(bid), "1", nx=True,
                                         ex=every))

    async def next_generation(self, bid: str) -> int:
        """The broadcast starts again on new lanes: their generation."""
        return int(await self.redis.incr(self.keys.broadcast_generation(bid)))

    # -- sending ----------------------------------------------------------------------------
    async def take(self, bid: str, sender: str) -> int | None:
        """The next recipient for `sender`, marked `sending`; None when none is left."""
        queue, claimed = self.keys.broadcast_queue(bid), self.keys.broadcast_claimed(bid, sender)
        while True:
            raw = await self.redis.lmove(queue, claimed, "LEFT", "RIGHT")
            if raw is None:
                return None
            rid = as_text(raw) or ""
            # Only a pending recipient is sent to; one already tried is dropped from the list.
            state = self.keys.broadcast_state(bid)
            if await self.redis.hget(state, rid) in (b"pending", "pending"):
                await self.redis.hset(state, rid, "sending")
                return int(rid)
            await self.redis.lrem(claimed, 1, rid)

    async def settle(self, bid: str, sender: str, recipient: int, outcome: str,
                     error: str | None = None) -> None:
        """The send is over: its outcome recorded, the recipient released."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self.keys.broadcast_state(bid), str(recipient), outcome)
            pipe.hincrby(self.keys.broadcast_counts(bid), outcome, 1)
            if error:
                pipe.hset(self.keys.broadcast_errors(bid), str(recipient), error[:200])
            pipe.lrem(self.keys.broadcast_claimed(bid, sender), 1, str(recipient))
            await pipe.execute()

    async def put_back(self, bid: str, sender: str, recipient: int) -> None:
        """Nothing went out: the recipient goes back to the head of the queue."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self.keys.broadcast_state(bid), str(recipient), "pending")
            pipe.lpush(self.keys.broadcast_queue(bid), str(recipient))
            pipe.lrem(self.keys.broadcast_claimed(bid, sender), 1, str(recipient))
            await pipe.execute()

    async def alive(self, bid: str, sender: str) -> None:
        # The time on the bot's clock, which decides; Redis's expiry only clears it away.
        await self.redis.set(self.keys.broadcast_sender(bid, sender), self.clock().timestamp(),
                             ex=SENDER_TTL * 10)

    async def _is_alive(self, bid: str, sender: str) -> bool:
        beat = await self.redis.get(self.keys.broadcast_sender(bid, sender))
        return beat is not None and float(beat) > self.clock().timestamp() - SENDER_TTL

    async def rescue(self, bid: str) -> int:
        """Recipients taken by senders that died, and not yet sent to: back to the queue."""
        rescued = 0
        async for key in self.redis.scan_iter(match=self.keys.broadcast_claimed(bid, "*")):
            name = (as_text(key) or "").rsplit(":", 1)[-1]
            if await self._is_alive(bid, name):
                continue
            for raw in await self.redis.lrange(key, 0, -1):
                rid = as_text(raw) or ""
                state = as_text(await self.redis.hget(self.keys.broadcast_state(bid), rid))
                if state == "pending":
                    await self.redis.rpush(self.keys.broadcast_queue(bid), rid)
                    rescued += 1
                elif state == "sending":  # died mid-send: the outcome is unknown, not retried
                    await self.settle(bid, name, int(rid), "failed", "outcome unknown")
            await self.redis.delete(key)
        return rescued

    async def drained(self, bid: str) -> bool:
        """Nothing is queued, and no sender holds a recipient."""
        if await self.redis.llen(self.keys.broadcast_queue(bid)):
            return False
        async for _ in self.redis.scan_iter(match=self.keys.broadcast_claimed(bid, "*")):
            return False
        return True


class SendRate:
    """The next free send instant of every sender of the shop (`Keys.broadcast_rate`), and
    the pause after a 429 (`Keys.broadcast_pause`)."""

    def __init__(self, store: Store) -> None:
        self.redis = store.redis
        self.key = store.keys.broadcast_rate()
        self.pause_key = store.keys.broadcast_pause()

    async def book(self, step: float, until: float | None,
                   now: Callable[[], float]) -> tuple[float, float]:
        """Book the next free instant, `step` after the one before (none after `until`):
        the instant, and `now()` as of the booking."""
        async def book(pipe: Pipeline) -> tuple[float, float]:
            at_now = now()
            booked = float(await pipe.get(self.key) or 0)
            paused = float(await pipe.get(self.pause_key) or 0)
            at = max(at_now, booked, paused)
            if until is not None and at > until:
                await pipe.unwatch()
                return at, at_now
            pipe.multi()
            pipe.set(self.key, at + step, ex=60)
            await pipe.execute()
            return at, at_now

        return await optimistic(self.redis, [self.key, self.pause_key], book)

    async def booked(self) -> tuple[float, float]:
        """The next booked instant, and the end of the pause (0 for none)."""
        booked, paused = await self.redis.mget(self.key, self.pause_key)
        return float(booked or 0), float(paused or 0)

    async def pause(self, until: float, seconds: float) -> None:
        """No sender sends before `until` (`seconds` from now); a longer pause stands."""
        current = float(await self.redis.get(self.pause_key) or 0)
        if until > current:
            await self.redis.set(self.pause_key, until, ex=int(seconds) + 60)
