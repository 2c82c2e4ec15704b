"""Promotions to customer segments, at Telegram's limit, resumable, never twice.

Key layout, under the shop's prefix:
- `bc:<id>` (string): the broadcast as JSON (texts per language, segment, status);
- `bc:<id>:queue` (list): recipients not yet taken by a sender;
- `bc:<id>:claimed:<sender>` (list): recipients a sender took and has not finished;
- `bc:<id>:state` (hash): recipient -> pending, sending, sent, failed, blocked, left or
  skipped (turned promotions off after the broadcast was made);
- `bc:<id>:counts` (hash) and `bc:<id>:errors` (hash: recipient -> what Telegram said);
- `bcs` (sorted set): broadcasts by creation; `bc_seq`: their numbers;
- `bc_rate` (string): the next free send time shared by every sender of the shop;
  `bc_pause` (string): no sender sends before this time (after a 429).

A recipient is marked `sending` *before* the message goes out, so a sender that dies
mid-send leaves them `sending`, and nobody sends to them again: a promotion whose outcome is
unknown is not repeated. One who was only taken (still `pending`) goes back to the queue.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator
from redis.asyncio.client import Pipeline

from bot.core.languages import Lang, from_telegram, parse
from bot.core.shop import Shop
from bot.domain.orders import OrderBook
from bot.storage.store import Store, as_text
from bot.storage.transactions import optimistic

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
Sleep = Callable[[float], Awaitable[None]]
STATES = ("pending", "sending", "sent", "failed", "blocked", "left", "skipped")
SENDER_TTL = 30  # seconds a sender's heartbeat lasts: a dead one's recipients are requeued


class VariantIn(BaseModel):
    """One language's promotion: Telegram HTML, an optional photo and one link button."""

    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=4096)
    photo: str | None = Field(None, min_length=1, max_length=500)
    button_text: str | None = Field(None, min_length=1, max_length=64)
    button_url: str | None = Field(None, pattern=r"^(https?|tg)://\S{1,500}$")

    @model_validator(mode="after")
    def _fits(self) -> VariantIn:
        if self.photo and len(self.text) > 1024:
            raise ValueError("text: a photo's caption holds 1024 characters at most")
        if bool(self.button_text) != bool(self.button_url):
            raise ValueError("button_url: a button needs both button_text and button_url")
        return self


class SegmentIn(BaseModel):
    """Who gets it; every condition given must hold. Empty: everyone subscribed."""

    model_config = ConfigDict(extra="forbid")

    languages: list[Lang] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list, max_length=20)
    products: list[str] = Field(default_factory=list, max_length=50)  # bought one of these
    categories: list[str] = Field(default_factory=list, max_length=20)  # or from these
    active_days: int | None = Field(None, ge=1, le=3650)  # wrote within the last N days


class BroadcastIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    variants: dict[Lang, VariantIn] = Field(min_length=1)
    default: Lang | None = None  # for customers whose language has no variant
    segment: SegmentIn = Field(default_factory=SegmentIn)
    at: datetime | None = None  # when to start (default: now)

    @model_validator(mode="after")
    def _default_exists(self) -> BroadcastIn:
        if self.default is None:
            self.default = next(iter(self.variants))
        if self.default not in self.variants:
            raise ValueError("default: there is no variant in that language")
        return self


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


@dataclass
class Progress:
    broadcast: Broadcast
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def done(self) -> int:
        return sum(self.counts.get(s, 0) for s in STATES[2:])

    @property
    def remaining(self) -> int:
        return max(0, self.broadcast.total - self.done)


