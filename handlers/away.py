"""/away: an owner sets the away mode (bot/domain/away.py) in the private chat with the bot.

The menu shows the mode in force with a button per mode. "Away until a date" asks for the
day the team is back, "Only when nobody answers" for the minutes; a wrong answer is
refused with what is wanted and asked again, the mode unchanged. The mode is kept in
Redis, so every process follows it from the next handoff on, without a restart.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.core.languages import Lang
from bot.domain.away import Away, AwayMode, minutes_of, read_date
from bot.domain.conversation import Assistant
from handlers.filters import Inline
from handlers.owner import owner_lang
from handlers.present import say
from handlers.texts import Texts

# An answer to the open question: text, not a command (/start, /stats go their own way).
_ANSWER = Inline(F.text & ~F.text.startswith("/"))


class AwayData(CallbackData, prefix="away"):
    what: Literal["off", "holiday", "unanswered", "keep"]


class AwayAsk(StatesGroup):
    date = State()  # waiting for the day the team is back
    minutes = State()  # waiting for the minutes a handoff may go unanswered


async def show(message: Message, state: FSMContext, texts: Texts, assistant: Assistant,
               away: Away) -> None:
    """/away: the mode in force, and the buttons to change it (a question left open goes)."""
    await _leave_question(state)
    lang = await owner_lang(message, assistant)
    await _menu(message, texts, lang, away, "away/menu")


async def press(query: CallbackQuery, callback_data: AwayData, state: FSMContext,
                texts: Texts, assistant: Assistant, away: Away) -> None:
    await query.answer()
    if not isinstance(query.message, Message):
        return
    message = query.message
    lang = await owner_lang(message, assistant, query.from_user.id)
    if callback_data.what == "off":
        await _leave_question(state)
        await away.turn_off()
        await _menu(message, texts, lang, away, "away/set")
    elif callback_data.what == "holiday":
        await state.set_state(AwayAsk.date)
        await say(message, texts, "away/ask_date", lang, wrong=None, markup=_keep(texts, lang))
    elif callback_data.what == "unanswered":
        await state.set_state(AwayAsk.minutes)
        await say(message, texts, "away/ask_minutes", lang, wrong=False,
                  markup=_keep(texts, lang))
    else:  # keep it as it is: the question goes, the menu shows what is in force
        await _leave_question(state)
        await _menu(message, texts, lang, away, "away/menu")


async def got_date(message: Message, state: FSMContext, texts: Texts, assistant: Assistant,
                   away: Away) -> None:
    lang = await owner_lang(message, assistant)
    today = away.today()
    day = read_date(message.text or "", today)
    if day is None or day <= today:
        # Asked again, the state kept: the owner's next message is the answer still.
        await say(message, texts, "away/ask_date", lang,
                  wrong="unreadable" if day is None else "past", markup=_keep(texts, lang))
        return
    await state.set_state(None)
    await away.set_holiday(day, by=message.from_user.id if message.from_user else 0)
    await _menu(message, texts, lang, away, "away/set")


async def got_minutes(message: Message, state: FSMContext, texts: Texts, assistant: Assistant,
                      away: Away) -> None:
    lang = await owner_lang(message, assistant)
    minutes = minutes_of(message.text or "")
    if minutes is None:
        await say(message, texts, "away/ask_minutes", lang, wrong=True,
                  markup=_keep(texts, lang))
        return
    await state.set_state(None)
    await away.set_unanswered(minutes, by=message.from_user.id if message.from_user else 0)
    await _menu(message, texts, lang, away, "away/set")


async def _menu(message: Message, texts: Texts, lang: Lang, away: Away, template: str) -> None:
    """The mode in force (read back from Redis: what every process now follows), with the
    buttons; `template` says it as the menu or as the confirmation of a change."""
    mode = await away.mode()
    rows = [[_button(texts, lang, f"away_{kind}", AwayData(what=kind), on=mode.kind == kind)]
            for kind in ("off", "holiday", "unanswered")]
    await say(message, texts, template, lang, **_shown(mode, away),
              markup=InlineKeyboardMarkup(inline_keyboard=rows))


def _shown(mode: AwayMode, away: Away) -> dict[str, Any]:
    back = datetime.combine(mode.until, datetime.min.time(), tzinfo=away.shop().tz) \
        if mode.until else None
    return {"mode": mode.kind, "back": back, "minutes": mode.minutes or 0}


def _keep(texts: Texts, lang: Lang) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[
        [_button(texts, lang, "away_keep", AwayData(what="keep"))]])


def _button(texts: Texts, lang: Lang, macro: str, data: CallbackData,
            **args: Any) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=texts.label(macro, lang, **args), callback_data=data.pack())


async def _leave_question(state: FSMContext) -> None:
    """An open question of this menu goes; the composer's draft, if any, is left alone."""
    if await state.get_state() in (AwayAsk.date.state, AwayAsk.minutes.state):
        await state.set_state(None)


def register(router: Router) -> None:
    """On the owners' router (handlers/routers.py), which passes ADMIN_IDS in private only."""
    router.message.register(show, Command("away"))
    router.message.register(got_date, StateFilter(AwayAsk.date), _ANSWER)
    router.message.register(got_minutes, StateFilter(AwayAsk.minutes), _ANSWER)
    router.callback_query.register(press, AwayData.filter())
