"""Customers in Redis: who each one is, whether they can be reached and want promotions,
their tags and the gifts granted to them (`Keys.customer`, `Keys.customers`, `Keys.tags`,
`Keys.gift_stock`, `Keys.gifts_given`). Part of `Store` (bot/storage/store.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from bot.core.languages import Lang, from_telegram, parse
from bot.storage.codec import as_text, from_stamp, to_stamp
from bot.storage.keys import Keys
from bot.storage.transactions import optimistic


@dataclass
class Customer:
    id: int
    first_name: str
    last_name: str | None
    username: str | None
    telegram_language: str | None
    language: Lang | None  # chosen with /language; wins over Telegram's
    first_seen: datetime | None
    last_seen: datetime | None
    visits: int

    @property
    def lang(self) -> Lang:
        return self.language or from_telegram(self.telegram_language)


def parse_customer(user_id: int, raw: dict) -> Customer:
    """A customer's hash as Redis returns it."""
    get = {(as_text(k) or ""): as_text(v) for k, v in raw.items()}
    return Customer(
        id=user_id,
        first_name=get.get("first_name") or "",
        last_name=get.get("last_name"),
        username=get.get("username"),
        telegram_language=get.get("telegram_language"),
        language=parse(get.get("language")),
        first_seen=from_stamp(get.get("first_seen")),
        last_seen=from_stamp(get.get("last_seen")),
        visits=int(get.get("visits") or 0),
    )


class CustomerRecords:
    redis: Redis
    keys: Keys

    async def customer(self, user_id: int) -> Customer | None:
        raw = await self.redis.hgetall(self.keys.customer(user_id))
        return parse_customer(user_id, raw) if raw else None

    async def identify(
        self,
        user_id: int,
        *,
        first_name: str,
        last_name: str | None,
        username: str | None,
        telegram_language: str | None,
        now: datetime,
    ) -> Customer:
        """Create or refresh who the customer is (names change; the first sighting stays)."""
        key = self.keys.customer(user_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping={
                "id": user_id,
                "first_name": first_name,
                "last_name": last_name or "",
                "username": username or "",
                "telegram_language": telegram_language or "",
            })
            pipe.hsetnx(key, "first_seen", to_stamp(now))
            pipe.zadd(self.keys.customers(), {str(user_id): now.timestamp()})
            pipe.hsetnx(key, "visits", 0)
            pipe.hgetall(key)
            *_, raw = await pipe.execute()
        return parse_customer(user_id, raw)

    async def set_language(self, user_id: int, lang: Lang) -> None:
        await self.redis.hset(self.keys.customer(user_id), "language", lang)

    async def seen(self, user_id: int, now: datetime) -> None:
        """The customer wrote: `customers` (sorted by when they were last seen) finds them
        for broadcasts without scanning keys."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self.keys.customer(user_id), "last_seen", to_stamp(now))
            pipe.zadd(self.keys.customers(), {str(user_id): now.timestamp()})
            await pipe.execute()

    async def set_promotions(self, user_id: int, wanted: bool) -> None:
        """/stop turns promotions off (service messages still go); /start turns them on."""
        await self.redis.hset(self.keys.customer(user_id), "promotions", "1" if wanted else "0")

    async def gifts_promised(self, user_id: int) -> int:
        return int(await self.redis.hget(self.keys.customer(user_id), "gifts_promised") or 0)

    async def count_visit(self, user_id: int) -> int:
        return int(await self.redis.hincrby(self.keys.customer(user_id), "visits", 1))

    # -- gifts ---------------------------------------------------------------------------
    async def grant_gift(self, user_id: int, initial_stock: int, per_customer: int) -> str:
        """Take one gift from the stock for a customer, atomically.

        Returns "granted", "limit" (this customer had their share) or "out" (none left).
        WATCH/MULTI makes racing shoppers retry rather than oversell, and works on the
        in-process Redis too (no Lua needed).
        """
        stock_key, given_key = self.keys.gift_stock(), self.keys.gifts_given()
        customer_key = self.keys.customer(user_id)

        async def grant(pipe: Pipeline) -> str:
            stock = await pipe.get(stock_key)
            left = initial_stock if stock is None else int(stock)
            given = int(await pipe.hget(given_key, str(user_id)) or 0)
            if given >= per_customer or left <= 0:
                await pipe.unwatch()
                return "limit" if given >= per_customer else "out"
            pipe.multi()
            pipe.set(stock_key, left - 1)
            pipe.hincrby(given_key, str(user_id), 1)
            pipe.hincrby(customer_key, "gifts_promised", 1)
            await pipe.execute()
            return "granted"

        return await optimistic(self.redis, [stock_key, given_key], grant)

    # -- reachability, consent, tags -------------------------------------------------------
    async def set_blocked(self, user_id: int, blocked: bool) -> None:
        """The customer blocked the bot (Telegram answered 403): follow-ups skip them."""
        await self.redis.hset(self.keys.customer(user_id), "blocked", "1" if blocked else "0")

    async def flags(self, user_id: int) -> dict[str, str]:
        raw = await self.redis.hmget(self.keys.customer(user_id),
                                     ["blocked", "promotions", "birthday"])
        names = ("blocked", "promotions", "birthday")
        return {name: as_text(value) or "" for name, value in zip(names, raw, strict=True)}

    async def set_birthday(self, user_id: int, month_day: str) -> None:
        await self.redis.hset(self.keys.customer(user_id), "birthday", month_day)

    async def tags(self, user_id: int) -> list[str]:
        members = await self.redis.smembers(self.keys.tags(user_id))
        return sorted(as_text(t) or "" for t in members)

    async def tag(self, user_id: int, *names: str) -> None:
        if names:
            await self.redis.sadd(self.keys.tags(user_id), *names)

    async def untag(self, user_id: int, *names: str) -> None:
        if names:
            await self.redis.srem(self.keys.tags(user_id), *names)
