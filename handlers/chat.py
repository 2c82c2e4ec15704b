"""What a shopper writes in the private chat."""

from __future__ import annotations

from aiogram import Router
from aiogram.types import Message

from bot.domain.conversation import Assistant
from bot.storage.store import Customer
from handlers.filters import Private, has_words
from handlers.handoff import hand_over
from handlers.present import send
from handlers.staff_desk import StaffDesk
from handlers.texts import Texts


async def text(message: Message, assistant: Assistant, customer: Customer, texts: Texts,
               desk: StaffDesk | None) -> None:
    replies = await assistant.message(customer, message.text or "")
    await send(message, replies, texts, customer.lang)
    await hand_over(replies, customer, desk, message)


async def anything_else(message: Message, assistant: Assistant, customer: Customer,
                        texts: Texts, desk: StaffDesk | None) -> None:
    """Stickers, photos, voice, an empty text: one friendly line, never silence or a crash."""
    replies = await assistant.unsupported(customer)
    await send(message, replies, texts, customer.lang)
    await hand_over(replies, customer, desk, message)


def build() -> Router:
    router = Router(name="chat")
    router.message.filter(Private())
    router.message.register(text, has_words)
    router.message.register(anything_else)
    return router
