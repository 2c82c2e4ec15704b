"""How often one update waits for Redis: round trips counted on the client's connections,
during one update handled through the real inbox and dispatcher."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Iterable
from typing import Any

import pytest
from redis.asyncio.connection import Connection

from bot.devtools.fake_bot_api import FakeBotAPI
from handlers.layer import create_app
from tests.conftest import FakeClock, Harness, settings_for

# Round trips of the inbox's own upkeep, which come when they come, not because of an
# update: an idle consumer's blocking call renewed, its lease, the look for dead consumers.
UPKEEP = {"BRPOPLPUSH", "BLPOP", "SMEMBERS", "SADD"}


def commands(packed: Iterable[bytes] | bytes | str) -> list[list[str]]:
    """The commands in what a connection writes (RESP arrays of bulk strings)."""
    data = packed.encode() if isinstance(packed, str) else \
        packed if isinstance(packed, bytes) else b"".join(packed)
    found, at = [], 0
    while at < len(data):
        end = data.index(b"\r\n", at)
        count, at = int(data[at + 1:end]), end + 2
        args = []
        for _ in range(count):
            end = data.index(b"\r\n", at)
            size, at = int(data[at + 1:end]), end + 2
            args.append(data[at:at + size].decode(errors="replace"))
            at += size + 2
        found.append(args)
    return found


class Trips:
    """Each round trip: the commands written at once (a pipeline's, a transaction's)."""

    def __init__(self) -> None:
        self.log: list[list[list[str]]] = []

    def connection_class(self) -> type[Connection]:
        log = self.log

        class Counted(Connection):
            async def send_packed_command(self, command: Any, check_health: bool = True) -> None:
                log.append(commands(command))
                await super().send_packed_command(command, check_health)

        return Counted

    def of_update(self, since: int) -> list[list[list[str]]]:
        """The round trips since `since` but the inbox's upkeep (UPKEEP, lease renewals)."""
        return [trip for trip in self.log[since:] if not (len(trip) == 1 and (
            trip[0][0].upper() in UPKEEP
            or (trip[0][0].upper() == "SET" and ":alive:" in trip[0][1])))]


@pytest.fixture
async def counted(api: FakeBotAPI, prefix: str,
                  clock: FakeClock) -> AsyncIterator[tuple[Harness, Trips]]:
    trips = Trips()
    app = create_app(settings_for(api, prefix), clock=clock, rng=random.Random(1),
                     sleep=clock.sleep)
    # Every connection the app opens from here on is counted (none is open yet).
    app.redis.connection_pool.connection_class = trips.connection_class()
    harness = Harness(app, api)
    await harness.start()
    yield harness, trips
    await harness.stop()


async def test_a_shopper_text_in_a_conversation_waits_for_redis_5_times(
        counted: tuple[Harness, Trips], api: FakeBotAPI) -> None:
    """The common path: an ordinary text in an open conversation, one reply. The round
    trips: the update queued and put in this process's hand (1); the shopper's state
    loaded, pinned and flood-counted, with aiogram's FSM state (2); the pacer (3); the
    reply's record, with the update's writes (4); done (5). Before the fast path: 16."""
    shopbot, trips = counted
    shopper = api.new_shopper(first_name="Ann")
    assert await shopbot.send(shopper, "hello")  # the conversation is open
    await asyncio.sleep(0.2)  # the consumer is blocked again, waiting for the next chat
    since = len(trips.log)
    replies = await shopbot.send(shopper, "how much is the classic linen shirt?")
    assert len(replies) == 1
    made = trips.of_update(since)
    shown = "\n".join(" | ".join(" ".join(args[:2]) for args in trip) for trip in made)
    print(f"{len(made)} round trips, {sum(map(len, made))} commands:\n{shown}")
    assert len(made) <= 5, shown
