"""/broadcast: an owner composes a promotion in the private chat with the bot.

The draft lives in the owner's FSM data (Redis): a message per language, one link button,
the segment. The menu shows the draft and how many customers it reaches; a preview shows
each language as customers will see it; then it goes now or at a time in the shop's zone,
once the owner confirms the count again ("Send to 1,234 customers now?").

Each menu message's id is kept with the draft (`menus`). Once the draft is sent or
scheduled, those ids and the confirmation's go to `sent`, which outlives the draft: a press
on any of their buttons only answers that the draft was sent already, so a confirmation
pressed twice, or an old copy of the menu, sends nothing more.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime, time, timedelta
from typing import Any

from aiogram import F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from babel.numbers import format_decimal
from pydantic import ValidationError

from bot.app.config import Settings
from bot.core.languages import BABEL_LOCALES, LANGUAGES, Lang, parse
from bot.domain.broadcasts import Broadcast, BroadcastIn, Broadcasts, SegmentIn
from bot.domain.conversation import Assistant
from bot.domain.followups import Followups
from handlers.callback_data import ComposeData, ComposePickData
from handlers.filters import Inline
from handlers.owner import owner_lang
from handlers.present import answer, drop_buttons, say
from handlers.texts import Texts, plain

log = logging.getLogger(__name__)
BUTTON = re.compile(r"^\s*(?P<text>[^|]{1,64}?)\s*\|\s*(?P<url>(https?|tg)://\S{1,500})\s*$")
WHEN = re.compile(r"^\s*(?:(?P<date>\d{4}-\d{2}-\d{2})\s+)?(?P<time>\d{1,2}:\d{2})\s*$")
KEEP_IDS = 200  # message ids kept per owner: the current draft's menus, and sent drafts'


class Compose(StatesGroup):
    message = State()  # waiting for the text (or photo) of one language
    button = State()  # waiting for "Text | https://link"
    tags = State()
    products = State()
    when = State()


async def start(message: Message, state: FSMContext, texts: Texts, assistant: Assistant) -> None:
    lang = await owner_lang(message, assistant)
    default = assistant.shop.default_language
    sent = (await state.get_data()).get("sent") or []
    await state.set_state(Compose.message)
    await state.set_data({"variants": {}, "default": default, "editing": default,
                          "segment": {}, "button": None, "menus": [], "sent": sent})
    await say(message, texts, "compose/ask_message", lang, target=default)


async def got_message(message: Message, state: FSMContext, texts: Texts,
                      assistant: Assistant, broadcasts: Broadcasts) -> None:
    """The promotion's text for the language being edited (HTML kept, photo optional)."""
    data = await state.get_data()
    lang = await owner_lang(message, assistant)
    text = message.html_text if (message.text or message.caption) else ""
    photo = message.photo[-1].file_id if message.photo else None
    if not text or (photo and len(message.caption or "") > 1024) or len(text) > 4096:
        await say(message, texts, "compose/bad_message", lang, photo=bool(photo))
        return
    data["variants"][data["editing"]] = {"text": text, "photo": photo}
    await state.set_state(None)
    await _menu(message, state, data, texts, lang, broadcasts)


async def got_button(message: Message, state: FSMContext, texts: Texts, assistant: Assistant,
                     broadcasts: Broadcasts) -> None:
    lang = await owner_lang(message, assistant)
    found = BUTTON.match(message.text or "")
    if not found:
        await say(message, texts, "compose/ask_button", lang, wrong=True)
        return
    data = await state.get_data()
    data["button"] = {"text": found["text"], "url": found["url"]}
    await state.set_state(None)
    await _menu(message, state, data, texts, lang, broadcasts)


async def got_list(message: Message, state: FSMContext, texts: Texts, assistant: Assistant,
                   broadcasts: Broadcasts) -> None:
    """Tags, or products and categories: words separated by commas or spaces."""
    lang = await owner_lang(message, assistant)
    words = [w.lower() for w in re.split(r"[,\s]+", message.text or "") if w][:20]
    data = await state.get_data()
    if await state.get_state() == Compose.tags.state:
        data["segment"]["tags"] = words
    else:
        shop = assistant.shop
        products = [w for w in words if shop.product(w)]
        categories = [w for w in words if any(c.id == w for c in shop.categories)]
        if not products and not categories:  # never let a typo turn into "everyone"
            await say(message, texts, "compose/ask_list", lang, what="products",
                      shop=shop, wrong=True)
            return
        data["segment"]["products"], data["segment"]["categories"] = products, categories
    await state.set_state(None)
    await _menu(message, state, data, texts, lang, broadcasts)


