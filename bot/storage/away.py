"""The away mode in Redis (`Keys.away`, `Keys.away_told`): one hash every process reads at a
handoff, so an owner's /away applies everywhere at once and survives restarts; and the
"busy" message's send-once marks (`Keys.sent`). What the mode means is
bot/domain/away.py's."""

from __future__ import annotations

from redis.asyncio import Redis

from bot.storage.keys import Keys
from bot.storage.store import as_text

# How long the "busy" message's send-once mark is kept: past any retry of its job, and short,
# since its name holds the customer's id.
SENT_MARK_SECONDS = 2 * 24 * 3600


class AwayRecords:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys

    async def get(self) -> dict[str, str]:
        raw = await self.redis.hgetall(self.keys.away())
        return {(as_text(k) or ""): (as_text(v) or "") for k, v in raw.items()}

    async def put(self, fields: dict[str, str] | None) -> None:
        """The mode replaced whole (None: off); who was told of the old one is forgotten, so a
        new holiday is told again."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(self.keys.away(), self.keys.away_told())
            if fields:
                pipe.hset(self.keys.away(), mapping=fields)
            await pipe.execute()

    async def tell_once(self, customer: int, conversation: str) -> bool:
        """True the first time `conversation` (its start) of the customer asks; False after."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hget(self.keys.away_told(), str(customer))
            pipe.hset(self.keys.away_told(), str(customer), conversation)
            before, _ = await pipe.execute()
        return as_text(before) != conversation

    async def mark_sent(self, customer: int, handoff: str) -> bool:
        """The "busy" message of the customer's handoff (its start) is being sent: False when
        it was marked before (sent, or tried with an unknown outcome)."""
        return bool(await self.redis.set(self.keys.sent("away_unanswered", customer, handoff),
                                         "1", nx=True, ex=SENT_MARK_SECONDS))
