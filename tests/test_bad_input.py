"""Whatever arrives, the bot neither crashes nor leaks a traceback: a sensible reply or silence."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import pytest
from aiogram import F, Router
from aiogram.fsm.context import FSMContext
from aiogram.types import Message
from redis.asyncio import Redis

from bot.app import logcontext
from bot.devtools.fake_bot_api import FakeBotAPI
from tests.conftest import Harness, texts_to

UNSUPPORTED = "only read text"


def no_traceback(texts: list[str]) -> None:
    for text in texts:
        assert "Traceback" not in text and "Error" not in text


@pytest.mark.parametrize("kind", ["sticker", "photo", "voice"])
async def test_media_gets_one_friendly_line(shopbot: Harness, kind: str) -> None:
    shopper = shopbot.api.new_shopper(language_code="en")
    await shopbot.send(shopper, "/start")
    content = {kind: getattr(shopbot.api, kind)()}
    replies = await shopbot.send(shopper, None, **content)
    assert len(replies) == 1
    assert "text" in replies[0].lower()


async def test_media_as_the_first_message_still_gets_the_greeting(shopbot: Harness) -> None:
    shopper = shopbot.api.new_shopper(language_code="zh-hans")
    [reply] = await shopbot.send(shopper, None, sticker=shopbot.api.sticker())
    greeting, line = reply.split("\n\n")  # one message: the greeting, then the friendly line
    assert "亚麻小巷" in greeting and "亚麻小巷" not in line


@pytest.mark.parametrize("text", ["", "   ", "😀😀😀", "x" * 4096, "<script>alert(1)</script>",
                                  "&amp; <b>", "\u200b", "Привет 你好 hello", "/unknowncommand"])
async def test_odd_texts_get_a_reply_and_no_traceback(shopbot: Harness, text: str) -> None:
    shopper = shopbot.api.new_shopper(language_code="en")
    await shopbot.send(shopper, "/start")
    replies = await shopbot.send(shopper, text)
    assert len(replies) == 1
    no_traceback(replies)
    # The bot is still answering afterwards.
    assert await shopbot.send(shopper, "bye")


async def test_edited_messages_are_left_alone(shopbot: Harness) -> None:
    shopper = shopbot.api.new_shopper(language_code="en")
    await shopbot.send(shopper, "/start")
    calls = await shopbot.feed(shopbot.api.edited_message_update(shopper, "hello edited"))
    assert not texts_to(calls, shopper.id)


async def test_groups_and_channels_are_ignored(shopbot: Harness, redis: Redis,
                                               prefix: str) -> None:
    member = shopbot.api.new_shopper(language_code="en")
    group = {"id": -100123, "type": "supergroup", "title": "Friends"}
    for text in ("/start", "hello", "bye"):
        calls = await shopbot.feed(shopbot.api.message_update(member, text, chat=group))
        assert not [c for c in calls if c.method.startswith("send")]
    # The bot does not ask for these; should Telegram send them anyway, nothing happens.
    for update in (shopbot.api.channel_post_update(-100999, "news"),
                   shopbot.api.my_chat_member_update(member, "member", "left", chat=group)):
        since = len(shopbot.api.calls)
        await shopbot.app.dispatcher.feed_raw_update(shopbot.app.bot, update)
        assert not [c for c in shopbot.api.calls[since:] if c.method.startswith("send")]
    # Nobody in a group becomes a customer.
    assert not await redis.exists(f"{prefix}:customer:{member.id}")


async def test_button_pressed_in_a_group_only_stops_the_spinner(shopbot: Harness) -> None:
    member = shopbot.api.new_shopper(language_code="en")
    group = {"id": -100321, "type": "supergroup", "title": "Friends"}
    message = {"message_id": 5, "date": 0, "chat": group, "text": "menu"}
    calls = await shopbot.feed(shopbot.api.callback_update(member, "menu:order", message))
    assert [c.method for c in calls] == ["answerCallbackQuery"]


async def test_a_failing_handler_apologises_without_details(shopbot: Harness) -> None:
    shopper = shopbot.api.new_shopper(language_code="ru")
    await shopbot.send(shopper, "/start")

    def broken(*_: object, **__: object) -> None:
        raise ConnectionError("redis://10.1.2.3:6379 refused: secret-detail")

    # The rules fail under the next update (a bug, or a store gone mid-way)...
    shopbot.app.assistant.understanding.read = broken  # type: ignore[method-assign]
    replies = await shopbot.send(shopper, "есть лён?")
    assert len(replies) == 1 and "извините" in replies[0].lower()
    no_traceback(replies)
    assert "secret-detail" not in replies[0] and "10.1.2.3" not in replies[0]


async def test_concurrent_updates_of_one_shopper_lose_no_fsm_writes(
    make_shopbot: Callable[..., Awaitable[Harness]], redis: Redis, prefix: str
) -> None:
    """Redis event isolation: each update's read-modify-write of FSM data is kept."""
    shopbot = await make_shopbot(flood_messages=1000)  # 40 at once is a flood, otherwise
    shopper = shopbot.api.new_shopper(language_code="en")
    probe = Router()

    @probe.message(F.text.startswith("probe "))
    async def remember(message: Message, state: FSMContext) -> None:
        await state.update_data({message.text or "": 1})

    dispatcher = shopbot.app.dispatcher
    dispatcher.include_router(probe)
    dispatcher.sub_routers.insert(0, dispatcher.sub_routers.pop())  # before the chat handlers
    updates = [shopbot.api.message_update(shopper, f"probe {i}") for i in range(40)]
    await asyncio.gather(*(shopbot.feed(update) for update in updates))
    keys = [key async for key in redis.scan_iter(match=f"{prefix}:fsm:*:data")]
    assert len(keys) == 1
    data = await shopbot.app.dispatcher.storage.get_data(
        key=_storage_key(shopbot, shopper.id))
    assert len(data) == 40


