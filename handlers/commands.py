"""Commands: /start, /catalog, /language, /bye for shoppers; /reload for ADMIN_IDS."""

from __future__ import annotations

import logging
from collections.abc import Callable

from aiogram import Router
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.types import Message

from bot.core.languages import Lang
from bot.core.shop import Shop, ShopFileError
from bot.domain.conversation import Assistant
from bot.domain.order_desk import OrderDesk
from bot.storage.store import Customer
from handlers.filters import IsAdmin, in_bot_chat
from handlers.present import answer, send
from handlers.texts import Texts

log = logging.getLogger(__name__)


async def start(message: Message, command: CommandObject, assistant: Assistant,
                customer: Customer, texts: Texts, order_desk: OrderDesk) -> None:
    """/start, or /start <token> from an order page: greet, then the order is theirs."""
    replies = await assistant.start(customer)
    # /start subscribes again, in the bot's own chat: promotions go there, never to a
    # business chat.
    if in_bot_chat(message) and (await assistant.store.flags(customer.id))["promotions"] == "0":
        await assistant.store.set_promotions(customer.id, True)
    if command.args:
        replies += await order_desk.bind(customer, command.args.strip()) or []
    await send(message, replies, texts, customer.lang)


async def language(message: Message, assistant: Assistant, customer: Customer,
                   texts: Texts) -> None:
    await send(message, [assistant.language_prompt(customer)], texts, customer.lang)


async def catalog(message: Message, assistant: Assistant, customer: Customer,
                  texts: Texts) -> None:
    await send(message, [assistant.categories(customer)], texts, customer.lang)


async def reload(message: Message, reload_shop: Callable[[], Shop], customer: Customer,
                 texts: Texts) -> None:
    """/reload, for ADMIN_IDS only: the shop file again, or the reasons it was refused."""
    await answer(message, reload_report(reload_shop, texts, customer.lang, customer.id))


def reload_report(reload_shop: Callable[[], Shop], texts: Texts, lang: Lang, who: int) -> str:
    """Reload the shop file; what to tell the owner who asked."""
    try:
        shop = reload_shop()
    except ShopFileError as exc:
        log.warning("shop file not reloaded (asked by %s): %s", who, "; ".join(exc.lines()))
        return texts.render("reload_failed", lang, problems=exc.lines())
    return texts.render("reload_done", lang, shop=shop, products=len(shop.products),
                        faq=len(shop.faq))


async def bye(message: Message, assistant: Assistant, customer: Customer, texts: Texts) -> None:
    await send(message, await assistant.goodbye(customer), texts, customer.lang)


def register(router: Router) -> None:
    """On the shoppers' router (handlers/routers.py), which passes private chats only and
    loads the customer's profile for a handler that matched."""
    router.message.register(start, CommandStart())
    router.message.register(language, Command("language", "lang"))
    router.message.register(bye, Command("bye"))
    router.message.register(catalog, Command("catalog", "catalogue"))
    router.message.register(reload, Command("reload"), IsAdmin())
