"""Staff take over in a forum topic per customer, end to end through the fake Bot API."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiogram.client.session.middlewares.base import BaseRequestMiddleware

from bot.app.runtime import App
from bot.devtools.fake_bot_api import Call, FakeBotAPI, Shopper
from bot.domain.takeover import Handoff
from handlers.layer import create_app
from handlers.staff_desk import Albums
from tests.conftest import STAFF, FakeClock, Harness, settings_for, texts_to

OWNER = 5550001


@pytest.fixture
async def desk(api: FakeBotAPI, make_shopbot: Callable[..., Awaitable[Harness]]) -> Harness:
    """The demo shop with a working staff forum; OWNER is in ADMIN_IDS."""
    api.forum(STAFF)
    bot = await make_shopbot(staff_chat_id=STAFF, admin_ids=str(OWNER))
    assert bot.app.desk is not None and bot.app.desk.ready
    # An album is gathered until the sender's next message: never cut by a timer that a
    # busy machine can outrun (the timer itself: test_an_album_goes_once_its_wait_is_over).
    bot.app.desk.albums.wait = 3600
    return bot


@pytest.fixture
def olga(api: FakeBotAPI) -> Shopper:
    """A member of the staff chat."""
    return api.new_shopper(first_name="Olga", language_code="ru")


def topics(api: FakeBotAPI) -> dict[int, dict]:
    return api.topics.get(STAFF, {})


def topic_of(api: FakeBotAPI, shopper: Shopper) -> int:
    found = [tid for tid, t in topics(api).items() if t["name"].endswith(f"· {shopper.id}")]
    assert len(found) == 1, f"expected one topic for {shopper.id}, got {found}"
    return found[0]


def in_topic(api: FakeBotAPI, topic: int) -> list[dict]:
    """What staff see in the topic, oldest first (the topic's service message aside)."""
    return [m for (chat, _), m in sorted(api.messages.items())
            if chat == STAFF and m.get("message_thread_id") == topic
            and "forum_topic_created" not in m]


def words(message: dict) -> str:
    return str(message.get("text") or message.get("caption") or "")


async def staff_says(bot: Harness, staff: Shopper, topic: int | None, text: str | None = None,
                     **content: object) -> list[Call]:
    thread = {"message_thread_id": topic} if topic else {}
    return await bot.feed(bot.api.message_update(staff, text, chat=STAFF, **thread, **content))


async def hand_over(bot: Harness, shopper: Shopper, text: str = "I want to talk to a person") \
        -> list[str]:
    return await bot.send(shopper, text)


# -- 1. the staff chat is checked at start-up -------------------------------------------------

@pytest.mark.parametrize(("setup", "fix"), [
    (dict(topics=False), "turn on Topics"),
    (dict(bot_status="member"), "Manage topics"),
    (dict(can_manage_topics=False), "Manage topics"),
    (None, "Add the bot to the staff group"),
])
async def test_a_broken_staff_chat_is_explained_and_shoppers_are_still_served(
        api: FakeBotAPI, make_shopbot: Callable[..., Awaitable[Harness]],
        caplog: pytest.LogCaptureFixture, setup: dict | None, fix: str) -> None:
    if setup is not None:
        api.forum(STAFF, **setup)
    else:
        api.fail("getChat", 400, "Bad Request: chat not found", times=None, chat_id=STAFF)
    with caplog.at_level(logging.ERROR):
        bot = await make_shopbot(staff_chat_id=STAFF)
    assert any(fix in r.getMessage() and f"STAFF_CHAT_ID={STAFF}" in r.getMessage()
               for r in caplog.records), [r.getMessage() for r in caplog.records]
    ann = api.new_shopper(first_name="Ann")
    replies = await hand_over(bot, ann)
    # No topic, no silence: the shopper is told how to reach the team instead.
    assert not topics(api)
    assert any("colleagues" in text for text in replies), replies
    assert "+7" in replies[-1] or "@" in replies[-1]  # the shop's contacts


# -- 2. handoff ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("messages", "staff_reads"), [
    (["Can I speak to a manager please?"], "asks to talk to a person"),
    (["The parcel arrived torn and the blouse is stained, this is unacceptable"],
     "has a complaint"),
    (["I'd like to return the dress, it doesn't fit"], "wants to return or exchange"),
    (["purple monkey dishwasher", "zxq vort blemp"], "did not understand"),
])
async def test_each_reason_opens_the_customers_topic_with_a_card(
        desk: Harness, api: FakeBotAPI, messages: list[str], staff_reads: str) -> None:
    ann = api.new_shopper(first_name="Ann", last_name="Lee", username="annlee")
    replies: list[str] = []
    for text in messages:
        replies = await desk.send(ann, text)
    assert "right here" in replies[-1]  # told a colleague answers in this chat
    topic = topic_of(api, ann)
    assert topics(api)[topic]["name"] == f"Ann Lee @annlee · {ann.id}"
    # One card carries why, with its buttons; then the message itself, for staff to answer.
    card, copied = in_topic(api, topic)
    assert "Ann Lee" in card["text"] and "@annlee" in card["text"]
    assert "Language: English" in card["text"]
    assert messages[0][:30] in card["text"]  # the last messages of the conversation
    assert staff_reads in card["text"] and "Nobody has taken it yet" in card["text"]
    assert [b["callback_data"] for b in card["reply_markup"]["inline_keyboard"][0]] == \
        [f"staff:take:{ann.id}", f"staff:done:{ann.id}"]
    assert copied["text"] == messages[-1]


