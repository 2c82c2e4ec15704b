"""Updates from Telegram, kept in Redis until they are handled.

What this buys, across any number of processes sharing one Redis:
- nothing lost: an update is in Redis before Telegram is told it arrived, and it leaves only
  once handled; the chats a dead process held go back to the others when its lease lapses;
- nothing handled twice because Telegram sent it twice: each `update_id` is taken once;
- one chat's updates in order, different chats in parallel: each chat has its own queue,
  and a chat is held by one consumer at a time;
- no lock polling: a consumer blocks on the list of ready chats (BRPOPLPUSH) and Redis wakes
  it, where aiogram's Redis event isolation retries a lock every 0.1 s;
- no second hop when a chat is idle: the process that receives an update (`put(take=True)`)
  and has a free slot holds the chat from the same call that queues it, claim in its hand.

Keys, under `<prefix>:in:{<prefix>}:` (named by `Keys.inbox_*`, bot/storage/keys.py; the
hash tag puts them all in one slot of a Redis Cluster, where every script runs)
  seen:<update_id>   "1" queued, "2" handled; kept a day (Telegram keeps updates 24 h)
  q:<chat>           a chat's updates, oldest first; the head is in hand until handled
  ready              claims on chats with updates that nobody holds (LPUSH in, RPOPLPUSH out)
  hand:<consumer>    the claims a consumer holds, moved there from `ready` in one step, or
                     put there by the put that queued the chat's only update
  alive:<consumer>   the consumer's lease, renewed a few times per lease
  consumers          consumers that may hold chats
  batch:<id>         how many updates of a polled batch are still unhandled
  out:<chat>         while the chat's head update is in hand: "begun <update_id>" for each
                     attempt, then what each of its sends returned, in order
  pin:<update_id>    while an update is in hand: per shopper, the state its first try found,
                     for a second try to start from (`Store.pin`)

A chat whose queue is not empty is always in exactly one place: `ready` or one `hand:`.
A consumer killed while handling leaves that update at the head of its chat's queue: it is
handled again once the lease lapses. That second attempt starts from the shopper's state as
the first one found it (`pin:`), so it decides the same replies; it knows (`handling`) what
the first one sent, and a send it repeats is answered from the record instead of going to
Telegram.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Protocol

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import NoScriptError, RedisError

from bot.core.metrics import Metrics
from bot.storage.keys import Keys

log = logging.getLogger("shopbot.inbox")

Update = dict[str, Any]
Handle = Callable[[Update], Awaitable[Any]]

SEEN_SECONDS = 24 * 3600
LEASE_SECONDS = 15.0  # a consumer silent this long is taken for dead
# A blocked consumer comes up this often. Redis ends a blocked call of a dead process within
# this time, so a lease (twice as long at least) never lapses while one could still take a chat.
WAKE_SECONDS = 5.0
RETRY_SECONDS = 1.0  # while Redis does not answer
CONCURRENCY = 32  # chats handled at once by one process
TRIES = 3  # an update whose process died this many times while handling it is set aside



@dataclass
class Handling:
    """The update being handled, as far as a second try of it is concerned."""

    update_id: int
    earlier: list[dict[str, Any]] = field(default_factory=list)  # an interrupted try's sends
    again: bool = False  # an earlier try began (and was interrupted)
    sends: int = 0  # sends made, or found made, so far
    pins: str = ""  # the key of the state pinned for this update; gone once it is handled
    out: str = ""  # the key its sends are recorded under (its chat's `out:`)
    pinned: set[int] = field(default_factory=set)  # shoppers whose state this try pinned
    # Writes held back (a held chat's state, bot/storage/chat.py): they go with the update's
    # next round trip that can carry them, a send's record or `done`.
    pending: list[Pending] = field(default_factory=list)


class Pending(Protocol):
    """Writes that wait for a round trip to go with."""

    def write(self, pipe: Pipeline) -> bool:
        """Add the writes waiting to `pipe` (a MULTI); False when none are."""

    def saved(self) -> None:
        """`pipe` was executed: what it carried is written."""


handling: ContextVar[Handling | None] = ContextVar("handling", default=None)

# A payload is "<update_id> <envelope JSON>": the scripts read the id without a JSON parser.
# What `ready` and `hand:` hold are claims, "<chat>#<update_id>": the chat, and the update
# that made it ready. A consumer acts on a chat only while its very claim is in its hand,
# so a consumer that lost the chat (its lease lapsed, or Redis lost its data) cannot take
# it from the one that holds it now.

# Every key a script touches comes in KEYS, and all of them carry the inbox's hash tag
# (`Keys.inbox_*`): on Redis Cluster each script runs in the inbox's one slot.

# A try of the chat's head update begins: recorded in the chat's `out:`, which a try of
# another update (the one before it, handled) starts afresh.
_BEGIN = """
local function begin(out, id, keep)
  local marker = 'begun ' .. id
  if redis.call('LINDEX', out, 0) ~= marker then redis.call('DEL', out) end
  redis.call('RPUSH', out, marker)
  redis.call('EXPIRE', out, keep)
