"""Telling the shop's backend of an order the bot created itself (a Telegram payment): one
signed POST per order to `ORDER_WEBHOOK_URL`, tried again with growing waits until a 2xx
answer or 48 hours.

The delivery is a follow-up job (`order_webhook`, bot/domain/followups.py) whose id is made
of the order id, and its record (bot/storage/order_hooks.py) is made once per order: the
same order queued twice is sent once. The body is fixed at queuing time, so every try posts
the same bytes with the same signature; the backend tells a retry from a new order by its
`delivery_id` (the order id). A try whose answer was lost is tried again: delivery is at
least once, never as two orders.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.domain.ports import OrderWebhook
from bot.storage.order_hooks import OrderHookRecords

log = logging.getLogger(__name__)
EVENT = "order.paid"
# The wait after each failed try: the first four, then the last one again and again.
RETRY_WAITS = (timedelta(seconds=10), timedelta(seconds=30), timedelta(minutes=1),
               timedelta(minutes=5), timedelta(minutes=15))
GIVE_UP_AFTER = timedelta(hours=48)  # from queuing: no try is made after this


def retry_wait(tries: int) -> timedelta:
    """The wait after the `tries`-th failed try (1 for the first)."""
    return RETRY_WAITS[min(tries, len(RETRY_WAITS)) - 1]


@dataclass(frozen=True)
class Tried:
    """What a try came to: acknowledged now, or the next try's number and time (neither:
    nothing to send, or given up)."""

    delivered: bool = False
    next_try: int = 0
    at: datetime | None = None


class OrderHooks:
    def __init__(self, records: OrderHookRecords, webhook: OrderWebhook,
                 clock: Callable[[], datetime]) -> None:
        self.records = records
        self.webhook = webhook
        self.clock = clock

    async def begin(self, order_id: str, body: dict[str, Any]) -> bool:
        """Record the order's body as it will be posted; False when queued before."""
        payload = {**body, "delivery_id": order_id, "event": EVENT}
        text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"), default=str)
        return await self.records.begin(order_id, text, self.clock())

    async def pending(self, order_id: str) -> bool:
        """Queued, and neither delivered nor given up yet."""
        record = await self.records.get(order_id)
        return record is not None and not record.done

    async def attempt(self, order_id: str) -> Tried:
        """One try, unless delivered or given up before."""
        record = await self.records.get(order_id)
        if record is None or record.done or record.body is None:
            return Tried()  # delivered before (a job run again), or never queued
        now = self.clock()
        tries = await self.records.trying(order_id, now)
        error = await self.webhook.post(order_id, record.body.encode())
        if error is None:
            await self.records.delivered(order_id, self.clock())
            log.info("order webhook: order %s delivered (try %d)", order_id, tries)
            return Tried(delivered=True)
        await self.records.failed(order_id, error)
        now = self.clock()
        after = now + retry_wait(tries)
        if after > record.queued_at + GIVE_UP_AFTER:
            await self.records.gave_up(order_id, now)
            log.error("order webhook: order %s NOT delivered after %d tries in %s; last "
                      "error: %s", order_id, tries, now - record.queued_at, error)
            return Tried()
        log.warning("order webhook: order %s, try %d failed (%s); next at %s", order_id,
                    tries, error, after.isoformat())
        return Tried(next_try=tries + 1, at=after)
