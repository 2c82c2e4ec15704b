"""A shopper's data: everything kept about them, as a file (/mydata), and erasing it
(/forget). Plain Python over Redis.

What is a shopper's: their profile (`customer:<id>`, with consent to promotions, blocked,
birthday), conversation (`conv:`), history (`history:`), tags, gifts promised, the staff
hand-over (`handoff:`, `mirror:`, their topic's link), return drafts and requests, flood
counters, and the links to their orders (`orders:<id>`, each order's `customer`). The
orders themselves are the shop's records: erasing keeps them, unlinked from the account.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from bot.storage.jobs import forget_jobs
from bot.storage.store import Store, as_text

FORMAT_VERSION = 1


def _decode(raw: dict[Any, Any]) -> dict[str, str]:
    return {(as_text(k) or ""): (as_text(v) or "") for k, v in raw.items()}


class Privacy:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.redis = store.redis

    def _own_keys(self, user_id: int) -> list[str]:
        k = self.store.key
        return [k("customer", user_id), k("conv", user_id), k("history", user_id),
                k("tags", user_id), k("handoff", user_id), k("mirror", user_id),
                k("flood", user_id), k("flood_notice", user_id), k("return_draft", user_id),
                k("staff_member", user_id), k("orders", user_id), k("returns", user_id),
                k("topic_lock", user_id), k("out", "pace", "chat", user_id)]

    async def export(self, user_id: int, now: datetime) -> dict[str, Any]:
        """Everything kept about the shopper, as plain JSON."""
        k = self.store.key
        profile = _decode(await self.redis.hgetall(k("customer", user_id)))
        history = [json.loads(line) for line in await self.redis.lrange(k("history", user_id),
                                                                         0, -1)]
        for line in history:
            line["at"] = datetime.fromtimestamp(line["at"], tz=UTC).isoformat()
        order_ids = [as_text(o) or "" for o in await self.redis.zrange(k("orders", user_id), 0, -1)]
        orders = [json.loads(raw) for raw in await self.redis.mget(
            [k("order", o) for o in order_ids]) if raw] if order_ids else []
        return_ids = [as_text(r) or "" for r in await self.redis.lrange(k("returns", user_id),
                                                                      0, -1)]
        returns = [json.loads(raw) for raw in await self.redis.mget(
            [k("return", r) for r in return_ids]) if raw] if return_ids else []
        last_seen = await self.redis.zscore(k("customers"), str(user_id))
        gifts = as_text(await self.redis.hget(k("gift", "given"), str(user_id)))
        handoff = _decode(await self.redis.hgetall(k("handoff", user_id)))
        return {
            "about": "Everything this shop's Telegram bot keeps about you.",
            "format": FORMAT_VERSION,
            "exported_at": now.isoformat(),
            "telegram_user_id": user_id,
            "profile": profile,
            "conversation": _decode(await self.redis.hgetall(k("conv", user_id))),
            "history": history,
            "tags": sorted(as_text(t) or "" for t in await self.redis.smembers(k("tags", user_id))),
            "gifts_promised": int(gifts or 0),
            "orders": orders,
            "returns": returns,
            "return_draft": _decode(await self.redis.hgetall(k("return_draft", user_id))),
            "staff_handover": handoff,
            "last_seen": datetime.fromtimestamp(last_seen, tz=UTC).isoformat()
            if last_seen is not None else None,
        }

    async def erase(self, user_id: int) -> int | None:
        """Erase what is the shopper's; returns the staff topic that was theirs, if any."""
        k = self.store.key
        topic = as_text(await self.redis.hget(k("handoff", user_id), "topic"))
        order_ids = [as_text(o) or "" for o in await self.redis.zrange(k("orders", user_id), 0, -1)]
        return_ids = [as_text(r) or "" for r in await self.redis.lrange(k("returns", user_id),
                                                                      0, -1)]
        # The shop keeps its orders and return requests, without the account.
        for key in [k("order", o) for o in order_ids] + [k("return", r) for r in return_ids]:
            raw = await self.redis.get(key)
            if raw:
                record = json.loads(raw)
                if record.get("customer") == user_id:
                    record["customer"] = None
                    await self.redis.set(key, json.dumps(record, ensure_ascii=False),
                                         keepttl=True)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(*self._own_keys(user_id))
            pipe.zrem(k("customers"), str(user_id))
            pipe.zrem(k("with_staff"), str(user_id))
            pipe.hdel(k("gift", "given"), str(user_id))
            if topic:
                pipe.hdel(k("topics"), topic)
            await pipe.execute()
        await forget_jobs(self.store, user_id)  # a queued birthday carries the erased date
        return int(topic) if topic else None
