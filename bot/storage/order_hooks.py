"""The order webhook's delivery records (`Keys.order_hook`): one hash per order the bot told
(or is telling) the shop's backend of. What is sent, when, and how often it is tried again is
bot/domain/order_hooks.py's; the request itself is bot/app/order_webhook.py's."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.storage.codec import as_text, from_stamp, to_stamp
from bot.storage.store import Store

KEEP = timedelta(days=30)  # a record is kept this long after its last write


@dataclass(frozen=True)
class HookRecord:
    queued_at: datetime
    body: str | None  # None once delivered or given up
    tries: int
    delivered: datetime | None
    gave_up: datetime | None
    last_error: str | None

    @property
    def done(self) -> bool:
        return self.delivered is not None or self.gave_up is not None


class OrderHookRecords:
    def __init__(self, store: Store) -> None:
        self.redis = store.redis
        self.keys = store.keys

    async def begin(self, order_id: str, body: str, now: datetime) -> bool:
        """Record the order's delivery as queued, with the body to post; False when it was
        queued before (whatever became of it)."""
        key = self.keys.order_hook(order_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hsetnx(key, "queued_at", to_stamp(now))
            pipe.expire(key, KEEP)
            first, _ = await pipe.execute()
        if not first:
            return False
        await self.redis.hset(key, "body", body)
        return True

    async def get(self, order_id: str) -> HookRecord | None:
        raw = await self.redis.hgetall(self.keys.order_hook(order_id))
        fields = {as_text(k): as_text(v) for k, v in raw.items()}
        queued_at = from_stamp(fields.get("queued_at"))
        if queued_at is None:
            return None
        return HookRecord(queued_at=queued_at, body=fields.get("body"),
                          tries=int(fields.get("tries") or 0),
                          delivered=from_stamp(fields.get("delivered")),
                          gave_up=from_stamp(fields.get("gave_up")),
                          last_error=fields.get("last_error"))

    async def trying(self, order_id: str, now: datetime) -> int:
        """Count a try about to be made; returns its number (1 for the first)."""
        key = self.keys.order_hook(order_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hincrby(key, "tries", 1)
            pipe.hset(key, "last_try_at", to_stamp(now))
            pipe.expire(key, KEEP)
            tries, *_ = await pipe.execute()
        return int(tries)

    async def failed(self, order_id: str, error: str) -> None:
        await self.redis.hset(self.keys.order_hook(order_id), "last_error", error)

    async def delivered(self, order_id: str, now: datetime) -> None:
        await self._finish(order_id, "delivered", now)

    async def gave_up(self, order_id: str, now: datetime) -> None:
        await self._finish(order_id, "gave_up", now)

    async def _finish(self, order_id: str, field: str, now: datetime) -> None:
        key = self.keys.order_hook(order_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, field, to_stamp(now))
            pipe.hdel(key, "body")
            pipe.expire(key, KEEP)
            await pipe.execute()