class Broadcasts:
    def __init__(self, store: Store, orders: OrderBook, shop: Callable[[], Shop],
                 clock: Clock) -> None:
        self.store = store
        self.redis = store.redis
        self.orders = orders
        self._shop = shop
        self.clock = clock

    def _key(self, bid: str, *rest: str) -> str:
        return self.store.key("bc", bid, *rest)

    # -- who gets it ----------------------------------------------------------------------
    async def recipients(self, segment: SegmentIn) -> list[int]:
        """Customers in the segment who are subscribed and reachable."""
        now = self.clock().timestamp()
        low = now - segment.active_days * 86400 if segment.active_days else "-inf"
        ids = [int(i) for i in await self.redis.zrangebyscore(self.store.key("customers"),
                                                              low, "+inf")]
        shop = self._shop()
        wanted_products = set(segment.products) | {
            p.id for p in shop.products if p.category in set(segment.categories)}
        chosen = []
        for start in range(0, len(ids), 500):
            batch = ids[start:start + 500]
            async with self.redis.pipeline(transaction=False) as pipe:
                for cid in batch:
                    pipe.hmget(self.store.key("customer", cid),
                               ["blocked", "promotions", "language", "telegram_language"])
                    pipe.smembers(self.store.key("tags", cid))
                raw = await pipe.execute()
            for cid, flags, tags in zip(batch, raw[::2], raw[1::2], strict=True):
                blocked, promotions, language, telegram = (as_text(v) for v in flags)
                if blocked == "1" or promotions == "0":
                    continue
                lang = self._lang(language, telegram)
                if segment.languages and lang not in segment.languages:
                    continue
                if segment.tags and not set(segment.tags) <= {as_text(t) for t in tags}:
                    continue
                if wanted_products and not await self._bought(cid, wanted_products):
                    continue
                chosen.append(cid)
        return chosen

    @staticmethod
    def _lang(language: str | None, telegram: str | None) -> str:
        return parse(language) or from_telegram(telegram)

    async def _bought(self, customer: int, products: set[str]) -> bool:
        for order in await self.orders.of(customer):
            if "paid" in order.events and order.status != "cancelled" and any(
                    item.product in products for item in order.items):
                return True
        return False

    # -- creating -------------------------------------------------------------------------
    async def create(self, request: BroadcastIn, owner_chat: int | None = None) -> Broadcast:
        """Fix the recipients now, so the count the owner confirmed is the count sent."""
        now = self.clock()
        number = await self.redis.incr(self.store.key("bc_seq"))
        at = request.at.timestamp() if request.at else now.timestamp()
        broadcast = Broadcast(
            id=f"B{number}",
            variants={lang: v.model_dump() for lang, v in request.variants.items()},
            default=str(request.default), segment=request.segment.model_dump(),
            status="scheduled", created_at=now.timestamp(), at=max(at, now.timestamp()),
            owner_chat=owner_chat)
        recipients = await self.recipients(request.segment)
        broadcast.total = len(recipients)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(self._key(broadcast.id), broadcast.dump())
            for start in range(0, len(recipients), 1000):
                chunk = recipients[start:start + 1000]
                pipe.rpush(self._key(broadcast.id, "queue"), *chunk)
                pipe.hset(self._key(broadcast.id, "state"),
                          mapping=dict.fromkeys(map(str, chunk), "pending"))
            pipe.zadd(self.store.key("bcs"), {broadcast.id: now.timestamp()})
            await pipe.execute()
        return broadcast

    async def get(self, bid: str) -> Broadcast | None:
        raw = await self.redis.get(self._key(bid))
        return Broadcast.load(raw) if raw else None

    async def update(self, bid: str, change: Callable[[Broadcast], bool]) -> Broadcast | None:
        """Change a broadcast atomically; `change` returns False to leave it as it is."""
        key = self._key(bid)

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

    async def cancel(self, bid: str) -> Broadcast | None:
        def stop(b: Broadcast) -> bool:
            if b.status in ("cancelled", "done"):
                return False
            b.status, b.finished_at = "cancelled", self.clock().timestamp()
            return True

        return await self.update(bid, stop)

    async def unfinished(self, due_before: float) -> list[Broadcast]:
        """Broadcasts scheduled or running whose time came before `due_before`."""
        ids = await self.redis.zrange(self.store.key("bcs"), 0, -1)
        found = [await self.get(as_text(i) or "") for i in ids]
        return [b for b in found if b is not None and b.status in ("scheduled", "running")
                and b.at < due_before]

    async def recent(self, count: int = 10) -> list[Broadcast]:
        ids = await self.redis.zrevrange(self.store.key("bcs"), 0, count - 1)
        found = [await self.get(as_text(i) or "") for i in ids]
        return [b for b in found if b is not None]

    async def progress(self, bid: str) -> Progress | None:
        broadcast = await self.get(bid)
        if broadcast is None:
            return None
        raw = await self.redis.hgetall(self._key(bid, "counts"))
        return Progress(broadcast, {as_text(k) or "": int(v) for k, v in raw.items()})

    # -- sending ----------------------------------------------------------------------------
    async def take(self, bid: str, sender: str) -> int | None:
        """The next recipient for `sender`, marked `sending`; None when none is left."""
        queue, claimed = self._key(bid, "queue"), self._key(bid, "claimed", sender)
        while True:
            raw = await self.redis.lmove(queue, claimed, "LEFT", "RIGHT")
            if raw is None:
                return None
            rid = as_text(raw) or ""
            # Only a pending recipient is sent to; one already tried is dropped from the list.
            if await self.redis.hget(self._key(bid, "state"), rid) in (b"pending", "pending"):
                await self.redis.hset(self._key(bid, "state"), rid, "sending")
                return int(rid)
            await self.redis.lrem(claimed, 1, rid)

    async def settle(self, bid: str, sender: str, recipient: int, outcome: str,
                     error: str | None = None) -> None:
        """The send is over: its outcome recorded, the recipient released."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self._key(bid, "state"), str(recipient), outcome)
            pipe.hincrby(self._key(bid, "counts"), outcome, 1)
            if error:
                pipe.hset(self._key(bid, "errors"), str(recipient), error[:200])
            pipe.lrem(self._key(bid, "claimed", sender), 1, str(recipient))
            await pipe.execute()

    async def put_back(self, bid: str, sender: str, recipient: int) -> None:
        """Telegram refused for now (429): nothing went out, so the recipient goes back."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self._key(bid, "state"), str(recipient), "pending")
            pipe.lpush(self._key(bid, "queue"), str(recipient))
            pipe.lrem(self._key(bid, "claimed", sender), 1, str(recipient))
            await pipe.execute()

    async def alive(self, bid: str, sender: str) -> None:
        # The time on the bot's clock, which decides; Redis's expiry only clears it away.
        await self.redis.set(self._key(bid, "sender", sender), self.clock().timestamp(),
                             ex=SENDER_TTL * 10)

    async def _is_alive(self, bid: str, sender: str) -> bool:
        beat = await self.redis.get(self._key(bid, "sender", sender))
        return beat is not None and float(beat) > self.clock().timestamp() - SENDER_TTL

    async def rescue(self, bid: str) -> int:
        """Recipients taken by senders that died, and not yet sent to: back to the queue."""
        rescued = 0
        async for key in self.redis.scan_iter(match=self._key(bid, "claimed", "*")):
            name = (as_text(key) or "").rsplit(":", 1)[-1]
            if await self._is_alive(bid, name):
                continue
            for raw in await self.redis.lrange(key, 0, -1):
                rid = as_text(raw) or ""
                state = as_text(await self.redis.hget(self._key(bid, "state"), rid))
                if state == "pending":
                    await self.redis.rpush(self._key(bid, "queue"), rid)
                    rescued += 1
                elif state == "sending":  # died mid-send: the outcome is unknown, not retried
                    await self.settle(bid, name, int(rid), "failed", "outcome unknown")
            await self.redis.delete(key)
        return rescued

    async def finished(self, bid: str) -> Broadcast | None:
        """Mark it done once nothing is queued or being sent (once, whoever notices)."""
        if await self.redis.llen(self._key(bid, "queue")):
            return None
        async for _ in self.redis.scan_iter(match=self._key(bid, "claimed", "*")):
            return None

        def finish(b: Broadcast) -> bool:
            if b.status != "running":
                return False
            b.status, b.finished_at = "done", self.clock().timestamp()
            return True

        return await self.update(bid, finish)


