"""Inline buttons the bot made. Anything else is answered as a stale button."""

from __future__ import annotations

from aiogram import Router
from aiogram.types import CallbackQuery, Message

from bot.domain.conversation import Assistant
from bot.storage.store import Customer
from handlers.callback_data import (
    CATALOGUE,
    AskPersonData,
    CatalogueData,
    ChooseLanguageData,
    MenuItemData,
)
from handlers.handoff import hand_over
from handlers.present import send
from handlers.staff_desk import StaffDesk
from handlers.texts import Texts, plain


async def choose_language(query: CallbackQuery, callback_data: ChooseLanguageData,
                          assistant: Assistant, customer: Customer, texts: Texts) -> None:
    lang = callback_data.action().lang
    if not isinstance(query.message, Message):
        await stale(query, customer, texts)
        return
    replies = await assistant.choose_language(customer, lang)
    await query.answer()
    await send(query.message, replies, texts, lang)


async def menu(query: CallbackQuery, callback_data: MenuItemData, assistant: Assistant,
               customer: Customer, texts: Texts) -> None:
    if not isinstance(query.message, Message):
        await stale(query, customer, texts)
        return
    pick = {
        "order": assistant.order_info,
        "contacts": assistant.contacts,
        "language": assistant.language_prompt,
    }[callback_data.action().item]
    await query.answer()
    await send(query.message, await assistant.away_words(customer, [pick(customer)]), texts,
               customer.lang)


async def person(query: CallbackQuery, assistant: Assistant, customer: Customer,
                 texts: Texts, desk: StaffDesk | None) -> None:
    """"Ask a person": a handoff to the staff chat (its contacts when there is none)."""
    if not isinstance(query.message, Message):
        await stale(query, customer, texts)
        return
    replies = await assistant.away_words(customer, [assistant.handoff(customer, "button")])
    await query.answer()
    await send(query.message, replies, texts, customer.lang)
    await hand_over(replies, customer, desk)


async def catalogue(query: CallbackQuery, callback_data: CatalogueData, assistant: Assistant,
                    customer: Customer, texts: Texts) -> None:
    replies = await assistant.press(customer, callback_data.action())
    if replies is None or not isinstance(query.message, Message):
        await stale(query, customer, texts)
        return
    await query.answer()
    await send(query.message, replies, texts, customer.lang)


async def stale(query: CallbackQuery, customer: Customer, texts: Texts) -> None:
    """Old, forged or foreign callback data: a polite notice, nothing else happens."""
    await query.answer(plain(texts.render("stale_button", customer.lang)), show_alert=False)


def register(router: Router) -> None:
    """On the shoppers' router (handlers/routers.py), which passes private chats only and
    loads the customer's profile for a handler that matched."""
    router.callback_query.register(choose_language, ChooseLanguageData.filter())
    router.callback_query.register(menu, MenuItemData.filter())
    router.callback_query.register(person, AskPersonData.filter())
    for kind in CATALOGUE:
        router.callback_query.register(catalogue, kind.filter())
    router.callback_query.register(stale)  # last: any other press in a private chat
