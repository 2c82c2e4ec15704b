"""Redis: customer profiles and conversation state, every key under the shop's prefix."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from bot.core.languages import Lang, from_telegram, parse
from bot.storage.keys import Keys
from bot.storage.transactions import optimistic

log = logging.getLogger(__name__)


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


@dataclass
class Conversation:
    started_at: datetime | None = None
    last_message_at: datetime | None = None
    closed: bool = False
    messages: int = 0
    product: str | None = None  # the product last discussed, for "and in blue?"
    # The option values its card was about ({"kind": "linden"}), for "and the 500 g one?"
    selection: dict[str, str] = field(default_factory=dict)
    misunderstood: int = 0  # messages in a row the bot did not understand


@dataclass(frozen=True)
class Said:
    """One line of the conversation, for the staff's card: who said what, when."""

    at: datetime
    who: str  # "customer", "bot" or "staff"
    text: str


HISTORY = 30  # lines of conversation kept per customer

# What the conversation decides from, for one shopper: the conversation itself, the visit
# count, and the gifts granted to them. Pinned as the first try of an update found it; put
# back by a second try (see `Store.pin`). Gifts granted by the first try go back to the stock.
_PIN = """
local pinned = redis.call('HGET', KEYS[1], ARGV[1])
if not pinned then
  local state = {conv = redis.call('HGETALL', KEYS[2]),
                 visits = redis.call('HGET', KEYS[3], 'visits'),
                 gifts = redis.call('HGET', KEYS[4], ARGV[1])}
  redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(state))
  redis.call('EXPIRE', KEYS[1], ARGV[2])
  return state.visits
end
local state = cjson.decode(pinned)
redis.call('DEL', KEYS[2])
if #state.conv > 0 then redis.call('HSET', KEYS[2], unpack(state.conv)) end
if state.visits then
  redis.call('HSET', KEYS[3], 'visits', state.visits)
else
  redis.call('HDEL', KEYS[3], 'visits')
end
local taken = tonumber(redis.call('HGET', KEYS[4], ARGV[1]) or 0) - tonumber(state.gifts or 0)
if taken > 0 then
  redis.call('HINCRBY', KEYS[4], ARGV[1], -taken)
  redis.call('HINCRBY', KEYS[3], 'gifts_promised', -taken)
  if redis.call('EXISTS', KEYS[5]) == 1 then redis.call('INCRBY', KEYS[5], taken) end
end
return state.visits
"""


def _ts(value: datetime | None) -> str:
    return "" if value is None else str(value.timestamp())


def _dt(raw: str | bytes | None) -> datetime | None:
    if not raw:
        return None
    return datetime.fromtimestamp(float(raw), tz=UTC)


def as_text(raw: str | bytes | None) -> str | None:
    """A Redis reply as text; None for a missing or empty one."""
    if raw is None or raw == "":
        return None
    return raw.decode() if isinstance(raw, bytes) else raw