async def test_the_ask_a_person_button_hands_over(desk: Harness, api: FakeBotAPI) -> None:
    ann = api.new_shopper(first_name="Ann")
    await desk.send(ann, "Is the linen shirt available in M?")
    calls = await desk.press(ann, "person")
    assert "right here" in texts_to(calls, ann.id)[0]
    assert "pressed “Ask a person”" in in_topic(api, topic_of(api, ann))[0]["text"]


async def test_the_wait_hint_respects_working_hours(desk: Harness, api: FakeBotAPI,
                                                    clock: FakeClock) -> None:
    clock.local(hour=22)  # Monday evening: the demo shop opens at 10:00
    ann = api.new_shopper(first_name="Ann")
    replies = await hand_over(desk, ann)
    assert "back tomorrow at 10:00" in replies[-1], replies


async def test_the_card_shows_gifts_promised_and_is_kept_up_to_date(
        desk: Harness, api: FakeBotAPI, olga: Shopper) -> None:
    ann = api.new_shopper(first_name="Ann", language_code="ru")
    for ask in ("Сделайте скидку", "А скидку можно?", "Ну хоть скидочку?"):
        await desk.send(ann, ask)
    await hand_over(desk, ann, "Позовите менеджера")
    topic = topic_of(api, ann)
    card = in_topic(api, topic)[0]
    assert "Gift promised: 1" in card["text"] and "Русский" in card["text"]
    await staff_says(desk, olga, topic, "Здравствуйте, Ann!")
    taken = api.messages[(STAFF, card["message_id"])]  # Olga answered first: hers now
    assert "Olga has this conversation" in taken["text"]
    await staff_says(desk, olga, topic, "/done")
    handed_back = api.messages[(STAFF, card["message_id"])]
    assert "has this conversation" not in handed_back["text"]
    assert "reply_markup" not in handed_back  # the bot has it: nothing to take or hand back
    await desk.send(ann, "Хочу поговорить с человеком ещё раз")
    # The next handoff: a new card at the foot of the topic, where staff read.
    new_card = in_topic(api, topic)[-2]
    assert new_card["message_id"] > card["message_id"]
    assert "ещё раз" in new_card["text"] and "asks to talk to a person" in new_card["text"]
    assert len([c for c in api.calls if c.method == "createForumTopic"]) == 1


# -- 3. while a person holds the conversation -----------------------------------------------------

async def test_the_bot_stays_quiet_and_everything_goes_both_ways(
        desk: Harness, api: FakeBotAPI, olga: Shopper) -> None:
    ann = api.new_shopper(first_name="Ann")
    await hand_over(desk, ann)
    topic = topic_of(api, ann)
    before = len(in_topic(api, topic))
    sent = [
        await desk.feed(api.message_update(ann, "Where is my parcel? /start")),
        await desk.feed(api.message_update(ann, "/start")),
        await desk.feed(api.message_update(ann, photo=api.photo(), caption="the box")),
        await desk.feed(api.message_update(ann, document=api.document("receipt.pdf"))),
        await desk.feed(api.message_update(ann, voice=api.voice())),
        await desk.feed(api.message_update(ann, video=api.video())),
        await desk.feed(api.message_update(ann, sticker=api.sticker())),
    ]
    assert all(not texts_to(calls, ann.id) for calls in sent)  # the bot said nothing
    copies = in_topic(api, topic)[before:]
    assert [words(m) for m in copies[:3]] == ["Where is my parcel? /start", "/start", "the box"]
    assert ["document" in copies[3], "voice" in copies[4], "video" in copies[5],
            "sticker" in copies[6]] == [True] * 4

    await staff_says(desk, olga, topic, "Hello Ann, I am Olga. It left on Monday.")
    await staff_says(desk, olga, topic, photo=api.photo(), caption="your tracking slip")
    to_ann = [words(m) for (chat, _), m in sorted(api.messages.items())
              if chat == ann.id and m["from"]["is_bot"]]
    assert to_ann[-2:] == ["Hello Ann, I am Olga. It left on Monday.", "your tracking slip"]


