"""Turning the rules' replies into Telegram messages."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.languages import Lang
from bot.replies import Reply
from bot.texts import Texts


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
    return InlineKeyboardMarkup(inline_keyboard=rows)


async def send(message: Message, replies: list[Reply], texts: Texts, lang: Lang) -> None:
    for reply in replies:
        reply_lang = reply.lang or lang
        text = texts.render(reply.template, reply_lang, **reply.context)
        await message.answer(text, reply_markup=keyboard(reply, texts, reply_lang))