end
"""

# One update in: queued unless its id was seen. If its chat was idle, the chat becomes ready,
# or, when the caller asked (ARGV[4]), its claim goes straight into the caller's hand with
# the update's first try begun: it handles it without a second hop.
# KEYS: seen, queue, ready, hand, out [, batch]. ARGV: payload, claim, keep, take.
_PUT = _BEGIN + """
if not redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[3]) then return 0 end
local result = 1
if redis.call('RPUSH', KEYS[2], ARGV[1]) == 1 then
  if ARGV[4] ~= '' then
    redis.call('LPUSH', KEYS[4], ARGV[2])
    begin(KEYS[5], string.match(ARGV[1], '^%d+'), ARGV[3])
    result = 2
  else
    redis.call('LPUSH', KEYS[3], ARGV[2])
  end
end
if KEYS[6] then redis.call('INCR', KEYS[6]); redis.call('EXPIRE', KEYS[6], ARGV[3]) end
return result
"""

# The first update of a chat just taken: it, and what earlier tries of it left (a chat is
# only ever interrupted at its head).
# KEYS: queue, hand, out. ARGV: claim, keep.
_TAKE = _BEGIN + """
if not redis.call('LPOS', KEYS[2], ARGV[1]) then return false end
local head = redis.call('LINDEX', KEYS[1], 0)
if not head then
  redis.call('LREM', KEYS[2], 1, ARGV[1])
  return false
end
local id = string.match(head, '^%d+')
local earlier = {}
if redis.call('LINDEX', KEYS[3], 0) == 'begun ' .. id then
  earlier = redis.call('LRANGE', KEYS[3], 0, -1)
end
begin(KEYS[3], id, ARGV[2])
return {head, earlier}
"""

# An update handled: off its queue, marked, counted off its batch, its records (`out:`,
# `pin:`) dropped. While the claim holds and the update was still the head, the consumer
# goes on with the chat's next update (returned); otherwise the chat is let go, ready again
# if anything is queued.
# KEYS: queue, hand, ready, seen, out, pin [, batch, batch done].
# ARGV: claim, the update's payload, keep, chat.
_DONE = _BEGIN + """
local head = redis.call('LINDEX', KEYS[1], 0)
redis.call('LREM', KEYS[1], 1, ARGV[2])
redis.call('SET', KEYS[4], '2', 'EX', ARGV[3])
if KEYS[7] and redis.call('DECR', KEYS[7]) <= 0 then
  redis.call('DEL', KEYS[7])
  redis.call('RPUSH', KEYS[8], '1')
  redis.call('EXPIRE', KEYS[8], 3600)
end
if redis.call('LINDEX', KEYS[5], 0) == 'begun ' .. string.match(ARGV[2], '^%d+') then
  redis.call('DEL', KEYS[5])
end
redis.call('DEL', KEYS[6])
if not redis.call('LPOS', KEYS[2], ARGV[1]) then return false end
local following = redis.call('LINDEX', KEYS[1], 0)
if following and head == ARGV[2] then
  begin(KEYS[5], string.match(following, '^%d+'), ARGV[3])
  return following
end
redis.call('LREM', KEYS[2], 1, ARGV[1])
if following then
  redis.call('RPUSH', KEYS[3], ARGV[4] .. '#' .. string.match(following, '^%d+'))
