"""Conversations in Redis: the one going on with each shopper, where their bargaining
stands, and the lines said, for the staff's card (`Keys.conversation`, `Keys.history`); and
the state an update's first try found, pinned for a second try (`Keys.inbox_pin`). Part of
`Store` (bot/storage/store.py)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis
from redis.commands.core import AsyncScript

from bot.storage.codec import as_text, from_stamp, to_stamp
from bot.storage.keys import Keys


@dataclass
class Conversation:
    started_at: datetime | None = None
    last_message_at: datetime | None = None
    closed: bool = False
    messages: int = 0
    product: str | None = None  # the product last discussed, for "and in blue?"
    # The option values its card was about ({"kind": "linden"}), for "and the 500 g one?"
    selection: dict[str, str] = field(default_factory=dict)
    misunderstood: int = 0  # messages in a row the bot did not understand


@dataclass(frozen=True)
class Said:
    """One line of the conversation, for the staff's card: who said what, when."""

    at: datetime
    who: str  # "customer", "bot" or "staff"
    text: str


HISTORY = 30  # lines of conversation kept per customer
REFUSED = ("discount", "shipping", "gift")  # what the bargaining ladder counts refusals of
REFUSALS = [f"{kind}_refusals" for kind in REFUSED]  # their fields in the conversation

# What the conversation decides from, for one shopper: the conversation itself, the visit
# count, and the gifts granted to them. Pinned as the first try of an update found it; put
# back by a second try (see `pin`). Gifts granted by the first try go back to the stock.
PIN = """
local pinned = redis.call('HGET', KEYS[1], ARGV[1])
if not pinned then
  local state = {conv = redis.call('HGETALL', KEYS[2]),
                 visits = redis.call('HGET', KEYS[3], 'visits'),
                 gifts = redis.call('HGET', KEYS[4], ARGV[1])}
  redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(state))
  redis.call('EXPIRE', KEYS[1], ARGV[2])
  return state.visits
end
local state = cjson.decode(pinned)
redis.call('DEL', KEYS[2])
if #state.conv > 0 then redis.call('HSET', KEYS[2], unpack(state.conv)) end
if state.visits then
  redis.call('HSET', KEYS[3], 'visits', state.visits)
else
  redis.call('HDEL', KEYS[3], 'visits')
end
local taken = tonumber(redis.call('HGET', KEYS[4], ARGV[1]) or 0) - tonumber(state.gifts or 0)
if taken > 0 then
  redis.call('HINCRBY', KEYS[4], ARGV[1], -taken)
  redis.call('HINCRBY', KEYS[3], 'gifts_promised', -taken)
  if redis.call('EXISTS', KEYS[5]) == 1 then redis.call('INCRBY', KEYS[5], taken) end
end
return state.visits
"""


