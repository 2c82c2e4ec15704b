"""The app factory: one config object in, a wired bot out. Nothing is built at import time.
The Telegram layer (handlers/) is handed in as a `TelegramLayer` (bot/app/ports.py): the
factory builds the bot's parts by their constructors, and never imports it."""

from __future__ import annotations

import asyncio
import logging
import random
from datetime import UTC, datetime, timedelta

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.enums import ParseMode
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder
from aiogram.fsm.storage.memory import DisabledEventIsolation, MemoryStorage
from aiogram.fsm.storage.redis import RedisStorage
from redis.asyncio import Redis

from bot.app.config import Settings
from bot.app.order_webhook import SignedPoster
from bot.app.pacing import Pacer
from bot.app.ports import TelegramLayer
from bot.app.redis_url import connect
from bot.app.runtime import App, StartupError
from bot.app.session import (
    CountRequests,
    ForgiveLateAnswers,
    PaceAndRetry,
    SendOnce,
    outgoing_session,
)
from bot.core.metrics import Metrics
from bot.core.shop import Shop, load_shop
from bot.domain.aftersale import AfterSale
from bot.domain.away import Away
from bot.domain.broadcasts import Broadcasts, RateLimit
from bot.domain.business import Business
from bot.domain.cart import Carts
from bot.domain.conversation import Assistant, Clock
from bot.domain.flood import FloodGuard
from bot.domain.followups import Followups
from bot.domain.order_desk import OrderDesk
from bot.domain.order_hooks import OrderHooks
from bot.domain.orders import OrderBook
from bot.domain.stats import Stats
from bot.domain.takeover import Takeovers
from bot.nlu.understanding import Understanding
from bot.storage.away import AwayRecords
from bot.storage.business import BusinessRecords
from bot.storage.carts import CartRecords
from bot.storage.fsm import HeldStateStorage
from bot.storage.inbox import Inbox
from bot.storage.jobs import JobQueue
from bot.storage.order_hooks import OrderHookRecords
from bot.storage.outbox import Outbox, Sleep
from bot.storage.own_texts import OwnTexts
from bot.storage.store import Store

log = logging.getLogger("shopbot")