end
return false
"""

# A held chat let go unfinished (at shutdown): first in line again.
# KEYS: queue, hand, ready. ARGV: claim, chat.
_RELEASE = """
if redis.call('LREM', KEYS[2], 1, ARGV[1]) == 0 then return end
local head = redis.call('LINDEX', KEYS[1], 0)
if head then redis.call('RPUSH', KEYS[3], ARGV[2] .. '#' .. string.match(head, '^%d+')) end
"""

# Everything a consumer whose lease lapsed was holding goes back, first in line. It is
# forgotten only once found holding nothing.
# KEYS: its hand, ready, its lease, consumers. ARGV: the consumer.
_RECLAIM = """
if redis.call('EXISTS', KEYS[3]) == 1 then return -1 end
local claims = redis.call('LRANGE', KEYS[1], 0, -1)
for _, claim in ipairs(claims) do redis.call('RPUSH', KEYS[2], claim) end
redis.call('DEL', KEYS[1])
if #claims == 0 then redis.call('SREM', KEYS[4], ARGV[1]) end
return #claims
"""

# The scripts that move the keys named before the hash tag (`Keys.inbox_legacy`) to their
# names now. They run on a single Redis only (Redis Cluster never had the old names), where
# keys of any slot may go together.

# One chat nobody holds (its claim in the old `ready`, or in the hand of an old process whose
# lease lapsed): its queue, and the tries of its head update, to the new names; its claim
# first in line. A chat already queued under the new names (a process of this version took an
# update of it meanwhile) keeps its claim where it is, the old updates before the new.
# KEYS: where the claim is, old queue, queue, ready, old out (of the head), out.
# ARGV: claim, chat, the head's update id, keep.
_MOVE_CHAT = """
if redis.call('LREM', KEYS[1], 1, ARGV[1]) == 0 then return 0 end
local items = redis.call('LRANGE', KEYS[2], 0, -1)
local fresh = redis.call('EXISTS', KEYS[3]) == 0
for i = #items, 1, -1 do redis.call('LPUSH', KEYS[3], items[i]) end
if fresh and #items > 0 then
  local tries = redis.call('LRANGE', KEYS[5], 0, -1)
  redis.call('DEL', KEYS[6])
  for _, entry in ipairs(tries) do
    if entry == 'begun' then entry = 'begun ' .. ARGV[3] end
    redis.call('RPUSH', KEYS[6], entry)
  end
  if #tries > 0 then redis.call('EXPIRE', KEYS[6], ARGV[4]) end
  redis.call('RPUSH', KEYS[4], ARGV[2] .. '#' .. ARGV[3])
end
redis.call('DEL', KEYS[2], KEYS[5])
return #items
"""

# Keys moved by pairs (old, new). When both exist: `max` keeps the higher (`seen:`: handled
# beats queued), `sum` adds (a batch's count), `list` puts the old items first, `keep` keeps
# the new one.
# KEYS: old, new, old, new, …. ARGV: how, for each pair.
_MOVE = """
for i = 1, #KEYS, 2 do
  local old, new, how = KEYS[i], KEYS[i + 1], ARGV[(i + 1) / 2]
  if redis.call('EXISTS', old) == 1 then
    if redis.call('EXISTS', new) == 0 then
      redis.call('RENAME', old, new)
    else
      if how == 'max' then
        local value = redis.call('GET', old)
        if value > redis.call('GET', new) then redis.call('SET', new, value, 'KEEPTTL') end
      elseif how == 'sum' then
        redis.call('INCRBY', new, redis.call('GET', old))
      elseif how == 'list' then
        local items = redis.call('LRANGE', old, 0, -1)
        for j = #items, 1, -1 do redis.call('LPUSH', new, items[j]) end
      end
      redis.call('DEL', old)
    end
  end
end
"""


def chat_key(update: Update) -> str:
    """What orders an update: its chat (and forum topic); a user's id where there is no chat."""
    for name, event in update.items():
        if name == "update_id" or not isinstance(event, dict):
            continue
        message = event if "chat" in event else event.get("message")
        chat = message.get("chat") if isinstance(message, dict) else None
        if isinstance(chat, dict) and "id" in chat:
            assert isinstance(message, dict)
            thread = message.get("message_thread_id") if message.get("is_topic_message") else None
            return f"{chat['id']}:{thread}" if thread else str(chat["id"])
        user = event.get("from") or event.get("user")
        if isinstance(user, dict) and "id" in user:
            return f"u{user['id']}"
    return "-"


