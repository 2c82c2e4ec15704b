"""The Telegram layer as the factory (bot/app/factory.py) takes it: each part of the bot that
speaks Telegram, built by its constructor, and the dispatcher's routers, middlewares and
error handler. `create_app` is the factory with this layer handed in."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from aiogram import BaseMiddleware, Bot, Dispatcher
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.fsm.storage.base import BaseStorage
from aiogram.methods import Response, SendMessage, SendPhoto, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import ErrorEvent, Message, TelegramObject, Update
from redis.asyncio.client import Pipeline
from redis.exceptions import RedisError

from bot import LOCALES_DIR, TEMPLATES_DIR
from bot.app import factory
from bot.app.config import Settings
from bot.app.runtime import App
from bot.core.languages import Lang, from_telegram
from bot.core.metrics import Metrics
from bot.core.shop import Shop
from bot.domain.broadcasts import Broadcasts, RateLimit
from bot.domain.business import Business, Connection
from bot.domain.conversation import Assistant, Clock
from bot.domain.flood import FloodGuard
from bot.domain.orders import OrderBook
from bot.domain.stats import Stats
from bot.domain.takeover import Takeovers
from bot.storage.chat import ChatState, ChatStates, hold
from bot.storage.fsm import HeldStateStorage
from bot.storage.inbox import SEEN_SECONDS, handling
from bot.storage.outbox import Outbox, Sleep
from bot.storage.store import Store
from handlers.broadcast_sender import Sender
from handlers.business import BusinessChats
from handlers.courier import Courier
from handlers.flood import FloodMiddleware
from handlers.i18n import load_catalogues
from handlers.present import in_business_chat, send_text, send_to
from handlers.routers import setup_routers
from handlers.staff_desk import StaffDesk
from handlers.texts import Texts, plain

log = logging.getLogger("shopbot")


class Telegram:
    """Implements bot.app.ports.TelegramLayer."""

    def texts(self, shop: Shop, rng: random.Random | None) -> Texts:
        return Texts(TEMPLATES_DIR, load_catalogues(LOCALES_DIR), shop.currency, rng,
                     shop.default_language, shop)

    def courier(self, bot: Bot, texts: Texts, store: Store, business: Business, *,
                business_followups: bool) -> Courier:
        return Courier(bot, texts, store, business, business_followups=business_followups)

    def sender(self, bot: Bot, broadcasts: Broadcasts, limit: RateLimit, store: Store,
               texts: Texts, stats: Stats, clock: Callable[[], datetime], *,
               rate: float, paid: bool, owner_lang: Callable[[], Lang]) -> Sender:
        return Sender(bot, broadcasts, limit, store, texts, stats, clock, rate=rate, paid=paid,
                      owner_lang=owner_lang)

    def desk(self, bot: Bot, chat_id: int, assistant: Assistant, takeovers: Takeovers,
             texts: Texts, outbox: Outbox, stats: Stats, orders: OrderBook, *,
             lang: Lang, idle_after: timedelta, business: Business) -> StaffDesk:
        return StaffDesk(bot, chat_id, assistant, takeovers, texts, outbox, send_to, stats,
                         orders, lang=lang, idle_after=idle_after, business=business)

    def setup(self, bot: Bot, dispatcher: Dispatcher, *, settings: Settings, store: Store,
              flood: FloodGuard, metrics: Metrics, clock: Callable[[], datetime],
              business: Business) -> None:
        bot.session.middleware(RememberReplies(store, clock))
        # aiogram's FSM middleware moves behind HoldChat, so that the FSM state it reads
        # first comes with the held chat's load (bot/storage/fsm.py).
        dispatcher.update.outer_middleware.unregister(dispatcher.fsm)
        dispatcher.update.outer_middleware(CountUpdates(metrics))
        # A business chat's shopper becomes an ordinary message before the chat is held.
        dispatcher.update.outer_middleware(BusinessChats(business))
        dispatcher.update.outer_middleware(HoldChat(store, flood, settings, dispatcher.storage))
        dispatcher.update.outer_middleware(dispatcher.fsm)
        dispatcher.message.outer_middleware(FloodMiddleware(flood, metrics))
        dispatcher.include_router(setup_routers())
        dispatcher.errors.register(_on_error)


TELEGRAM = Telegram()


def create_app(settings: Settings, *, clock: Clock | None = None,
               rng: random.Random | None = None, shop: Shop | None = None,
               sleep: Sleep = asyncio.sleep) -> App:
    """The bot, wired (bot/app/factory.py) with this Telegram layer."""
    return factory.create_app(settings, TELEGRAM, clock=clock, rng=rng, shop=shop, sleep=sleep)


class CountUpdates(BaseMiddleware):
    """Around each update: its count, its latency and its failures. (The log context is set
    before aiogram's own middlewares run, in `App.handle`.)"""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    async def __call__(self, handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
                       event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, Update)
        started = time.perf_counter()
        try:
            return await handler(event, data)
        except Exception:
            self.metrics.update_errors.inc()
            raise
        finally:
            self.metrics.latency.observe(time.perf_counter() - started)
            self.metrics.updates.labels(event.event_type).inc()


