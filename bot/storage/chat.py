"""A unit of work per held chat: what one update of a shopper's chat needs, read in one
round trip, and its writes sent back in one MULTI.

The inbox hands a chat to one process at a time (bot/storage/inbox.py), so nothing else
writes a shopper's customer and conversation hashes while an update of theirs is handled:
the state can be read once at the start and written back once at the end. While an update
holds its state (`hold`), `Store`'s per-shopper methods read and write it instead of Redis
(bot/storage/store.py), and its writes go with the update's next round trip that can carry
them (a send's record, the inbox's `done`), or with `save`. Its writes are the ones `Store`
makes, field for field (tests/unit/test_chat_state.py holds them equal), so the keys'
contents do not depend on which of the two wrote them.

What it leaves out, on purpose: a gift is granted by `Store.grant_gift`, a transaction of its
own, because the stock is shared by every shopper; an update's first try pins the shopper's
state (`Store.pin`) before anything is read, so a second try loads what the first found
(`load` pins first, in the same MULTI); tags and the shop-wide records keep their
repositories.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING

from redis.asyncio.client import Pipeline
from redis.exceptions import NoScriptError

from bot.core.languages import Lang
from bot.storage.codec import as_text, to_stamp
from bot.storage.conversations import (
    HISTORY,
    REFUSALS,
    Conversation,
    history_line,
    parse_conversation,
    refusals,
)
from bot.storage.customers import Customer, parse_customer
from bot.storage.flood import count_in

if TYPE_CHECKING:
    from bot.storage.store import Store

Value = str | int

# Lines of a history past retention, oldest first (the lines are in time order): what
# ConversationRecords.remember removes one by one, in the same MULTI as the new lines.
_TRIM_STALE = """
while true do
  local head = redis.call('LINDEX', KEYS[1], 0)
  if not head or cjson.decode(head).at >= tonumber(ARGV[1]) then return end
  redis.call('LPOP', KEYS[1])
end
"""


@dataclass
class ChatState:
    """One shopper's state as an update found it, with the changes it made since."""

    user_id: int
    customer: Customer | None
    conversation: Conversation | None
    refusals: dict[str, int]  # where the bargaining ladder stands, by kind
    gifts_given: int  # gifts granted to this shopper (the `per_customer` limit)
    with_staff: bool  # a person holds the conversation: the bot stays quiet
    flood: tuple[str, int] | None = None  # a message counted at load, and the count then
    oldest: float | None = None  # when the oldest line of the history was said
    pinned: bool = False  # loaded after pinning (or putting back) the first try's state
    fsm_loaded: bool = False  # aiogram's FSM state was read with the rest (bot/storage/fsm.py)
    fsm_state: str | None = None
    # True while its update is handled: `Store` reads and writes it instead of Redis.
    open: bool = False
    _raw: dict[str, str] = field(default_factory=dict)  # the customer's hash as loaded
    # Not saved yet. A field is either set or counted up, never both: a set after a count
    # replaces it, a count after a set adds to the value set.
    _fresh: bool = False  # a new conversation: the old hash goes before anything is set
    _conversation_set: dict[str, Value] = field(default_factory=dict)
    _conversation_add: dict[str, int] = field(default_factory=dict)
    _customer_set: dict[str, Value] = field(default_factory=dict)
    _customer_add: dict[str, int] = field(default_factory=dict)
    _seen: float | None = None  # the score in `customers`
    _said: list[str] = field(default_factory=list)  # history lines, in order
    _said_at: datetime | None = None  # when the last of them was said

    @property
    def changed(self) -> bool:
        return bool(self._fresh or self._conversation_set or self._conversation_add
                    or self._customer_set or self._customer_add or self._seen is not None
                    or self._said)

    # -- reads, as Store's (copies: a caller's object does not change under it) -----------
    def customer_now(self) -> Customer | None:
        return replace(self.customer) if self.customer is not None else None

    def conversation_now(self) -> Conversation | None:
        if self.conversation is None:
            return None
        return replace(self.conversation, selection=dict(self.conversation.selection))

    # -- who the customer is (as Store.identify) --------------------------------------------
    def identify(self, *, first_name: str, last_name: str | None, username: str | None,
                 telegram_language: str | None, now: datetime) -> Customer:
        self._set(self._customer_set, self._customer_add, id=self.user_id,
                  first_name=first_name, last_name=last_name or "", username=username or "",
                  telegram_language=telegram_language or "")
        for name, value in (("first_seen", to_stamp(now)), ("visits", 0)):  # HSETNX
            if name not in self._raw and name not in self._customer_set \
                    and name not in self._customer_add:
                self._customer_set[name] = value
        self._seen = now.timestamp()
        merged: dict[str, str | int] = {**self._raw, **self._customer_set}
        for name, n in self._customer_add.items():
            merged[name] = int(merged.get(name) or 0) + n
        self.customer = parse_customer(self.user_id, merged)
        return self.customer_now()  # type: ignore[return-value]

    # -- what was said (as Store.remember) ----------------------------------------------------
    def came_by(self, connection: str | None) -> None:
        """The chat the shopper wrote in: a business connection's id, or None for the
        bot's own chat. Kept only when it changes (`Keys.customer`'s `business`)."""
        value = connection or ""
        if self._customer_set.get("business", self._raw.get("business", "")) != value:
            self._customer_set["business"] = value

    def remember(self, who: str, text: str, now: datetime) -> None:
        self._said.append(history_line(who, text, now))
        self._said_at = now

    def said(self) -> list[str]:
        """History lines not written yet, oldest first."""
        return list(self._said)

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
        # What is written is what a later load would find.
        self._raw = {k: str(v) for k, v in {**self._raw, **self._customer_set}.items()}
        for name, n in self._customer_add.items():
            self._raw[name] = str(int(self._raw.get(name) or 0) + n)
        for pending in (self._conversation_set, self._conversation_add, self._customer_set,
                        self._customer_add, self._said):
            pending.clear()


