"""Promotions to customer segments, at Telegram's limit, resumable, never twice.

Who gets a promotion, and when a broadcast starts, stops and ends; the records, the queue
of recipients and the shared rate are kept by bot/storage/broadcasts.py.

A recipient is marked `sending` *just before* the message goes out, so a sender that dies
mid-send leaves them `sending`, and nobody sends to them again: a promotion whose outcome is
unknown is not repeated. One who was only claimed (still `pending`) goes back to the queue.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bot.core.languages import Lang, from_telegram, parse
from bot.core.shop import Shop
from bot.domain.orders import OrderBook
from bot.storage.broadcasts import (
    SENDER_TTL,
    Broadcast,
    BroadcastRecords,
    Outcome,
    SendRate,
    Start,
)
from bot.storage.store import Store

log = logging.getLogger(__name__)

Clock = Callable[[], datetime]
Sleep = Callable[[float], Awaitable[None]]
STATES = ("pending", "sending", "sent", "failed", "blocked", "left", "skipped")


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
        self.records = BroadcastRecords(store, clock)
        self.orders = orders
        self._shop = shop
        self.clock = clock

    # -- who gets it ----------------------------------------------------------------------
    async def recipients(self, segment: SegmentIn) -> list[int]:
        """Customers in the segment who are subscribed and reachable."""
        now = self.clock().timestamp()
        low = now - segment.active_days * 86400 if segment.active_days else "-inf"
        shop = self._shop()
        wanted_products = set(segment.products) | {
            p.id for p in shop.products if p.category in set(segment.categories)}
        chosen = []
        async for batch in self.records.candidates(low):
            for cid, (blocked, promotions, language, telegram), tags in batch:
                if blocked == "1" or promotions == "0":
                    continue
                lang = self._lang(language, telegram)
                if segment.languages and lang not in segment.languages:
                    continue
                if segment.tags and not set(segment.tags) <= tags:
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
        number = await self.records.next_number()
        at = request.at.timestamp() if request.at else now.timestamp()
        broadcast = Broadcast(
            id=f"B{number}",
            variants={lang: v.model_dump() for lang, v in request.variants.items()},
            default=str(request.default), segment=request.segment.model_dump(),
            status="scheduled", created_at=now.timestamp(), at=max(at, now.timestamp()),
            owner_chat=owner_chat)
        recipients = await self.recipients(request.segment)
        broadcast.total = len(recipients)
        await self.records.create(broadcast, recipients)
        return broadcast

    async def get(self, bid: str) -> Broadcast | None:
        return await self.records.get(bid)

    async def update(self, bid: str, change: Callable[[Broadcast], bool]) -> Broadcast | None:
        """Change a broadcast atomically; `change` returns False to leave it as it is."""
        return await self.records.update(bid, change)

    async def cancel(self, bid: str) -> Broadcast | None:
        def stop(b: Broadcast) -> bool:
            if b.status in ("cancelled", "done"):
                return False
            b.status, b.finished_at = "cancelled", self.clock().timestamp()
            return True

        return await self.update(bid, stop)

    async def unfinished(self, due_before: float) -> list[Broadcast]:
        """Broadcasts scheduled or running whose time came before `due_before`."""
        return [b for b in await self.records.all() if b.status in ("scheduled", "running")
                and b.at < due_before]

    async def recent(self, count: int = 10) -> list[Broadcast]:
        return await self.records.recent(count)

    async def progress(self, bid: str) -> Progress | None:
        broadcast = await self.get(bid)
        if broadcast is None:
            return None
        return Progress(broadcast, await self.records.counts(bid))

    async def may_report(self, bid: str, every: int) -> bool:
        """The owner's progress message may be edited: at most once in `every` seconds."""
        return await self.records.may_report(bid, every)

    async def next_generation(self, bid: str) -> int:
        """Its lanes all died: the generation of the lanes that start it again."""
        return await self.records.next_generation(bid)

    # -- sending ----------------------------------------------------------------------------
    async def claim(self, bid: str, sender: str, count: int) -> list[int]:
        """Up to `count` recipients for `sender`, in one round trip; still `pending` until
        each is begun, so a sender that dies first loses none of them."""
        return await self.records.claim(bid, sender, count)

    async def record(self, bid: str, sender: str, outcomes: Sequence[Outcome] = (),
                     begin: Sequence[int] = ()) -> list[Start]:
        """The outcomes of sends that are over, and the recipients about to be sent to
        marked `sending` (or skipped), in one round trip."""
        return await self.records.record(bid, sender, outcomes, begin)

    @staticmethod
    def language(start: Start, broadcast: Broadcast) -> Lang:
        """The language a recipient gets the broadcast in: theirs as the bot knows it, the
        broadcast's default for one it has no profile of."""
        if not start.known:
            return parse(broadcast.default) or from_telegram(broadcast.default)
        return parse(start.language) or from_telegram(start.telegram_language)

    async def take(self, bid: str, sender: str) -> int | None:
        """The next recipient for `sender`, marked `sending`; None when none is left."""
        return await self.records.take(bid, sender)

    async def settle(self, bid: str, sender: str, recipient: int, outcome: str,
                     error: str | None = None) -> None:
        """The send is over: its outcome recorded, the recipient released."""
        await self.records.settle(bid, sender, recipient, outcome, error)

    async def alive(self, bid: str, sender: str) -> None:
        await self.records.alive(bid, sender)

    async def rescue(self, bid: str) -> int:
        """Recipients claimed by senders that died, and not yet sent to: back to the queue."""
        return await self.records.rescue(bid)

    async def silent_holders_lapse(self, bid: str, sender: str,
                                   silent_for: float) -> float | None:
        """When the first heartbeat lapses among the senders other than `sender` that hold
        recipients and have not beaten for `silent_for` seconds (dead, most likely): their
        recipients can be rescued then. None when no such sender holds any."""
        now = self.clock().timestamp()
        lapses = [beat + SENDER_TTL for name, beat in (await self.records.holders(bid)).items()
                  if name != sender and now - beat > silent_for]
        return min(lapses, default=None)

    async def queued(self, bid: str) -> int:
        """Recipients waiting in the queue (one put back after a 429, say)."""
        return await self.records.queued(bid)

    async def finished(self, bid: str) -> Broadcast | None:
        """Mark it done once nothing is queued or being sent (once, whoever notices)."""
        if not await self.records.drained(bid):
            return None

        def finish(b: Broadcast) -> bool:
            if b.status != "running":
                return False
            b.status, b.finished_at = "done", self.clock().timestamp()
            return True

        return await self.update(bid, finish)


