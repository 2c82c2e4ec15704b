"""Consent to promotions: /stop and the button under every promotion end them; /start or
the button below the confirmation bring them back. Service messages always go."""

from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message

from bot.domain.actions import Subscribe
from bot.domain.conversation import Assistant
from bot.domain.replies import Button, Reply
from bot.storage.store import Customer
from handlers.callback_data import SubscribeData, UnsubscribeData
from handlers.filters import in_bot_chat
from handlers.present import send
from handlers.texts import Texts


def _stopped(assistant: Assistant, customer: Customer) -> Reply:
    return Reply("unsubscribed", {"name": customer.first_name, "shop": assistant.shop},
                 [[Button("subscribe", data=Subscribe())]])


async def stop(message: Message, assistant: Assistant, customer: Customer, texts: Texts) -> None:
    await assistant.store.set_promotions(customer.id, False)
    await send(message, [_stopped(assistant, customer)], texts, customer.lang)


async def unsubscribe(query: CallbackQuery, assistant: Assistant, customer: Customer,
                      texts: Texts) -> None:
    await assistant.store.set_promotions(customer.id, False)
    await query.answer()
    if isinstance(query.message, Message):
        await send(query.message, [_stopped(assistant, customer)], texts, customer.lang)


async def subscribe(query: CallbackQuery, assistant: Assistant, customer: Customer,
                    texts: Texts) -> None:
    await query.answer()
    if not in_bot_chat(query):
        # Promotions go to the bot's own chat only: the shopper consents there.
        if isinstance(query.message, Message):
            username = (await query.bot.me()).username if query.bot else None
            reply = Reply("promotions_in_bot", {"name": customer.first_name,
                                                "shop": assistant.shop, "bot": username})
            await send(query.message, [reply], texts, customer.lang)
        return
    await assistant.store.set_promotions(customer.id, True)
    if isinstance(query.message, Message):
        reply = Reply("subscribed", {"name": customer.first_name, "shop": assistant.shop})
        await send(query.message, [reply], texts, customer.lang)


def register(router: Router) -> None:
    """On the shoppers' router (handlers/routers.py), which passes private chats only and
    loads the customer's profile for a handler that matched."""
    router.message.register(stop, Command("stop", "unsubscribe"))
    router.callback_query.register(unsubscribe, UnsubscribeData.filter())
    router.callback_query.register(subscribe, SubscribeData.filter())