async def got_time(message: Message, state: FSMContext, texts: Texts, assistant: Assistant,
                   broadcasts: Broadcasts) -> None:
    lang = await owner_lang(message, assistant)
    at = _when(message.text or "", assistant)
    data = await state.get_data()
    if at is None:
        await _ask_time(message, state, data, texts, lang, wrong=True)
        return
    await _confirm(message, state, data, texts, lang, broadcasts, at)


async def press(query: CallbackQuery, callback_data: ComposeData | ComposePickData,
                state: FSMContext, texts: Texts, assistant: Assistant, broadcasts: Broadcasts,
                followups: Followups, settings: Settings) -> None:
    """The composer's buttons (`bc:<what>[:<value>]`)."""
    if not isinstance(query.message, Message):
        await query.answer()
        return
    message = query.message
    lang = await owner_lang(message, assistant, query.from_user.id)
    data = await state.get_data()
    pressed = message.message_id
    if pressed in (data.get("sent") or []):
        # A menu of a draft that went, or its confirmation pressed again: nothing more.
        await query.answer(plain(texts.render("compose/already_sent", lang)))
        return
    what = callback_data.what
    step = data.get("confirm") or {}
    menus = data.get("menus")  # None: a draft begun before menus were kept
    if not data.get("variants") or (
            step.get("message") != pressed if what in ("yes", "back")
            else menus is not None and pressed not in menus) or (
            what == "yes" and "count" not in step):  # Yes only on the confirmation in force
        await query.answer(plain(texts.render("stale_button", lang)))
        return
    await query.answer()
    value = callback_data.value if isinstance(callback_data, ComposePickData) else ""
    if what == "yes":
        await _send(message, state, data, texts, lang, broadcasts, followups, settings)
        return
    if what == "back":  # from the confirmation, or from the question of when
        data.pop("confirm", None)
        await state.set_state(None)
        await _drop(message)
        await _menu(message, state, data, texts, lang, broadcasts)
        return
    if what != "preview" and data.pop("confirm", None) is not None:
        await state.set_data(data)  # the draft moves on: a confirmation already shown is void
    segment = data["segment"]
    if what == "lang" and parse(value):
        data["editing"] = value
        await state.set_data(data)
        await state.set_state(Compose.message)
        await say(message, texts, "compose/ask_message", lang, target=value)
        return
    if what == "button":
        await state.set_state(Compose.button)
        await say(message, texts, "compose/ask_button", lang, wrong=False)
        return
    if what in ("tags", "products"):
        await state.set_state(Compose.tags if what == "tags" else Compose.products)
        await say(message, texts, "compose/ask_list", lang, what=what,
                  shop=assistant.shop, wrong=False)
        return
    if what == "only" and parse(value):
        chosen = set(segment.get("languages") or [])
        chosen ^= {value}
        segment["languages"] = [code for code in LANGUAGES if code in chosen]
    elif what == "active":
        segment["active_days"] = int(value) if value.isdigit() else None
    elif what == "everyone":
        data["segment"] = {}
    elif what == "preview":
        request = _request(data)
        if request is not None:
            for variant_lang in request.variants:
                await _preview(message, request, variant_lang, texts, followups)
    elif what == "now":
        # This menu's buttons go while the owner confirms; "Back to the draft" shows it again.
        if _request(data) is not None:
            await _drop(message)
        await _confirm(message, state, data, texts, lang, broadcasts, None)
        return
    elif what == "later":
        await _drop(message)
        await _ask_time(message, state, data, texts, lang, wrong=False)
        return
    elif what == "drop":
        await state.set_state(None)
        await state.set_data({"sent": data.get("sent") or []})
        await say(message, texts, "compose/dropped", lang)
        return
    await _menu(message, state, data, texts, lang, broadcasts)