class HoldChat(BaseMiddleware):
    """A shopper's ordinary message is handled with their state in hand: read in one round
    trip (with the flood count, aiogram's FSM state and, for an update from the inbox, the
    pin of its first try), and written back with the update's next round trips
    (bot/storage/chat.py).

    Only where nothing but `Store` reads or writes what the state holds: a command may
    erase or export the shopper's data (/forget, /mydata) and an admin's message may be
    the composer's, so those keep reading and writing Redis as they go."""

    def __init__(self, store: Store, flood: FloodGuard, settings: Settings,
                 fsm: BaseStorage) -> None:
        self.states = ChatStates(store)
        self.flood, self.settings = flood, settings
        self.fsm = fsm if isinstance(fsm, HeldStateStorage) else None

    async def __call__(self, handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
                       event: TelegramObject, data: dict[str, Any]) -> Any:
        assert isinstance(event, Update)
        message = event.message
        user = message.from_user if message is not None else None
        if message is None or user is None or user.is_bot or message.chat.type != "private" \
                or user.id in self.settings.admin_ids or (message.text or "").startswith("/"):
            return await handler(event, data)
        now = handling.get()
        pins = now.pins if now is not None and now.pins else None
        state = await self.states.load(
            user.id, pins=pins, keep=SEEN_SECONDS, history=True,
            fsm=self.fsm.state_key(data["bot"].id, user.id) if self.fsm else None,
            flood=self.flood.counting(message.media_group_id or str(message.message_id)))
        state.came_by(message.business_connection_id)
        if now is not None:
            if pins:
                now.pinned.add(user.id)
            now.pending.append(Held(self.states, state))
        with hold(state):
            try:
                result = await handler(event, data)
            except BaseException:
                # Whoever handles the failure (the apology) finds what was written so far.
                await self.states.save(state)
                raise
        if now is None:  # not from the inbox: nothing else would carry the writes
            await self.states.save(state)
        return result


class Held:
    """A held chat's writes, as the inbox carries them (bot.storage.inbox.Pending)."""

    def __init__(self, states: ChatStates, state: ChatState) -> None:
        self.states, self.state = states, state

    def write(self, pipe: Pipeline) -> bool:
        return self.states.write(pipe, self.state)

    def saved(self) -> None:
        self.states.saved(self.state)


class RememberReplies(BaseRequestMiddleware):
    """What the bot says to a customer goes into their history, for the staff's card."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    async def __call__(self, make_request: NextRequestMiddlewareType[TelegramType], bot: Bot,
                       method: TelegramMethod[TelegramType]) -> Response[TelegramType]:
        response = await make_request(bot, method)  # failures raise: only sent text is kept
        chat_id = getattr(method, "chat_id", None)
        text = getattr(method, "text", None) or getattr(method, "caption", None)
        if isinstance(method, SendMessage | SendPhoto) and isinstance(chat_id, int) \
                and chat_id > 0 and isinstance(text, str):
            try:
                await self.store.remember(chat_id, "bot", plain(text), self.clock())
            except (RedisError, OSError):
                log.debug("reply not remembered", exc_info=True)
        return response


async def _on_error(event: ErrorEvent, bot: Bot, texts: Texts, store: Store,
                    business_connection: Connection | None = None) -> bool:
    """Log the failure; the shopper gets an apology, never a traceback: in a business chat
    the bot answers in (`business_connection`, set by handlers/business.py), through it."""
    log.error("update %s failed", event.update.update_id, exc_info=event.exception)
    update = event.update
    message = update.message or update.business_message or (
        update.callback_query.message if update.callback_query else None)
    user = message.from_user if message is not None and not update.callback_query else (
        update.callback_query.from_user if update.callback_query else None
    )
    if message is None or user is None or message.chat.type != "private":
        return True
    if isinstance(message, Message) and message.business_connection_id \
            and business_connection is None:
        return True  # the owner's side of a business chat, or one the bot may not answer
    lang = from_telegram(user.language_code)
    try:
        customer = await store.customer(user.id)
        lang = customer.lang if customer else lang
    except Exception:  # the store may be what failed; the apology still goes out
        log.debug("no profile for the apology", exc_info=True)
    try:
        with in_business_chat(message.chat.id, business_connection.id) \
                if business_connection else contextlib.nullcontext():
            await send_text(bot, message.chat.id, texts.render("error", lang))
    except Exception:  # best effort: the failure itself is already logged
        log.debug("could not send the apology", exc_info=True)
    return True
