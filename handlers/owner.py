"""Owner commands (ADMIN_IDS only): /stats, the report with a chart."""

from __future__ import annotations

import asyncio

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)

from bot.app.config import Settings
from bot.core.languages import Lang, from_telegram
from bot.domain.broadcasts import Broadcasts
from bot.domain.conversation import Assistant
from bot.domain.stats import Stats
from bot.domain.takeover import Person
from handlers.callback_data import BroadcastCancelData
from handlers.present import answer_photo, say
from handlers.staff_desk import StaffDesk
from handlers.stats_report import chart, chart_labels, summary
from handlers.texts import Texts

DAYS = 14  # this week and the one before, for the comparison


async def stats(message: Message, stats: Stats, texts: Texts, assistant: Assistant,
                desk: StaffDesk | None = None) -> None:
    user = message.from_user
    lang = from_telegram(user.language_code if user else None)
    customer = await assistant.store.customer(user.id) if user else None
    lang = customer.lang if customer else lang
    days = await stats.days(DAYS)
    figures = summary(days)
    week = figures["week"]
    # Each staff member's week, by name, busiest first.
    people = await desk.takeovers.team.people(list(week.people)) \
        if desk is not None and week is not None else {}
    team = sorted(((people.get(pid) or Person(pid, str(pid)), person)
                   for pid, person in week.people.items()) if week is not None else [],
                  key=lambda item: (-item[1].taken, -item[1].resolved, item[0].name))
    await say(message, texts, "stats", lang, shop=assistant.shop, team=team, **figures)
    # Drawing takes a moment (matplotlib): off the event loop.
    png = await asyncio.to_thread(chart, days, chart_labels(texts, lang),
                                  chart_labels(texts, "en"))
    await answer_photo(message, BufferedInputFile(png, filename="stats.png"))


async def broadcasts(message: Message, broadcasts: Broadcasts, texts: Texts,
                     assistant: Assistant, settings: Settings) -> None:
    """/broadcasts: the recent ones with their figures; a running one can be stopped."""
    lang = await owner_lang(message, assistant)
    items = [p for b in await broadcasts.recent(10) if (p := await broadcasts.progress(b.id))]
    stoppable = [p.broadcast.id for p in items if p.broadcast.status in ("scheduled", "running")]
    markup = InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(
        text=texts.label("broadcast_cancel", lang, id=bid),
        callback_data=BroadcastCancelData(broadcast=bid).pack())]
        for bid in stoppable]) if stoppable else None
    await say(message, texts, "broadcast_list", lang, items=items, markup=markup)


async def cancel_broadcast(query: CallbackQuery, callback_data: BroadcastCancelData,
                           broadcasts: Broadcasts, texts: Texts, assistant: Assistant) -> None:
    bid = callback_data.broadcast
    await broadcasts.cancel(bid)
    progress = await broadcasts.progress(bid)
    await query.answer()
    if progress is not None and isinstance(query.message, Message):
        lang = await owner_lang(query.message, assistant, query.from_user.id)
        await say(query.message, texts, "broadcast_progress", lang, progress=progress,
                  counts=progress.counts, minutes=0)


async def owner_lang(message: Message, assistant: Assistant, user_id: int | None = None) -> Lang:
    """The owner's language: their profile's, else the shop's."""
    uid = user_id or (message.from_user.id if message.from_user else None)
    customer = await assistant.store.customer(uid) if uid else None
    return customer.lang if customer else assistant.shop.default_language


def register(router: Router) -> None:
    """On the owners' router (handlers/routers.py), which passes ADMIN_IDS in private only."""
    router.message.register(stats, Command("stats"))
    router.message.register(broadcasts, Command("broadcasts"))
    router.callback_query.register(cancel_broadcast, BroadcastCancelData.filter())