async def _menu(message: Message, state: FSMContext, data: dict[str, Any], texts: Texts,
                lang: Lang, broadcasts: Broadcasts) -> None:
    """The draft and its buttons, sent; the draft (`data`) kept with the menu's id."""
    request = _request(data)
    count = await _reach(request, broadcasts)
    segment = data["segment"]
    rows = [[_button(texts, lang, "compose_lang", ComposePickData(what="lang", value=code),
                     lang_code=code, done=code in data["variants"])] for code in LANGUAGES]
    rows += [[_button(texts, lang, "compose_link", ComposeData(what="button"),
                      done=bool(data["button"]))],
             [_button(texts, lang, "compose_only", ComposePickData(what="only", value=code),
                      lang_code=code, done=code in (segment.get("languages") or []))
              for code in LANGUAGES],
             [_button(texts, lang, "compose_active",
                      ComposePickData(what="active", value=str(days)), days=days,
                      done=segment.get("active_days") == days) for days in (7, 30, 90)],
             [_button(texts, lang, "compose_tags", ComposeData(what="tags")),
              _button(texts, lang, "compose_products", ComposeData(what="products")),
              _button(texts, lang, "compose_everyone", ComposeData(what="everyone"))],
             [_button(texts, lang, "compose_preview", ComposeData(what="preview"))],
             [_button(texts, lang, "compose_now", ComposeData(what="now")),
              _button(texts, lang, "compose_later", ComposeData(what="later"))],
             [_button(texts, lang, "compose_drop", ComposeData(what="drop"))]]
    shown = await say(message, texts, "compose/menu", lang, data=data, count=count,
                      shown=_number(count, lang),
                      markup=InlineKeyboardMarkup(inline_keyboard=rows))
    data["menus"] = [*(data.get("menus") or []), shown.message_id][-KEEP_IDS:]
    await state.set_data(data)


async def _reach(request: BroadcastIn | None, broadcasts: Broadcasts) -> int:
    """How many customers the draft reaches now: the menu's count and the confirmation's."""
    return len(await broadcasts.recipients(request.segment)) if request else 0


def _number(count: int, lang: Lang) -> str:
    """1,234 / 1 234 as the owner's language writes it."""
    return format_decimal(count, locale=BABEL_LOCALES[lang])


async def _drop(message: Message) -> None:
    """The buttons under one of the composer's messages go (the text stays)."""
    try:
        await drop_buttons(message)
    except TelegramBadRequest as exc:  # gone already, or too old to edit: nothing to undo
        log.info("composer buttons of %s not dropped: %s", message.message_id, exc.message)


async def _ask_time(message: Message, state: FSMContext, data: dict[str, Any], texts: Texts,
                    lang: Lang, *, wrong: bool) -> None:
    """When to send it (again, `wrong`: the time given could not be used). The draft
    remembers the question, so its "Back to the draft" works."""
    back = InlineKeyboardMarkup(inline_keyboard=[
        [_button(texts, lang, "compose_back", ComposeData(what="back"))]])
    asked = await say(message, texts, "compose/ask_time", lang, wrong=wrong, markup=back)
    await state.set_state(Compose.when)
    data["confirm"] = {"message": asked.message_id}
    await state.set_data(data)


async def _confirm(message: Message, state: FSMContext, data: dict[str, Any], texts: Texts,
                   lang: Lang, broadcasts: Broadcasts, at: datetime | None) -> None:
    """"Send to 1,234 customers now?" (or at `at`): only its Yes sends."""
    request = _request(data)
    if request is None:
        await say(message, texts, "compose/bad_message", lang, photo=False)
        return
    count = await _reach(request, broadcasts)
    shown = _number(count, lang)
    markup = InlineKeyboardMarkup(inline_keyboard=[
        [_button(texts, lang, "compose_yes", ComposeData(what="yes"), count=shown, num=count)],
        [_button(texts, lang, "compose_back", ComposeData(what="back"))]])
    asked = await say(message, texts, "compose/confirm", lang, count=count, shown=shown, at=at,
                      markup=markup)
    data["confirm"] = {"message": asked.message_id, "count": count,
                       "at": at.isoformat() if at else None}
    await state.set_state(None)
    await state.set_data(data)