held: ContextVar[ChatState | None] = ContextVar("held", default=None)


def holding(user_id: int) -> ChatState | None:
    """The state of `user_id` held by the update being handled, if any."""
    state = held.get()
    return state if state is not None and state.open and state.user_id == user_id else None


@contextmanager
def hold(state: ChatState) -> Iterator[ChatState]:
    """While inside, `Store` reads and writes `state` for its shopper instead of Redis."""
    state.open = True
    token = held.set(state)
    try:
        yield state
    finally:
        state.open = False
        held.reset(token)


class ChatStates:
    def __init__(self, store: Store) -> None:
        self.redis = store.redis
        self.keys = store.keys
        self.retention = store.history_retention
        self._pin = store.pin_script

    async def load(self, user_id: int, *, pins: str | None = None, keep: int = 0,
                   flood: tuple[str, float, float, int] | None = None,
                   history: bool = False, fsm: str | None = None) -> ChatState:
        """The shopper's state, in one round trip (MULTI/EXEC: one moment's state).

        `pins`: the key an update pins the shopper's state under (`Store.pin`), pinned or
        put back first, for `keep` seconds. `flood`: a message counted in the flood window
        as `FloodCounters.count` does (item, now, seconds, window), its count kept on the
        state. `history`: the oldest line's time is read, for the retention check."""
        while True:
            async with self.redis.pipeline(transaction=True) as pipe:
                if pins:
                    pipe.evalsha(self._pin.sha, 5, pins, self.keys.conversation(user_id),
                                 self.keys.customer(user_id), self.keys.gifts_given(),
                                 self.keys.gift_stock(), user_id, keep)
                pipe.hgetall(self.keys.customer(user_id))
                pipe.hgetall(self.keys.conversation(user_id))
                pipe.hget(self.keys.gifts_given(), str(user_id))
                pipe.hget(self.keys.handoff(user_id), "staff")
                if history:
                    pipe.lindex(self.keys.history(user_id), 0)
                if fsm is not None:
                    pipe.get(fsm)
                if flood is not None:
                    count_in(pipe, self.keys.flood(user_id), *flood)
                results = await pipe.execute(raise_on_error=False)
            if pins and isinstance(results[0], NoScriptError):
                # Redis lost its scripts (a restart, SCRIPT FLUSH): the reads and the flood
                # count are the same done again (its item is counted once).
                await self.redis.script_load(self._pin.script)
                continue
            break
        for result in results:
            if isinstance(result, Exception):
                raise result
        if pins:
            results = results[1:]
        customer, conversation, gifts, staff, *rest = results
        oldest = rest.pop(0) if history else None
        fsm_state = as_text(rest.pop(0)) if fsm is not None else None
        return ChatState(
            user_id=user_id,
            customer=parse_customer(user_id, customer) if customer else None,
            conversation=parse_conversation(conversation),
            refusals=refusals([conversation.get(name.encode()) for name in REFUSALS]),
            gifts_given=int(gifts or 0),
            with_staff=as_text(staff) == "1",
            flood=(flood[0], int(rest[2])) if flood is not None else None,
            oldest=json.loads(oldest)["at"] if oldest else None,
            pinned=bool(pins),
            fsm_loaded=fsm is not None,
            fsm_state=fsm_state,
            _raw={(as_text(k) or ""): (as_text(v) or "") for k, v in customer.items()},
        )

    def write(self, pipe: Pipeline, state: ChatState) -> bool:
        """Add the update's changes to `pipe`; False when there are none. Call `saved` once
        `pipe` is executed."""
        if not state.changed:
            return False
        conversation = self.keys.conversation(state.user_id)
        customer = self.keys.customer(state.user_id)
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
        if state._said:
            history = self.keys.history(state.user_id)
            pipe.rpush(history, *state._said)
            pipe.ltrim(history, -HISTORY, -1)
            # A silent customer's history goes as a whole.
            pipe.expire(history, max(int(self.retention.total_seconds()), 1))
            assert state._said_at is not None
            cutoff = (state._said_at - self.retention).timestamp()
            if state.oldest is not None and state.oldest < cutoff:
                pipe.eval(_TRIM_STALE, 1, history, cutoff)
        return True

    @staticmethod
    def saved(state: ChatState) -> None:
        if state._said:
            state.oldest = None  # the oldest line may have gone: looked at no more
        state._saved()

    async def save(self, state: ChatState) -> None:
        """The update's changes, in one MULTI; nothing is sent when there are none."""
        if not state.changed:
            return
        async with self.redis.pipeline(transaction=True) as pipe:
            self.write(pipe, state)
            await pipe.execute()
        self.saved(state)
