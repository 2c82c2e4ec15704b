"""Telegram Business: the chats of a business account connected to the bot, answered as the
shop's own account (bot/domain/business.py holds the rules).

`BusinessChats`, a middleware around every update, sees who wrote a business message. A
shopper's goes on as an ordinary private message (`Update.message`), so every handler of
the shoppers' router answers it as in the bot's own chat, and whatever is sent back to
that chat goes through the connection (`present.in_business_chat`); a press on a button
the bot sent there likewise. The rest stays a business update for this module's router:
the owner writing in person (the bot falls quiet there), Telegram's own greeting or away
message, what a bot sent, connections made, changed or cut.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot, Router
from aiogram.dispatcher.middlewares.user_context import EVENT_CONTEXT_KEY
from aiogram.exceptions import TelegramAPIError
from aiogram.types import (
    BusinessConnection,
    BusinessMessagesDeleted,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    TelegramObject,
    Update,
)

from bot.app.config import Settings
from bot.core.languages import from_telegram
from bot.domain.business import Business, Connection, Visit, writer
from bot.domain.conversation import Assistant
from bot.storage.store import Store
from handlers.callback_data import HandBackData
from handlers.present import edit_text, in_business_chat, send_text
from handlers.staff_desk import StaffDesk
from handlers.texts import Texts

log = logging.getLogger(__name__)

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


def connection_of(telegram: BusinessConnection) -> Connection:
    rights = telegram.rights
    can_reply = rights.can_reply if rights is not None else telegram.can_reply
    return Connection(id=telegram.id, owner=telegram.user.id, owner_chat=telegram.user_chat_id,
                      language=telegram.user.language_code, enabled=telegram.is_enabled,
                      can_reply=bool(can_reply))


class BusinessChats(BaseMiddleware):
    """Around each update, before the held chat is loaded: a business chat's shopper goes on
    as an ordinary private message, sent back through the connection."""

    def __init__(self, business: Business) -> None:
        self.business = business

    async def __call__(self, handler: Handler, event: TelegramObject,
                       data: dict[str, Any]) -> Any:
        assert isinstance(event, Update)
        message = event.business_message or event.edited_business_message
        if message is not None and message.business_connection_id:
            return await self._message(handler, event, message, data)
        query = event.callback_query
        if query is not None and isinstance(query.message, Message) \
                and query.message.business_connection_id:
            return await self._pressed(handler, event, query, query.message, data)
        return await handler(event, data)

    async def _visit(self, bot: Bot, chat: int, connection_id: str, sender: int | None,
                     by_bot: bool) -> Visit | None:
        visit = await self.business.visit(chat, connection_id, sender, by_bot=by_bot)
        if visit.connection is not None:
            return visit
        # Connected before this bot kept connections (or its Redis was lost): ask Telegram.
        try:
            telegram = await bot.get_business_connection(connection_id)
        except TelegramAPIError as exc:
            log.warning("business connection %s unknown to Telegram (%s): its message is left "
                        "alone", connection_id, exc.message)
            return None
        await self.business.connected(connection_of(telegram))
        return await self.business.visit(chat, connection_id, sender, by_bot=by_bot)

    async def _message(self, handler: Handler, event: Update, message: Message,
                       data: dict[str, Any]) -> Any:
        assert message.business_connection_id is not None
        sender = message.from_user.id if message.from_user else None
        by_bot = message.sender_business_bot is not None
        visit = await self._visit(data["bot"], message.chat.id, message.business_connection_id,
                                  sender, by_bot)
        if visit is None or visit.connection is None:
            return None
        connection = visit.connection
        who = writer(sender, connection, by_bot=by_bot, offline=bool(message.is_from_offline))
        data["business_visit"], data["business_writer"] = visit, who
        if who != "shopper" or not self.answering(visit):
            return await handler(event, data)
        ordinary = Update(update_id=event.update_id, message=message) \
            if event.business_message else Update(update_id=event.update_id,
                                                  edited_message=message)
        return await self._as_ordinary(handler, ordinary, connection, message.chat.id, data)

    async def _pressed(self, handler: Handler, event: Update, query: CallbackQuery,
                       message: Message, data: dict[str, Any]) -> Any:
        assert message.business_connection_id is not None
        visit = await self._visit(data["bot"], message.chat.id, message.business_connection_id,
                                  query.from_user.id, False)
        if visit is None or visit.connection is None or not self.answering(visit):
            await query.answer()  # the spinner stops; the owner answers here now
            return None
        data["business_visit"], data["business_writer"] = visit, "shopper"
        return await self._as_ordinary(handler, event, visit.connection, message.chat.id, data)

    def answering(self, visit: Visit) -> bool:
        """The bot answers the shopper of this visit: the connection lets it, the shop
        wants it, and the owner is not answering in person."""
        connection = visit.connection
        return connection is not None and connection.serving and self.business.answers \
            and not self.business.owner_holds(visit)

    @staticmethod
    async def _as_ordinary(handler: Handler, event: Update, connection: Connection, chat: int,
                           data: dict[str, Any]) -> Any:
        # One state per shopper: their business chat shares aiogram's FSM state (a return's
        # steps, say) with their chat with the bot, as it shares their conversation.
        context = data.get(EVENT_CONTEXT_KEY)
        if context is not None:
            data[EVENT_CONTEXT_KEY] = dataclasses.replace(context, business_connection_id=None)
        data["business_connection"] = connection
        with in_business_chat(chat, connection.id):
            return await handler(event, data)


# -- the business updates the middleware leaves as they are ---------------------------------

async def connection_changed(update: BusinessConnection, business_chats: Business,
                             settings: Settings, texts: Texts, assistant: Assistant,
                             bot: Bot) -> None:
    """Connected, rights changed, disabled: kept, logged, and the admins and the account's
    owner told (the bot stops answering a disabled one, or one without the right to reply,
    from the next message on)."""
    connection = connection_of(update)
    change = await business_chats.connected(connection)
    if change == "unchanged":
        return
    log_line = log.info if change in ("connected", "muted") else log.warning
    log_line("business account %s (user %s): %s", connection.id, connection.owner,
             {"connected": "connected, the bot answers its chats",
              "no_reply": "connected without the right to reply: the bot stays quiet there",
              "muted": "connected; BUSINESS_REPLIES is off, so the bot stays quiet there",
              "disabled": "disconnected: the bot no longer answers its chats"}[change])
    owner_lang = from_telegram(connection.language)
    told = {connection.owner_chat: owner_lang}
    for admin in settings.admin_ids:
        told.setdefault(admin, assistant.shop.default_language)
    for chat, lang in told.items():
        text = texts.render("business_connection", lang, change=change,
                            name=update.user.first_name)
        try:
            await send_text(bot, chat, text)
        except TelegramAPIError as exc:
            log.info("could not tell %s about business account %s: %s", chat, connection.id,
                     exc.message)


async def business_message(message: Message, business_visit: Visit, business_writer: str,
                           business_chats: Business, texts: Texts, store: Store,
                           desk: StaffDesk | None, bot: Bot) -> None:
    """What the middleware did not hand on as a shopper's message."""
    connection = business_visit.connection
    assert connection is not None
    chat = message.chat.id
    if business_writer == "bot":
        return  # a reply sent on the account's behalf: this bot's, or another's
    if business_writer == "automatic":
        await business_chats.automatic(connection)
        return
    if business_writer == "owner":
        if await business_chats.owner_wrote(chat, connection) and business_chats.answers \
                and connection.serving:
            await _tell_owner(connection, chat, message, business_chats, texts, store, bot)
        await _to_topic(desk, store, chat, message, "owner")
        return
    # The shopper, left to the owner (answering in person, or the bot may not reply here).
    if not connection.serving:
        log.info("business chat %s on account %s: not answered (%s)", chat, connection.id,
                 "disabled" if not connection.enabled else "no right to reply")
    elif business_chats.owner_holds(business_visit):
        await _to_topic(desk, store, chat, message, "shopper")


