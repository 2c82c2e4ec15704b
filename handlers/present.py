"""The one way a message leaves the bot: the rules' replies and the handlers' templates,
rendered in a language and sent; ready texts, photos and files; and, at the bottom of their
own lanes, the staff chat's posts (their outbox budget is the caller's), broadcasts (their
pace and timeout are the caller's), copies between a customer and their staff topic, and
edits of what was sent. `tests/unit/test_sending.py` fails on any other module that calls
Telegram's sending methods itself."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Message

from bot.core.languages import Lang
from bot.domain.replies import Button, Reply
from handlers.callback_data import pack
from handlers.texts import Texts, plain

log = logging.getLogger(__name__)

# The business chat the update in hand is from (its chat id, its connection's id): whatever
# is sent to that chat goes through the connection, as the shop's own account. The shopper's
# id is also the id of their chat with the bot, so the chat id alone cannot tell the two.
_business: ContextVar[tuple[int, str] | None] = ContextVar("business_chat", default=None)


@contextmanager
def in_business_chat(chat_id: int, connection_id: str) -> Iterator[None]:
    """Within it, what is sent to `chat_id` goes through the business connection."""
    token = _business.set((chat_id, connection_id))
    try:
        yield
    finally:
        _business.reset(token)


def _via(chat_id: int) -> str | None:
    current = _business.get()
    return current[1] if current is not None and current[0] == chat_id else None


MAX_ROW = 2  # buttons side by side; longer rows wrap, so labels stay readable on a phone


def keyboard(reply: Reply, texts: Texts, lang: Lang) -> InlineKeyboardMarkup | None:
    """The reply's buttons as a keyboard. The same buttons in the same language make the same
    keyboard (labels come from `buttons.j2`, which picks none at random), and most replies
    carry one of a few (a product's card, the menu): each is made once, since its labels,
    packed data and models cost about 0.05 ms of CPU a button (0.6 ms for a card of 11)."""
    if not reply.buttons:
        return None
    try:
        key = ("keyboard", lang, tuple(tuple(
            # An argument's type too: 1 and True are one key, but not one label.
            (b.label, b.data, b.url, tuple((k, type(v), v) for k, v in b.args.items()))
            for b in row) for row in reply.buttons))
        hash(key)
    except TypeError:  # an argument no key can hold (a list): made afresh
        return _keyboard(reply, texts, lang)
    return texts.kept(key, lambda: _keyboard(reply, texts, lang))


def _keyboard(reply: Reply, texts: Texts, lang: Lang) -> InlineKeyboardMarkup | None:
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
TEXT_LIMIT = 4096  # and for a message's text, in UTF-16 code units


@dataclass(frozen=True)
class Rendered:
    """A reply as it will be sent: its text, its keyboard, its photo."""

    text: str
    markup: InlineKeyboardMarkup | None = None
    photo: str | None = None


def rendered(replies: list[Reply], texts: Texts, lang: Lang) -> list[Rendered]:
    """The replies as messages: consecutive replies that can be one message are one.

    Each message costs a request of its own (about 0.7 ms of CPU to build and check) and a
    place in Telegram's one-a-second pace per chat, and a greeting and the answer to the
    first message were always two. Joined, the shopper reads the same texts in the same
    order, a blank line apart, with the same buttons under them.
    """
    out: list[Rendered] = []
    for reply in replies:
        reply_lang = reply.lang or lang
        made = Rendered(texts.render(reply.template, reply_lang, **reply.context),
                        keyboard(reply, texts, reply_lang), reply.photo)
        joined = _joined(out[-1], made) if out else None
        if joined is not None:
            out[-1] = joined
        else:
            out.append(made)
    return out


def _joined(first: Rendered, then: Rendered) -> Rendered | None:
    """`first` and `then` as one message, or None where that would change what is read: a
    photo (its caption is under it, and it may fall back to text), two different keyboards
    (one of them would be lost), or a text over Telegram's limit. A keyboard the two share
    is shown once."""
    if first.photo or then.photo:
        return None
    if first.markup is not None and then.markup is not None and first.markup != then.markup:
        return None
    text = f"{first.text}\n\n{then.text}"
    if len(plain(text).encode("utf-16-le")) // 2 > TEXT_LIMIT:
        return None
    return Rendered(text, then.markup or first.markup)


async def send(message: Message, replies: list[Reply], texts: Texts, lang: Lang) -> None:
    """Answer in the chat `message` came from."""
    assert message.bot is not None
    await send_to(message.bot, message.chat.id, replies, texts, lang)


async def send_to(bot: Bot, chat_id: int, replies: list[Reply], texts: Texts,
                  lang: Lang) -> None:
    for message in rendered(replies, texts, lang):
        text, markup = message.text, message.markup
        if message.photo and len(plain(text)) <= CAPTION_LIMIT:
            try:
                await send_photo(bot, chat_id, message.photo, caption=text, markup=markup)
                continue
            except TelegramBadRequest as exc:
                # A dead link or a file id from another bot: the words still go out.
                log.info("photo %s not sent (%s); sending text", message.photo, exc.message)
        await send_text(bot, chat_id, text, markup=markup)


async def say(message: Message, texts: Texts, template: str, lang: Lang, /, *,
              markup: InlineKeyboardMarkup | None = None, **context: Any) -> Message:
    """A template the handlers fill themselves (the owner's commands, the composer, notices),
    rendered in `lang` and sent in the chat `message` came from."""
    return await answer(message, texts.render(template, lang, **context), markup=markup)


# -- ready texts, photos and files --------------------------------------------------------
# The answers in the chat a message came from go through aiogram's shortcuts on that
# message, as the handlers called them before: the same request (its topic included).

async def answer(message: Message, text: str, *,
                 markup: InlineKeyboardMarkup | None = None) -> Message:
    """A ready text (already rendered, escaped where it holds users' words)."""
    return await message.answer(text, reply_markup=markup)


async def answer_photo(message: Message, photo: InputFile) -> Message:
    return await message.answer_photo(photo)


async def answer_document(message: Message, document: InputFile, *, caption: str) -> Message:
    return await message.answer_document(document, caption=caption)


async def send_text(bot: Bot, chat_id: int, text: str, *,
                    markup: InlineKeyboardMarkup | None = None, topic: int | None = None,
                    request_timeout: int | None = None, paid: bool = False) -> Message:
    """A ready text to a chat: a customer, an owner, a staff topic (`topic`).
    `request_timeout` and `paid` are the broadcast lane's: its own limit on one send, and
    paid broadcasting."""
    return await bot.send_message(chat_id, text, reply_markup=markup,
                                  message_thread_id=topic, request_timeout=request_timeout,
                                  allow_paid_broadcast=True if paid else None,
                                  business_connection_id=_via(chat_id))


async def send_photo(bot: Bot, chat_id: int, photo: str | InputFile, *,
                     caption: str | None = None, markup: InlineKeyboardMarkup | None = None,
                     request_timeout: int | None = None, paid: bool = False) -> Message:
    return await bot.send_photo(chat_id, photo, caption=caption, reply_markup=markup,
                                request_timeout=request_timeout,
                                allow_paid_broadcast=True if paid else None,
                                business_connection_id=_via(chat_id))


# -- invoices ---------------------------------------------------------------------------------

async def send_invoice(bot: Bot, chat_id: int, invoice: dict[str, Any]) -> Message:
    """A Telegram invoice (handlers/payments.py makes its fields)."""
    return await bot.send_invoice(chat_id, **invoice)


async def invoice_link(bot: Bot, invoice: dict[str, Any]) -> str:
    """A link to the same invoice, for a cart too long for one message's pay sheet."""
    return await bot.create_invoice_link(**invoice)


# -- copies and edits -----------------------------------------------------------------------

async def send_copies(bot: Bot, to: int, source: int, ids: list[int], *,
                      topic: int | None = None) -> list[int]:
    """Messages copied from one chat to another (a customer's into their topic, a staff
    member's to the customer), as they were written; the copies' ids. An album's items go
    in one call, so they stay one album."""
    if len(ids) == 1:
        copied = await bot.copy_message(to, source, ids[0], message_thread_id=topic)
        return [copied.message_id]
    many = await bot.copy_messages(to, source, ids, message_thread_id=topic)
    return [item.message_id for item in many]


async def edit_copy(bot: Bot, chat_id: int, copy_id: int, message: Message) -> Message | bool:
    """`message` was edited: its copy gets the new text or caption, formatted as its writer
    formatted it (entities, not HTML)."""
    if message.text is not None:
        return await bot.edit_message_text(
            text=message.text, chat_id=chat_id, message_id=copy_id,
            entities=message.entities, parse_mode=None)
    return await bot.edit_message_caption(
        chat_id=chat_id, message_id=copy_id, caption=message.caption or "",
        caption_entities=message.caption_entities, parse_mode=None)


async def edit_text(bot: Bot, chat_id: int, message_id: int, text: str, *,
                    request_timeout: int | None = None,
                    markup: InlineKeyboardMarkup | None = None) -> Message | bool:
    """A message the bot sent says something new (a staff card, a broadcast's progress).
    Its buttons are `markup`'s: Telegram drops those an edit does not repeat."""
    return await bot.edit_message_text(text=text, chat_id=chat_id, message_id=message_id,
                                       request_timeout=request_timeout, reply_markup=markup,
                                       business_connection_id=_via(chat_id))


async def drop_buttons(message: Message) -> Message | bool:
    """The buttons under `message` are spent: they go, the text stays."""
    return await message.edit_reply_markup(reply_markup=None)