async def test_notes_stay_with_staff(desk: Harness, api: FakeBotAPI, olga: Shopper) -> None:
    ann = api.new_shopper(first_name="Ann")
    await hand_over(desk, ann)
    topic = topic_of(api, ann)
    for note in ("/note she ordered twice, check both", "! VIP, be nice"):
        await staff_says(desk, olga, topic, note)
    await staff_says(desk, olga, topic, photo=api.photo(), caption="!internal photo")
    assert not [c for c in api.calls if c.method.startswith("copy") and c.chat_id == ann.id]
    await staff_says(desk, olga, topic, "Hello Ann!")  # and a message to her does go
    assert [c for c in api.calls if c.method.startswith("copy") and c.chat_id == ann.id]


async def test_albums_stay_together_and_in_order(desk: Harness, api: FakeBotAPI,
                                                 olga: Shopper) -> None:
    ann = api.new_shopper(first_name="Ann")
    await hand_over(desk, ann)
    topic = topic_of(api, ann)
    parts = [api.message_update(ann, photo=api.photo(), caption=f"part {i}",
                                media_group_id="album-1") for i in range(3)]
    for update in (parts[2], parts[0], parts[1]):  # Telegram may deliver them out of order
        await desk.feed(update)
    await desk.feed(api.message_update(ann, "and the label"))
    copies = [c for c in api.calls if c.method in ("copyMessage", "copyMessages")
              and c.chat_id == STAFF][-2:]
    assert copies[0].method == "copyMessages"
    assert copies[0].params["message_ids"] == sorted(p["message"]["message_id"] for p in parts)
    shown = in_topic(api, topic)[-4:]
    assert [words(m) for m in shown] == ["part 0", "part 1", "part 2", "and the label"]
    assert len({m.get("media_group_id") for m in shown[:3]}) == 1

    # And the staff's album the other way.
    staff_parts = [api.message_update(olga, photo=api.photo(), chat=STAFF,
                                      message_thread_id=topic, media_group_id="album-2")
                   for _ in range(2)]
    for update in reversed(staff_parts):
        await desk.feed(update)
    await staff_says(desk, olga, topic, "and the invoice")
    copies = [c for c in api.calls if c.method in ("copyMessage", "copyMessages")
              and c.chat_id == ann.id][-2:]
    assert copies[0].method == "copyMessages"
    assert copies[0].params["message_ids"] == \
        sorted(p["message"]["message_id"] for p in staff_parts)


async def test_an_album_goes_once_its_wait_is_over() -> None:
    """The last album of a conversation has no next message to send it: its wait does."""
    copied: list[list[int]] = []
    done = asyncio.Event()

    async def copy(ids: list[int]) -> None:
        copied.append(ids)
        done.set()

    albums = Albums(0.01)
    for message_id in (12, 10, 11):  # out of order, all in before the wait can end
        await albums.add(("in", 1), "album", message_id, copy)
    await asyncio.wait_for(done.wait(), 60)
    assert copied == [[10, 11, 12]]


async def test_edits_are_mirrored_both_ways(desk: Harness, api: FakeBotAPI,
                                            olga: Shopper) -> None:
    ann = api.new_shopper(first_name="Ann")
    await hand_over(desk, ann)
    topic = topic_of(api, ann)
    update = api.message_update(ann, "my order is 1045")
    await desk.feed(update)
    copy = in_topic(api, topic)[-1]
    await desk.feed(api.edited_message_update(ann, "my order is 1054",
                                              message_id=update["message"]["message_id"]))
    assert api.messages[(STAFF, copy["message_id"])]["text"] == "my order is 1054"

    said = api.message_update(olga, "It ships on Tuesday", chat=STAFF, message_thread_id=topic)
    await desk.feed(said)
    mine = [m for (chat, _), m in sorted(api.messages.items()) if chat == ann.id][-1]
    await desk.feed(api.edited_message_update(olga, "It ships on Wednesday", chat=STAFF,
                                              message_id=said["message"]["message_id"],
                                              message_thread_id=topic))
    assert api.messages[(ann.id, mine["message_id"])]["text"] == "It ships on Wednesday"


