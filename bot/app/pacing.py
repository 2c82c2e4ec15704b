"""Outgoing calls: Telegram's limits kept across processes, and failures retried within
bounds. Plain Python over Redis, used by a session middleware (bot/app/factory.py).

Limits (../shared/TELEGRAM.md): about 1 message a second to one chat (short bursts are
tolerated), 20 a minute to one group, about 30 a second in all. Each is a GCRA ledger in
Redis (`Keys.pace(scope)`: the theoretical arrival time of the next message): a send books
its instant in every ledger it falls under (one Lua call) and sleeps until the latest.
Nobody polls.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.storage.keys import Keys

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limit:
    interval: float  # seconds between messages, on average
    burst: int  # messages that may go at once before the interval applies


PER_CHAT = Limit(1.0, 3)  # a reply of three messages goes at once, then one a second
PER_GROUP = Limit(3.0, 1)  # 20 in any minute, evenly
MAX_WAIT = 60.0  # a send that would wait longer goes now, and Telegram's 429 decides
RETRIES = 3  # a failed call is tried at most this many more times
MAX_RETRY_AFTER = 30.0  # a 429 asking for longer is not waited out inside one call
BACKOFF = (0.5, 1.0, 2.0)  # after a 5xx or a network failure
# Set by code that handles 429 itself (the broadcast sender pauses every sender at once).
own_retries: ContextVar[bool] = ContextVar("own_retries", default=False)


# GCRA over each ledger, in one step: a message may go once now >= tat - (burst - 1) *
# interval, and each one moves tat (the ledger's value) on by the interval. A ledger that
# would make it wait more than MAX_WAIT is left as it is. Returns the longest wait.
_BOOK = """
local now, count, max_wait = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local longest = 0
for i, key in ipairs(KEYS) do
  local interval, burst = tonumber(ARGV[2 + 2 * i]), tonumber(ARGV[3 + 2 * i])
  local tat = math.max(tonumber(redis.call('GET', key) or now), now)
  local wait = math.max(now, tat - (burst - 1) * interval) - now
  if wait <= max_wait then
    local next_tat = tat + count * interval
    redis.call('SET', key, string.format('%.6f', next_tat),
               'PX', math.floor((next_tat - now) * 1000) + 1000)
    longest = math.max(longest, wait)
  end
end
return string.format('%.6f', longest)
"""


class Pacer:
    def __init__(self, redis: Redis, keys: Keys, *, rate: float,
                 clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], Awaitable[None]] = asyncio.sleep) -> None:
        self.redis, self.keys = redis, keys
        self.overall = Limit(1.0 / rate, max(int(rate), 1))
        self.clock, self.sleep = clock, sleep
        self._book = redis.register_script(_BOOK)

    async def book(self, ledgers: list[tuple[str, Limit]], count: int = 1) -> float:
        """Book `count` messages in every ledger at once; seconds to wait before sending."""
        keys = [self.keys.pace(scope) for scope, _ in ledgers]
        args: list[float] = [self.clock(), count, MAX_WAIT]
        for _, limit in ledgers:
            args += [limit.interval, limit.burst]
        return float(await self._book(keys=keys, args=args))

    async def before_send(self, chat_id: int | str | None, count: int = 1) -> float:
        """Wait for the chat's and the shop's ledgers; returns the seconds waited.

        Without Redis the message goes unpaced: an apology during an outage matters more
        than the pace, and Telegram's 429 still guards the limits."""
        ledgers = [("all", self.overall)]
        if isinstance(chat_id, int):
            ledgers.append((f"chat:{chat_id}", PER_CHAT if chat_id > 0 else PER_GROUP))
        try:
            wait = await self.book(ledgers, count)
        except (RedisError, OSError):
            log.debug("sending unpaced: Redis does not answer", exc_info=True)
            return 0.0
        if wait > 0:
            await self.sleep(wait)
        return wait