class ConversationRecords:
    redis: Redis
    keys: Keys
    history_retention: timedelta
    clock: Callable[[], datetime]
    _pin: AsyncScript

    async def conversation(self, user_id: int) -> Conversation | None:
        return parse_conversation(await self.redis.hgetall(self.keys.conversation(user_id)))

    async def open_conversation(self, user_id: int, now: datetime) -> None:
        key = self.keys.conversation(user_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(key)
            pipe.hset(key, mapping={"started_at": to_stamp(now), "last_message_at": to_stamp(now),
                                    "closed": "0", "messages": 0})
            await pipe.execute()

    async def pin(self, user_id: int, pins: str, keep: int) -> int:
        """The shopper's state as the first try of an update found it: recorded under `pins`
        (the update's key) on the first call, put back on any later call (a second try,
        its process having died). Returns the visit count, as pinned."""
        visits = await self._pin(
            keys=[pins, self.keys.conversation(user_id), self.keys.customer(user_id),
                  self.keys.gifts_given(), self.keys.gift_stock()],
            args=[user_id, keep])
        return int(visits or 0)

    async def note_message(self, user_id: int, now: datetime) -> None:
        key = self.keys.conversation(user_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, "last_message_at", to_stamp(now))
            pipe.hincrby(key, "messages", 1)
            await pipe.execute()

    # -- bargaining -----------------------------------------------------------------------
    async def bargaining(self, user_id: int) -> dict[str, int]:
        """How far this conversation's bargaining went: refusals of each kind so far."""
        return refusals(await self.redis.hmget(self.keys.conversation(user_id), REFUSALS))

    async def refused(self, user_id: int, kind: str) -> None:
        await self.redis.hincrby(self.keys.conversation(user_id), f"{kind}_refusals", 1)

    async def discuss(self, user_id: int, product_id: str,
                      selection: dict[str, str] | None = None) -> None:
        await self.redis.hset(self.keys.conversation(user_id), mapping={
            "product": product_id,
            "selection": json.dumps(selection or {}, ensure_ascii=False)})

    async def misunderstood(self, user_id: int) -> int:
        """One more message not understood; returns how many in a row."""
        return int(await self.redis.hincrby(self.keys.conversation(user_id), "misunderstood", 1))

    async def understood(self, user_id: int) -> None:
        await self.redis.hset(self.keys.conversation(user_id), "misunderstood", 0)

    # -- what was said ---------------------------------------------------------------------
    async def remember(self, user_id: int, who: str, text: str, now: datetime) -> None:
        key = self.keys.history(user_id)
        line = history_line(who, text, now)
        keep = int(self.history_retention.total_seconds())
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.rpush(key, line)
            pipe.ltrim(key, -HISTORY, -1)
            pipe.expire(key, max(keep, 1))  # a silent customer's history goes as a whole
            pipe.lindex(key, 0)
            *_, oldest = await pipe.execute()
        cutoff = (now - self.history_retention).timestamp()
        if oldest is None or json.loads(oldest)["at"] >= cutoff:
            return  # lines are in time order: nothing is past retention
        for stale in (item for item in await self.redis.lrange(key, 0, -1)
                      if json.loads(item)["at"] < cutoff):
            await self.redis.lrem(key, 1, stale)

    async def history(self, user_id: int, last: int = HISTORY) -> list[Said]:
        raw = await self.redis.lrange(self.keys.history(user_id), -last, -1)
        # Now, not the last line's time: a line past retention is never shown, even if
        # nobody wrote since.
        return parse_history(raw, self.clock() - self.history_retention)

    async def close_conversation(self, user_id: int, now: datetime) -> None:
        await self.redis.hset(self.keys.conversation(user_id),
                              mapping={"closed": "1", "last_message_at": to_stamp(now)})


def history_line(who: str, text: str, now: datetime) -> str:
    """One line of the history, as kept."""
    return json.dumps({"at": now.timestamp(), "who": who, "text": text[:1000]},
                      ensure_ascii=False)


def parse_history(raw: list, cutoff: datetime) -> list[Said]:
    """History lines as kept, those said before `cutoff` left out."""
    said = [Said(datetime.fromtimestamp(line["at"], tz=UTC), line["who"], line["text"])
            for line in map(json.loads, raw)]
    return [line for line in said if line.at >= cutoff]


def parse_conversation(raw: dict) -> Conversation | None:
    """A conversation's hash as Redis returns it; None for a missing one."""
    if not raw:
        return None
    get = {(as_text(k) or ""): as_text(v) for k, v in raw.items()}
    return Conversation(
        started_at=from_stamp(get.get("started_at")),
        last_message_at=from_stamp(get.get("last_message_at")),
        closed=get.get("closed") == "1",
        messages=int(get.get("messages") or 0),
        product=get.get("product"),
        selection=_selection(get.get("selection")),
        misunderstood=int(get.get("misunderstood") or 0),
    )


def refusals(raw: list) -> dict[str, int]:
    """Where the bargaining stands, from the conversation's REFUSALS fields."""
    return {name: int(value or 0) for name, value in zip(REFUSED, raw, strict=True)}


def _selection(raw: str | None) -> dict[str, str]:
    """A card's option values as stored; anything unreadable is no selection."""
    try:
        value = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    if not isinstance(value, dict):
        return {}
    return {str(k): str(v) for k, v in value.items()}
