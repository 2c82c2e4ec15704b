"""Broadcasts in Redis: the record, its recipients' queue and states, the senders' claims and
heartbeats (`Keys.broadcast*`), and the sending rate every sender of the shop shares
(`Keys.broadcast_rate`, `Keys.broadcast_pause`). Who gets a broadcast, and when it starts,
ends or stops, is bot/domain/broadcasts.py's.

A sender claims recipients in batches (they stay `pending` in its claimed list), and marks
each `sending` *just before* its message goes out, so a sender that dies mid-send leaves
them `sending`, and nobody sends to them again: a promotion whose outcome is unknown is not
repeated. One who was only claimed (still `pending`) goes back to the queue. Each change of
a recipient's state is one Lua call that checks the state it changes from, so two senders
(or a sender and the rescue of a sender thought dead) never both act on one recipient, and
recording an outcome twice counts it once.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from redis.asyncio.client import Pipeline

from bot.storage.store import Store, as_text
from bot.storage.transactions import optimistic

Clock = Callable[[], datetime]
SENDER_TTL = 30  # seconds a sender's heartbeat lasts: a dead one's recipients are requeued
# A customer as a broadcast's segment reads them: blocked, promotions, language and
# Telegram's language (the profile's fields), and their tags.
Candidate = tuple[int, tuple[str | None, str | None, str | None, str | None], set[str | None]]
UNKNOWN = "outcome unknown"  # the error kept for one whose sender died mid-send

# KEYS: queue, claimed, state. ARGV: how many. Recipients move from the queue to the
# sender's claimed list in one step, so none is lost between the two; one already tried
# (put in the queue twice by an old rescue, say) is dropped.
_CLAIM = """
local taken = {}
local ids = redis.call('LPOP', KEYS[1], tonumber(ARGV[1]))
if not ids then return taken end
for _, rid in ipairs(ids) do
  if redis.call('HGET', KEYS[3], rid) == 'pending' then
    redis.call('RPUSH', KEYS[2], rid)
    taken[#taken + 1] = rid
  end
end
return taken
"""

# KEYS: state, counts, errors, claimed, queue, then one customer key per recipient begun.
# ARGV: n, then n triples (recipient, outcome, error or ''), then the recipients begun.
# First the outcomes of sends that are over: only one still `sending` takes an outcome, so
# recording twice counts once; `pending` puts one of the sender's own back at the head of
# the queue (nothing went out). Then each recipient begun: still `pending` and still taking
# promotions, it becomes `sending` (go); one who turned promotions off or blocked the bot
# is `skipped`; one no longer `pending` is not this sender's to send (gone). Returns, per
# recipient begun: the verdict, whether the customer is known, their language and
# Telegram's language.
_RECORD = """
local state, counts, errors, claimed, queue = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5]
local n = tonumber(ARGV[1])
for i = 0, n - 1 do
  local rid, outcome, err = ARGV[2 + 3 * i], ARGV[3 + 3 * i], ARGV[4 + 3 * i]
  local mine = redis.call('LREM', claimed, 1, rid)
  local now = redis.call('HGET', state, rid)
  if outcome == 'pending' then
    if mine == 1 and (now == 'sending' or now == 'pending') then
      redis.call('HSET', state, rid, 'pending')
      redis.call('LPUSH', queue, rid)
    end
  elseif now == 'sending' then
    redis.call('HSET', state, rid, outcome)
    redis.call('HINCRBY', counts, outcome, 1)
    if err ~= '' then redis.call('HSET', errors, rid, err) end
  end