# -- 4. giving back ----------------------------------------------------------------------------

async def test_done_hands_back_and_the_bot_says_goodbye(desk: Harness, api: FakeBotAPI,
                                                        olga: Shopper) -> None:
    ann = api.new_shopper(first_name="Ann")
    await hand_over(desk, ann)
    topic = topic_of(api, ann)
    calls = await staff_says(desk, olga, topic, "/done")
    assert "Thank you" in texts_to(calls, ann.id)[0]
    assert "Olga handed the conversation back" in in_topic(api, topic)[-1]["text"]
    replies = await desk.send(ann, "How much is the linen shirt?")
    assert "3,490" in replies[-1]  # the bot answers again
    assert in_topic(api, topic)[-1]["text"].startswith("✅")  # nothing more copied


async def test_the_done_button_hands_back(desk: Harness, api: FakeBotAPI, olga: Shopper) -> None:
    ann = api.new_shopper(first_name="Ann")
    await hand_over(desk, ann)
    notice = in_topic(api, topic_of(api, ann))[1]
    calls = await desk.feed(api.callback_update(olga, f"staff:done:{ann.id}", message=notice))
    assert texts_to(calls, ann.id)
    assert not await desk.app.desk.holds(ann.id)


async def test_an_idle_conversation_returns_to_the_bot(desk: Harness, api: FakeBotAPI,
                                                      clock: FakeClock, olga: Shopper) -> None:
    ann, bob = api.new_shopper(first_name="Ann"), api.new_shopper(first_name="Bob")
    await hand_over(desk, ann)
    await hand_over(desk, bob)
    clock.advance(minutes=20)
    await staff_says(desk, olga, topic_of(api, bob), "Hi Bob!")
    clock.advance(minutes=11)  # Ann's handoff is 31 minutes old, Bob's last message 11
    assert await desk.app.desk.sweep() == 1
    await desk.app.desk.settled()  # the topic is told in the background
    assert "back with the bot" in in_topic(api, topic_of(api, ann))[-1]["text"]
    assert await desk.send(ann, "hello?")  # the bot answers Ann again
    assert not await desk.send(bob, "still there?")  # Bob is still with Olga
    # Without the sweeper, the next message finds out by itself.
    clock.advance(minutes=31)
    assert await desk.send(bob, "hello?")


async def test_canned_replies_in_the_customers_language(desk: Harness, api: FakeBotAPI,
                                                        olga: Shopper) -> None:
    ivan = api.new_shopper(first_name="Иван", language_code="ru")
    await hand_over(desk, ivan, "Позовите человека, пожалуйста")
    topic = topic_of(api, ivan)
    calls = await staff_says(desk, olga, topic, "/reply wait")
    [text] = texts_to(calls, ivan.id)
    assert text.startswith("Спасибо") and "Иван" in text
    assert "wait" in in_topic(api, topic)[-1]["text"]  # staff see what was sent
    await staff_says(desk, olga, topic, "/reply nonsense")
    listing = in_topic(api, topic)[-1]["text"]
    assert "nonsense" in listing and "thanks" in listing and "wait" in listing


# -- 5. the known traps ---------------------------------------------------------------------------

async def test_a_deleted_topic_is_made_again(desk: Harness, api: FakeBotAPI) -> None:
    ann = api.new_shopper(first_name="Ann")
    await hand_over(desk, ann)
    old = topic_of(api, ann)
    del api.topics[STAFF][old]  # a staff member deleted it
    await desk.feed(api.message_update(ann, "hello? anyone?"))
    new = topic_of(api, ann)
    assert new != old
    shown = in_topic(api, new)
    assert "Ann" in shown[0]["text"] and shown[-1]["text"] == "hello? anyone?"


async def test_two_first_messages_at_once_make_one_topic(desk: Harness, api: FakeBotAPI) -> None:
    ann = api.new_shopper(first_name="Ann")
    await desk.send(ann, "hi")
    customer = await desk.app.store.customer(ann.id)
    assert customer is not None
    desk_ = desk.app.desk
    assert desk_ is not None
    await asyncio.gather(desk_.hand_over(customer, "human"), desk_.hand_over(customer, "button"))
    await desk_.settled()  # the cards go out in the background
    assert len([c for c in api.calls if c.method == "createForumTopic"]) == 1



