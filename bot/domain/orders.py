"""Orders as the shop's backend reports them: created, paid, shipped, delivered, cancelled.

Plain Python over Redis; the HTTP API (bot/web/shop_api.py) feeds it, the conversation reads it.
Key layout, under the shop's prefix:
- `order:<order id>` (string): the order as JSON;
- `orders:<customer id>` (sorted set): the customer's order ids, by creation time;
- `order_token:<token>` (string): the order a one-time `/start` token binds, until used.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from redis.asyncio.client import Pipeline

from bot.storage.store import Store
from bot.storage.transactions import optimistic

Event = Literal["created", "paid", "shipped", "delivered", "cancelled"]
LIFECYCLE: tuple[str, ...] = ("created", "paid", "shipped", "delivered")
ORDER_ID = r"^[A-Za-z0-9][A-Za-z0-9_\-.#/]{0,39}$"  # fits in button data
TOKEN = r"^[A-Za-z0-9_-]{8,64}$"  # Telegram's /start payload: 64 characters of these at most
_NUMBER = re.compile(r"(?<![\w-])#?([A-Za-z]{0,4}-?\d{3,12})(?![\w-])")


class ItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    product: str | None = Field(None, max_length=64, description="the shop file's product id")
    name: str | None = Field(None, min_length=1, max_length=200)
    quantity: int = Field(1, ge=1, le=10_000)
    price: float | None = Field(None, ge=0)
    size: str | None = Field(None, max_length=40)
    color: str | None = Field(None, max_length=40)

    @model_validator(mode="after")
    def _named(self) -> ItemIn:
        if not self.product and not self.name:
            raise ValueError("an item needs a product id or a name")
        return self


class OrderEventIn(BaseModel):
    """One event as the shop's backend posts it."""

    model_config = ConfigDict(extra="forbid")

    order_id: str = Field(pattern=ORDER_ID)
    event: Event
    customer_id: int | None = Field(None, gt=0)
    token: str | None = Field(None, pattern=TOKEN)
    items: list[ItemIn] | None = Field(None, min_length=1, max_length=100)
    total: float | None = Field(None, ge=0)
    carrier: str | None = Field(None, min_length=1, max_length=100)
    tracking: str | None = Field(None, min_length=1, max_length=100)
    tracking_url: str | None = Field(None, pattern=r"^https?://\S{1,500}$")
    expected: date | None = None  # expected delivery date
    at: datetime | None = None  # when it happened (default: when it arrives)
    birthday: str | None = Field(None, pattern=r"^(\d{4}-)?\d{2}-\d{2}$")

    @model_validator(mode="after")
    def _shipped_has_tracking(self) -> OrderEventIn:
        if self.event == "shipped" and not self.tracking:
            raise ValueError("tracking: a shipped event needs the tracking number")
        return self


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


@dataclass(frozen=True)
class Applied:
    order: Order
    duplicate: bool  # this event of this order was reported before: nothing changed
    bound_now: bool  # the customer became known with this event


class OrderError(ValueError):
    """The event cannot apply; `field` names what to fix."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class OrderBook:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.redis = store.redis

    async def get(self, order_id: str) -> Order | None:
        raw = await self.redis.get(self.store.key("order", order_id))
        return Order.load(raw) if raw else None

    async def of(self, customer: int) -> list[Order]:
        """The customer's orders, newest first."""
        ids = await self.redis.zrevrange(self.store.key("orders", customer), 0, 49)
        orders = [await self.get(i.decode() if isinstance(i, bytes) else i) for i in ids]
        return [o for o in orders if o is not None]

    async def apply(self, event: OrderEventIn, now: datetime) -> Applied:
        """Record one event, once: a repeated (order, event) changes nothing."""
        key = self.store.key("order", event.order_id)

        async def record(pipe: Pipeline) -> Applied:
            raw = await pipe.get(key)
            order = Order.load(raw) if raw else None
            if order is not None and event.event in order.events:
                await pipe.unwatch()
                return Applied(order, duplicate=True, bound_now=False)
            order, bound_now = self._updated(order, event, now)
            pipe.multi()
            pipe.set(key, order.dump())
            if order.customer is not None:
                pipe.zadd(self.store.key("orders", order.customer),
                          {order.id: order.created_at.timestamp()})
            elif order.token:
                pipe.set(self.store.key("order_token", order.token), order.id)
            await pipe.execute()
            return Applied(order, duplicate=False, bound_now=bound_now)

        return await optimistic(self.redis, [key], record)

    @staticmethod
    def _updated(order: Order | None, event: OrderEventIn,
                 now: datetime) -> tuple[Order, bool]:
        if order is None:
            if not event.items:
                raise OrderError("items", "the first event of an order must list its items")
            if event.customer_id is None and event.token is None:
                raise OrderError("customer_id", "the first event of an order needs customer_id "
                                                "or a one-time token")
            order = Order(id=event.order_id, customer=None, status=event.event, items=[])
        # Known before without its customer (a token order): the customer learns of it now.
        bound_now = bool(order.events) and order.customer is None \
            and event.customer_id is not None
        if event.customer_id is not None:
            if order.customer not in (None, event.customer_id):
                raise OrderError("customer_id", "the order belongs to another customer")
            order.customer = event.customer_id
        if event.token and order.customer is None:
            order.token = event.token
        if event.items:
            order.items = [Item(**item.model_dump()) for item in event.items]
        for name in ("total", "carrier", "tracking", "tracking_url", "expected"):
            value = getattr(event, name)
            if value is not None:
                setattr(order, name, value)
        at = (event.at or now).timestamp()
        order.events[event.event] = at
        # A late "paid" after "shipped" does not move the order back; "cancelled" always wins.
        if event.event == "cancelled" or ("cancelled" not in order.events and (
                order.status == "cancelled" or
                LIFECYCLE.index(event.event) >= LIFECYCLE.index(order.status))):
            order.status = event.event
        return order, bound_now

    async def bind(self, token: str, customer: int) -> Order | None:
        """`/start <token>`: the order becomes this customer's. The token works once."""
        order_id = await self.redis.getdel(self.store.key("order_token", token))
        if order_id is None:
            return None
        key = self.store.key("order", order_id.decode() if isinstance(order_id, bytes)
                             else order_id)

        async def claim(pipe: Pipeline) -> Order | None:
            raw = await pipe.get(key)
            order = Order.load(raw) if raw else None
            if order is None or order.customer is not None:
                await pipe.unwatch()
                return None
            order.customer, order.token = customer, None
            pipe.multi()
            pipe.set(key, order.dump())
            pipe.zadd(self.store.key("orders", customer),
                      {order.id: order.created_at.timestamp()})
            await pipe.execute()
            return order

        return await optimistic(self.redis, [key], claim)


def order_numbers(text: str) -> list[str]:
    """Order numbers a shopper may have written: "#1045", "order 1045", "LL-1045"."""
    return [match.group(1) for match in _NUMBER.finditer(text)]


def spent(orders: list[Order]) -> float:
    return sum(o.total or 0.0 for o in orders if o.status != "cancelled" and "paid" in o.events)


def jsonable(order: Order) -> dict[str, Any]:
    return json.loads(order.dump())
