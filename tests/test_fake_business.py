"""The fake Bot API's Telegram Business: connected accounts, their chats with customers, and
the bot sending there, driven through a real aiogram Bot and session."""

from __future__ import annotations

import asyncio

import pytest
from aiogram import Bot, Dispatcher, F, Router
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError, TelegramRetryAfter
from aiogram.types import (
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)

from bot.devtools.fake_bot_api import FakeBotAPI, Shopper

TOKEN = "123456:TEST-token"
BOT_ID = 123456
KEYBOARD = InlineKeyboardMarkup(
    inline_keyboard=[[InlineKeyboardButton(text="Buy", callback_data="buy:tea")]])


def connected(api: FakeBotAPI, **kw: bool) -> tuple[Shopper, Shopper]:
    """An owner whose account is connected as "bc-1", and a customer who wrote to it."""
    owner = api.new_shopper(first_name="Olivia")
    ann = api.new_shopper(first_name="Ann")
    api.business_connection_update(owner, **kw)
    api.business_message_update("bc-1", ann, "Hello, is the shop open?")
    return owner, ann


async def test_get_me_says_the_bot_can_connect_to_business(fake_bot: Bot) -> None:
    assert (await fake_bot.get_me()).can_connect_to_business is True


async def test_every_business_update_parses_as_aiogram_reads_it(api: FakeBotAPI,
                                                                fake_bot: Bot) -> None:
    owner = api.new_shopper(first_name="Olivia")
    ann = api.new_shopper(first_name="Ann")

    update = Update.model_validate(api.business_connection_update(owner))
    connection = update.business_connection
    assert connection is not None and connection.id == "bc-1"
    assert connection.user.id == owner.id and connection.user_chat_id == owner.id
    assert connection.is_enabled and connection.rights is not None
    assert connection.rights.can_reply and connection.rights.can_read_messages
    assert connection.can_reply is None  # the deprecated field is not sent

    update = Update.model_validate(api.business_message_update("bc-1", ann, "/start promo"))
    message = update.business_message
    assert message is not None and message.business_connection_id == "bc-1"
    assert message.from_user is not None and message.from_user.id == ann.id
    assert message.chat.id == ann.id and message.chat.type == "private"
    assert message.sender_business_bot is None and not message.is_from_offline
    assert message.entities and message.entities[0].type == "bot_command"
    assert message.entities[0].length == len("/start")

    away = api.business_message_update("bc-1", ann, "Back on Monday", from_owner=True,
                                        offline=True)
    message = Update.model_validate(away).business_message
    assert message is not None and message.is_from_offline is True
    assert message.from_user is not None and message.from_user.id == owner.id
    assert message.message_id == 2

    edited = api.edited_business_message_update("bc-1", ann, "/start", message_id=1)
    message = Update.model_validate(edited).edited_business_message
    assert message is not None and message.edit_date is not None
    assert (message.message_id, message.text) == (1, "/start")
    assert message.business_connection_id == "bc-1"

    deleted = api.deleted_business_messages_update("bc-1", ann, [2])
    gone = Update.model_validate(deleted).deleted_business_messages
    assert gone is not None and gone.business_connection_id == "bc-1"
    assert gone.chat.id == ann.id and gone.message_ids == [2]
    assert ("bc-1", ann.id, 2) not in api.business_messages

    sent = await fake_bot.send_message(ann.id, "Which tea?", business_connection_id="bc-1",
                                  reply_markup=KEYBOARD)
    query = Update.model_validate(api.business_callback_update("bc-1", ann, "buy:tea"))
    press = query.callback_query
    assert press is not None and press.from_user.id == ann.id and press.data == "buy:tea"
    assert isinstance(press.message, Message)
    assert press.message.message_id == sent.message_id
    assert press.message.business_connection_id == "bc-1"
    assert press.message.sender_business_bot is not None
    assert await fake_bot.answer_callback_query(press.id, text="Added")
    with pytest.raises(TelegramBadRequest, match="query is too old"):
        await fake_bot.answer_callback_query(press.id)


