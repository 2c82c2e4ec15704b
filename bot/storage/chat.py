"""A unit of work per held chat: what one update of a shopper's chat needs, read in one
round trip, and its writes sent back in one MULTI.

The inbox hands a chat to one process at a time (bot/storage/inbox.py), so nothing else
writes a shopper's customer and conversation hashes while an update of theirs is handled:
the state can be read once at the start and written back once at the end. Today the rules
read and write through `Store`, one command or pipeline at a time (bot/domain/conversation.py
says why its writes stay immediate); `ChatState` is the seam the fast path builds on. Its
writes are the ones `Store` makes, field for field (tests/unit/test_chat_state.py holds them
equal), so the keys' contents do not depend on which of the two wrote them.

What it leaves out, on purpose: a gift is granted by `Store.grant_gift`, a transaction of its
own, because the stock is shared by every shopper; an update's first try pins the shopper's
state (`Store.pin`) before anything is read, so a second try loads what the first found; the
history and the shop-wide records keep their repositories.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime

from bot.core.languages import Lang
from bot.storage.codec import as_text, to_stamp
from bot.storage.conversations import (
    REFUSALS,
    Conversation,
    parse_conversation,
    refusals,
)
from bot.storage.customers import Customer, parse_customer
from bot.storage.store import Store

Value = str | int


@dataclass
class ChatState:
    """One shopper's state as an update found it, with the changes it made since."""

    user_id: int
    customer: Customer | None
    conversation: Conversation | None
    refusals: dict[str, int]  # where the bargaining ladder stands, by kind
    gifts_given: int  # gifts granted to this shopper (the `per_customer` limit)
    with_staff: bool  # a person holds the conversation: the bot stays quiet
    # Not saved yet. A field is either set or counted up, never both: a set after a count
    # replaces it, a count after a set adds to the value set.
    _fresh: bool = False  # a new conversation: the old hash goes before anything is set
    _conversation_set: dict[str, Value] = field(default_factory=dict)
    _conversation_add: dict[str, int] = field(default_factory=dict)
    _customer_set: dict[str, Value] = field(default_factory=dict)
    _customer_add: dict[str, int] = field(default_factory=dict)
    _seen: float | None = None  # the score in `customers`

    @property
    def changed(self) -> bool:
        return bool(self._fresh or self._conversation_set or self._conversation_add
                    or self._customer_set or self._customer_add or self._seen is not None)

    # -- the conversation (as Store.open_conversation, note_message, ...) ------------------
    def open_conversation(self, now: datetime) -> None:
        self._fresh = True
        self._conversation_set.clear()
        self._conversation_add.clear()
        self._conversation_set.update({"started_at": to_stamp(now),
                                       "last_message_at": to_stamp(now),
                                       "closed": "0", "messages": 0})
        self.conversation = Conversation(started_at=now, last_message_at=now)
        self.refusals = dict.fromkeys(self.refusals, 0)

    def note_message(self, now: datetime) -> None:
        conversation = self._conversation()
        conversation.last_message_at = now
        conversation.messages += 1
        self._set_conversation(last_message_at=to_stamp(now))
        self._add_conversation("messages")

    def close_conversation(self, now: datetime) -> None:
        conversation = self._conversation()
        conversation.closed, conversation.last_message_at = True, now
        self._set_conversation(closed="1", last_message_at=to_stamp(now))

    def discuss(self, product_id: str, selection: dict[str, str] | None = None) -> None:
        conversation = self._conversation()
        conversation.product, conversation.selection = product_id, dict(selection or {})
        self._set_conversation(product=product_id,
                               selection=json.dumps(selection or {}, ensure_ascii=False))

    def refused(self, kind: str) -> None:
        self.refusals[kind] = self.refusals.get(kind, 0) + 1
        self._add_conversation(f"{kind}_refusals")

    def misunderstood(self) -> int:
        """One more message not understood; returns how many in a row."""
        conversation = self._conversation()
        conversation.misunderstood += 1
        self._add_conversation("misunderstood")
        return conversation.misunderstood

    def understood(self) -> None:
        self._conversation().misunderstood = 0
        self._set_conversation(misunderstood=0)

    # -- the customer (as Store.count_visit, seen, set_language) ---------------------------
    def count_visit(self) -> int:
        self._add("visits", self._customer_set, self._customer_add)
        if self.customer is not None:
            self.customer.visits += 1
            return self.customer.visits
        return int(self._customer_set.get("visits", 0)) + self._customer_add.get("visits", 0)

    def seen(self, now: datetime) -> None:
        if self.customer is not None:
            self.customer.last_seen = now
        self._set(self._customer_set, self._customer_add, last_seen=to_stamp(now))
        self._seen = now.timestamp()

    def set_language(self, lang: Lang) -> None:
        if self.customer is not None:
            self.customer.language = lang
        self._set(self._customer_set, self._customer_add, language=lang)

    # -- bookkeeping -------------------------------------------------------------------------
    def _conversation(self) -> Conversation:
        if self.conversation is None:  # Store's writes would make the hash: so does this
            self.conversation = Conversation()
        return self.conversation

    def _set_conversation(self, **values: Value) -> None:
        self._set(self._conversation_set, self._conversation_add, **values)

    def _add_conversation(self, name: str) -> None:
        self._add(name, self._conversation_set, self._conversation_add)

    @staticmethod
    def _set(sets: dict[str, Value], adds: dict[str, int], **values: Value) -> None:
        for name, value in values.items():
            adds.pop(name, None)
            sets[name] = value

    @staticmethod
    def _add(name: str, sets: dict[str, Value], adds: dict[str, int]) -> None:
        if name in sets:
            sets[name] = int(sets[name]) + 1
        else:
            adds[name] = adds.get(name, 0) + 1

    def _saved(self) -> None:
        self._fresh, self._seen = False, None
        for pending in (self._conversation_set, self._conversation_add, self._customer_set,
                        self._customer_add):
            pending.clear()


class ChatStates:
    def __init__(self, store: Store) -> None:
        self.redis = store.redis
        self.keys = store.keys

    async def load(self, user_id: int) -> ChatState:
        """The shopper's state, in one round trip (MULTI/EXEC: one moment's state)."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hgetall(self.keys.customer(user_id))
            pipe.hgetall(self.keys.conversation(user_id))
            pipe.hmget(self.keys.conversation(user_id), REFUSALS)
            pipe.hget(self.keys.gifts_given(), str(user_id))
            pipe.hget(self.keys.handoff(user_id), "staff")
            customer, conversation, refused, gifts, staff = await pipe.execute()
        return ChatState(
            user_id=user_id,
            customer=parse_customer(user_id, customer) if customer else None,
            conversation=parse_conversation(conversation),
            refusals=refusals(refused),
            gifts_given=int(gifts or 0),
            with_staff=as_text(staff) == "1",
        )

    async def save(self, state: ChatState) -> None:
        """The update's changes, in one MULTI; nothing is sent when there are none."""
        if not state.changed:
            return
        conversation = self.keys.conversation(state.user_id)
        customer = self.keys.customer(state.user_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            if state._fresh:
                pipe.delete(conversation)
            if state._conversation_set:
                pipe.hset(conversation, mapping=state._conversation_set)
            for name, n in state._conversation_add.items():
                pipe.hincrby(conversation, name, n)
            if state._customer_set:
                pipe.hset(customer, mapping=state._customer_set)
            for name, n in state._customer_add.items():
                pipe.hincrby(customer, name, n)
            if state._seen is not None:
                pipe.zadd(self.keys.customers(), {str(state.user_id): state._seen})
            await pipe.execute()
        state._saved()