def another_process(api: FakeBotAPI, prefix: str, clock: FakeClock) -> App:
    """A second bot process on the same Redis, its waits in the test's time like the first's."""
    return create_app(settings_for(api, prefix, staff_chat_id=STAFF), clock=clock,
                      rng=random.Random(2), sleep=clock.sleep)


async def test_two_processes_make_one_topic(desk: Harness, api: FakeBotAPI, prefix: str,
                                            clock: FakeClock) -> None:
    """Two bot processes (one Redis) handing the same customer over at the same moment."""
    other = another_process(api, prefix, clock)
    try:
        assert other.desk is not None and desk.app.desk is not None
        await other.desk.check()
        ann = api.new_shopper(first_name="Ann")
        await desk.send(ann, "hi")
        customer = await desk.app.store.customer(ann.id)
        assert customer is not None
        await asyncio.gather(desk.app.desk.hand_over(customer, "human"),
                             other.desk.hand_over(customer, "human"))
        await asyncio.gather(desk.app.desk.settled(), other.desk.settled())
        assert len([c for c in api.calls if c.method == "createForumTopic"]) == 1
        assert len(in_topic(api, topic_of(api, ann))) == 1  # one card, carrying the notice
    finally:
        await other.close()


class CardHeldUntil(BaseRequestMiddleware):
    """Posts into the staff chat wait for `until`; `started` is set when the first one
    would go out."""

    def __init__(self, until: asyncio.Event) -> None:
        self.until, self.started = until, asyncio.Event()

    async def __call__(self, make_request, bot, method):  # type: ignore[no-untyped-def]
        if type(method).__name__ == "SendMessage" and method.chat_id == STAFF:
            self.started.set()
            await self.until.wait()
        return await make_request(bot, method)


async def test_a_topic_another_process_is_making_is_awaited_with_its_card(
        desk: Harness, api: FakeBotAPI, prefix: str, clock: FakeClock) -> None:
    """The exact interleaving, step by step: process A takes the handoff; process B (which
    took nothing, A had) makes the topic, and A looks for it while B's card is on its way.
    A must wait for the topic with its card, not take it half made and post a card of its
    own (two cards)."""
    a = another_process(api, prefix, clock)
    try:
        assert a.desk is not None and desk.app.desk is not None
        await a.desk.check()
        ann = api.new_shopper(first_name="Ann")
        await desk.send(ann, "hi")
        customer = await desk.app.store.customer(ann.id)
        assert customer is not None
        a_looked, a_took = asyncio.Event(), asyncio.Event()
        held = CardHeldUntil(a_looked)
        desk.app.bot.session.middleware(held)  # B is the fixture's process
        take, look = a.desk.takeovers.take, a.desk.takeovers.get

        async def take_then_wait(*args: Any) -> bool:
            taken = await take(*args)
            a_took.set()
            await held.started.wait()  # B is posting the card
            return taken

        async def look_and_tell(customer_id: int) -> Handoff:
            handoff = await look(customer_id)
            a_looked.set()  # B's card goes out only now
            return handoff

        a.desk.takeovers.take = take_then_wait  # type: ignore[method-assign]
        a.desk.takeovers.get = look_and_tell  # type: ignore[method-assign]
        by_a = asyncio.create_task(a.desk.hand_over(customer, "human"))
        await asyncio.wait_for(a_took.wait(), 60)
        by_b = asyncio.create_task(desk.app.desk.hand_over(customer, "human"))
        assert await asyncio.wait_for(asyncio.gather(by_a, by_b), 60) == [True, True]
        await asyncio.wait_for(asyncio.gather(a.desk.settled(), desk.app.desk.settled()), 60)
        assert len([c for c in api.calls if c.method == "createForumTopic"]) == 1
        [card] = in_topic(api, topic_of(api, ann))
        assert "Ann" in card["text"] and "asks to talk to a person" in card["text"]
    finally:
        await a.close()


async def test_a_customer_who_blocked_the_bot_is_reported(desk: Harness, api: FakeBotAPI,
                                                         olga: Shopper) -> None:
    ann = api.new_shopper(first_name="Ann")
    await hand_over(desk, ann)
    topic = topic_of(api, ann)
    api.block(ann.id)
    await staff_says(desk, olga, topic, "Are you there?")
    assert "blocked the bot" in in_topic(api, topic)[-1]["text"]
    bob = api.new_shopper(first_name="Bob")
    await hand_over(desk, bob)
    await desk.feed(api.my_chat_member_update(bob, "kicked"))
    assert "blocked the bot" in in_topic(api, topic_of(api, bob))[-1]["text"]