class RateLimit:
    """One sending rate for every process, kept in Redis: each send books the next free
    instant (`bc_rate`), so senders never sleep-and-poll; a 429 moves everyone's next
    instant past its `retry_after` (`bc_pause`)."""

    def __init__(self, store: Store, clock: Clock, sleep: Sleep = asyncio.sleep) -> None:
        self.store = store
        self.redis = store.redis
        self.clock = clock
        self.sleep = sleep
        self.key = store.key("bc_rate")
        self.pause_key = store.key("bc_pause")

    async def wait(self, per_second: float, until: float | None = None) -> bool:
        """Book the next free instant and wait for it; False, booking nothing, when that
        instant is after `until` (a timestamp): the caller stops instead of overrunning."""
        step = 1.0 / per_second

        async def book(pipe: Pipeline) -> tuple[float, float]:
            now = self.clock().timestamp()
            booked = float(await pipe.get(self.key) or 0)
            paused = float(await pipe.get(self.pause_key) or 0)
            at = max(now, booked, paused)
            if until is not None and at > until:
                await pipe.unwatch()
                return at, now
            pipe.multi()
            pipe.set(self.key, at + step, ex=60)
            await pipe.execute()
            return at, now

        at, now = await optimistic(self.redis, [self.key, self.pause_key], book)
        if until is not None and at > until:
            return False
        if at > now:
            await self.sleep(at - now)
        return True

    async def free_at(self) -> datetime:
        """The next instant a send may go, for every sender of the shop."""
        booked, paused = await self.redis.mget(self.key, self.pause_key)
        at = max(self.clock().timestamp(), float(booked or 0), float(paused or 0))
        return datetime.fromtimestamp(at, tz=UTC)

    async def pause(self, seconds: float) -> None:
        until = self.clock().timestamp() + seconds
        current = float(await self.redis.get(self.pause_key) or 0)
        if until > current:
            await self.redis.set(self.pause_key, until, ex=int(seconds) + 60)


def new_sender() -> str:
    return uuid.uuid4().hex[:12]


def eta(remaining: int, per_second: float) -> timedelta:
    return timedelta(seconds=remaining / per_second if per_second else 0)

