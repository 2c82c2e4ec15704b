"""After the sale, in Redis: ratings (`Keys.rating`), return and exchange requests
(`Keys.return_request`, `Keys.returns`, `Keys.return_seq`) and the request a shopper is
putting together (`Keys.return_draft`). The return flow's steps and what a rating earns are
bot/domain/aftersale.py's."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from typing import Any

from bot.storage.store import Store

DRAFT_TTL = int(timedelta(days=1).total_seconds())


@dataclass
class Return:
    id: str
    customer: int | None  # None once the customer erased their data (/forget)
    order: str
    item: int  # index in the order's items
    reason: str
    resolution: str
    wanted: str | None = None  # the size or colour wanted in exchange
    photos: list[int] = field(default_factory=list)  # message ids in the private chat
    status: str = "requested"
    created_at: float = 0.0

    def dump(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)


class AfterSaleRecords:
    def __init__(self, store: Store) -> None:
        self.redis = store.redis
        self.keys = store.keys

    # -- ratings ------------------------------------------------------------------------------
    async def rate_once(self, order_id: str, stars: int) -> bool:
        """Record the order's rating; False when it had one (the first one stands)."""
        return bool(await self.redis.set(self.keys.rating(order_id), stars, nx=True))

    # -- the request being put together -------------------------------------------------------
    async def draft(self, customer_id: int) -> dict[str, str]:
        raw = await self.redis.hgetall(self.keys.return_draft(customer_id))
        return {(k.decode() if isinstance(k, bytes) else k):
                (v.decode() if isinstance(v, bytes) else v) for k, v in raw.items()}

    async def drop_draft(self, customer_id: int) -> None:
        await self.redis.delete(self.keys.return_draft(customer_id))

    async def save_draft(self, customer_id: int, values: dict[str, Any]) -> None:
        """Set these fields of the draft; it lasts DRAFT_TTL after the last step."""
        key = self.keys.return_draft(customer_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping={k: str(v) for k, v in values.items()})
            pipe.expire(key, DRAFT_TTL)
            await pipe.execute()

    # -- requests -----------------------------------------------------------------------------
    async def next_number(self) -> int:
        return int(await self.redis.incr(self.keys.return_seq()))

    async def add(self, request: Return, customer_id: int) -> None:
        """A new request, and its place in the customer's list, in one MULTI."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(self.keys.return_request(request.id), request.dump())
            pipe.rpush(self.keys.returns(customer_id), request.id)
            await pipe.execute()

    async def get(self, return_id: str) -> Return | None:
        raw = await self.redis.get(self.keys.return_request(return_id))
        return Return(**json.loads(raw)) if raw else None

    async def put(self, request: Return) -> None:
        await self.redis.set(self.keys.return_request(request.id), request.dump())
