"""Owner commands (ADMIN_IDS only): /stats, the report with a chart."""

from __future__ import annotations

import asyncio

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import BufferedInputFile, Message

from bot.config import Settings
from bot.conversation import Assistant
from bot.languages import from_telegram
from bot.stats import Stats
from bot.stats_report import chart, chart_labels, summary
from bot.texts import Texts

DAYS = 14  # this week and the one before, for the comparison


async def stats(message: Message, stats: Stats, texts: Texts, assistant: Assistant) -> None:
    user = message.from_user
    lang = from_telegram(user.language_code if user else None)
    customer = await assistant.store.customer(user.id) if user else None
    lang = customer.lang if customer else lang
    days = await stats.days(DAYS)
    await message.answer(texts.render("stats", lang, shop=assistant.shop, **summary(days)))
    # Drawing takes a moment (matplotlib): off the event loop.
    png = await asyncio.to_thread(chart, days, chart_labels(texts, lang),
                                  chart_labels(texts, "en"))
    await message.answer_photo(BufferedInputFile(png, filename="stats.png"))


def is_owner(message: Message, settings: Settings) -> bool:
    return message.from_user is not None and message.from_user.id in settings.admin_ids


def build() -> Router:
    router = Router(name="owner")
    router.message.filter(F.chat.type == "private", is_owner)
    router.message.register(stats, Command("stats"))
    return router