def _storage_key(shopbot: Harness, user_id: int):  # type: ignore[no-untyped-def]
    from aiogram.fsm.storage.base import StorageKey

    return StorageKey(bot_id=shopbot.app.bot.id, chat_id=user_id, user_id=user_id)


async def test_a_button_answered_too_late_still_does_its_work(shopbot: Harness) -> None:
    """Telegram forgets a press after about 15 s (or across its restarts): answering it
    fails, and the press must still be served."""
    shopper = shopbot.api.new_shopper(language_code="ru")
    await shopbot.send(shopper, "/start")
    shopbot.api.fail("answerCallbackQuery", 400, "Bad Request: query is too old and response "
                     "timeout expired or query ID is invalid")
    calls = await shopbot.press(shopper, "menu:contacts")
    assert any(c.method == "answerCallbackQuery" and not c.ok for c in calls)
    [text] = texts_to(calls, shopper.id)
    assert "Льняной переулок" in text


async def test_a_stored_update_that_cannot_be_read_is_logged_once_and_skipped(
        shopbot: Harness, caplog: pytest.LogCaptureFixture) -> None:
    """An update in the inbox that does not parse (stored by an older version, say): one clear
    line naming it, no traceback, and the chat's next update is served."""
    caplog.handler.addFilter(logcontext.ContextFilter())
    caplog.handler.setFormatter(logging.Formatter(logcontext.TEXT_FORMAT))
    shopper = shopbot.api.new_shopper(language_code="en")
    broken = {"update_id": 900_000_001, "message": {"x": 1, "chat": {"id": shopper.id}}}
    assert await shopbot.app.inbox.put(broken)
    for _ in range(200):
        if await shopbot.app.inbox.state(broken["update_id"]) == "handled":
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("the broken update was never taken out of the inbox")
    assert not shopbot.api.sent_to(shopper.id)
    assert await shopbot.send(shopper, "/start")
    lines = [line for line in caplog.text.splitlines() if "900000001" in line]
    assert len(lines) == 1 and "[update=900000001 " in lines[0], caplog.text
    assert "Traceback" not in caplog.text


# -- commands addressed to another bot -----------------------------------------------------------

OURS = "shopbot_test_bot"  # the fake Bot API's getMe
ELSEWHERE = ["/start@SomeOtherBot", "/catalog@SomeOtherBot now", "/stop@other_bot",
             "/forget@SomeOtherBot", "/unknown@SomeOtherBot", "/person@SomeOtherBot"]


async def test_a_command_for_another_bot_gets_no_answer(shopbot: Harness) -> None:
    """`/start@SomeOtherBot` is someone else's command: not a message to read, not a reply."""
    shopper = shopbot.api.new_shopper(language_code="en")
    for text in ELSEWHERE:
        calls = await shopbot.feed(shopbot.api.message_update(shopper, text))
        assert calls == [], text
    photo = shopbot.api.message_update(shopper, photo=shopbot.api.photo(),
                                       caption="/start@SomeOtherBot")
    assert await shopbot.feed(photo) == []
    # Addressed to this bot, in any case, it is served.
    assert "Linen Lane" in (await shopbot.send(shopper, f"/start@{OURS}"))[0]
    assert await shopbot.send(shopper, "/catalog@ShopBot_Test_Bot")


STAFF = -1001234567890


async def test_a_command_for_another_bot_is_left_alone_in_the_staff_chat(
        api: FakeBotAPI, make_shopbot: Callable[..., Awaitable[Harness]]) -> None:
    api.forum(STAFF)
    bot = await make_shopbot(staff_chat_id=STAFF)
    assert bot.app.desk is not None and bot.app.desk.ready
    ann, olga = api.new_shopper(first_name="Ann"), api.new_shopper(first_name="Olga")
    await bot.send(ann, "I want to talk to a person")
    [topic] = api.topics[STAFF]
    for text in [*ELSEWHERE, "/done@SomeOtherBot"]:
        for thread in ({"message_thread_id": topic}, {}):  # her topic, and General
            calls = await bot.feed(api.message_update(olga, text, chat=STAFF, **thread))
            assert calls == [], (text, thread)
        # Nor is Ann's copied to her topic while a person holds her conversation.
        assert await bot.feed(api.message_update(ann, text)) == [], text
    assert await bot.app.desk.holds(ann.id)
    await bot.feed(api.message_update(olga, f"/done@{OURS}", chat=STAFF,
                                      message_thread_id=topic))
    assert not await bot.app.desk.holds(ann.id)