def create_app(
    settings: Settings,
    telegram: TelegramLayer,
    *,
    clock: Clock | None = None,
    rng: random.Random | None = None,
    shop: Shop | None = None,
    sleep: Sleep = asyncio.sleep,
) -> App:
    """Wire the bot: every part is built by its constructor, the Telegram ones by `telegram`.
    `clock` and `sleep` are injectable together, so tests can let the staff chat's queue
    wait minutes in no time."""
    problem = settings.token_problem()
    if problem is not None:
        raise StartupError(problem)
    shop = shop or load_shop(settings.shop_file)
    prefix = settings.redis_prefix or f"shopbot:{shop.id}"
    redis, persistent = _redis(settings)
    clock = clock or (lambda: datetime.now(UTC))
    store = Store(redis, prefix, timedelta(days=settings.history_retention_days), clock)
    key_builder = DefaultKeyBuilder(prefix=store.keys.fsm(), with_destiny=True)
    storage: BaseStorage = (
        HeldStateStorage(RedisStorage(redis, key_builder=key_builder), key_builder)
        if persistent else HeldStateStorage(MemoryStorage(), None))
    texts = telegram.texts(shop, rng)
    own_texts = OwnTexts(redis, store.keys, texts.use_own)
    bot = Bot(
        token=settings.bot_token.get_secret_value().strip(),
        session=outgoing_session(settings),
        default=DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview_is_disabled=True),
    )
    metrics = Metrics()
    inbox = Inbox(redis, prefix, metrics=metrics, replicas=settings.redis_wait_replicas,
                  replica_wait_ms=settings.redis_wait_ms)
    bot.session.middleware(SendOnce(inbox))
    bot.session.middleware(ForgiveLateAnswers())
    bot.session.middleware(PaceAndRetry(Pacer(redis, store.keys, sleep=sleep,
                                              rate=max(30.0, settings.broadcast_rate))))
    bot.session.middleware(CountRequests(metrics))
    stats = Stats(store, clock, shop.tz, on_count=lambda what, n: metrics.events.labels(
        what).inc(n))
    orders = OrderBook(store)

    def serving() -> Shop:
        """The shop served now: a reload swaps the assistant's, and the parts that keep no
        shop of their own ask for it each time."""
        return assistant.shop

    aftersale = AfterSale(serving, store, orders, stats, clock)
    # A cart and invoices in the chat, with a payment provider or products sold for Stars.
    carts = Carts(CartRecords(redis, store.keys), serving, clock,
                  hold=timedelta(minutes=settings.payment_hold_minutes),
                  provider=settings.payment_provider_token is not None) \
        if settings.payment_provider_token is not None \
        or any(p.stars for p in shop.products) else None
    assistant = Assistant(
        shop, store, Understanding(shop), clock,
        quiet_period=timedelta(hours=settings.greeting_quiet_hours),
        stats=stats, aftersale=aftersale, carts=carts,
    )
    business = Business(BusinessRecords(redis, store.keys), clock,
                        idle=timedelta(minutes=settings.business_idle_minutes),
                        answers=settings.business_replies, greets=settings.business_greeting)
    courier = telegram.courier(bot, texts, store, business,
                               business_followups=settings.business_followups)
    broadcasts = Broadcasts(store, orders, serving, clock)
    sender = telegram.sender(
        bot, broadcasts, RateLimit(store, clock, sleep), store, texts, stats, clock,
        rate=settings.broadcast_rate, paid=settings.paid_broadcast,
        owner_lang=lambda: serving().default_language)
    followups = Followups(JobQueue(store), store, aftersale, courier, sender, stats, clock,
                          delay=timedelta(hours=settings.followup_delay_hours),
                          day=settings.followup_day(), lanes=settings.broadcast_lanes,
                          order_hooks=_order_hooks(settings, store, clock))
    order_desk = OrderDesk(orders, aftersale, courier, followups, store, clock)
    desk = None
    if settings.staff_chat_id is not None:
        desk = telegram.desk(
            bot, settings.staff_chat_id, assistant, Takeovers(store), texts,
            Outbox(redis, store.keys.staff_outbox(), clock, sleep=sleep,
                   late_key=store.keys.staff_outbox_late()), stats, orders,
            lang=settings.staff_language or shop.default_language,
            idle_after=timedelta(minutes=settings.staff_idle_minutes), business=business,
        )
    dispatcher = Dispatcher(
        # The inbox hands a chat to one consumer at a time: no lock is needed on top.
        storage=storage, events_isolation=DisabledEventIsolation(),
        assistant=assistant, texts=texts, store=store, settings=settings, desk=desk,
        aftersale=aftersale, order_desk=order_desk, courier=courier, stats=stats,
        broadcasts=broadcasts, followups=followups, business_chats=business, carts=carts,
        own_texts=own_texts,
    )
    flood = FloodGuard(store, clock, limit=settings.flood_messages,
                       seconds=settings.flood_seconds)
    telegram.setup(bot, dispatcher, settings=settings, store=store, flood=flood,
                   metrics=metrics, clock=clock, business=business)
    app = App(settings, shop, bot, dispatcher, redis, store, texts, assistant, persistent, desk,
              order_desk, followups, inbox, metrics, own_texts=own_texts)
    # The away mode (/away): read where handoffs are decided, its check run as a follow-up.
    away = Away(AwayRecords(redis, store.keys), store, Takeovers(store), serving, clock)
    away.schedule, away.courier, away.staff = followups.schedule, courier, desk
    assistant.away = followups.away = dispatcher["away"] = away
    dispatcher["reload_shop"] = app.reload_shop
    return app


def _order_hooks(settings: Settings, store: Store, clock: Clock) -> OrderHooks | None:
    """Telling the shop's backend of orders the bot created; None while ORDER_WEBHOOK_URL is
    unset (the settings require the secret with it)."""
    if settings.order_webhook_url is None or settings.order_webhook_secret is None:
        return None
    poster = SignedPoster(settings.order_webhook_url.strip(),
                          settings.order_webhook_secret.get_secret_value())
    return OrderHooks(OrderHookRecords(store), poster, clock)


def _redis(settings: Settings) -> tuple[Redis, bool]:
    if settings.redis_url:
        return connect(settings.redis_url), True
    from fakeredis import FakeAsyncRedis

    log.warning(
        "REDIS_URL is not set: using an in-process Redis. NOTHING SURVIVES A RESTART "
        "(customers, conversations, languages). Set REDIS_URL for a real shop."
    )
    return FakeAsyncRedis(), False
