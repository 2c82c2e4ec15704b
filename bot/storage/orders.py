"""Orders as Redis keeps them: one JSON record per order, each customer's index of them, and
the one-time tokens of orders whose customer is not known yet (`Keys.order`, `Keys.orders`,
`Keys.order_token`). What an event does to an order is the domain's (bot/domain/orders.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from typing import TypeVar

from redis.asyncio.client import Pipeline

from bot.storage.store import Store
from bot.storage.transactions import optimistic

T = TypeVar("T")


@dataclass
class Item:
    product: str | None
    name: str | None
    quantity: int = 1
    price: float | None = None
    size: str | None = None
    color: str | None = None


@dataclass
class Order:
    id: str
    customer: int | None
    status: str
    items: list[Item]
    total: float | None = None
    carrier: str | None = None
    tracking: str | None = None
    tracking_url: str | None = None
    expected: date | None = None
    token: str | None = None
    events: dict[str, float] = field(default_factory=dict)  # event -> when (Unix time)

    @property
    def created_at(self) -> datetime:
        first = min(self.events.values()) if self.events else 0.0
        return datetime.fromtimestamp(first, tz=UTC)

    def when(self, event: str) -> datetime | None:
        at = self.events.get(event)
        return datetime.fromtimestamp(at, tz=UTC) if at is not None else None

    def dump(self) -> str:
        raw = asdict(self)
        raw["expected"] = self.expected.isoformat() if self.expected else None
        return json.dumps(raw, ensure_ascii=False)

    @classmethod
    def load(cls, text: str | bytes) -> Order:
        raw = json.loads(text)
        raw["items"] = [Item(**item) for item in raw["items"]]
        raw["expected"] = date.fromisoformat(raw["expected"]) if raw.get("expected") else None
        return cls(**raw)


# What a change of an order decides: the order to write (None: leave it as it is), and what
# the caller gets back.
Decision = tuple[Order | None, T]


class OrderRecords:
    def __init__(self, store: Store) -> None:
        self.redis = store.redis
        self.keys = store.keys

    async def get(self, order_id: str) -> Order | None:
        raw = await self.redis.get(self.keys.order(order_id))
        return Order.load(raw) if raw else None

    async def of(self, customer: int) -> list[Order]:
        """The customer's orders, newest first (the last 50)."""
        ids = await self.redis.zrevrange(self.keys.orders(customer), 0, 49)
        orders = [await self.get(i.decode() if isinstance(i, bytes) else i) for i in ids]
        return [o for o in orders if o is not None]

    async def change(self, order_id: str, decide: Callable[[Order | None], Decision[T]]) -> T:
        """Read the order, let `decide` change it, write it back, atomically: a conflict with
        another writer runs `decide` again on what that one wrote. The order joins its
        customer's index, or, without a customer, its token binds it."""
        key = self.keys.order(order_id)

        async def record(pipe: Pipeline) -> T:
            raw = await pipe.get(key)
            order, result = decide(Order.load(raw) if raw else None)
            if order is None:
                await pipe.unwatch()
                return result
            pipe.multi()
            pipe.set(key, order.dump())
            if order.customer is not None:
                pipe.zadd(self.keys.orders(order.customer),
                          {order.id: order.created_at.timestamp()})
            elif order.token:
                pipe.set(self.keys.order_token(order.token), order.id)
            await pipe.execute()
            return result

        return await optimistic(self.redis, [key], record)

    async def take_token(self, token: str) -> str | None:
        """The order a one-time token binds; the token is gone once taken."""
        order_id = await self.redis.getdel(self.keys.order_token(token))
        if order_id is None:
            return None
        return order_id.decode() if isinstance(order_id, bytes) else order_id
