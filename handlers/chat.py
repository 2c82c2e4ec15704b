"""What a shopper writes in the private chat."""

from __future__ import annotations

from aiogram import Router
from aiogram.types import Message

from bot.domain.business import Business, Connection
from bot.domain.conversation import Assistant
from bot.storage.store import Customer
from handlers.filters import has_words
from handlers.handoff import hand_over
from handlers.present import send
from handlers.staff_desk import StaffDesk
from handlers.texts import Texts


def greets(business_chats: Business | None, business_connection: Connection | None) -> bool:
    """Whether a new conversation opens with the bot's greeting: in a business chat, not on
    top of Telegram's own (bot/domain/business.py)."""
    return business_connection is None or business_chats is None \
        or business_chats.greeting_wanted(business_connection)


async def text(message: Message, assistant: Assistant, customer: Customer, texts: Texts,
               desk: StaffDesk | None, business_chats: Business | None = None,
               business_connection: Connection | None = None) -> None:
    replies = await assistant.message(customer, message.text or "",
                                      greet=greets(business_chats, business_connection))
    await send(message, replies, texts, customer.lang)
    await hand_over(replies, customer, desk, message)


async def anything_else(message: Message, assistant: Assistant, customer: Customer,
                        texts: Texts, desk: StaffDesk | None,
                        business_chats: Business | None = None,
                        business_connection: Connection | None = None) -> None:
    """Stickers, photos, voice, an empty text: one friendly line, never silence or a crash."""
    replies = await assistant.unsupported(
        customer, greet=greets(business_chats, business_connection))
    await send(message, replies, texts, customer.lang)
    await hand_over(replies, customer, desk, message)


def register(router: Router) -> None:
    """On the shoppers' router (handlers/routers.py), which passes private chats only and
    loads the customer's profile for a handler that matched."""
    router.message.register(text, has_words)
    router.message.register(anything_else)  # last: whatever else a shopper sends