async def test_a_business_send_goes_from_the_owner_and_comes_back_as_an_update(
        api: FakeBotAPI, fake_bot: Bot) -> None:
    owner, ann = connected(api)
    sent = await fake_bot.send_message(ann.id, "<b>Yes</b>, until 8", parse_mode="HTML",
                                  business_connection_id="bc-1")
    assert sent.business_connection_id == "bc-1" and sent.text == "Yes, until 8"
    assert sent.from_user is not None and sent.from_user.id == owner.id
    assert sent.sender_business_bot is not None and sent.sender_business_bot.id == BOT_ID
    assert sent.chat.id == ann.id and sent.message_id == 2  # after Ann's message, 1
    assert api.business_messages[("bc-1", ann.id, 2)]["text"] == "Yes, until 8"
    assert api.messages == {}

    [call] = api.business_sent("bc-1", ann.id)
    assert call.business_connection_id == "bc-1" and call.chat_id == ann.id
    assert api.sent_to(ann.id) == [] and api.calls_for(ann.id) == []

    [echo] = await fake_bot.get_updates(timeout=0)
    assert echo.business_message is not None
    assert echo.business_message.message_id == sent.message_id
    assert echo.business_message.sender_business_bot is not None

    photo = await fake_bot.send_photo(ann.id, BufferedInputFile(b"png", "tea.png"),
                                 caption="Our tea", business_connection_id="bc-1")
    assert photo.photo and photo.business_connection_id == "bc-1"
    assert await fake_bot.send_chat_action(ann.id, "typing", business_connection_id="bc-1")
    assert len(api.business_sent("bc-1", ann.id)) == 2

    api.echo_business = False
    await fake_bot.get_updates(offset=echo.update_id + 1, timeout=0)
    await fake_bot.send_message(ann.id, "quiet", business_connection_id="bc-1")
    assert [u.business_message.message_id for u in await fake_bot.get_updates(timeout=0)
            if u.business_message] == [photo.message_id]  # only the earlier echo


async def test_business_sends_are_refused_as_telegram_refuses_them(api: FakeBotAPI,
                                                                   fake_bot: Bot) -> None:
    owner, ann = connected(api)
    with pytest.raises(TelegramBadRequest, match="BUSINESS_CONNECTION_INVALID"):
        await fake_bot.send_message(ann.id, "hi", business_connection_id="bc-unknown")

    stranger = api.new_shopper()  # never wrote to the account
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        await fake_bot.send_message(stranger.id, "hi", business_connection_id="bc-1")

    api.business_connection_update(owner, enabled=False)
    with pytest.raises(TelegramBadRequest) as caught:
        await fake_bot.send_message(ann.id, "hi", business_connection_id="bc-1")
    assert caught.value.message == "Bad Request: BUSINESS_CONNECTION_INVALID"
    assert api.calls[-1].result["error_code"] == 400

    api.business_connection_update(owner, can_reply=False)
    assert api.business["bc-1"]["rights"] == {"can_read_messages": True}
    with pytest.raises(TelegramForbiddenError) as forbidden:
        await fake_bot.send_message(ann.id, "hi", business_connection_id="bc-1")
    assert forbidden.value.message == "Forbidden: BOT_BUSINESS_MISSING_RIGHTS"
    with pytest.raises(TelegramForbiddenError, match="BOT_BUSINESS_MISSING_RIGHTS"):
        await fake_bot.send_chat_action(ann.id, "typing", business_connection_id="bc-1")

    api.business_connection_update(owner)  # the rights back
    assert (await fake_bot.send_message(ann.id, "hi", business_connection_id="bc-1")).text == "hi"
    sends = api.business_sent("bc-1", ann.id, include_failed=True)
    assert [c.ok for c in sends] == [False, False, True]  # the refusals to Ann, then the send


async def test_injected_failures_and_blocks_reach_business_sends(api: FakeBotAPI,
                                                                 fake_bot: Bot) -> None:
    _, ann = connected(api)
    api.fail("sendMessage", 429, retry_after=2)
    with pytest.raises(TelegramRetryAfter):
        await fake_bot.send_message(ann.id, "hi", business_connection_id="bc-1")
    api.block(ann.id)
    with pytest.raises(TelegramForbiddenError, match="blocked"):
        await fake_bot.send_message(ann.id, "hi", business_connection_id="bc-1")
    api.unblock(ann.id)
    api.slow("sendMessage", 0.2, chat_id=ann.id)
    started = asyncio.get_running_loop().time()
    await fake_bot.send_message(ann.id, "hi", business_connection_id="bc-1")
    assert asyncio.get_running_loop().time() - started >= 0.2