end
local started = {}
for j = 6, #KEYS do
  local rid = ARGV[2 + 3 * n + j - 6]
  local who = redis.call('HMGET', KEYS[j], 'blocked', 'promotions', 'language',
                         'telegram_language')
  local known = redis.call('EXISTS', KEYS[j])
  local verdict = 'gone'
  if redis.call('HGET', state, rid) == 'pending' then
    if who[1] == '1' or who[2] == '0' then
      verdict = 'skipped'
      redis.call('HSET', state, rid, 'skipped')
      redis.call('HINCRBY', counts, 'skipped', 1)
      redis.call('LREM', claimed, 1, rid)
    else
      verdict = 'go'
      redis.call('HSET', state, rid, 'sending')
    end
  else
    redis.call('LREM', claimed, 1, rid)
  end
  started[#started + 1] = {verdict, known, who[3] or '', who[4] or ''}
end
return started
"""

# KEYS: claimed (of a dead sender), state, counts, errors, queue. ARGV: the error to keep.
# The list is taken whole in one step, so two senders rescuing at once rescue it once.
_RESCUE = """
local ids = redis.call('LRANGE', KEYS[1], 0, -1)
redis.call('DEL', KEYS[1])
local rescued = 0
for _, rid in ipairs(ids) do
  local now = redis.call('HGET', KEYS[2], rid)
  if now == 'pending' then
    redis.call('RPUSH', KEYS[5], rid)
    rescued = rescued + 1
  elseif now == 'sending' then
    redis.call('HSET', KEYS[2], rid, 'failed')
    redis.call('HINCRBY', KEYS[3], 'failed', 1)
    redis.call('HSET', KEYS[4], rid, ARGV[1])
  end
end
return rescued
"""

# KEYS: the next free instant, the end of a pause. ARGV: now, step, how many, until ('':
# no limit). Books up to `how many` instants `step` apart from the next free one, none
# after `until`; returns the first (as text) and how many were booked.
_BOOK = """
local now, step, count = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local at = math.max(now, tonumber(redis.call('GET', KEYS[1]) or '0'),
                    tonumber(redis.call('GET', KEYS[2]) or '0'))
if ARGV[4] ~= '' then
  count = math.max(0, math.min(count, math.floor((tonumber(ARGV[4]) - at) / step) + 1))
end
if count > 0 then
  redis.call('SET', KEYS[1], string.format('%.17g', at + count * step), 'EX', 60)
end
return {string.format('%.17g', at), count}
"""


@dataclass(frozen=True)
class Outcome:
    """How a send ended: `sent`, `failed`, `blocked`, `left`, or `pending` when nothing went
    out and the recipient goes back in line (a 429, or claimed and never begun)."""

    recipient: int
    outcome: str
    error: str | None = None


@dataclass(frozen=True)
class Start:
    """A recipient about to be sent to: `go` (now `sending`), `skipped` (turned promotions
    off or blocked the bot since the broadcast was made) or `gone` (not this sender's)."""

    recipient: int
    verdict: str
    known: bool  # the bot has a profile of them
    language: str | None
    telegram_language: str | None


@dataclass
class Broadcast:
    id: str
    variants: dict[str, dict[str, Any]]
    default: str
    segment: dict[str, Any]
    status: str  # scheduled, running, cancelled, done
    created_at: float
    at: float
    total: int = 0
    owner_chat: int | None = None
    status_message: int | None = None  # the owner's progress message, edited as it goes
    finished_at: float | None = None

    def variant(self, lang: str) -> dict[str, Any]:
        return self.variants.get(lang) or self.variants[self.default]

    def dump(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def load(cls, raw: str | bytes) -> Broadcast:
        return cls(**json.loads(raw))


class BroadcastRecords:
    def __init__(self, store: Store, clock: Clock) -> None:
        self.redis = store.redis
        self.keys = store.keys
        self.clock = clock
        self._claim = self.redis.register_script(_CLAIM)
        self._record = self.redis.register_script(_RECORD)
        self._rescue = self.redis.register_script(_RESCUE)

    # -- who may get it -------------------------------------------------------------------
    async def candidates(self, active_since: float | str) -> AsyncIterator[list[Candidate]]:
        """Customers heard from since `active_since` ("-inf": ever), 500 at a time, each
        with what a segment reads of them."""
        ids = [int(i) for i in await self.redis.zrangebyscore(self.keys.customers(),
                                                              active_since, "+inf")]
        for start in range(0, len(ids), 500):
            batch = ids[start:start + 500]
            async with self.redis.pipeline(transaction=False) as pipe:
                for cid in batch:
                    pipe.hmget(self.keys.customer(cid),
                               ["blocked", "promotions", "language", "telegram_language"])
                    pipe.smembers(self.keys.tags(cid))
                raw = await pipe.execute()
            found: list[Candidate] = []
            for cid, flags, tags in zip(batch, raw[::2], raw[1::2], strict=True):
                blocked, promotions, language, telegram = (as_text(v) for v in flags)
                found.append((cid, (blocked, promotions, language, telegram),
                              {as_text(t) for t in tags}))
            yield found

    # -- the record -------------------------------------------------------------------------
    async def next_number(self) -> int:
        return int(await self.redis.incr(self.keys.broadcast_seq()))

    async def create(self, broadcast: Broadcast, recipients: list[int]) -> None:
        """The broadcast and its recipients, all `pending`, in one MULTI."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(self.keys.broadcast(broadcast.id), broadcast.dump())
            for start in range(0, len(recipients), 1000):
                chunk = recipients[start:start + 1000]
                pipe.rpush(self.keys.broadcast_queue(broadcast.id), *chunk)
                pipe.hset(self.keys.broadcast_state(broadcast.id),
                          mapping=dict.fromkeys(map(str, chunk), "pending"))
            pipe.zadd(self.keys.broadcasts(), {broadcast.id: broadcast.created_at})
            await pipe.execute()

    async def get(self, bid: str) -> Broadcast | None:
        raw = await self.redis.get(self.keys.broadcast(bid))
        return Broadcast.load(raw) if raw else None

    async def update(self, bid: str, change: Callable[[Broadcast], bool]) -> Broadcast | None:
        """Change a broadcast atomically; `change` returns False to leave it as it is."""
        key = self.keys.broadcast(bid)

        async def apply(pipe: Pipeline) -> Broadcast | None:
            raw = await pipe.get(key)
            broadcast = Broadcast.load(raw) if raw else None
            if broadcast is None or not change(broadcast):
                await pipe.unwatch()
                return None
            pipe.multi()
            pipe.set(key, broadcast.dump())
            await pipe.execute()
            return broadcast

        return await optimistic(self.redis, [key], apply)

    async def all(self) -> list[Broadcast]:
        """Every broadcast, oldest first."""
        ids = await self.redis.zrange(self.keys.broadcasts(), 0, -1)
        found = [await self.get(as_text(i) or "") for i in ids]
        return [b for b in found if b is not None]

    async def recent(self, count: int) -> list[Broadcast]:
        ids = await self.redis.zrevrange(self.keys.broadcasts(), 0, count - 1)
        found = [await self.get(as_text(i) or "") for i in ids]
        return [b for b in found if b is not None]

    async def counts(self, bid: str) -> dict[str, int]:
        raw = await self.redis.hgetall(self.keys.broadcast_counts(bid))
        return {as_text(k) or "": int(v) for k, v in raw.items()}

    async def may_report(self, bid: str, every: int) -> bool:
        """True at most once in `every` seconds: the owner's progress message may be edited."""
        return bool(await self.redis.set(self.keys.broadcast_edited(bid), "1", nx=True,
                                         ex=every))

    async def next_generation(self, bid: str) -> int:
        """The broadcast starts again on new lanes: their generation."""
        return int(await self.redis.incr(self.keys.broadcast_generation(bid)))

    # -- sending ----------------------------------------------------------------------------
    async def claim(self, bid: str, sender: str, count: int) -> list[int]:
        """Up to `count` recipients from the head of the queue into `sender`'s claimed list,
        still `pending`: one round trip for a batch."""
        keys = [self.keys.broadcast_queue(bid), self.keys.broadcast_claimed(bid, sender),
                self.keys.broadcast_state(bid)]
        return [int(as_text(r) or 0) for r in await self._claim(keys=keys, args=[count])]

    async def record(self, bid: str, sender: str, outcomes: Sequence[Outcome] = (),
                     begin: Sequence[int] = ()) -> list[Start]:
        """In one round trip: the outcomes of sends that are over, then the recipients of
        `begin` marked `sending` (or skipped), each checked as it changes."""
        if not outcomes and not begin:
            return []
        keys = [self.keys.broadcast_state(bid), self.keys.broadcast_counts(bid),
                self.keys.broadcast_errors(bid), self.keys.broadcast_claimed(bid, sender),
                self.keys.broadcast_queue(bid), *(self.keys.customer(r) for r in begin)]
        args: list[str | int] = [len(outcomes)]
        for done in outcomes:
            args += [done.recipient, done.outcome, (done.error or "")[:200]]
        args += list(begin)
        answer = await self._record(keys=keys, args=args)
        return [Start(rid, as_text(verdict) or "", bool(known), as_text(language) or None,
                      as_text(telegram) or None)
                for rid, (verdict, known, language, telegram)
                in zip(begin, answer, strict=True)]

    async def take(self, bid: str, sender: str) -> int | None:
        """The next recipient for `sender`, marked `sending`; None when none is left."""
        while claimed := await self.claim(bid, sender, 1):
            start, = await self.record(bid, sender, begin=claimed)
            if start.verdict == "go":
                return start.recipient
        return None

    async def settle(self, bid: str, sender: str, recipient: int, outcome: str,
                     error: str | None = None) -> None:
        """The send is over: its outcome recorded, the recipient released."""
        await self.record(bid, sender, [Outcome(recipient, outcome, error)])

    async def alive(self, bid: str, sender: str) -> None:
        # The time on the bot's clock, which decides; Redis's expiry only clears it away.
        await self.redis.set(self.keys.broadcast_sender(bid, sender), self.clock().timestamp(),
                             ex=SENDER_TTL * 10)

    async def _is_alive(self, bid: str, sender: str) -> bool:
        beat = await self.redis.get(self.keys.broadcast_sender(bid, sender))
        return beat is not None and float(beat) > self.clock().timestamp() - SENDER_TTL

    def _claimed_lists(self, bid: str) -> AsyncIterator[bytes | str]:
        # A thousand keys a round trip, not SCAN's ten: the whole key space is walked, and
        # with the shop's customers in it that took thousands of round trips, seconds of a
        # lane's slice.
        return self.redis.scan_iter(match=self.keys.broadcast_claimed(bid, "*"), count=1000)

    async def rescue(self, bid: str) -> int:
        """Recipients claimed by senders that died, and not yet begun: back to the queue.
        Those they had begun are `failed`, outcome unknown: never sent twice."""
        rescued = 0
        async for key in self._claimed_lists(bid):
            name = (as_text(key) or "").rsplit(":", 1)[-1]
            if await self._is_alive(bid, name):
                continue
            rescued += int(await self._rescue(
                keys=[key, self.keys.broadcast_state(bid), self.keys.broadcast_counts(bid),
                      self.keys.broadcast_errors(bid), self.keys.broadcast_queue(bid)],
                args=[UNKNOWN]))
        return rescued

    async def holders(self, bid: str) -> dict[str, float]:
        """The senders holding recipients of the broadcast, each with its last heartbeat
        (0 for none)."""
        found = {}
        async for key in self._claimed_lists(bid):
            name = (as_text(key) or "").rsplit(":", 1)[-1]
            found[name] = float(await self.redis.get(self.keys.broadcast_sender(bid, name))
                                or 0)
        return found

    async def queued(self, bid: str) -> int:
        """Recipients in the queue, taken by no sender."""
        return int(await self.redis.llen(self.keys.broadcast_queue(bid)))

    async def drained(self, bid: str) -> bool:
        """Nothing is queued, and no sender holds a recipient."""
        if await self.redis.llen(self.keys.broadcast_queue(bid)):
            return False
        async for _ in self._claimed_lists(bid):
            return False
        return True


class SendRate:
    """The next free send instant of every sender of the shop (`Keys.broadcast_rate`), and
    the pause after a 429 (`Keys.broadcast_pause`)."""

    def __init__(self, store: Store) -> None:
        self.redis = store.redis
        self.key = store.keys.broadcast_rate()
        self.pause_key = store.keys.broadcast_pause()
        self._book = self.redis.register_script(_BOOK)

    async def book(self, step: float, count: int, until: float | None,
                   now: float) -> tuple[float, int]:
        """Book up to `count` instants `step` apart, from the next free one on (none after
        `until`), in one round trip: the first instant, and how many were booked (0 when
        the next free one is after `until`)."""
        first, booked = await self._book(
            keys=[self.key, self.pause_key],
            args=[repr(now), repr(step), count, "" if until is None else repr(until)])
        return float(first), int(booked)

    async def booked(self) -> tuple[float, float]:
        """The next booked instant, and the end of the pause (0 for none)."""
        booked, paused = await self.redis.mget(self.key, self.pause_key)
        return float(booked or 0), float(paused or 0)

    async def pause(self, until: float, seconds: float) -> None:
        """No sender sends before `until` (`seconds` from now); a longer pause stands."""
        current = float(await self.redis.get(self.pause_key) or 0)
        if until > current:
            await self.redis.set(self.pause_key, until, ex=int(seconds) + 60)
