"""Flood control: a shopper writing faster than a person can read gets one polite notice and
is not answered until calm again. The counts are shared by every process, in Redis
(bot/storage/flood.py); an album counts once (its media_group_id is the item).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Literal

from bot.storage.flood import FloodCounters
from bot.storage.store import Store

Verdict = Literal["ok", "notice", "quiet"]


class FloodGuard:
    def __init__(self, store: Store, clock: Callable[[], datetime], *, limit: int,
                 seconds: float) -> None:
        self.counters, self.clock = FloodCounters(store), clock
        self.limit, self.seconds = limit, seconds

    def counting(self, item: str) -> tuple[str, float, float, int]:
        """How `item` is counted now: itself, now, the window's seconds, how long the count
        is kept. A held chat's state counts it as it loads (bot/storage/chat.py)."""
        return item, self.clock().timestamp(), self.seconds, max(int(self.seconds) + 1, 1)

    async def check(self, user_id: int, item: str) -> Verdict:
        """Count one message (`item`: its id, or its album's id); "ok" while within
        `limit` messages in `seconds`, then "notice" once, then "quiet" until calm.

        Ignored messages count too: someone who keeps flooding stays ignored, and the
        episode ends once `seconds` pass without going over the limit.
        """
        counting = self.counting(item)
        if await self.counters.count(user_id, *counting) <= self.limit:
            return "ok"
        return "notice" if await self.counters.first_notice(user_id, counting[3]) else "quiet"
