"""Telegram Business in Redis: the accounts connected to the bot (`Keys.business`), and on
each customer's hash the connection they last wrote through and when the account's owner
last wrote to them in person (`Keys.customer`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from redis.asyncio import Redis

from bot.storage.codec import as_text, from_stamp, to_stamp
from bot.storage.keys import Keys

# A message in a business chat: the connection and the owner's last word to the shopper, in
# one round trip; when the shopper wrote it (not the account's owner, not a bot) and the bot
# may answer there, their hash notes the connection, and a customer the bot never met gets
# promotions off until they consent in the bot's own chat, where promotions go.
_VISIT = """
local c = redis.call('HMGET', KEYS[2], 'owner', 'enabled', 'can_reply')
if c[1] and c[1] ~= ARGV[3] and ARGV[4] == '0' and c[2] == '1' and c[3] == '1' then
  if redis.call('EXISTS', KEYS[1]) == 0 then
    redis.call('HSET', KEYS[1], 'id', ARGV[2], 'promotions', '0')
  end
  redis.call('HSET', KEYS[1], 'business', ARGV[1])
end
return {redis.call('HGETALL', KEYS[2]), redis.call('HGET', KEYS[1], 'owner_at')}
"""


@dataclass(frozen=True)
class Connection:
    """A business account connected to the bot, as Telegram last described it."""

    id: str
    owner: int  # the account's user id: their messages in its chats are the owner's own
    owner_chat: int  # the bot's private chat with the owner
    language: str | None
    enabled: bool
    can_reply: bool
    automatic: bool = False  # Telegram's own greeting or away message was seen there

    @property
    def serving(self) -> bool:
        """The bot may answer in this account's chats."""
        return self.enabled and self.can_reply


@dataclass(frozen=True)
class Visit:
    """A shopper's message in a business chat: the connection (None when unknown here) and
    when the owner last wrote to them in person."""

    connection: Connection | None
    owner_at: datetime | None


def _connection(connection_id: str, raw: dict) -> Connection | None:
    get = {(as_text(k) or ""): as_text(v) for k, v in raw.items()}
    if not get.get("owner"):
        return None
    return Connection(id=connection_id, owner=int(get["owner"] or 0),
                      owner_chat=int(get.get("owner_chat") or get["owner"] or 0),
                      language=get.get("language") or None,
                      enabled=get.get("enabled") == "1", can_reply=get.get("can_reply") == "1",
                      automatic=get.get("automatic") == "1")


class BusinessRecords:
    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys
        self._visit = redis.register_script(_VISIT)

    async def connection(self, connection_id: str) -> Connection | None:
        raw = await self.redis.hgetall(self.keys.business(connection_id))
        return _connection(connection_id, raw)

    async def save(self, connection: Connection) -> Connection | None:
        """Keep what Telegram says of a connection; the one kept before, if any."""
        key = self.keys.business(connection.id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hgetall(key)
            pipe.hset(key, mapping={
                "owner": connection.owner, "owner_chat": connection.owner_chat,
                "language": connection.language or "",
                "enabled": int(connection.enabled), "can_reply": int(connection.can_reply)})
            before, _ = await pipe.execute()
        return _connection(connection.id, before)

    async def visit(self, customer_id: int, connection_id: str, sender: int | None, *,
                    by_bot: bool) -> Visit:
        raw, owner_at = await self._visit(
            keys=[self.keys.customer(customer_id), self.keys.business(connection_id)],
            args=[connection_id, customer_id, sender or 0, int(by_bot)])
        pairs = dict(zip(raw[::2], raw[1::2], strict=True))
        return Visit(_connection(connection_id, pairs), from_stamp(as_text(owner_at)))

    async def automatic_seen(self, connection_id: str) -> None:
        await self.redis.hset(self.keys.business(connection_id), "automatic", "1")

    async def owner_wrote(self, customer_id: int, owner: int, now: datetime) -> datetime | None:
        """The account's owner wrote to the customer in person; when they did before, if
        they did."""
        key = self.keys.customer(customer_id)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hget(key, "owner_at")
            pipe.hset(key, mapping={"owner_at": to_stamp(now), "owner_by": owner})
            before, _ = await pipe.execute()
        return from_stamp(as_text(before))

    async def hand_back(self, customer_id: int, owner: int) -> bool:
        """The bot answers the customer again, if `owner` is who stepped in; False if the bot
        already did, or someone else stepped in."""
        key = self.keys.customer(customer_id)
        if as_text(await self.redis.hget(key, "owner_by")) != str(owner):
            return False
        return bool(await self.redis.hdel(key, "owner_at"))

    async def business_of(self, customer_id: int) -> str | None:
        """The connection the customer last wrote through, None after the bot's own chat."""
        return as_text(await self.redis.hget(self.keys.customer(customer_id), "business")) or None
