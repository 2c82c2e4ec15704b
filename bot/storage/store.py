"""The shop's data in Redis: one connection, every key under the shop's prefix (named in
bot/storage/keys.py), and the shopper's records every handler needs, customers
(bot/storage/customers.py) and conversations (bot/storage/conversations.py), as one object.
The other aggregates have repositories of their own in bot/storage/, built on a Store.

While an update holds its shopper's state (bot/storage/chat.py), the per-shopper methods
below read and write that state rather than Redis: the update's reads cost nothing and its
writes leave together, with its next round trip."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis

from bot.core.languages import Lang
from bot.storage.chat import holding
from bot.storage.codec import as_text
from bot.storage.conversations import (
    HISTORY,
    PIN,
    Conversation,
    ConversationRecords,
    Said,
    parse_history,
)
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
        self.pin_script = self._pin

    async def ping(self) -> None:
        await self.redis.ping()

    # -- the held shopper's state (bot/storage/chat.py), else Redis --------------------------
    async def customer(self, user_id: int) -> Customer | None:
        state = holding(user_id)
        return state.customer_now() if state else await super().customer(user_id)

    async def identify(self, user_id: int, *, first_name: str, last_name: str | None,
                       username: str | None, telegram_language: str | None,
                       now: datetime) -> Customer:
        state = holding(user_id)
        if state is None:
            return await super().identify(user_id, first_name=first_name, last_name=last_name,
                                          username=username,
                                          telegram_language=telegram_language, now=now)
        return state.identify(first_name=first_name, last_name=last_name, username=username,
                              telegram_language=telegram_language, now=now)

    async def set_language(self, user_id: int, lang: Lang) -> None:
        state = holding(user_id)
        if state is None:
            await super().set_language(user_id, lang)
        else:
            state.set_language(lang)

    async def seen(self, user_id: int, now: datetime) -> None:
        state = holding(user_id)
        if state is None:
            await super().seen(user_id, now)
        else:
            state.seen(now)

    async def count_visit(self, user_id: int) -> int:
        state = holding(user_id)
        return state.count_visit() if state else await super().count_visit(user_id)

    async def grant_gift(self, user_id: int, initial_stock: int, per_customer: int) -> str:
        # The stock is every shopper's: granted at once, in a transaction of its own.
        outcome = await super().grant_gift(user_id, initial_stock, per_customer)
        state = holding(user_id)
        if state is not None and outcome == "granted":
            state.gifts_given += 1
        return outcome

    async def conversation(self, user_id: int) -> Conversation | None:
        state = holding(user_id)
        return state.conversation_now() if state else await super().conversation(user_id)

    async def open_conversation(self, user_id: int, now: datetime) -> None:
        state = holding(user_id)
        if state is None:
            await super().open_conversation(user_id, now)
        else:
            state.open_conversation(now)

    async def pin(self, user_id: int, pins: str, keep: int) -> int:
        state = holding(user_id)
        if state is None or not state.pinned:
            return await super().pin(user_id, pins, keep)
        # Pinned (or put back) as the state was loaded: the visits are the pinned ones.
        return state.customer.visits if state.customer is not None else 0

    async def note_message(self, user_id: int, now: datetime) -> None:
        state = holding(user_id)
        if state is None:
            await super().note_message(user_id, now)
        else:
            state.note_message(now)

    async def bargaining(self, user_id: int) -> dict[str, int]:
        state = holding(user_id)
        return dict(state.refusals) if state else await super().bargaining(user_id)

    async def refused(self, user_id: int, kind: str) -> None:
        state = holding(user_id)
        if state is None:
            await super().refused(user_id, kind)
        else:
            state.refused(kind)

    async def discuss(self, user_id: int, product_id: str,
                      selection: dict[str, str] | None = None) -> None:
        state = holding(user_id)
        if state is None:
            await super().discuss(user_id, product_id, selection)
        else:
            state.discuss(product_id, selection)

    async def misunderstood(self, user_id: int) -> int:
        state = holding(user_id)
        return state.misunderstood() if state else await super().misunderstood(user_id)

    async def understood(self, user_id: int) -> None:
        state = holding(user_id)
        if state is None:
            await super().understood(user_id)
        else:
            state.understood()

    async def close_conversation(self, user_id: int, now: datetime) -> None:
        state = holding(user_id)
        if state is None:
            await super().close_conversation(user_id, now)
        else:
            state.close_conversation(now)

    async def remember(self, user_id: int, who: str, text: str, now: datetime) -> None:
        state = holding(user_id)
        if state is None:
            await super().remember(user_id, who, text, now)
        else:
            state.remember(who, text, now)

    async def history(self, user_id: int, last: int = HISTORY) -> list[Said]:
        state = holding(user_id)
        if state is None or not state.said():
            return await super().history(user_id, last)
        # What is kept, and the lines the update said since, not written yet.
        kept = await self.redis.lrange(self.keys.history(user_id), -HISTORY, -1)
        lines = [*kept, *state.said()][-HISTORY:][-last:]
        return parse_history(lines, self.clock() - self.history_retention)