class RateLimit:
    """One sending rate for every process, kept in Redis: each send has its own instant,
    booked from the next free one, so senders never sleep-and-poll and never burst; a 429
    moves everyone's next instant past its `retry_after`."""

    def __init__(self, store: Store, clock: Clock, sleep: Sleep = asyncio.sleep) -> None:
        self.rate = SendRate(store)
        self.clock = clock
        self.sleep = sleep

    async def reserve(self, per_second: float, count: int,
                      until: float | None = None) -> list[float]:
        """Book the next `count` free instants (timestamps, 1/`per_second` apart) in one
        round trip; fewer, or none, when they would fall after `until`."""
        step = 1.0 / per_second
        first, booked = await self.rate.book(step, count, until, self.clock().timestamp())
        return [first + n * step for n in range(booked)]

    async def free_at(self) -> datetime:
        """The next instant a send may go, for every sender of the shop."""
        booked, paused = await self.rate.booked()
        at = max(self.clock().timestamp(), booked, paused)
        return datetime.fromtimestamp(at, tz=UTC)

    async def pause(self, seconds: float) -> None:
        await self.rate.pause(self.clock().timestamp() + seconds, seconds)


def new_sender() -> str:
    return uuid.uuid4().hex[:12]


def eta(remaining: int, per_second: float) -> timedelta:
    return timedelta(seconds=remaining / per_second if per_second else 0)