async def edited_or_deleted(event: Message | BusinessMessagesDeleted) -> None:
    """An edit the owner made, or messages deleted in a business chat: nothing to answer."""


async def _tell_owner(connection: Connection, chat: int, message: Message,
                      business_chats: Business, texts: Texts, store: Store, bot: Bot) -> None:
    """The owner started answering a shopper in person: where the bot stands, and the button
    that hands the chat back to it."""
    lang = from_telegram(connection.language)
    customer = await store.customer(chat)
    name = (customer.first_name if customer else "") or message.chat.first_name or ""
    text = texts.render("business_owner_holds", lang, name=name,
                        minutes=round(business_chats.idle.total_seconds() / 60))
    button = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(
        text=texts.label("business_hand_back", lang),
        callback_data=HandBackData(customer=chat).pack())]])
    try:
        await send_text(bot, connection.owner_chat, text, markup=button)
    except TelegramAPIError as exc:
        log.info("could not tell the owner of business account %s: %s", connection.id,
                 exc.message)


async def _to_topic(desk: StaffDesk | None, store: Store, chat: int, message: Message,
                    who: str) -> None:
    """A business chat's message, while the owner answers it, in the customer's staff topic."""
    if desk is None or not desk.ready:
        return
    customer = await store.customer(chat)
    if customer is not None:
        await desk.business_said(customer, who, message.text or message.caption or "")


async def hand_back(query: CallbackQuery, callback_data: HandBackData,
                    business_chats: Business, texts: Texts, store: Store, bot: Bot) -> None:
    """The owner's button: the bot answers the shopper again."""
    await query.answer()
    if not await business_chats.hand_back(callback_data.customer, query.from_user.id):
        return  # handed back already (or gone quiet long enough), or not this owner's
    if isinstance(query.message, Message):
        customer = await store.customer(callback_data.customer)
        text = texts.render("business_handed_back", from_telegram(query.from_user.language_code),
                            name=customer.first_name if customer else "")
        await edit_text(bot, query.message.chat.id, query.message.message_id, text)


def register(router: Router) -> None:
    """On the root router (handlers/routers.py): business updates, and the owner's
    hand-back button."""
    router.business_connection.register(connection_changed)
    router.business_message.register(business_message)
    router.edited_business_message.register(edited_or_deleted)
    router.deleted_business_messages.register(edited_or_deleted)
    router.callback_query.register(hand_back, HandBackData.filter())