class Store:
    """The shop's data in Redis: its connection and key names, and the customers and their
    conversations (`Keys.customer`, `Keys.conversation`, `Keys.history`, `Keys.tags`)."""

    def __init__(self, redis: Redis, prefix: str,
                 history_retention: timedelta = timedelta(days=90),
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.redis = redis
        self.prefix = prefix.rstrip(":")
        self.keys = Keys(prefix)
        # No line of a conversation is kept longer than this (HISTORY_RETENTION_DAYS).
        self.history_retention = history_retention
        self.clock = clock
        self._pin = redis.register_script(_PIN)

    def key(self, *parts: object) -> str:
        return self.keys._key(*map(str, parts))

    async def ping(self) -> None:
        await self.redis.ping()

    # -- customers ---------------------------------------------------------------
    async def customer(self, user_id: int) -> Customer | None:
        raw = await self.redis.hgetall(self.keys.customer(user_id))
        return self._customer(user_id, raw) if raw else None

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
            pipe.hsetnx(key, "first_seen", _ts(now))
            pipe.zadd(self.keys.customers(), {str(user_id): now.timestamp()})
            pipe.hsetnx(key, "visits", 0)
            pipe.hgetall(key)
            *_, raw = await pipe.execute()
        return self._customer(user_id, raw)

    async def set_language(self, user_id: int, lang: Lang) -> None:
        await self.redis.hset(self.keys.customer(user_id), "language", lang)

    async def seen(self, user_id: int, now: datetime) -> None:
        """The customer wrote: `customers` (sorted by when they were last seen) finds them
        for broadcasts without scanning keys."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self.keys.customer(user_id), "last_seen", _ts(now))
            pipe.zadd(self.keys.customers(), {str(user_id): now.timestamp()})
            await pipe.execute()

    async def set_promotions(self, user_id: int, wanted: bool) -> None:
        """/stop turns promotions off (service messages still go); /start turns them on."""
        await self.redis.hset(self.keys.customer(user_id), "promotions", "1" if wanted else "0")

    async def gifts_promised(self, user_id: int) -> int:
        return int(await self.redis.hget(self.keys.customer(user_id), "gifts_promised") or 0)

    async def count_visit(self, user_id: int) -> int:
        return int(await self.redis.hincrby(self.keys.customer(user_id), "visits", 1))

    @staticmethod
    def _customer(user_id: int, raw: dict) -> Customer:
        get = {(as_text(k) or ""): as_text(v) for k, v in raw.items()}
        return Customer(
            id=user_id,
            first_name=get.get("first_name") or "",
            last_name=get.get("last_name"),
            username=get.get("username"),
            telegram_language=get.get("telegram_language"),
            language=parse(get.get("language")),
            first_seen=_dt(get.get("first_seen")),
            last_seen=_dt(get.get("last_seen")),
            visits=int(get.get("visits") or 0),
        )

    # -- conversations -------------------------------------------------------------
    async def conversation(self, user_id: int) -> Conversation | None:
        raw = await self.redis.hgetall(self.keys.conversation(user_id))
        if not raw:
            return None
        get = {(as_text(k) or ""): as_text(v) for k, v in raw.items()}
        return Conversation(
            started_at=_dt(get.get("started_at")),
            last_message_at=_dt(get.get("last_message_at")),
            closed=get.get("closed") == "1",
            messages=int(get.get("messages") or 0),
            product=get.get("product"),
            selection=_selection(get.get("selection")),
            misunderstood=int(get.get("misunderstood") or 0),
        )

    async def open_conversation(self, user_id: int, now: datetime) -> None:
        key = self.keys.conversation(user_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(key)
            pipe.hset(key, mapping={"started_at": _ts(now), "last_message_at": _ts(now),
                                    "closed": "0", "messages": 0})
            await pipe.execute()

    async def pin(self, user_id: int, pins: str, keep: int) -> int:
        """The shopper's state as the first try of an update found it: recorded under `pins`
        (the update's key) on the first call, put back on any later call (a second try,
        its process having died). Returns the visit count, as pinned."""
        visits = await self._pin(
            keys=[pins, self.keys.conversation(user_id), self.keys.customer(user_id),
                  self.keys.gifts_given(), self.keys.gift_stock()],
            args=[user_id, keep])
        return int(visits or 0)

    async def note_message(self, user_id: int, now: datetime) -> None:
        key = self.keys.conversation(user_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, "last_message_at", _ts(now))
            pipe.hincrby(key, "messages", 1)
            await pipe.execute()

    # -- bargaining -----------------------------------------------------------------------
    async def bargaining(self, user_id: int) -> dict[str, int]:
        """How far this conversation's bargaining went: refusals of each kind so far."""
        raw = await self.redis.hmget(self.keys.conversation(user_id),
                                     ["discount_refusals", "shipping_refusals", "gift_refusals"])
        names = ("discount", "shipping", "gift")
        return {name: int(value or 0) for name, value in zip(names, raw, strict=True)}

    async def refused(self, user_id: int, kind: str) -> None:
        await self.redis.hincrby(self.keys.conversation(user_id), f"{kind}_refusals", 1)

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

    async def discuss(self, user_id: int, product_id: str,
                      selection: dict[str, str] | None = None) -> None:
        await self.redis.hset(self.keys.conversation(user_id), mapping={
            "product": product_id,
            "selection": json.dumps(selection or {}, ensure_ascii=False)})

    async def misunderstood(self, user_id: int) -> int:
        """One more message not understood; returns how many in a row."""
        return int(await self.redis.hincrby(self.keys.conversation(user_id), "misunderstood", 1))

    async def understood(self, user_id: int) -> None:
        await self.redis.hset(self.keys.conversation(user_id), "misunderstood", 0)

    # -- what was said ---------------------------------------------------------------------
    async def remember(self, user_id: int, who: str, text: str, now: datetime) -> None:
        key = self.keys.history(user_id)
        line = json.dumps({"at": now.timestamp(), "who": who, "text": text[:1000]},
                          ensure_ascii=False)
        keep = int(self.history_retention.total_seconds())
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.rpush(key, line)
            pipe.ltrim(key, -HISTORY, -1)
            pipe.expire(key, max(keep, 1))  # a silent customer's history goes as a whole
            pipe.lindex(key, 0)
            *_, oldest = await pipe.execute()
        cutoff = (now - self.history_retention).timestamp()
        if oldest is None or json.loads(oldest)["at"] >= cutoff:
            return  # lines are in time order: nothing is past retention
        for stale in (item for item in await self.redis.lrange(key, 0, -1)
                      if json.loads(item)["at"] < cutoff):
            await self.redis.lrem(key, 1, stale)

    async def history(self, user_id: int, last: int = HISTORY) -> list[Said]:
        raw = await self.redis.lrange(self.keys.history(user_id), -last, -1)
        lines = [json.loads(item) for item in raw]
        # Now, not the last line's time: a line past retention is never shown, even if
        # nobody wrote since.
        cutoff = self.clock() - self.history_retention
        said = [Said(datetime.fromtimestamp(line["at"], tz=UTC), line["who"], line["text"])
                for line in lines]
        return [line for line in said if line.at >= cutoff]

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

    async def close_conversation(self, user_id: int, now: datetime) -> None:
        await self.redis.hset(self.keys.conversation(user_id),
                              mapping={"closed": "1", "last_message_at": _ts(now)})


def _selection(raw: str | None) -> dict[str, str]:
    """A card's option values as stored; anything unreadable is no selection."""
    try:
        value = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    if not isinstance(value, dict):
        return {}
    return {str(k): str(v) for k, v in value.items()}
