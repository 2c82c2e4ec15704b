"""Who holds a conversation, the bot or a person, and where its staff topic is.

Key layout, under the shop's prefix:
- `handoff:<customer>` (hash): `topic` (the staff forum thread), `card` (the card's message
  id in it), `staff` ("1" while a person holds the conversation), `reason`, `since`,
  `active_at` (last message either way);
- `topics` (hash): topic thread id -> customer id, to route staff replies;
- `with_staff` (sorted set): customers held by a person, scored by `active_at`, so idle
  ones are found without scanning;
- `mirror:<customer>` (hash): `in:<id>` the copy in the topic of the customer's message,
  `out:<id>` the copy in the private chat of a staff message; kept a week, for edits.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.storage.store import Store, as_text

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


class Takeovers:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.redis = store.redis

    def _key(self, customer: int) -> str:
        return self.store.key("handoff", customer)

    async def get(self, customer: int) -> Handoff:
        raw = await self.redis.hgetall(self._key(customer))
        get = {(as_text(k) or ""): as_text(v) for k, v in raw.items()}
        return Handoff(
            customer=customer,
            topic=_int(get.get("topic")),
            card=_int(get.get("card")),
            with_staff=get.get("staff") == "1",
            reason=get.get("reason"),
            since=_time(get.get("since")),
            active_at=_time(get.get("active_at")),
        )

    async def holds(self, customer: int) -> bool:
        """True while a person holds the conversation: the bot stays quiet."""
        return await self.redis.hget(self._key(customer), "staff") in (b"1", "1")

    async def take(self, customer: int, reason: str, now: datetime) -> bool:
        """A person holds the conversation from now on; False if one already did."""
        key = self._key(customer)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hget(key, "staff")
            pipe.hset(key, mapping={"staff": "1", "active_at": now.timestamp()})
            pipe.zadd(self.store.key("with_staff"), {str(customer): now.timestamp()})
            was, *_ = await pipe.execute()
        if as_text(was) == "1":
            return False
        await self.redis.hset(key, mapping={"reason": reason, "since": now.timestamp(),
                                            "replied": "1" if reason == "staff" else "0"})
        return True

    async def first_reply(self, customer: int, now: datetime) -> timedelta | None:
        """How long the customer waited for staff's first answer since the handoff (once)."""
        key = self._key(customer)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hget(key, "replied")
            pipe.hget(key, "since")
            pipe.hset(key, "replied", "1")
            replied, since, _ = await pipe.execute()
        if as_text(replied) == "1" or not since:
            return None
        return now - datetime.fromtimestamp(float(since), tz=UTC)

    async def touch(self, customer: int, now: datetime) -> None:
        """A message went either way: the idle clock starts again."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self._key(customer), "active_at", now.timestamp())
            pipe.zadd(self.store.key("with_staff"), {str(customer): now.timestamp()}, xx=True)
            await pipe.execute()

    async def release(self, customer: int) -> bool:
        """The bot has the conversation again; False if it already had."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hget(self._key(customer), "staff")
            pipe.hset(self._key(customer), "staff", "0")
            pipe.zrem(self.store.key("with_staff"), str(customer))
            was, *_ = await pipe.execute()
        return as_text(was) == "1"

    async def idle(self, now: datetime, after: timedelta) -> list[int]:
        """Customers held by a person with no message either way for `after`."""
        cutoff = (now - after).timestamp()
        raw = await self.redis.zrangebyscore(self.store.key("with_staff"), "-inf", cutoff)
        return [int(item) for item in raw]

    # -- topics ------------------------------------------------------------------------
    async def set_topic(self, customer: int, topic: int, card: int | None) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self._key(customer), mapping={"topic": topic, "card": card or ""})
            pipe.hset(self.store.key("topics"), str(topic), customer)
            await pipe.execute()

    async def set_card(self, customer: int, card: int) -> None:
        await self.redis.hset(self._key(customer), "card", card)

    async def forget_topic(self, customer: int, topic: int) -> None:
        """Staff deleted the topic: the next message opens a new one."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hdel(self._key(customer), "topic", "card")
            pipe.hdel(self.store.key("topics"), str(topic))
            await pipe.execute()

    async def customer_of(self, topic: int) -> int | None:
        return _int(as_text(await self.redis.hget(self.store.key("topics"), str(topic))))

    # -- message copies, for edits --------------------------------------------------------
    async def mirror(self, customer: int, direction: str, pairs: list[tuple[int, int]]) -> None:
        """Remember copies: `direction` "in" (customer -> topic) or "out" (topic -> customer)."""
        if not pairs:
            return
        key = self.store.key("mirror", customer)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping={f"{direction}:{source}": copy for source, copy in pairs})
            pipe.expire(key, int(timedelta(days=MIRROR_DAYS).total_seconds()))
            await pipe.execute()

    async def copy_of(self, customer: int, direction: str, source: int) -> int | None:
        raw = await self.redis.hget(self.store.key("mirror", customer), f"{direction}:{source}")
        return _int(as_text(raw))


def _int(raw: str | None) -> int | None:
    return int(raw) if raw else None


def _time(raw: str | None) -> datetime | None:
    return datetime.fromtimestamp(float(raw), tz=UTC) if raw else None
