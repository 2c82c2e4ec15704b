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

    async def check(self, user_id: int, item: str) -> Verdict:
        """Count one message (`item`: its id, or its album's id); "ok" while within
        `limit` messages in `seconds`, then "notice" once, then "quiet" until calm.

        Ignored messages count too: someone who keeps flooding stays ignored, and the
        episode ends once `seconds` pass without going over the limit.
        """
        now = self.clock().timestamp()
        window = max(int(self.seconds) + 1, 1)
        if await self.counters.count(user_id, item, now, self.seconds, window) <= self.limit:
            return "ok"
        return "notice" if await self.counters.first_notice(user_id, window) else "quiet"
