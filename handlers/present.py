"""Turning the rules' replies into Telegram messages."""

from __future__ import annotations

import logging
import re
from html import unescape

from aiogram.exceptions import TelegramBadRequest
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.languages import Lang
from bot.replies import Reply
from bot.texts import Texts

log = logging.getLogger(__name__)


MAX_ROW = 2  # buttons side by side; longer rows wrap, so labels stay readable on a phone


def keyboard(reply: Reply, texts: Texts, lang: Lang) -> InlineKeyboardMarkup | None:
    if not reply.buttons:
        return None
    rows = [
        [
            InlineKeyboardButton(
                text=texts.label(button.label, lang, **button.args),
                callback_data=button.data,
                url=button.url,
            )
            for button in row
        ]
        for row in reply.buttons
    ]
    wrapped = [row[i:i + MAX_ROW] for row in rows for i in range(0, len(row), MAX_ROW)]
    return InlineKeyboardMarkup(inline_keyboard=wrapped)


CAPTION_LIMIT = 1024  # Telegram's limit for a photo caption, after entities are parsed


async def send(message: Message, replies: list[Reply], texts: Texts, lang: Lang) -> None:
    for reply in replies:
        reply_lang = reply.lang or lang
        text = texts.render(reply.template, reply_lang, **reply.context)
        markup = keyboard(reply, texts, reply_lang)
        if reply.photo and len(_visible(text)) <= CAPTION_LIMIT:
            try:
                await message.answer_photo(reply.photo, caption=text, reply_markup=markup)
                continue
            except TelegramBadRequest as exc:
                # A dead link or a file id from another bot: the words still go out.
                log.info("photo %s not sent (%s); sending text", reply.photo, exc.message)
        await message.answer(text, reply_markup=markup)


def _visible(html: str) -> str:
    return unescape(re.sub(r"<[^>]+>", "", html))
