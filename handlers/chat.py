"""What a shopper writes in the private chat."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import Message

from bot.conversation import Assistant
from bot.storage import Customer
from bot.texts import Texts
from handlers.present import send


async def text(message: Message, assistant: Assistant, customer: Customer, texts: Texts) -> None:
    replies = await assistant.message(customer, message.text or "")
    await send(message, replies, texts, customer.lang)


async def anything_else(message: Message, assistant: Assistant, customer: Customer,
                        texts: Texts) -> None:
    """Stickers, photos, voice, an empty text: one friendly line, never silence or a crash."""
    await send(message, await assistant.unsupported(customer), texts, customer.lang)


def build() -> Router:
    router = Router(name="chat")
    router.message.filter(F.chat.type == "private")
    router.message.register(text, F.text, F.text.func(lambda value: bool(value.strip())))
    router.message.register(anything_else)
    return router
