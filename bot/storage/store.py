"""The shop's data in Redis: one connection, every key under the shop's prefix (named in
bot/storage/keys.py), and the shopper's records every handler needs, customers
(bot/storage/customers.py) and conversations (bot/storage/conversations.py), as one object.
The other aggregates have repositories of their own in bot/storage/, built on a Store."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis

from bot.storage.codec import as_text
from bot.storage.conversations import HISTORY, PIN, Conversation, ConversationRecords, Said
from bot.storage.customers import Customer, CustomerRecords
from bot.storage.keys import Keys

log = logging.getLogger(__name__)

# The records' types, where the callers have always found them.
__all__ = ["HISTORY", "Conversation", "Customer", "Said", "Store", "as_text"]


class Store(CustomerRecords, ConversationRecords):
    """The connection to the shop's data, and the customers and their conversations."""

    def __init__(self, redis: Redis, prefix: str,
                 history_retention: timedelta = timedelta(days=90),
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.redis = redis
        self.prefix = prefix.rstrip(":")
        self.keys = Keys(prefix)
        # No line of a conversation is kept longer than this (HISTORY_RETENTION_DAYS).
        self.history_retention = history_retention
        self.clock = clock
        self._pin = redis.register_script(PIN)

    async def ping(self) -> None:
        await self.redis.ping()
