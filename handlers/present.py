"""Turning the rules' replies into Telegram messages."""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.core.languages import Lang
from bot.domain.replies import Button, Reply
from handlers.callback_data import pack
from handlers.texts import Texts, plain

log = logging.getLogger(__name__)


MAX_ROW = 2  # buttons side by side; longer rows wrap, so labels stay readable on a phone


def keyboard(reply: Reply, texts: Texts, lang: Lang) -> InlineKeyboardMarkup | None:
    if not reply.buttons:
        return None
    rows = [[made for button in row if (made := _button(button, texts, lang)) is not None]
            for row in reply.buttons]
    wrapped = [row[i:i + MAX_ROW] for row in rows for i in range(0, len(row), MAX_ROW)]
    return InlineKeyboardMarkup(inline_keyboard=wrapped) if wrapped else None


def _button(button: Button, texts: Texts, lang: Lang) -> InlineKeyboardButton | None:
    data = None
    if button.data is not None:
        try:
            data = pack(button.data)
        except ValueError:
            # A value of the shop file no button can carry (a colour id with ':' or over 40
            # characters): such a button could only ever answer "stale", and one over 64
            # bytes would make Telegram refuse the whole message.
            log.warning("button %r left out: %r does not pack", button.label, button.data)
            return None
    return InlineKeyboardButton(text=texts.label(button.label, lang, **button.args),
                                callback_data=data, url=button.url)


CAPTION_LIMIT = 1024  # Telegram's limit for a photo caption, after entities are parsed


async def send(message: Message, replies: list[Reply], texts: Texts, lang: Lang) -> None:
    """Answer in the chat `message` came from."""
    assert message.bot is not None
    await send_to(message.bot, message.chat.id, replies, texts, lang)


async def send_to(bot: Bot, chat_id: int, replies: list[Reply], texts: Texts,
                  lang: Lang) -> None:
    for reply in replies:
        reply_lang = reply.lang or lang
        text = texts.render(reply.template, reply_lang, **reply.context)
        markup = keyboard(reply, texts, reply_lang)
        if reply.photo and len(plain(text)) <= CAPTION_LIMIT:
            try:
                await bot.send_photo(chat_id, reply.photo, caption=text, reply_markup=markup)
                continue
            except TelegramBadRequest as exc:
                # A dead link or a file id from another bot: the words still go out.
                log.info("photo %s not sent (%s); sending text", reply.photo, exc.message)
        await bot.send_message(chat_id, text, reply_markup=markup)