def _button(texts: Texts, lang: Lang, macro: str, data: CallbackData,
            **args: Any) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=texts.label(macro, lang, **args), callback_data=data.pack())


def _request(data: dict[str, Any]) -> BroadcastIn | None:
    variants = {}
    for code, variant in data["variants"].items():
        button = data.get("button") or {}
        variants[code] = {k: v for k, v in {
            "text": variant["text"], "photo": variant.get("photo"),
            "button_text": button.get("text"), "button_url": button.get("url")}.items() if v}
    default = data["default"] if data["default"] in variants else next(iter(variants), None)
    try:
        return BroadcastIn.model_validate({"variants": variants, "default": default,
                                           "segment": SegmentIn(**data["segment"])})
    except ValidationError:
        return None


async def _preview(message: Message, request: BroadcastIn, lang: str, texts: Texts,
                   followups: Followups) -> None:
    assert followups.sender is not None
    draft = Broadcast(id="preview", variants={k: v.model_dump()
                                              for k, v in request.variants.items()},
                      default=str(request.default), segment={}, status="draft",
                      created_at=0, at=0)
    await followups.sender.preview(draft, message.chat.id, lang)  # type: ignore[arg-type]


async def _send(message: Message, state: FSMContext, data: dict[str, Any], texts: Texts,
                lang: Lang, broadcasts: Broadcasts, followups: Followups,
                settings: Settings) -> None:
    """The owner confirmed (`message` is the confirmation): the broadcast is made and starts,
    or waits for its time."""
    request = _request(data)
    if request is None:
        await say(message, texts, "compose/bad_message", lang, photo=False)
        return
    step = data["confirm"]
    at = datetime.fromisoformat(step["at"]) if step.get("at") else None
    if at is not None and at <= broadcasts.clock():
        # Confirmed after its time: it would go at once, which is not what was asked.
        await _drop(message)
        await _ask_time(message, state, data, texts, lang, wrong=True)
        return
    request.at = at
    # Spent before the broadcast is made: a second press of the confirmation, or a press on
    # any menu of this draft, finds it sent and makes nothing.
    sent = [*(data.get("sent") or []), *(data.get("menus") or []), step["message"]]
    await state.set_state(None)
    await state.set_data({"sent": sent[-KEEP_IDS:]})
    try:
        broadcast = await broadcasts.create(request, owner_chat=message.chat.id)
    except BaseException:
        await state.set_data(data)  # nothing was made: the draft and its confirmation stand
        raise
    await _drop(message)
    progress = await broadcasts.progress(broadcast.id)
    assert progress is not None and followups.sender is not None
    status = await answer(message, followups.sender.progress_text(progress, lang))

    def remember(b: Any) -> bool:
        b.status_message = status.message_id
        return True

    await broadcasts.update(broadcast.id, remember)
    await followups.broadcast(broadcast.id, datetime.fromtimestamp(broadcast.at).astimezone(),
                              settings.broadcast_lanes)


def _when(text: str, assistant: Assistant) -> datetime | None:
    """"18:30" (today, or tomorrow when past) or "2026-12-01 10:00", in the shop's zone."""
    found = WHEN.match(text)
    if not found:
        return None
    try:
        hour, minute = (int(part) for part in found["time"].split(":"))
        moment = time(hour, minute)
        now = assistant.local_now()
        day = datetime.fromisoformat(found["date"]).date() if found["date"] else now.date()
    except ValueError:
        return None
    at = datetime.combine(day, moment, tzinfo=assistant.shop.tz)
    if not found["date"] and at <= now:
        at += timedelta(days=1)
    return at if at > now else None


def register(router: Router) -> None:
    """On the owners' router (handlers/routers.py), which passes ADMIN_IDS in private only."""
    router.message.register(start, Command("broadcast"))
    router.message.register(got_message, StateFilter(Compose.message),
                            Inline(F.text | F.photo))
    router.message.register(got_button, StateFilter(Compose.button), Inline(F.text))
    router.message.register(got_list, StateFilter(Compose.tags, Compose.products),
                            Inline(F.text))
    router.message.register(got_time, StateFilter(Compose.when), Inline(F.text))
    router.callback_query.register(press, ComposeData.filter())
    router.callback_query.register(press, ComposePickData.filter())
