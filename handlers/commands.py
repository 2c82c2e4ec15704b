"""Commands a shopper can type: /start, /language, /bye."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandStart
from aiogram.types import Message

from bot.conversation import Assistant
from bot.storage import Customer
from bot.texts import Texts
from handlers.present import send


async def start(message: Message, assistant: Assistant, customer: Customer, texts: Texts) -> None:
    replies = await assistant.start(customer)
    await send(message, replies, texts, customer.lang)


async def language(message: Message, assistant: Assistant, customer: Customer,
                   texts: Texts) -> None:
    await send(message, [assistant.language_prompt(customer)], texts, customer.lang)


async def bye(message: Message, assistant: Assistant, customer: Customer, texts: Texts) -> None:
    await send(message, await assistant.goodbye(customer), texts, customer.lang)


def build() -> Router:
    router = Router(name="commands")
    router.message.filter(F.chat.type == "private")
    router.message.register(start, CommandStart())
    router.message.register(language, Command("language", "lang"))
    router.message.register(bye, Command("bye"))
    return router