async def test_get_business_connection(api: FakeBotAPI, fake_bot: Bot) -> None:
    owner, _ = connected(api)
    connection = await fake_bot.get_business_connection("bc-1")
    assert connection.user.id == owner.id and connection.is_enabled
    assert connection.rights is not None and connection.rights.can_reply
    with pytest.raises(TelegramBadRequest, match="BUSINESS_CONNECTION_INVALID"):
        await fake_bot.get_business_connection("bc-2")


async def test_the_bot_chat_and_the_business_chat_keep_their_own_message_ids(
        api: FakeBotAPI, fake_bot: Bot) -> None:
    _, ann = connected(api)  # business message 1: Ann's
    own = await fake_bot.send_message(ann.id, "In the bot's chat", reply_markup=KEYBOARD)
    assert own.message_id == 1 and own.business_connection_id is None
    business = await fake_bot.send_message(ann.id, "In the business chat",
                                      business_connection_id="bc-1", reply_markup=KEYBOARD)
    assert business.message_id == 2
    assert api.messages[(ann.id, 1)]["text"] == "In the bot's chat"
    assert api.business_messages[("bc-1", ann.id, 1)]["text"] == "Hello, is the shop open?"

    # An edit with the connection finds the business message, one without the bot's own.
    edited = await fake_bot.edit_message_text("Edited there", chat_id=ann.id, message_id=2,
                                         business_connection_id="bc-1")
    assert isinstance(edited, Message) and edited.business_connection_id == "bc-1"
    assert edited.reply_markup is None
    with pytest.raises(TelegramBadRequest, match="message to edit not found"):
        await fake_bot.edit_message_text("x", chat_id=ann.id, message_id=2)
    with pytest.raises(TelegramBadRequest, match="message can't be edited"):
        await fake_bot.edit_message_text("x", chat_id=ann.id, message_id=1,
                                    business_connection_id="bc-1")  # Ann's own
    markup = await fake_bot.edit_message_reply_markup(chat_id=ann.id, message_id=1)
    assert isinstance(markup, Message) and markup.text == "In the bot's chat"
    assert api.business_messages[("bc-1", ann.id, 2)]["text"] == "Edited there"
    echoed = [u.edited_business_message for u in await fake_bot.get_updates(timeout=0)
              if u.edited_business_message]
    assert [m.text for m in echoed] == ["Edited there"]

    # A press in the bot's chat still finds the bot's chat message.
    api.push_update(api.callback_update(ann, "buy:tea"))
    presses = [u.callback_query for u in await fake_bot.get_updates(timeout=0) if u.callback_query]
    assert isinstance(presses[-1].message, Message)
    assert presses[-1].message.business_connection_id is None


async def test_a_dispatcher_answers_in_the_business_chat(api: FakeBotAPI, fake_bot: Bot) -> None:
    owner, ann = connected(api)
    router = Router()

    # The account's own messages come back too, the bot's replies among them.
    @router.business_message(F.from_user.id != owner.id)
    async def reply(message: Message) -> None:
        await message.answer("We are open until 8")

    dispatcher = Dispatcher()
    dispatcher.include_router(router)
    await fake_bot.get_updates(offset=-1, timeout=0)
    polling = asyncio.create_task(
        dispatcher.start_polling(fake_bot, handle_signals=False, close_bot_session=False))
    try:
        await api.wait_for("getUpdates")
        api.push_update(api.business_message_update("bc-1", ann, "Open today?"))
        call = await api.wait_for(lambda c: c.method == "sendMessage" and c.ok)
        assert call.business_connection_id == "bc-1" and call.chat_id == ann.id
        assert call.params["text"] == "We are open until 8"
        await asyncio.sleep(0.2)  # the echo of the reply is handled, and not answered
        assert len(api.business_sent("bc-1", ann.id)) == 1
    finally:
        await dispatcher.stop_polling()
        await polling
