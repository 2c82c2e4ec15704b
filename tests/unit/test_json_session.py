"""Bot API calls go as JSON bodies (bot/app/session.py): the same parameters aiogram's form
would carry, decoded as the Bot API reads them; a file still goes multipart. A send is
recorded for a second try as the Bot API answered it."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.methods import SendDocument, SendMessage, SendPhoto
from aiogram.types import (
    BufferedInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)
from aiohttp import FormData
from pydantic import TypeAdapter

from bot.app.session import JsonSession, SendOnce
from bot.devtools.fake_bot_api import FakeBotAPI
from bot.storage.inbox import Handling, handling


def _bot(session: AiohttpSession) -> Bot:
    return Bot("123456:TEST-token", session=session, default=DefaultBotProperties(
        parse_mode=ParseMode.HTML, link_preview_is_disabled=True))


def _form(method: SendMessage | SendPhoto) -> dict[str, object]:
    """What aiogram's own form carries, each value read as the Bot API reads it."""
    session = AiohttpSession()
    form = session.build_form_data(_bot(session), method)()
    assert form.content_type == "application/x-www-form-urlencoded"
    fields = dict(parse_qsl(form._value.decode()))

    def read(key: str, value: str) -> object:
        if key in ("text", "caption", "photo", "parse_mode"):
            return value
        try:
            return json.loads(value)
        except ValueError:
            return value

    return {key: read(key, value) for key, value in fields.items()}


def test_a_call_without_a_file_is_one_json_body_with_the_forms_parameters() -> None:
    markup = InlineKeyboardMarkup(inline_keyboard=[[
        InlineKeyboardButton(text="🛒 Order this", callback_data="order:shirt"),
        InlineKeyboardButton(text="Site", url="https://example.com/")]])
    session = JsonSession()
    for method in (SendMessage(chat_id=42, text="<b>Hi</b> & 0", reply_markup=markup,
                               disable_notification=False, message_thread_id=None),
                   SendPhoto(chat_id=-100, photo="https://example.com/a.jpg", caption="",
                             reply_markup=markup)):
        body = session.build_form_data(_bot(session), method)
        assert not isinstance(body, FormData)
        assert body.content_type == "application/json"
        sent = json.loads(body._value)
        assert sent == _form(method)
        assert sent["parse_mode"] == "HTML" and "caption" not in sent  # defaults; no empties


def test_a_call_with_a_file_goes_multipart() -> None:
    session = JsonSession()
    method = SendDocument(chat_id=42, document=BufferedInputFile(b"data", "data.json"),
                          caption="Your data")
    assert isinstance(session.build_form_data(_bot(session), method), FormData)


class _Records:
    """The inbox as SendOnce sees it: what it records."""

    def __init__(self) -> None:
        self.sent: list[dict[str, object]] = []

    async def record(self, now: Handling, sent: dict[str, object]) -> None:
        self.sent.append(sent)


async def test_a_send_is_recorded_as_telegram_answered_it_and_reads_back_the_same() -> None:
    async with FakeBotAPI() as api:
        shopper = api.new_shopper()
        bot = Bot(api.token, session=JsonSession(api=TelegramAPIServer.from_base(api.url)),
                  default=DefaultBotProperties(parse_mode=ParseMode.HTML))
        records = _Records()
        bot.session.middleware(SendOnce(records))  # type: ignore[arg-type]
        token = handling.set(Handling(1))
        try:
            markup = InlineKeyboardMarkup(inline_keyboard=[[
                InlineKeyboardButton(text="Order", callback_data="order:shirt")]])
            message = await bot.send_message(shopper.id, "<b>Hi</b>", reply_markup=markup)
        finally:
            handling.reset(token)
            await bot.session.close()
        [record] = records.sent
        assert record["result"] == api.sent_to(shopper.id)[0].result  # Telegram's own words
        again = TypeAdapter(Message).validate_python(record["result"], context={"bot": bot})
        assert again == message