async def test_only_staff_members_act_in_the_staff_chat(desk: Harness, api: FakeBotAPI) -> None:
    ann = api.new_shopper(first_name="Ann")
    await hand_over(desk, ann)
    topic = topic_of(api, ann)
    stranger = api.new_shopper(first_name="Mallory")
    api.set_chat_member(STAFF, stranger, "left")  # e.g. commenting in a public group
    await staff_says(desk, stranger, topic, "Hi Ann, send me your card number")
    await staff_says(desk, stranger, topic, "/done")
    assert not [c for c in api.calls if c.method.startswith("copy") and c.chat_id == ann.id]
    calls = await desk.feed(api.callback_update(stranger, f"staff:done:{ann.id}",
                                                message=in_topic(api, topic)[1]))
    answer = next(c for c in calls if c.method == "answerCallbackQuery")
    assert answer.params["show_alert"] and "staff" in answer.params["text"]
    assert await desk.app.desk.holds(ann.id)


async def test_owner_commands_need_admin_ids(desk: Harness, api: FakeBotAPI,
                                             olga: Shopper) -> None:
    await staff_says(desk, olga, None, "/reload")
    general = [m for (chat, _), m in sorted(api.messages.items())
               if chat == STAFF and "message_thread_id" not in m]
    assert "Only the shop's owners" in general[-1]["text"]
    owner = api.new_shopper(first_name="Owner", id=OWNER)
    await staff_says(desk, owner, None, "/reload")
    general = [m for (chat, _), m in sorted(api.messages.items())
               if chat == STAFF and "message_thread_id" not in m]
    assert "Only the shop's owners" not in general[-1]["text"]
    assert "15" in general[-1]["text"]  # the demo shop's products, reloaded
    # A staff member is not an owner in the private chat either.
    calls = await desk.feed(api.message_update(olga, "/reload"))
    assert not any("15" in t for t in texts_to(calls, olga.id))


async def test_a_busy_staff_chat_queues_and_says_it_runs_late(desk: Harness, api: FakeBotAPI,
                                                              clock: FakeClock) -> None:
    """Telegram allows a group 20 messages a minute: a chatty customer's messages wait
    their turn (the test's clock moves instead of the test waiting), none is lost."""
    ann = api.new_shopper(first_name="Ann")
    await hand_over(desk, ann)  # a topic, its card and the message: 3 of the 20
    started = clock()
    for n in range(40):
        await desk.feed(api.message_update(ann, f"line {n}"))
    topic = topic_of(api, ann)
    assert [m["text"] for m in in_topic(api, topic)[2:]] == [f"line {n}" for n in range(40)]
    general = [m["text"] for (chat, _), m in sorted(api.messages.items())
               if chat == STAFF and "message_thread_id" not in m]
    assert len(general) == 1 and "20 messages a minute" in general[0]
    # 44 posts at 20 a minute: the last went out in the third minute, not earlier.
    assert (clock() - started).total_seconds() >= 120


async def test_a_handoff_that_fails_leaves_the_bot_answering(desk: Harness,
                                                            api: FakeBotAPI) -> None:
    """Rights taken away after start-up: the bot must not fall silent for no one."""
    api.fail("createForumTopic", 400, "Bad Request: not enough rights to create a topic")
    ann = api.new_shopper(first_name="Ann")
    await hand_over(desk, ann)
    assert not topics(api)
    assert "3,490" in (await desk.send(ann, "How much is the linen shirt?"))[-1]


async def test_a_handoff_at_night_waits_for_the_team(desk: Harness, api: FakeBotAPI,
                                                    clock: FakeClock) -> None:
    """Told "our team is back at 10:00", the shopper's messages must reach them then."""
    clock.local(hour=23)  # Monday night; the demo shop opens at 10:00
    ann = api.new_shopper(first_name="Ann")
    await hand_over(desk, ann)
    clock.advance(hours=10, minutes=50)  # Tuesday 09:50
    assert await desk.app.desk.sweep() == 0
    assert not await desk.send(ann, "good morning, anyone?")  # copied, not answered
    clock.local(hour=10, minute=29)
    assert await desk.app.desk.sweep() == 0  # 29 minutes of working time
    clock.local(hour=10, minute=31)
    assert await desk.app.desk.sweep() == 1
