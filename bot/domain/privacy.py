"""A shopper's data: everything kept about them, as a file (/mydata), and erasing it
(/forget). The keys are found and erased by bot/storage/privacy.py.

What is a shopper's: their profile (`customer:<id>`, with consent to promotions, blocked,
birthday), conversation (`conv:`), history (`history:`), tags, gifts promised, the staff
hand-over (`handoff:`, `mirror:`, their topic's link), return drafts and requests, flood
counters, and the links to their orders (`orders:<id>`, each order's `customer`). The
orders themselves are the shop's records: erasing keeps them, unlinked from the account.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.storage.jobs import forget_jobs
from bot.storage.privacy import ShopperRecords
from bot.storage.store import Store

FORMAT_VERSION = 1


class Privacy:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.records = ShopperRecords(store)

    async def export(self, user_id: int, now: datetime) -> dict[str, Any]:
        """Everything kept about the shopper, as plain JSON."""
        kept = await self.records.gather(user_id)
        for line in kept["history"]:
            line["at"] = datetime.fromtimestamp(line["at"], tz=UTC).isoformat()
        last_seen = kept.pop("last_seen")
        return {
            "about": "Everything this shop's Telegram bot keeps about you.",
            "format": FORMAT_VERSION,
            "exported_at": now.isoformat(),
            "telegram_user_id": user_id,
            **kept,
            "last_seen": datetime.fromtimestamp(last_seen, tz=UTC).isoformat()
            if last_seen is not None else None,
        }

    async def erase(self, user_id: int) -> int | None:
        """Erase what is the shopper's; returns the staff topic that was theirs, if any.
        The shop keeps its orders and return requests, without the account."""
        topic = await self.records.erase(user_id)
        await forget_jobs(self.store, user_id)  # a queued birthday carries the erased date
        return int(topic) if topic else None
