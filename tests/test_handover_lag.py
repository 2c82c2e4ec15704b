"""No lag at hand-over (issue 23): with the staff group's budget (20 posts a minute) spent,
a handoff still leaves the bot at once, a person's message to the shopper goes at once, and
the topic gets, once a slot frees, one card carrying the notice, then the shopper's message,
in that order. End to end through the fake Bot API, on two shops of different trades. The
staff chat's waits are held by the test (the outbox's sleep waits for a gate), so nothing
here depends on the machine's speed: the order of events is what is checked."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from bot.devtools.fake_bot_api import Call, FakeBotAPI
from tests.conftest import TRADES, FakeClock, Harness
from tests.test_staff import STAFF, in_topic, staff_says, topic_of

MakeBot = Callable[..., Awaitable[Harness]]


class Gate:
    """The staff chat's outbox sleeps here until the test opens the gate."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock, self.open, self.held = clock, asyncio.Event(), asyncio.Event()

    async def sleep(self, seconds: float) -> None:
        self.held.set()
        await self.open.wait()
        self.clock.advance(seconds=seconds)


def staff_posts(api: FakeBotAPI) -> list[Call]:
    return [c for c in api.calls if c.chat_id == STAFF and c.ok
            and c.method in ("sendMessage", "copyMessage", "copyMessages", "createForumTopic")]


@pytest.mark.parametrize(("trade", "lang"), [("bike", "zh-hans"), ("bakery", "en")])
async def test_a_persons_message_never_waits_behind_the_staff_chats_budget(
        api: FakeBotAPI, make_shopbot: MakeBot, clock: FakeClock, trade: str,
        lang: str) -> None:
    api.forum(STAFF)
    bot = await make_shopbot(shop_file=TRADES[trade], staff_chat_id=STAFF)
    desk = bot.app.desk
    assert desk is not None and desk.ready
    ann = api.new_shopper(first_name="Ann", language_code=lang)
    olga = api.new_shopper(first_name="Olga", language_code="en")
    # A first conversation with a person: Ann has a topic, and the bot has her again.
    await bot.send(ann, "/start")
    await bot.press(ann, "person")
    topic = topic_of(api, ann)
    await staff_says(bot, olga, topic, "Hello Ann!")
    await staff_says(bot, olga, topic, "/done")

    # The staff group's minute is spent, and the next slot waits on the test.
    async def nothing() -> None:
        return None

    for _ in range(desk.outbox.per_minute):
        await desk.outbox.send(nothing)
    gate = Gate(clock)
    desk.outbox.sleep = gate.sleep  # type: ignore[method-assign]
    bot.settles = False  # as deployed: an update is done when its handler is
    posts = len(staff_posts(api))
    asked = "Can I talk to a person again?" if lang == "en" else "我想再跟真人聊聊"

    # Ann asks for a person again: the bot tells her at once, and falls quiet.
    told = len(api.sent_to(ann.id))
    api.push_update(api.message_update(ann, asked))
    await api.wait_for(lambda c: c.chat_id == ann.id and c.method == "sendMessage",
                       since=len(api.calls), timeout=60)
    await asyncio.wait_for(gate.held.wait(), 60)  # the card waits for a slot
    assert await desk.takeovers.holds(ann.id)
    # Olga answers in the topic before the card is even there: Ann gets it at once.
    since = len(api.calls)
    api.push_update(api.message_update(olga, "I'm here, Ann.", chat=STAFF,
                                       message_thread_id=topic))
    copy = await api.wait_for(lambda c: c.chat_id == ann.id and c.method == "copyMessage",
                              since=since, timeout=60)
    assert copy.params["from_chat_id"] == STAFF
    assert not gate.open.is_set() and len(staff_posts(api)) == posts  # the staff chat waits
    to_ann = [c for c in api.sent_to(ann.id)][told:]
    assert [c.method for c in to_ann] == ["sendMessage", "copyMessage"]  # the bot's first

    # A slot frees: one card carrying the notice, then Ann's message, in that order.
    gate.open.set()
    await desk.settled()
    new = in_topic(api, topic)[-2:]
    assert new[1]["text"] == asked
    card = new[0]
    assert "👤" in card["text"] and [b["callback_data"] for row in card["reply_markup"][
        "inline_keyboard"] for b in row][-1] == f"staff:done:{ann.id}"
    assert len(staff_posts(api)) == posts + 2  # no separate notice


@pytest.mark.parametrize("trade", sorted(TRADES))
async def test_a_new_customers_handoff_is_two_posts_and_in_order(
        api: FakeBotAPI, make_shopbot: MakeBot, trade: str) -> None:
    """A first handoff: the topic, its card (carrying why, and the buttons), then the
    message that asked: three calls to the staff group, where there were four."""
    api.forum(STAFF)
    bot = await make_shopbot(shop_file=TRADES[trade], staff_chat_id=STAFF)
    ann = api.new_shopper(first_name="Ann", language_code="ru")
    await bot.send(ann, "Позовите, пожалуйста, менеджера")
    assert [c.method for c in staff_posts(api)] == ["createForumTopic", "sendMessage",
                                                    "copyMessage"]
    card, copied = in_topic(api, topic_of(api, ann))
    assert "Позовите" in card["text"] and copied["text"] == "Позовите, пожалуйста, менеджера"
    assert "reply_markup" in card
