"""Orders as the shop's backend reports them: created, paid, shipped, delivered, cancelled.

The rules of an order's life; the HTTP API (bot/web/shop_api.py) feeds them, the conversation
reads them. The records are kept by bot/storage/orders.py.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from bot.storage.orders import Item, Order, OrderRecords
from bot.storage.store import Store

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
        self.records = OrderRecords(store)

    async def get(self, order_id: str) -> Order | None:
        return await self.records.get(order_id)

    async def of(self, customer: int) -> list[Order]:
        """The customer's orders, newest first."""
        return await self.records.of(customer)

    async def apply(self, event: OrderEventIn, now: datetime) -> Applied:
        """Record one event, once: a repeated (order, event) changes nothing."""

        def record(order: Order | None) -> tuple[Order | None, Applied]:
            if order is not None and event.event in order.events:
                return None, Applied(order, duplicate=True, bound_now=False)
            order, bound_now = self._updated(order, event, now)
            return order, Applied(order, duplicate=False, bound_now=bound_now)

        return await self.records.change(event.order_id, record)

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
        order_id = await self.records.take_token(token)
        if order_id is None:
            return None

        def claim(order: Order | None) -> tuple[Order | None, Order | None]:
            if order is None or order.customer is not None:
                return None, None
            order.customer, order.token = customer, None
            return order, order

        return await self.records.change(order_id, claim)


def order_numbers(text: str) -> list[str]:
    """Order numbers a shopper may have written: "#1045", "order 1045", "LL-1045"."""
    return [match.group(1) for match in _NUMBER.finditer(text)]


def spent(orders: list[Order]) -> float:
    return sum(o.total or 0.0 for o in orders if o.status != "cancelled" and "paid" in o.events)


def jsonable(order: Order) -> dict[str, Any]:
    return json.loads(order.dump())
