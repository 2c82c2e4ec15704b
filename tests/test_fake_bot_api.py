"""The fake Bot API, driven through a real aiogram Bot and session."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from aiogram import Bot, Dispatcher, Router, html
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramRetryAfter,
    TelegramUnauthorizedError,
)
from aiogram.filters import CommandStart
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiohttp import ClientSession

from bot.devtools.fake_bot_api import FakeBotAPI

TOKEN = "123456:TEST-token"


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI(TOKEN) as api:
        yield api


def bot_for(api: FakeBotAPI, token: str = TOKEN) -> Bot:
    return Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(api.url)))


@pytest_asyncio.fixture
async def bot(fake: FakeBotAPI) -> AsyncIterator[Bot]:
    bot = bot_for(fake)
    yield bot
    await bot.session.close()


@pytest.mark.asyncio
async def test_get_me_describes_the_bot(fake: FakeBotAPI, bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.is_bot, me.username) == (123456, True, "shopbot_test_bot")
    assert fake.calls[-1].method == "getMe"


@pytest.mark.asyncio
async def test_send_message_is_recorded_with_its_keyboard(fake: FakeBotAPI, bot: Bot) -> None:
    ann = fake.new_shopper(first_name="Ann")
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="Buy", callback_data="buy:42")]]
    )
    sent = await bot.send_message(ann.id, "<b>Tea</b> & cake", reply_markup=keyboard,
                                  parse_mode="HTML")

    assert isinstance(sent, Message)
    assert sent.chat.id == ann.id and sent.chat.type == "private"
    assert sent.from_user is not None and sent.from_user.id == 123456
    assert sent.text == "Tea & cake"
    assert sent.entities and sent.entities[0].type == "bold" and sent.entities[0].length == 3
    assert sent.reply_markup is not None
    assert sent.reply_markup.model_dump() == keyboard.model_dump()
    [call] = fake.sent_to(ann.id)
    assert call.method == "sendMessage" and call.chat_id == ann.id
    assert call.params["text"] == "<b>Tea</b> & cake"
    assert call.params["reply_markup"] == {
        "inline_keyboard": [[{"text": "Buy", "callback_data": "buy:42"}]]
    }
    second = await bot.send_message(ann.id, "again")
    assert second.message_id == sent.message_id + 1


@pytest.mark.asyncio
async def test_broken_html_is_refused_like_telegram(fake: FakeBotAPI, bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await bot.send_message(1, "<b>unclosed", parse_mode="HTML")
    assert fake.sent_to(1) == [] and not fake.sent_to(1, include_failed=True)[0].ok


@pytest.mark.asyncio
async def test_get_updates_long_polls_and_offset_confirms(fake: FakeBotAPI, bot: Bot) -> None:
    ann = fake.new_shopper()
    poll = asyncio.create_task(bot.get_updates(timeout=10))
    waiting = await fake.wait_for("getUpdates", timeout=2)  # recorded as soon as it arrives
    await asyncio.sleep(0.1)
    assert not waiting.answered and not poll.done()  # nothing queued: the request is held
    update_id = fake.push_update(fake.message_update(ann, "/start"))

    updates = await asyncio.wait_for(poll, 2)
    assert [u.update_id for u in updates] == [update_id]
    message = updates[0].message
    assert message is not None and message.text == "/start"
    assert message.entities and message.entities[0].type == "bot_command"

    assert waiting.answered and waiting.result[0]["update_id"] == update_id
    assert [u.update_id for u in await bot.get_updates(timeout=0)] == [update_id]  # unconfirmed
    assert await bot.get_updates(offset=update_id + 1, timeout=0) == []
    assert await bot.get_updates(timeout=0) == []  # the offset confirmed it for good


@pytest.mark.asyncio
async def test_callback_query_targets_the_last_keyboard(fake: FakeBotAPI, bot: Bot) -> None:
    ann = fake.new_shopper()
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="Cart", callback_data="cart")]]
    )
    menu = await bot.send_message(ann.id, "Menu", reply_markup=keyboard)
    fake.push_update(fake.callback_update(ann, "cart"))
    [update] = await bot.get_updates()
    query = update.callback_query
    assert query is not None and query.message is not None
    assert query.message.message_id == menu.message_id
    assert await bot.answer_callback_query(query.id, text="Added")
    assert fake.calls[-1].chat_id == ann.id
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await bot.answer_callback_query(query.id)

    edited = await bot.edit_message_text("Cart is empty", chat_id=ann.id,
                                         message_id=menu.message_id)
    assert isinstance(edited, Message) and edited.reply_markup is None
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text("Cart is empty", chat_id=ann.id, message_id=menu.message_id)


@pytest.mark.asyncio
async def test_dispatcher_polls_and_replies(fake: FakeBotAPI, bot: Bot) -> None:
    router = Router()

    @router.message(CommandStart())
    async def start(message: Message) -> None:
        await message.answer(f"Hello, {html.quote(message.from_user.first_name)}!")  # type: ignore[union-attr]

    dispatcher = Dispatcher()
    dispatcher.include_router(router)
    polling = asyncio.create_task(
        dispatcher.start_polling(bot, handle_signals=False, close_bot_session=False)
    )
    try:
        ann = fake.new_shopper(first_name="Ann <3")
        await fake.wait_for("getUpdates")
        fake.push_update(fake.message_update(ann, "/start"))
        call = await fake.wait_for(lambda c: c.method == "sendMessage" and c.chat_id == ann.id)
        assert call.params["text"] == "Hello, Ann &lt;3!"
    finally:
        await dispatcher.stop_polling()
        await polling


@pytest.mark.asyncio
async def test_injected_429_carries_retry_after(fake: FakeBotAPI, bot: Bot) -> None:
    fake.fail("sendmessage", error_code=429, retry_after=3)
    with pytest.raises(TelegramRetryAfter) as caught:
        await bot.send_message(7, "hi")
    assert caught.value.retry_after == 3
    assert fake.calls[-1].result == {
        "ok": False, "error_code": 429, "description": "Too Many Requests: retry after 3",
        "parameters": {"retry_after": 3},
    }
    assert (await bot.send_message(7, "hi")).text == "hi"  # only the next call failed


@pytest.mark.asyncio
async def test_blocked_chat_is_forbidden(fake: FakeBotAPI, bot: Bot) -> None:
    fake.block(42)
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(42, "hello?")
    assert (await bot.send_message(43, "hello")).chat.id == 43


@pytest.mark.asyncio
async def test_wrong_token_is_unauthorized(fake: FakeBotAPI) -> None:
    stranger = bot_for(fake, token="654321:WRONG")
    try:
        with pytest.raises(TelegramUnauthorizedError):
            await stranger.get_me()
    finally:
        await stranger.session.close()


@pytest.mark.asyncio
async def test_unknown_method_is_not_found(fake: FakeBotAPI) -> None:
    async with ClientSession() as http, http.post(f"{fake.url}/bot{TOKEN}/getMoon") as resp:
        assert resp.status == 404
        assert await resp.json() == {
            "ok": False, "error_code": 404, "description": "Not Found: method not found"}
    async with ClientSession() as http, http.get(f"{fake.url}/bot{TOKEN}/GETME") as resp:
        assert (await resp.json())["result"]["id"] == 123456


@pytest.mark.asyncio
async def test_send_photo_by_url(fake: FakeBotAPI, bot: Bot) -> None:
    sent = await bot.send_photo(-1001234, "https://example.com/tea.jpg", caption="Green tea")
    assert sent.chat.type == "supergroup"
    assert sent.photo and sent.photo[-1].width == 800 and sent.photo[-1].file_id
    assert sent.caption == "Green tea"
    call = await fake.wait_for(lambda c: c.method == "sendPhoto", timeout=1)
    assert call.params["photo"] == "https://example.com/tea.jpg"
    assert call.chat_id == -1001234


@pytest.mark.asyncio
async def test_wait_for_times_out_with_a_dump(fake: FakeBotAPI, bot: Bot) -> None:
    await bot.get_me()
    with pytest.raises(AssertionError, match=r"#0 getMe"):
        await fake.wait_for("sendMessage", timeout=0.1)


async def test_forum_topics_behave_like_telegram(fake: FakeBotAPI, bot: Bot) -> None:
    staff = fake.forum(-1001000000042)
    topic = await bot.create_forum_topic(staff, "Ann · 1")
    sent = await bot.send_message(staff, "card", message_thread_id=topic.message_thread_id)
    assert sent.message_thread_id == topic.message_thread_id and sent.is_topic_message
    await bot.delete_forum_topic(staff, topic.message_thread_id)
    with pytest.raises(TelegramBadRequest, match="message thread not found"):
        await bot.send_message(staff, "again", message_thread_id=topic.message_thread_id)

    plain = fake.forum(-1001000000043, topics=False)
    with pytest.raises(TelegramBadRequest, match="not a forum"):
        await bot.create_forum_topic(plain, "x")
    no_rights = fake.forum(-1001000000044, can_manage_topics=False)
    with pytest.raises(TelegramBadRequest, match="not enough rights"):
        await bot.create_forum_topic(no_rights, "x")
    member = await bot.get_chat_member(no_rights, fake.bot_user["id"])
    assert member.status == "administrator" and member.can_manage_topics is False
    chat = await bot.get_chat(staff)
    assert chat.is_forum and chat.type == "supergroup"


async def test_copy_messages_keeps_an_album_together_in_order(fake: FakeBotAPI,
                                                              bot: Bot) -> None:
    ann = fake.new_shopper(first_name="Ann")
    parts = [fake.message_update(ann, photo=fake.photo(), caption=f"p{i}",
                                 media_group_id="g1")["message"] for i in range(3)]
    ids = [p["message_id"] for p in parts]
    with pytest.raises(TelegramBadRequest, match="increasing order"):
        await bot.copy_messages(-1001000000045, ann.id, list(reversed(ids)))
    copies = await bot.copy_messages(-1001000000045, ann.id, ids)
    copied = [fake.messages[(-1001000000045, c.message_id)] for c in copies]
    assert [m["caption"] for m in copied] == ["p0", "p1", "p2"]
    assert len({m["media_group_id"] for m in copied}) == 1
    assert copied[0]["media_group_id"] != "g1"  # a new album, as in Telegram
