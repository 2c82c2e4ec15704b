"""Who holds a conversation, the bot or a person, and where its staff topic is, in Redis
(`Keys.handoff`, `Keys.topics`, `Keys.with_staff`, `Keys.mirror`); when a handoff counts
and how long a customer waited is bot/domain/takeover.py's."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from redis.asyncio.client import Pipeline

from bot.storage.store import Store, as_text
from bot.storage.transactions import optimistic

MIRROR_DAYS = 7


@dataclass(frozen=True)
class Handoff:
    customer: int
    topic: int | None
    card: int | None
    with_staff: bool
    reason: str | None
    since: datetime | None
    active_at: datetime | None
    assignee: int | None = None  # the staff member who has it (/take, /pass, first to answer)
    assigned_at: datetime | None = None
    detail: dict[str, Any] = field(default_factory=dict)  # the handoff's (an order, stars)
    card_of: datetime | None = None  # the handoff (its `since`) the card was posted for


class HandoffRecords:
    def __init__(self, store: Store) -> None:
        self.redis = store.redis
        self.keys = store.keys

    async def get(self, customer: int) -> Handoff:
        raw = await self.redis.hgetall(self.keys.handoff(customer))
        get = {(as_text(k) or ""): as_text(v) for k, v in raw.items()}
        return Handoff(
            customer=customer,
            topic=_int(get.get("topic")),
            card=_int(get.get("card")),
            with_staff=get.get("staff") == "1",
            reason=get.get("reason"),
            since=_time(get.get("since")),
            active_at=_time(get.get("active_at")),
            assignee=_int(get.get("assignee")),
            assigned_at=_time(get.get("assigned_at")),
            detail=json.loads(get.get("detail") or "{}"),
            card_of=_time(get.get("card_of")),
        )

    async def holds(self, customer: int) -> bool:
        return await self.redis.hget(self.keys.handoff(customer), "staff") in (b"1", "1")

    async def hold(self, customer: int, now: datetime) -> bool:
        """A person holds the conversation from now on; True if one held it already."""
        key = self.keys.handoff(customer)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hget(key, "staff")
            pipe.hset(key, mapping={"staff": "1", "active_at": now.timestamp()})
            pipe.zadd(self.keys.with_staff(), {str(customer): now.timestamp()})
            was, *_ = await pipe.execute()
        return as_text(was) == "1"

    async def note_handoff(self, customer: int, reason: str, now: datetime,
                           replied: bool, detail: dict[str, Any] | None = None) -> None:
        await self.redis.hset(self.keys.handoff(customer), mapping={
            "reason": reason, "since": now.timestamp(), "replied": "1" if replied else "0",
            "detail": json.dumps(detail or {})})

    async def mark_replied(self, customer: int) -> tuple[bool, datetime | None]:
        """Staff answered: whether they had before since the handoff, and its time."""
        key = self.keys.handoff(customer)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hget(key, "replied")
            pipe.hget(key, "since")
            pipe.hset(key, "replied", "1")
            replied, since, _ = await pipe.execute()
        return as_text(replied) == "1", \
            datetime.fromtimestamp(float(since), tz=UTC) if since else None

    async def touch(self, customer: int, now: datetime) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self.keys.handoff(customer), "active_at", now.timestamp())
            pipe.zadd(self.keys.with_staff(), {str(customer): now.timestamp()}, xx=True)
            await pipe.execute()

    async def release(self, customer: int) -> bool:
        """The bot has the conversation again, no one is assigned; False if it already had."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hget(self.keys.handoff(customer), "staff")
            pipe.hset(self.keys.handoff(customer), mapping={"staff": "0", "assignee": "",
                                                            "assigned_at": ""})
            pipe.zrem(self.keys.with_staff(), str(customer))
            pipe.delete(self.keys.staff_noted(customer))
            was, *_ = await pipe.execute()
        return as_text(was) == "1"

    async def assign(self, customer: int, person: int, now: datetime,
                     only_if_free: bool = False) -> tuple[bool, int | None]:
        """`person` has the conversation from now on: whether it changed hands, and who had
        it before. With `only_if_free`, only when no one had it (the first to answer)."""
        key = self.keys.handoff(customer)

        async def swap(pipe: Pipeline) -> tuple[bool, int | None]:
            before = _int(as_text(await pipe.hget(key, "assignee")))
            if before == person or (only_if_free and before is not None):
                await pipe.unwatch()
                return False, before
            pipe.multi()
            pipe.hset(key, mapping={"assignee": person, "assigned_at": now.timestamp()})
            pipe.delete(self.keys.staff_noted(customer))
            await pipe.execute()
            return True, before

        return await optimistic(self.redis, [key], swap)

    async def first_note(self, customer: int, person: int, assignee: int) -> bool:
        """True the first time `person` is told their words stay notes while `assignee` has
        the conversation."""
        key = self.keys.staff_noted(customer)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.sadd(key, f"{person}:{assignee}")
            pipe.expire(key, int(timedelta(days=MIRROR_DAYS).total_seconds()))
            added, _ = await pipe.execute()
        return bool(added)

    async def quiet_since(self, cutoff: datetime) -> list[int]:
        """Customers held by a person with no message either way since `cutoff`."""
        raw = await self.redis.zrangebyscore(self.keys.with_staff(), "-inf",
                                             cutoff.timestamp())
        return [int(item) for item in raw]

    # -- topics ------------------------------------------------------------------------
    async def set_topic(self, customer: int, topic: int, card: int | None,
                        card_of: datetime | None = None) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self.keys.handoff(customer), mapping={
                "topic": topic, "card": card or "", "card_of": _stamp(card_of)})
            pipe.hset(self.keys.topics(), str(topic), customer)
            await pipe.execute()

    async def set_card(self, customer: int, card: int, card_of: datetime | None = None) -> None:
        await self.redis.hset(self.keys.handoff(customer), mapping={
            "card": card, "card_of": _stamp(card_of)})

    async def forget_topic(self, customer: int, topic: int) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hdel(self.keys.handoff(customer), "topic", "card")
            pipe.hdel(self.keys.topics(), str(topic))
            await pipe.execute()

    async def customer_of(self, topic: int) -> int | None:
        return _int(as_text(await self.redis.hget(self.keys.topics(), str(topic))))

    # -- message copies, for edits --------------------------------------------------------
    async def mirror(self, customer: int, direction: str, pairs: list[tuple[int, int]]) -> None:
        if not pairs:
            return
        key = self.keys.mirror(customer)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping={f"{direction}:{source}": copy for source, copy in pairs})
            pipe.expire(key, int(timedelta(days=MIRROR_DAYS).total_seconds()))
            await pipe.execute()

    async def copy_of(self, customer: int, direction: str, source: int) -> int | None:
        raw = await self.redis.hget(self.keys.mirror(customer), f"{direction}:{source}")
        return _int(as_text(raw))


def _int(raw: str | None) -> int | None:
    return int(raw) if raw else None


def _stamp(moment: datetime | None) -> float | str:
    return moment.timestamp() if moment is not None else ""


def _time(raw: str | None) -> datetime | None:
    return datetime.fromtimestamp(float(raw), tz=UTC) if raw else None