class Inbox:
    def __init__(self, redis: Redis | RedisCluster, prefix: str, *, concurrency: int = CONCURRENCY,
                 lease: float = LEASE_SECONDS, wake: float = WAKE_SECONDS,
                 metrics: Metrics | None = None, replicas: int = 0,
                 replica_wait_ms: int = 100) -> None:
        if lease < 2 * wake:
            raise ValueError("the lease must be at least twice the wake-up time")
        self.redis = redis
        self.keys = Keys(prefix)
        self.me = uuid.uuid4().hex[:12]
        self.concurrency = concurrency
        self.lease, self.wake = lease, wake
        self.metrics = metrics or Metrics()
        self.replicas, self.replica_wait_ms = replicas, replica_wait_ms
        self._put = redis.register_script(_PUT)
        self._done = redis.register_script(_DONE)
        self._release = redis.register_script(_RELEASE)
        self._reclaim = redis.register_script(_RECLAIM)
        self._take = redis.register_script(_TAKE)
        self._move_chat = redis.register_script(_MOVE_CHAT)
        self._move = redis.register_script(_MOVE)
        # The old key names are looked for once, before this process first queues or takes
        # an update; again at each lease renewal while a process of the old version runs.
        self._migrated = isinstance(redis, RedisCluster)
        self._old_live = False
        self._migrating = asyncio.Lock()
        self._stopping = asyncio.Event()
        self._tasks: set[asyncio.Future[None]] = set()
        self._serving: list[asyncio.Task[None]] = []
        self._handle: Handle | None = None
        self._slots: asyncio.Semaphore | None = None  # chats that may be in hand at once
        self._live = False  # leased and known as a consumer: may hold chats

    # -- in ------------------------------------------------------------------------------
    async def put(self, update: Update, batch: str | None = None, *, take: bool = False) -> bool:
        """Queue one update; False when its id was already queued (Telegram sent it again).

        With `take`, a consumer started in this process with a free slot handles the update
        itself when its chat has nothing else queued: the claim is put in its hand in the
        same step, so the update does not wait for a consumer to take it from `ready`."""
        update_id = update["update_id"]
        chat = chat_key(update)
        claim = f"{chat}#{update_id}"
        taking = take and self._can_take()
        if taking:
            assert self._slots is not None
            await self._slots.acquire()  # free, just checked: this does not wait
        keys = [self.keys.inbox_seen(update_id), self.keys.inbox_queue(chat),
                self.keys.inbox_ready(), self.keys.inbox_hand(self.me),
                self.keys.inbox_out(chat)]
        if batch is not None:
            keys.append(self.keys.inbox_batch(batch))
        envelope = json.dumps({"b": batch, "u": update}, ensure_ascii=False,
                              separators=(",", ":"))
        payload = f"{update_id} {envelope}"
        try:
            if not self._migrated:
                await self.migrate(again=False)
            put = await self._put(keys=keys, args=[
                payload, claim, SEEN_SECONDS, "1" if taking else ""])
        except BaseException:
            if taking:
                self._slots.release()  # type: ignore[union-attr]
            raise
        if put and self.replicas:
            await self._replicated(update_id)
        if taking:
            if put == 2 and not self._stopping.is_set():
                assert self._handle is not None
                self._spawn(self._work(claim, self._handle, (payload.encode(), [])))
            else:
                self._slots.release()  # type: ignore[union-attr]
                if put == 2:  # stopping meanwhile: the chat goes to the others, first in line
                    await self._let_go(claim)
        return bool(put)

    async def _replicated(self, update_id: int) -> None:
        """Wait (a while) for replicas to have the update before Telegram is told it arrived:
        Redis replicates asynchronously, and a failover loses what no replica had. A replica
        that does not answer in time does not stop the bot: the update is confirmed anyway,
        counted and logged, since refusing it would stall every chat while a replica is down."""
        try:
            acked = int(await self.redis.execute_command("WAIT", self.replicas,
                                                         self.replica_wait_ms))
        except RedisError as exc:  # a server that cannot WAIT (no replication at all)
            acked, reason = 0, str(exc)
        else:
            reason = f"{acked} of {self.replicas} replicas within {self.replica_wait_ms} ms"
        if acked < self.replicas:
            self.metrics.updates_unreplicated.inc()
            log.warning("update %s confirmed before its replicas had it: %s", update_id, reason)

    def _can_take(self) -> bool:
        # Only while leased and known as a consumer: a claim in a hand nobody can find would
        # not go back to the others if this process died.
        return (self._live and self._handle is not None and self._slots is not None
                and not self._slots.locked() and not self._stopping.is_set())

    async def wait_batch(self, batch: str, seconds: float) -> bool:
        """Block until every update queued with `batch` is handled (or `seconds` pass)."""
        done = await self.redis.blpop([self.keys.inbox_batch_done(batch)], timeout=seconds)
        return done is not None

    async def state(self, update_id: int) -> str | None:
        """"queued", "handled" or None (never seen, or seen more than a day ago)."""
        value = await self.redis.get(self.keys.inbox_seen(update_id))
        return {b"1": "queued", b"2": "handled"}.get(value) if value else None

    # -- out -----------------------------------------------------------------------------
    def start(self, handle: Handle) -> None:
        """Consume in the background: `handle` gets each update, one chat's in order."""
        self._stopping.clear()
        self._handle = handle
        self._slots = asyncio.Semaphore(self.concurrency)
        self._serving = [asyncio.create_task(self._consume(handle)),
                         asyncio.create_task(self._keep_alive())]

    async def stop(self, grace: float = 20.0) -> None:
        """Finish what is in hand (for up to `grace` s), give the rest back, leave."""
        self._stopping.set()
        self._live = False
        for task in self._serving:
            task.cancel()
        await asyncio.gather(*self._serving, return_exceptions=True)
        self._serving = []
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=grace)
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
        try:
            for claim in await self.redis.lrange(self.keys.inbox_hand(self.me), 0, -1):
                await self._let_go(claim.decode())
            await self.redis.delete(self.keys.inbox_alive(self.me))
            await self.redis.srem(self.keys.inbox_consumers(), self.me)
        except (RedisError, OSError):
            log.warning("could not give back the chats in hand; another process takes them "
                        "when this one's lease lapses", exc_info=True)

    async def _consume(self, handle: Handle) -> None:
        assert self._slots is not None
        slots = self._slots
        ready, hand = self.keys.inbox_ready(), self.keys.inbox_hand(self.me)
        # Known (and leased) before holding anything, so what it holds can always be found.
        await self._retrying(self._renew)
        if not self._migrated:
            await self._retrying(lambda: self.migrate(again=False))
        self._live = True
        await self._retrying(self.reclaim)
        while True:
            await slots.acquire()
            try:
                claim = await self.redis.brpoplpush(ready, hand, timeout=self.wake)
            except (RedisError, OSError) as exc:
                slots.release()
                log.warning("cannot take updates from Redis (%s); trying again", exc)
                await asyncio.sleep(RETRY_SECONDS)
                continue
            if claim is None:
                slots.release()
                continue
            self._spawn(self._work(claim.decode(), handle))

    def _spawn(self, work: Awaitable[None]) -> None:
        """Run a held chat's work; its slot is given back when it ends."""
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(lambda _: self._slots.release())  # type: ignore[union-attr]

    async def _work(self, claim: str, handle: Handle,
                    taken: tuple[bytes, list[bytes]] | None = None) -> None:
        """Handle a held chat's updates in order until its queue is empty. `taken`: the first
        update and what earlier tries of it left, when the claim came with them (a put)."""
        chat = claim.rsplit("#", 1)[0]
        out, hand = self.keys.inbox_out(chat), self.keys.inbox_hand(self.me)
        if taken is None:
            taken = await self._retrying(lambda: self._take(
                keys=[self.keys.inbox_queue(chat), hand, out], args=[claim, SEEN_SECONDS]))
        if not taken:  # nothing queued after all, or no longer ours
            return
        payload, earlier = taken
        while payload is not None:
            update_id, envelope = payload.split(b" ", 1)
            data = json.loads(envelope)
            update, batch = data["u"], data["b"]
            tries = sum(sent.startswith(b"begun") for sent in earlier)
            now = Handling(int(update_id), [json.loads(sent) for sent in earlier
                                            if not sent.startswith(b"begun")], bool(earlier),
                           pins=self.keys.inbox_pin(int(update_id)), out=out)
            if tries:
                self.metrics.updates_again.inc()
                log.warning("update %s is handled again: its process stopped while handling "
                            "it (%s send(s) made then)", now.update_id, len(now.earlier))
            token = handling.set(now)
            try:
                if tries >= TRIES:
                    # Perhaps it is what kills the process: the chat must not wait on it forever.
                    self.metrics.updates_set_aside.inc()
                    log.error("update %s set aside unhandled: %s processes stopped while "
                              "handling it: %s", now.update_id, tries, envelope[:2000])
                else:
                    await handle(update)
            except Exception:  # handled as far as it goes: a retry would fail the same way
                log.exception("update %s could not be handled", update.get("update_id"))
            finally:
                handling.reset(token)
            keys = [self.keys.inbox_queue(chat), hand, self.keys.inbox_ready(),
                    self.keys.inbox_seen(now.update_id), out, now.pins]
            if batch is not None:
                keys += [self.keys.inbox_batch(batch), self.keys.inbox_batch_done(batch)]
            payload = await self._retrying(
                lambda keys=keys, handled=payload, pending=now.pending: self._finish(
                    keys, [claim, handled, SEEN_SECONDS, chat], pending))
            earlier = []
            if payload is not None and self._stopping.is_set():
                await self._let_go(claim)
                return

    async def _finish(self, keys: list[str], args: list[Any],
                      pending: list[Pending]) -> bytes | None:
        """`done`, with the update's writes still waiting, in one MULTI."""
        if not pending:
            return await self._done(keys=keys, args=args)
        async with self.redis.pipeline(transaction=True) as pipe:
            carried = [writes for writes in pending if writes.write(pipe)]
            if not carried:
                return await self._done(keys=keys, args=args)
            pipe.evalsha(self._done.sha, len(keys), *keys, *args)
            results = await pipe.execute(raise_on_error=False)
        for writes in carried:
            writes.saved()
        for result in results[:-1]:
            if isinstance(result, Exception):
                log.error("a write of update %s failed: %s", args[1][:20], result)
        done = results[-1]
        if isinstance(done, Exception):
            if not isinstance(done, NoScriptError):
                raise done
            # Redis lost its scripts (a restart, SCRIPT FLUSH): the writes are made; `done`
            # alone again, which loads it.
            return await self._done(keys=keys, args=args)
        return done  # type: ignore[no-any-return]

    async def record(self, now: Handling, sent: dict[str, Any]) -> None:
        """What a send of the update in hand returned, for a second try to find; with it,
        the update's writes waiting (among them the history line of this very send)."""
        record = json.dumps(sent, ensure_ascii=False, separators=(",", ":"))
        if not now.pending:
            await self.redis.rpush(now.out, record)
            return
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.rpush(now.out, record)
            carried = [writes for writes in now.pending if writes.write(pipe)]
            if not carried:
                await pipe.reset()  # nothing queued in it is sent
                await self.redis.rpush(now.out, record)
                return
            await pipe.execute()
        for writes in carried:
            writes.saved()

    async def _let_go(self, claim: str) -> None:
        chat = claim.rsplit("#", 1)[0]
        await self._release(keys=[self.keys.inbox_queue(chat), self.keys.inbox_hand(self.me),
                                  self.keys.inbox_ready()], args=[claim, chat])

    async def _retrying(self, call: Callable[[], Awaitable[Any]]) -> Any:
        """A step that must reach Redis: tried until it does (an outage holds the chat)."""
        while True:
            try:
                return await call()
            except (RedisError, OSError) as exc:
                log.warning("Redis did not answer (%s); trying again", exc)
                await asyncio.sleep(RETRY_SECONDS)

    async def _renew(self) -> None:
        await self.redis.set(self.keys.inbox_alive(self.me), "1", px=int(self.lease * 1000))
        await self.redis.sadd(self.keys.inbox_consumers(), self.me)

    async def _keep_alive(self) -> None:
        """Renew this consumer's lease; give back the chats of consumers whose lease lapsed."""
        while True:
            await asyncio.sleep(self.lease / 3)
            try:
                await self._renew()
                await self.reclaim()
                if self._old_live:
                    await self.migrate()
            except (RedisError, OSError):
                log.debug("lease not renewed this time", exc_info=True)

    async def reclaim(self) -> int:
        """Chats held by consumers that stopped renewing their lease go back to `ready`."""
        returned = 0
        for member in await self.redis.smembers(self.keys.inbox_consumers()):
            other = member.decode()
            if other == self.me:
                continue
            count = await self._reclaim(
                keys=[self.keys.inbox_hand(other), self.keys.inbox_ready(),
                      self.keys.inbox_alive(other), self.keys.inbox_consumers()], args=[other])
            if count > 0:
                log.warning("took back %s chat(s) from a stopped process (%s)", count, other)
                returned += count
        return returned

    # -- the key names before the hash tag ------------------------------------------------
    async def migrate(self, *, again: bool = True) -> None:
        """Move what an earlier version left under the old names (`Keys.inbox_legacy`) to
        the names now, so an upgrade loses no update queued, in hand or seen.

        Chats nobody holds (in the old `ready`, or held by an old process whose lease lapsed)
        move with their queues, first in line. A chat an old process still holds stays until
        it lets go of it: this is tried again at each lease renewal while such a process is
        known. Then the other old keys move: the updates seen (so Telegram sending one again
        changes nothing), the pinned states, the polled batches' counts. One SCAN of the
        keyspace, once per process start; nothing on Redis Cluster, which never had them.
        `again=False`: only if this process has not looked yet."""
        async with self._migrating:
            if (self._migrated and not again) or isinstance(self.redis, RedisCluster):
                return
            old = self.keys.inbox_legacy
            ready, consumers = old("ready"), old("consumers")
            sources: list[tuple[str, list[bytes]]] = []
            old_live = False
            if await self.redis.exists(ready, consumers):
                sources.append((ready, await self.redis.lrange(ready, 0, -1)))
                for member in await self.redis.smembers(consumers):
                    other = member.decode()
                    if await self.redis.exists(old(f"alive:{other}")):
                        old_live = True  # it lets go of its chats itself (into `ready`)
                        continue
                    sources.append((old(f"hand:{other}"),
                                    await self.redis.lrange(old(f"hand:{other}"), 0, -1)))
            moved = 0
            for source, claims in sources:
                for claim in map(bytes.decode, claims):
                    moved += await self._move_legacy_chat(source, claim)
                if source != ready and not await self.redis.exists(source):
                    await self.redis.srem(consumers, source.rsplit(":", 1)[1])
            pairs: list[tuple[str, str, str]] = []
            base = old("")
            async for name in self.redis.scan_iter(
                    match=_glob_escape(base) + "*", count=1000):
                key = name.decode()
                kind, _, rest = key[len(base):].partition(":")
                if kind == "seen":
                    pairs.append((key, self.keys.inbox_seen(rest), "max"))
                elif kind == "pin":
                    pairs.append((key, self.keys.inbox_pin(rest), "keep"))
                elif kind == "batch" and rest.endswith(":done"):
                    pairs.append((key, self.keys.inbox_batch_done(rest[:-5]), "list"))
                elif kind == "batch":
                    pairs.append((key, self.keys.inbox_batch(rest), "sum"))
                elif kind == "q" and not old_live:  # a queue no claim named (Redis lost it)
                    await self.redis.rpush(ready, f"{rest}#0")
                    moved += await self._move_legacy_chat(ready, f"{rest}#0")
                elif kind == "out" and not old_live:  # the tries of an update handled since
                    await self.redis.delete(key)
            for at in range(0, len(pairs), 200):
                chunk = pairs[at:at + 200]
                await self._move(keys=[key for old_key, new_key, _ in chunk
                                       for key in (old_key, new_key)],
                                 args=[how for _, _, how in chunk])
            if moved or pairs:
                log.warning("moved %s queued update(s) and %s other key(s) of the inbox from "
                            "the key names of an earlier version", moved, len(pairs))
            self._migrated, self._old_live = True, old_live

    async def _move_legacy_chat(self, source: str, claim: str) -> int:
        old = self.keys.inbox_legacy
        chat = claim.rsplit("#", 1)[0]
        head = await self.redis.lindex(old(f"q:{chat}"), 0)
        update_id = head.split(b" ", 1)[0].decode() if head else "0"
        return int(await self._move_chat(
            keys=[source, old(f"q:{chat}"), self.keys.inbox_queue(chat), self.keys.inbox_ready(),
                  old(f"out:{update_id}"), self.keys.inbox_out(chat)],
            args=[claim, chat, update_id, SEEN_SECONDS]))


def _glob_escape(text: str) -> str:
    """`text` matched literally by SCAN's MATCH."""
    return "".join(f"\\{char}" if char in "*?[]\\" else char for char in text)
