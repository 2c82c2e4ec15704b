"""The shop's daily counts, made while an update is handled, go with that update's writes
(bot/storage/stats.py): no round trip of their own, and nothing counted twice or lost."""

from __future__ import annotations

import asyncio

from bot.devtools.fake_bot_api import FakeBotAPI
from tests.conftest import FakeClock, Harness
from tests.test_round_trips import Trips, counted  # noqa: F401 (a fixture)


async def test_a_new_conversation_is_counted_with_the_updates_writes(
        counted: tuple[Harness, Trips], api: FakeBotAPI, clock: FakeClock,  # noqa: F811
) -> None:
    shopbot, trips = counted
    stats = shopbot.app.assistant.stats
    assert stats is not None
    for n, text in enumerate(("hello", "how much is the classic linen shirt?"), start=1):
        since = len(trips.log)
        assert await shopbot.send(api.new_shopper(), text)
        await asyncio.sleep(0.2)  # the update's `done`
        made = trips.of_update(since)
        counted_in = [trip for trip in made if any(args[0] == "HINCRBY" and ":stats:" in args[1]
                                                   for args in trip)]
        # In the MULTI of the update's other writes (its reply's record), not one of its own.
        assert len(counted_in) == 1, made
        assert {args[0] for args in counted_in[0]} - {"MULTI", "HINCRBY", "EXPIRE", "EXEC"}
        [today] = await stats.days(1)
        assert today.conversations == n
