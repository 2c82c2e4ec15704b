"""Carts and checkouts in Redis (`Keys.cart`, `Keys.checkout`, `Keys.reservations`): what a
shopper put in their cart, the cart as it was invoiced, and the stock held for checkouts
being paid."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline

from bot.storage.codec import as_text
from bot.storage.keys import Keys
from bot.storage.transactions import optimistic

CHECKOUT_KEPT = timedelta(days=30)


class CartRecords:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys

    async def _cart(self, customer: int) -> dict[str, Any]:
        raw = as_text(await self.redis.get(self.keys.cart(customer)))
        cart = json.loads(raw) if raw else {}
        if isinstance(cart, list):  # a cart of lines alone, as first kept
            cart = {"lines": cart}
        return {"lines": [], "checkout": None, **cart}

    async def lines(self, customer: int) -> list[dict[str, Any]]:
        return list((await self._cart(customer))["lines"])

    async def save(self, customer: int, lines: list[dict[str, Any]]) -> None:
        """The cart's lines; an invoice made before for the cart no longer stands."""
        if lines:
            await self.redis.set(self.keys.cart(customer),
                                 json.dumps({"lines": lines, "checkout": None}))
        else:
            await self.redis.delete(self.keys.cart(customer))

    async def checked_out(self, customer: int, checkout_id: str) -> None:
        """The cart was invoiced as `checkout_id`: the one invoice that stands for it."""
        cart = await self._cart(customer)
        cart["checkout"] = checkout_id
        await self.redis.set(self.keys.cart(customer), json.dumps(cart))

    async def standing(self, customer: int) -> str | None:
        """The checkout whose invoice stands for the customer's cart as it is."""
        return (await self._cart(customer))["checkout"]

    async def save_checkout(self, checkout_id: str, checkout: dict[str, Any]) -> None:
        await self.redis.set(self.keys.checkout(checkout_id), json.dumps(checkout),
                             ex=CHECKOUT_KEPT)

    async def checkout(self, checkout_id: str) -> dict[str, Any] | None:
        raw = as_text(await self.redis.get(self.keys.checkout(checkout_id)))
        return json.loads(raw) if raw else None

    async def paid(self, checkout_id: str, charge: str) -> bool:
        """The checkout was paid with `charge`; False when it was marked paid before (the
        same payment, repeated by Telegram)."""
        key = self.keys.checkout(checkout_id)

        async def body(pipe: Pipeline) -> bool:
            raw = as_text(await pipe.get(key))
            checkout = json.loads(raw) if raw else None
            if checkout is None or checkout.get("paid"):
                await pipe.unwatch()
                return False
            checkout["paid"] = charge
            pipe.multi()
            pipe.set(key, json.dumps(checkout), keepttl=True)
            await pipe.execute()
            return True

        return await optimistic(self.redis, [key], body)

    async def reserve(self, checkout_id: str, customer: int, lines: dict[str, int],
                      stock: Stock, now: datetime, hold: timedelta) -> list[str]:
        """Hold `lines` (line key → quantity) for a checkout being paid, until `now + hold`;
        the line keys there is not enough of (nothing is held then). Stock is the shop
        file's (`stock`: None, not counted), less what other shoppers' checkouts hold: the
        customer's own unpaid one before this (a payment they gave up) is replaced, and
        holds that lapsed or whose stock the file no longer has are dropped."""
        key = self.keys.reservations()
        lines = {line: n for line, n in lines.items() if stock(line) is not None}  # counted

        async def body(pipe: Pipeline) -> list[str]:
            raw = await pipe.hgetall(key)
            held = _held(raw, stock, now, customer=customer)
            short = [line for line, quantity in lines.items()
                     if (have := stock(line)) is not None and held.get(line, 0) + quantity > have]
            if short:
                await pipe.unwatch()
                return short
            holds = {field: json.loads(value) for field, value in raw.items()}
            dropped = [field for field, other in holds.items()
                       if _unpaid_of(other, customer) or not _counted(other, stock, now)]
            pipe.multi()
            if dropped:
                pipe.hdel(key, *dropped)
            if lines:  # nothing to hold where no stock is counted
                pipe.hset(key, checkout_id, json.dumps({
                    "lines": lines, "stock": {line: stock(line) for line in lines},
                    "until": (now + hold).timestamp(), "customer": customer}))
            await pipe.execute()
            return []

        return await optimistic(self.redis, [key], body)

    async def keep(self, checkout_id: str) -> None:
        """A paid checkout's stock stays held until the shop file's stock of each of its
        lines changes (the owner then has counted the sale in it)."""
        key = self.keys.reservations()
        raw = as_text(await self.redis.hget(key, checkout_id))
        if raw:
            held = json.loads(raw)
            held["until"] = 0
            await self.redis.hset(key, checkout_id, json.dumps(held))

    async def held(self, stock: Stock, now: datetime,
                   customer: int | None = None) -> dict[str, int]:
        """What checkouts hold now, by line key; not counting `customer`'s own unpaid one,
        which their next checkout replaces."""
        return _held(await self.redis.hgetall(self.keys.reservations()), stock, now,
                     customer=customer)


Stock = Callable[[str], "int | None"]  # a line key's stock in the shop file served now


def _unpaid_of(hold: dict[str, Any], customer: int | None) -> bool:
    return customer is not None and hold.get("customer") == customer and hold.get("until") != 0


def _lapsed(hold: dict[str, Any], now: datetime) -> bool:
    return hold.get("until") != 0 and float(hold.get("until") or 0) <= now.timestamp()


def _made_against(hold: dict[str, Any], line: str) -> int | None:
    """The file's stock of `line` the hold was made against (None: not counted)."""
    made = hold.get("stock")
    return made.get(line) if isinstance(made, dict) else None


def _counted(hold: dict[str, Any], stock: Stock, now: datetime) -> bool:
    """A hold still counts for some line: not lapsed, and the file's stock of that line is
    the one it was made against."""
    return not _lapsed(hold, now) and any(
        (made := _made_against(hold, line)) is not None and made == stock(line)
        for line in hold.get("lines", {}))


def _held(raw: dict, stock: Stock, now: datetime,
          customer: int | None = None) -> dict[str, int]:
    held: dict[str, int] = {}
    for value in raw.values():
        hold = json.loads(value)
        if _lapsed(hold, now) or _unpaid_of(hold, customer):
            continue
        for line, quantity in hold.get("lines", {}).items():
            if (made := _made_against(hold, line)) is not None and made == stock(line):
                held[line] = held.get(line, 0) + int(quantity)
    return held
