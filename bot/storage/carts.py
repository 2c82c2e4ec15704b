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

    async def lines(self, customer: int) -> list[dict[str, Any]]:
        raw = as_text(await self.redis.get(self.keys.cart(customer)))
        return json.loads(raw) if raw else []

    async def save(self, customer: int, lines: list[dict[str, Any]]) -> None:
        if lines:
            await self.redis.set(self.keys.cart(customer), json.dumps(lines))
        else:
            await self.redis.delete(self.keys.cart(customer))

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

    async def reserve(self, checkout_id: str, lines: dict[str, int],
                      stock: Callable[[str], int | None], fingerprint: str, now: datetime,
                      hold: timedelta) -> list[str]:
        """Hold `lines` (line key → quantity) for a checkout being paid, until `now + hold`;
        the line keys there is not enough of (nothing is held then). Stock is the shop
        file's (`stock`: None, not counted), less what other checkouts hold."""
        key = self.keys.reservations()

        async def body(pipe: Pipeline) -> list[str]:
            held = _held(await pipe.hgetall(key), fingerprint, now, excluding=checkout_id)
            short = [line for line, quantity in lines.items()
                     if (have := stock(line)) is not None and held.get(line, 0) + quantity > have]
            if short:
                await pipe.unwatch()
                return short
            pipe.multi()
            pipe.hset(key, checkout_id, json.dumps({
                "lines": lines, "until": (now + hold).timestamp(), "stock": fingerprint}))
            await pipe.execute()
            return []

        return await optimistic(self.redis, [key], body)

    async def keep(self, checkout_id: str) -> None:
        """A paid checkout's stock stays held until the shop file's stock changes (the
        owner then counts the sale in it)."""
        key = self.keys.reservations()
        raw = as_text(await self.redis.hget(key, checkout_id))
        if raw:
            held = json.loads(raw)
            held["until"] = 0
            await self.redis.hset(key, checkout_id, json.dumps(held))

    async def held(self, fingerprint: str, now: datetime) -> dict[str, int]:
        """What checkouts hold now, by line key."""
        return _held(await self.redis.hgetall(self.keys.reservations()), fingerprint, now)

    async def forget_stale(self, fingerprint: str, now: datetime) -> int:
        """Drop holds that lapsed or belong to an older stock; how many."""
        key = self.keys.reservations()
        stale = [field for field, raw in (await self.redis.hgetall(key)).items()
                 if not _active(json.loads(raw), fingerprint, now)]
        if stale:
            await self.redis.hdel(key, *stale)
        return len(stale)


def _active(hold: dict[str, Any], fingerprint: str, now: datetime) -> bool:
    return hold.get("stock") == fingerprint and (
        hold.get("until") == 0 or float(hold.get("until") or 0) > now.timestamp())


def _held(raw: dict, fingerprint: str, now: datetime,
          excluding: str | None = None) -> dict[str, int]:
    held: dict[str, int] = {}
    for field, value in raw.items():
        if as_text(field) == excluding:
            continue
        hold = json.loads(value)
        if _active(hold, fingerprint, now):
            for line, quantity in hold["lines"].items():
                held[line] = held.get(line, 0) + int(quantity)
    return held
