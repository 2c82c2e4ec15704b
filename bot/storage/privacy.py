"""Everything Redis keeps about one shopper, read at once or erased at once (/mydata,
/forget): their own keys, their entries in the shop-wide indexes, and their name on the
shop's order and return records. What is the shopper's, and what the shop keeps, is
bot/domain/privacy.py's to say; these are the keys it comes to."""

from __future__ import annotations

import json
from typing import Any

from bot.storage.store import Store, as_text


def _decode(raw: dict[Any, Any]) -> dict[str, str]:
    return {(as_text(k) or ""): (as_text(v) or "") for k, v in raw.items()}


class ShopperRecords:
    def __init__(self, store: Store) -> None:
        self.redis = store.redis
        self.keys = store.keys

    def own_keys(self, user_id: int) -> list[str]:
        """The keys that are the shopper's alone."""
        k = self.keys
        return [k.customer(user_id), k.conversation(user_id), k.history(user_id),
                k.tags(user_id), k.handoff(user_id), k.mirror(user_id),
                k.flood(user_id), k.flood_notice(user_id), k.return_draft(user_id),
                k.staff_member(user_id), k.orders(user_id), k.returns(user_id),
                k.topic_lock(user_id), k.pace(f"chat:{user_id}"), k.cart(user_id),
                k.staff_noted(user_id)]

    async def gather(self, user_id: int) -> dict[str, Any]:
        """What is kept about the shopper, as Redis holds it (times as Unix timestamps)."""
        k = self.keys
        profile = _decode(await self.redis.hgetall(k.customer(user_id)))
        history = [json.loads(line) for line in await self.redis.lrange(k.history(user_id),
                                                                         0, -1)]
        order_ids = [as_text(o) or "" for o in await self.redis.zrange(k.orders(user_id), 0, -1)]
        orders = [json.loads(raw) for raw in await self.redis.mget(
            [k.order(o) for o in order_ids]) if raw] if order_ids else []
        return_ids = [as_text(r) or "" for r in await self.redis.lrange(k.returns(user_id),
                                                                      0, -1)]
        returns = [json.loads(raw) for raw in await self.redis.mget(
            [k.return_request(r) for r in return_ids]) if raw] if return_ids else []
        last_seen = await self.redis.zscore(k.customers(), str(user_id))
        gifts = as_text(await self.redis.hget(k.gifts_given(), str(user_id)))
        handoff = _decode(await self.redis.hgetall(k.handoff(user_id)))
        return {
            "profile": profile,
            "conversation": _decode(await self.redis.hgetall(k.conversation(user_id))),
            "history": history,
            "tags": sorted(as_text(t) or "" for t in await self.redis.smembers(k.tags(user_id))),
            "gifts_promised": int(gifts or 0),
            "orders": orders,
            "returns": returns,
            "return_draft": _decode(await self.redis.hgetall(k.return_draft(user_id))),
            "cart": json.loads(as_text(await self.redis.get(k.cart(user_id))) or "{}"),
            "staff_handover": handoff,
            "last_seen": last_seen,
        }

    async def erase(self, user_id: int) -> str | None:
        """Erase the shopper's keys and their entries in the indexes; their orders and
        return requests stay, with no customer. Returns the staff topic that was theirs."""
        k = self.keys
        topic = as_text(await self.redis.hget(k.handoff(user_id), "topic"))
        order_ids = [as_text(o) or "" for o in await self.redis.zrange(k.orders(user_id), 0, -1)]
        return_ids = [as_text(r) or "" for r in await self.redis.lrange(k.returns(user_id),
                                                                      0, -1)]
        for key in [k.order(o) for o in order_ids] + [k.return_request(r) for r in return_ids]:
            raw = await self.redis.get(key)
            if raw:
                record = json.loads(raw)
                if record.get("customer") == user_id:
                    record["customer"] = None
                    await self.redis.set(key, json.dumps(record, ensure_ascii=False),
                                         keepttl=True)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(*self.own_keys(user_id))
            pipe.zrem(k.customers(), str(user_id))
            pipe.zrem(k.with_staff(), str(user_id))
            pipe.hdel(k.gifts_given(), str(user_id))
            pipe.hdel(k.away_told(), str(user_id))  # told of a holiday: no trace kept
            if topic:
                pipe.hdel(k.topics(), topic)
            await pipe.execute()
        return topic
