"""/texts and /replies: owners word the bot's messages, and the staff's quick replies, in the
bot's private chat.

/texts lists every message an owner may word (bot/core/overrides.py, the same as the shop
file's `texts:`) in pages; a message shows its text in each language, where it comes from
and the placeholders it takes, with a button per language and a reset. /replies lists the
quick replies (`canned/<key>`), adds one, and removes one.

A text sent for a message is checked like the shop file's (`overrides.problem`): a bad
placeholder is explained and the text shown back, to be sent again corrected. A good one is
previewed as a shopper would read it (sample values in the placeholders: the owner's own
name for {name}), and saved only with Save (bot/storage/own_texts.py: every process uses it
at once). The draft lives in the owner's FSM data beside the composer's (`update_data`, never
`set_data`); the previews whose draft was saved or dropped are kept (`done`), so a second
press says so, as the composer's "already sent" does.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from decimal import Decimal
from typing import Any

from aiogram import F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from jinja2 import TemplateError
from markupsafe import escape

from bot.core import overrides
from bot.core.languages import LANGUAGES, Lang
from bot.core.shop import Shop
from bot.domain.conversation import Assistant
from bot.storage.own_texts import OwnTexts
from handlers.callback_data import OwnTextData
from handlers.filters import Inline
from handlers.owner import owner_lang
from handlers.present import answer, drop_buttons, say
from handlers.texts import Texts, plain

log = logging.getLogger(__name__)
PAGE = 10  # messages per page of /texts
SHOWN = 700  # characters of a text shown in a message's view (four of them fit a message)
LONGEST = 4000  # a text longer cannot be sent once its placeholders are filled
KEEP_IDS = 100  # previews remembered as saved or dropped, per owner
DRAFT, DONE = "own_text", "own_text_done"  # the owner's FSM data beside the composer's


class Writing(StatesGroup):
    text = State()  # waiting for a message's text in one language
    key = State()  # waiting for a new quick reply's key


def _messages() -> list[str]:
    """What /texts lists: every message but the quick replies, which /replies shows."""
    return [name for name in overrides.messages()
            if not name.startswith(overrides.REPLIES)]


def _label(texts: Texts, lang: Lang, what: str, **context: Any) -> str:
    return plain(texts.render("owner_texts/button", lang, what=what, **context))


def _button(texts: Texts, lang: Lang, what: str, data: OwnTextData,
            **context: Any) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=_label(texts, lang, what, **context),
                                callback_data=data.pack())


def _placeholders(message: str) -> list[str]:
    return ["{" + name + "}" for name in overrides.takes(message)]


def _short(text: str) -> str:
    return text if len(text) <= SHOWN else text[:SHOWN].rstrip() + "…"


# -- /texts ----------------------------------------------------------------------------------
async def texts_command(message: Message, texts: Texts, assistant: Assistant) -> None:
    await _list(message, texts, await owner_lang(message, assistant), 0)


async def _list(message: Message, texts: Texts, lang: Lang, page: int) -> None:
    names = _messages()
    pages = max(1, -(-len(names) // PAGE))
    page = min(max(page, 0), pages - 1)
    rows, row = [], []
    for name in names[page * PAGE:(page + 1) * PAGE]:
        edited = any(texts.own(name, code)[0] == "edited" for code in LANGUAGES)
        row.append(_button(texts, lang, "open", OwnTextData(what="open", message=name,
                                                            page=page),
                           name=name, edited=edited))
        if len(row) == 2:
            rows.append(row)
            row = []
    rows += [row] if row else []
    turn = [_button(texts, lang, "previous", OwnTextData(what="page", page=page - 1))] \
        if page > 0 else []
    turn += [_button(texts, lang, "next", OwnTextData(what="page", page=page + 1))] \
        if page + 1 < pages else []
    rows += [turn] if turn else []
    await say(message, texts, "owner_texts/list", lang, page=page + 1, pages=pages,
              markup=InlineKeyboardMarkup(inline_keyboard=rows))


async def _view(message: Message, texts: Texts, lang: Lang, name: str, page: int,
                assistant: Assistant, who: str) -> None:
    """One message in each language, with a button per language and its resets."""
    reply = name.removeprefix(overrides.REPLIES) if name.startswith(overrides.REPLIES) \
        else None
    rows, buttons = [], []
    for code in LANGUAGES:
        source, text = texts.own(name, code)
        if text is not None:
            shown = plain(texts.fill(text, code, **_sample(assistant, who)))
        elif source == "template":
            shown = _bots_own(texts, name, code, assistant, who)
        else:
            shown = ""
        rows.append({"lang": code, "source": source, "text": _short(shown)})
        line = [_button(texts, lang, "edit", OwnTextData(what="edit", message=name, lang=code,
                                                         page=page), target=code)]
        if source == "edited":
            line.append(_button(texts, lang, "reset", OwnTextData(
                what="reset", message=name, lang=code, page=page), target=code))
        buttons.append(line)
    if reply is not None:
        buttons.append([_button(texts, lang, "remove",
                                OwnTextData(what="remove", message=name))])
        buttons.append([_button(texts, lang, "replies", OwnTextData(what="replies"))])
    else:
        buttons.append([_button(texts, lang, "list", OwnTextData(what="page", page=page))])
    await say(message, texts, "owner_texts/message", lang, name=name, reply=reply,
              takes=_placeholders(name), rows=rows,
              markup=InlineKeyboardMarkup(inline_keyboard=buttons))


def _bots_own(texts: Texts, name: str, lang: Lang, assistant: Assistant, who: str) -> str:
    """The template's text with sample values. Some messages need a conversation's data
    (a cart, an order's lines): those show nothing here rather than something made up."""
    try:
        return plain(texts.render(name, lang, **_sample(assistant, who),
                                  **_conversation(assistant.shop)))
    except (TemplateError, AttributeError, KeyError, TypeError, ValueError, IndexError):
        return ""


def _sample(assistant: Assistant, who: str) -> dict[str, Any]:
    """Values for a preview's placeholders: the owner's name, the shop's first product, its
    policy, an order and a return request, the team away for two hours."""
    shop = assistant.shop
    product = shop.products[0] if shop.products else None
    policy = shop.policy
    back = (assistant.local_now() + timedelta(hours=2)).replace(minute=0, second=0,
                                                                microsecond=0)
    order = {"id": "1045", "status": "shipped", "items": [], "total": Decimal(40),
             "carrier": None, "tracking": None, "tracking_url": None, "expected": None,
             "shipped": None, "delivered": None}
    return {"shop": shop, "name": who, "product": product, "policy": policy,
            "gift": policy.gift.name if policy.gift else None,
            "cost": policy.shipping_cost or Decimal(5),
            "threshold": policy.free_shipping_threshold or Decimal(50),
            "missing": Decimal(10), "order": order, "orders": [order], "asked": "1045",
            "request": {"id": "R1", "status": "submitted", "reason": "damaged",
                        "resolution": "refund", "wanted": None, "order": "1045", "item": 0},
            "more": 0,
            "offline": {"back": back, "hours": 2, "minutes": None, "today": True,
                        "tomorrow": False}}


def _conversation(shop: Shop) -> dict[str, Any]:
    """What a template reads of the conversation, for showing the bot's own text: a first
    visit in the morning, asking for a person, the first refusal, an order shipped."""
    item = {"name": shop.products[0].name if shop.products else None, "raw": None,
            "quantity": 1, "size": None, "color": None}
    return {"again": False, "returning": False, "part": "morning", "reason": "human",
            "intent": "human", "level": 1, "already_free": False, "with_staff": True,
            "event": "shipped", "bound": False, "entry": shop.faq[0] if shop.faq else None,
            "hours": [], "timezone": shop.timezone, "help": False, "stars": 5, "low": False,
            "skipped": False, "item": item, "bot": "", "back": None, "change": "connected"}


# -- /replies --------------------------------------------------------------------------------
async def replies_command(message: Message, texts: Texts, assistant: Assistant) -> None:
    user = message.from_user
    await _replies(message, texts, await owner_lang(message, assistant), assistant,
                   user.first_name if user else "")


async def _replies(message: Message, texts: Texts, lang: Lang, assistant: Assistant,
                   who: str) -> None:
    items, rows = [], []
    for key in texts.canned_keys():
        name = f"{overrides.REPLIES}{key}"
        source, text = texts.own(name, lang)
        shown = plain(texts.fill(text, lang, **_sample(assistant, who))) if text is not None \
            else _bots_own(texts, name, lang, assistant, who)
        items.append({"key": key, "text": _short(shown)})
        rows.append([_button(texts, lang, "open", OwnTextData(what="open", message=name),
                             name=key, edited=source == "edited")])
    rows.append([_button(texts, lang, "add", OwnTextData(what="add"))])
    await say(message, texts, "owner_texts/replies", lang, items=items,
              markup=InlineKeyboardMarkup(inline_keyboard=rows))


async def got_key(message: Message, state: FSMContext, texts: Texts,
                  assistant: Assistant) -> None:
    """A new quick reply's key: then its text, in the owner's language first."""
    lang = await owner_lang(message, assistant)
    key = (message.text or "").strip().lower()
    if overrides.REPLY_KEY.match(key) is None:
        await say(message, texts, "owner_texts/ask_key", lang, wrong=True, taken=None)
        return
    if key in texts.canned_keys():
        await say(message, texts, "owner_texts/ask_key", lang, wrong=True, taken=key)
        return
    await _ask(message, state, texts, lang, f"{overrides.REPLIES}{key}", lang, 0)


# -- writing a text --------------------------------------------------------------------------
async def _ask(message: Message, state: FSMContext, texts: Texts, lang: Lang, name: str,
               target: Lang, page: int) -> None:
    await state.set_state(Writing.text)
    await state.update_data({DRAFT: {"message": name, "lang": target, "page": page}})
    await say(message, texts, "owner_texts/ask", lang, name=name, target=target,
              takes=_placeholders(name))


async def got_text(message: Message, state: FSMContext, texts: Texts,
                   assistant: Assistant) -> None:
    """The text for the message and language asked: refused with why, or previewed."""
    lang = await owner_lang(message, assistant)
    draft = (await state.get_data()).get(DRAFT)
    text = (message.text or "").strip()
    if not draft or not text:
        await state.set_state(None)
        return
    name, target = draft["message"], draft["lang"]
    if overrides.unknown(name) is not None:  # gone with a reload of the shop file
        await state.set_state(None)
        await say(message, texts, "stale_button", lang)
        return
    fault = overrides.fault(name, text)
    user = message.from_user
    sample = _sample(assistant, user.first_name if user else "")
    filled = texts.fill(text, target, **sample) if fault is None else ""
    if fault is not None or len(filled) > LONGEST:
        # The state stays: the next text is the corrected one. The text is shown back, so
        # nothing written is lost.
        await say(message, texts, "owner_texts/bad", lang, fault=fault, long=fault is None,
                  takes=_placeholders(name), text=text)
        return
    # Exactly as a shopper would read it (a text of placeholders that are all empty here, as
    # it stands: Telegram sends no empty message).
    await answer(message, filled or str(escape(text)))
    markup = InlineKeyboardMarkup(inline_keyboard=[
        [_button(texts, lang, "save", OwnTextData(what="save"))],
        [_button(texts, lang, "again", OwnTextData(what="again")),
         _button(texts, lang, "cancel", OwnTextData(what="cancel"))]])
    asked = await say(message, texts, "owner_texts/preview", lang, name=name, target=target,
                      markup=markup)
    await state.set_state(None)
    await state.update_data({DRAFT: {**draft, "text": text, "preview": asked.message_id}})


# -- the buttons -----------------------------------------------------------------------------
async def press(query: CallbackQuery, callback_data: OwnTextData, state: FSMContext,
                texts: Texts, assistant: Assistant, own_texts: OwnTexts) -> None:
    if not isinstance(query.message, Message):
        await query.answer()
        return
    message = query.message
    lang = await owner_lang(message, assistant, query.from_user.id)
    who = query.from_user.first_name
    what, name = callback_data.what, callback_data.message
    data = await state.get_data()
    draft = data.get(DRAFT) or {}
    if what in ("save", "again", "cancel"):
        pressed = message.message_id
        if pressed in (data.get(DONE) or []):
            await query.answer(plain(texts.render("owner_texts/done", lang)))
            return
        if draft.get("preview") != pressed or "text" not in draft:
            await query.answer(plain(texts.render("stale_button", lang)))
            return
        if what == "save" and (overrides.unknown(draft["message"])
                               or overrides.problem(draft["message"], draft["text"])):
            # Checked again: the shop file may have been reloaded since (a message gone).
            await query.answer(plain(texts.render("stale_button", lang)))
            return
        await query.answer()
        await _spent(message)
        if what == "again":
            await _ask(message, state, texts, lang, draft["message"], draft["lang"],
                       draft.get("page", 0))
            return
        # Spent before saving: a second press finds it done and saves nothing more.
        await state.update_data({DRAFT: None,
                                 DONE: [*(data.get(DONE) or []), pressed][-KEEP_IDS:]})
        if what == "cancel":
            await say(message, texts, "owner_texts/cancelled", lang)
            return
        await own_texts.save(draft["message"], draft["lang"], draft["text"])
        await say(message, texts, "owner_texts/saved", lang, name=draft["message"],
                  target=draft["lang"])
        await _view(message, texts, lang, draft["message"], draft.get("page", 0),
                    assistant, who)
        return
    if what in ("open", "edit", "reset", "remove", "drop") \
            and overrides.unknown(name) is not None:
        await query.answer(plain(texts.render("stale_button", lang)))
        return
    await query.answer()
    if what == "page":
        await _list(message, texts, lang, callback_data.page)
    elif what == "replies":
        await _replies(message, texts, lang, assistant, who)
    elif what == "add":
        await state.set_state(Writing.key)
        await say(message, texts, "owner_texts/ask_key", lang, wrong=False, taken=None)
    elif what == "open":
        await _view(message, texts, lang, name, callback_data.page, assistant, who)
    elif what == "edit" and callback_data.lang:
        await _ask(message, state, texts, lang, name, callback_data.lang, callback_data.page)
    elif what == "reset" and callback_data.lang:
        await own_texts.reset(name, callback_data.lang)
        await say(message, texts, "owner_texts/reset", lang, name=name,
                  target=callback_data.lang)
        await _view(message, texts, lang, name, callback_data.page, assistant, who)
    elif what == "remove" and name.startswith(overrides.REPLIES):
        # Asked first: a removed reply's texts go with it.
        await say(message, texts, "owner_texts/remove", lang,
                  key=name.removeprefix(overrides.REPLIES),
                  markup=InlineKeyboardMarkup(inline_keyboard=[
                      [_button(texts, lang, "drop", OwnTextData(what="drop", message=name))],
                      [_button(texts, lang, "replies", OwnTextData(what="replies"))]]))
    elif what == "drop" and name.startswith(overrides.REPLIES):
        await _spent(message)
        key = name.removeprefix(overrides.REPLIES)
        await own_texts.remove_reply(key)
        await say(message, texts, "owner_texts/removed", lang, key=key)


async def _spent(message: Message) -> None:
    """The buttons under a preview go once one is pressed (the text stays)."""
    try:
        await drop_buttons(message)
    except TelegramBadRequest as exc:  # gone already, or too old to edit: nothing to undo
        log.info("text preview buttons of %s not dropped: %s", message.message_id,
                 exc.message)


def register(router: Router) -> None:
    """On the owners' router (handlers/routers.py), which passes ADMIN_IDS in private only;
    before the composer, so /texts and /replies work while a promotion is being written.
    A text starting with "/" is a command, never a message's text."""
    router.message.register(texts_command, Command("texts"))
    router.message.register(replies_command, Command("replies"))
    router.message.register(got_text, StateFilter(Writing.text),
                            Inline(F.text & ~F.text.startswith("/")))
    router.message.register(got_key, StateFilter(Writing.key),
                            Inline(F.text & ~F.text.startswith("/")))
    router.callback_query.register(press, OwnTextData.filter())
