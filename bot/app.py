"""The app factory: one config object in, a wired bot out. Nothing is built at import time."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gc
import hmac
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from aiogram import BaseMiddleware, Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.client.telegram import TelegramAPIServer
from aiogram.dispatcher.middlewares.user_context import UserContextMiddleware
from aiogram.enums import ParseMode
from aiogram.exceptions import (
    RestartingTelegram,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.fsm.storage.base import BaseStorage, DefaultKeyBuilder
from aiogram.fsm.storage.memory import DisabledEventIsolation, MemoryStorage
from aiogram.fsm.storage.redis import RedisStorage
from aiogram.methods import (
    AnswerCallbackQuery,
    GetUpdates,
    Response,
    SendMessage,
    SendPhoto,
    TelegramMethod,
)
from aiogram.methods.base import TelegramType
from aiogram.types import BotCommand, ErrorEvent, TelegramObject, Update
from aiogram.utils.backoff import Backoff, BackoffConfig
from aiogram.webhook.aiohttp_server import setup_application
from aiohttp import web
from pydantic import TypeAdapter, ValidationError
from redis.asyncio import BlockingConnectionPool, Redis
from redis.exceptions import RedisError

from bot import LOCALES_DIR, TEMPLATES_DIR, logcontext, pacing
from bot.aftersale import AfterSale
from bot.broadcast_sender import Sender
from bot.broadcasts import Broadcasts, RateLimit
from bot.config import Settings
from bot.conversation import Assistant, Clock
from bot.courier import Courier
from bot.flood import FloodGuard
from bot.followups import Followups
from bot.i18n import load_catalogues
from bot.inbox import Handling, Inbox, handling
from bot.languages import from_telegram
from bot.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from bot.metrics import Metrics
from bot.order_desk import OrderDesk
from bot.orders import OrderBook
from bot.outbox import Outbox, Sleep
from bot.pacing import Pacer
from bot.shop import Shop, ShopFileError, load_shop
from bot.shop_api import add_broadcast_api, add_shop_api
from bot.staff_desk import StaffDesk
from bot.stats import Stats
from bot.storage import Store
from bot.takeover import Takeovers
from bot.texts import Texts, plain
from bot.understanding import Understanding
from handlers import setup_routers
from handlers.flood import FloodMiddleware
from handlers.present import send_to

log = logging.getLogger("shopbot")
IDLE_SWEEP_SECONDS = 60.0
WORKER_RETRY_SECONDS = 2.0  # how often a worker that lost Redis asks whether it is back
POLL_SECONDS = 10  # getUpdates' long poll
BATCH_WAIT_SECONDS = 30.0  # a polled batch's offset is confirmed once handled, or after this
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


class StartupError(Exception):
    """Something an operator must fix before the bot can run; its text is one clear line."""


@dataclass
class App:
    settings: Settings
    shop: Shop
    bot: Bot
    dispatcher: Dispatcher
    redis: Redis
    store: Store
    texts: Texts
    assistant: Assistant
    persistent: bool  # False on the in-process Redis
    desk: StaffDesk | None  # None without STAFF_CHAT_ID
    orders: OrderDesk
    followups: Followups
    inbox: Inbox
    metrics: Metrics = field(default_factory=Metrics)
    address: tuple[str, int] | None = None  # where /healthz and /metrics are served, once they are
    username: str | None = None  # the bot's @username, known after check()
    _tasks: list[asyncio.Task[Any]] = field(default_factory=list)
    _closers: list[Callable[[], Awaitable[Any]]] = field(default_factory=list)
    _worker: Any = None  # the in-process follow-up worker (arq), while one runs
    _stopping: asyncio.Event = field(default_factory=asyncio.Event)

    async def healthz(self, request: web.Request) -> web.Response:
        """200 while the bot can serve; 503 (and why) while Redis does not answer."""
        try:
            await asyncio.wait_for(self.store.ping(), 2)
            redis_ok = True
        except (RedisError, OSError, TimeoutError):
            redis_ok = False
        self.metrics.redis_up.set(1 if redis_ok else 0)
        body = {"status": "ok" if redis_ok else "degraded",
                "redis": "ok" if redis_ok else "unreachable",
                "staff_chat": None if self.desk is None else
                ("ok" if self.desk.ready else "not ready")}
        return web.json_response(body, status=200 if redis_ok else 503)

    async def metrics_page(self, request: web.Request) -> web.Response:
        response = web.Response(body=self.metrics.expose())
        response.headers["Content-Type"] = METRICS_CONTENT_TYPE
        return response

    async def check(self) -> None:
        """Fail fast, in one line each, on what makes serving impossible."""
        try:
            await self.store.ping()
        except (RedisError, OSError) as exc:
            raise StartupError(f"cannot reach Redis at {self.settings.redis_url}: {exc}") from None
        try:
            me = await self.bot.me()  # kept: commands' @mentions are checked against it
        except TelegramUnauthorizedError:
            raise StartupError("Telegram refused BOT_TOKEN: check it with @BotFather") from None
        except TelegramNetworkError as exc:
            raise StartupError(
                f"cannot reach the Bot API at {self._api_base()}: {exc.message}"
            ) from None
        except TelegramAPIError as exc:
            raise StartupError(f"the Bot API at {self._api_base()} answered: {exc.message}") \
                from None
        log.info("serving %s as @%s", self.shop.id, me.username)
        self.username = me.username
        if self.desk is None:
            log.warning("STAFF_CHAT_ID is not set: no person can take conversations over; "
                        "shoppers who ask for one get the shop's contacts")
        else:
            # A broken staff chat is logged with its fix; shoppers are served regardless.
            await self.desk.check()
            self.assistant.staff_available = self.desk.ready
            if self.desk.ready:
                log.info("staff chat %s ready: a topic per customer", self.desk.chat_id)
                self._tasks.append(asyncio.create_task(self._return_idle()))

    async def _return_idle(self) -> None:
        """Give conversations no one touched for STAFF_IDLE_MINUTES back to the bot."""
        assert self.desk is not None
        while True:
            await asyncio.sleep(IDLE_SWEEP_SECONDS)
            try:
                await self.desk.sweep()
            except (TelegramAPIError, RedisError, OSError):
                log.warning("idle conversations not returned this time", exc_info=True)

    def reload_shop(self) -> Shop:
        """Read the shop file again and serve it; ShopFileError leaves the old one serving."""
        shop = load_shop(self.settings.shop_file)
        understanding = Understanding(shop)
        self.assistant.use(shop, understanding)
        self.texts.use_shop(shop.currency, shop.default_language, shop)
        self.shop = shop
        log.info("shop file reloaded: %s products", len(shop.products))
        return shop

    async def reload_on_signal(self) -> None:
        """SIGHUP: reload; a broken file is reported to the admins, the old one stays."""
        try:
            self.reload_shop()
        except ShopFileError as exc:
            log.error("shop file not reloaded: %s", "; ".join(exc.lines()))
            for admin in self.settings.admin_ids:
                try:
                    text = self.texts.render("reload_failed", self.shop.default_language,
                                             problems=exc.lines())
                    await self.bot.send_message(admin, text)
                except TelegramAPIError:
                    log.warning("could not tell admin %s about the failed reload", admin)

    async def publish_commands(self) -> None:
        """The command menu in each language (Telegram keys it by two-letter code)."""
        for code, lang in ((None, "en"), ("ru", "ru"), ("zh", "zh-hans")):
            commands = [
                BotCommand(command=name, description=self.texts.label(f"cmd_{name}", lang))
                for name in ("start", "catalog", "language", "bye", "stop", "mydata", "forget")
            ]
            await self.bot.set_my_commands(commands, language_code=code)

    def _api_base(self) -> str:
        return self.settings.telegram_api_server or "https://api.telegram.org"

    def start_worker(self) -> None:
        """The follow-up worker, inside this process (IN_PROCESS_WORKER, the default)."""
        if self.settings.in_process_worker:
            self._closers.append(self._close_worker)
            self._tasks.append(asyncio.create_task(self._keep_working()))

    async def _close_worker(self) -> None:
        if self._worker is not None:
            await self._worker.close()

    async def _keep_working(self) -> None:
        """Run the worker; when Redis goes away, it stops: start it again once Redis is back."""
        while True:
            self._worker = self.followups.worker()
            try:
                await self._worker.async_run()
                return
            except (RedisError, OSError) as exc:
                log.warning("the follow-up worker lost Redis (%s); it starts again when Redis "
                            "answers", exc)
                while True:
                    await asyncio.sleep(WORKER_RETRY_SECONDS)
                    try:
                        await self.store.ping()
                        break
                    except (RedisError, OSError):
                        continue

    def api_routes(self, web_app: web.Application) -> None:
        web_app.router.add_get("/healthz", self.healthz)
        web_app.router.add_get("/metrics", self.metrics_page)
        if self.settings.shop_api_token is None:
            return
        add_shop_api(web_app, self.settings.shop_api_token.get_secret_value(), self.orders,
                     self.orders.aftersale, self.orders.courier, lambda: self.username)
        add_broadcast_api(web_app, self.followups, self.settings.broadcast_lanes)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for closer in self._closers:
            await closer()
        await self.dispatcher.storage.close()
        await self.bot.session.close()
        await self.redis.aclose()

    # -- serving -----------------------------------------------------------------------
    def stop(self) -> None:
        """Stop serving: the long poll in flight is dropped (its updates come again), what is
        in hand is finished, and `run()` returns."""
        self._stopping.set()

    async def handle(self, update: dict[str, Any]) -> None:
        """Handle one update. Every line logged meanwhile names it and its chat, from the
        first of aiogram's middlewares on (its FSM reads Redis before any of the bot's run,
        and fails when Redis is gone). After a failure the names stay set, for the inbox's
        line about it; the next update sets its own.

        One that does not parse (the webhook refuses those, but Redis may hold one stored
        before, or by another version) is logged in one line and skipped."""
        try:
            parsed = Update.model_validate(update, context={"bot": self.bot})
        except ValidationError as exc:
            update_id = update.get("update_id")
            named = logcontext.enter(update_id if type(update_id) is int else None, None)
            log.error("update %s skipped: it is not an update the bot can read (%s)",
                      update_id, _problems(exc))
            logcontext.leave(named)
            return
        chat = UserContextMiddleware.resolve_event_context(parsed).chat
        named = logcontext.enter(parsed.update_id, chat.id if chat is not None else None)
        await self.dispatcher.feed_update(self.bot, parsed)
        logcontext.leave(named)

    async def run_polling(self) -> None:
        await self.check()
        await self.publish_commands()
        await self.bot.delete_webhook(drop_pending_updates=False)
        self.start_worker()
        # No webhook to share a server with: /healthz, /metrics and the shop's API get one.
        api = web.Application()
        self.api_routes(api)
        runner = web.AppRunner(api, handle_signals=False)
        await runner.setup()
        await web.TCPSite(runner, self.settings.host, self.settings.port).start()
        self._closers.append(runner.cleanup)
        self.address = runner.addresses[0][:2]
        log.info("/healthz, /metrics%s on %s:%s",
                 " and the shop API" if self.settings.shop_api_token else "", *self.address)
        self.inbox.start(self.handle)
        try:
            await self._poll()
        finally:
            await self.inbox.stop()

    async def _poll(self) -> None:
        """Long-poll Telegram. Asking for the next offset is what confirms a batch to
        Telegram, so it is asked only once the batch is handled: a process killed before
        that gets the batch again, and the inbox drops what it already took."""
        offset: int | None = None
        backoff = Backoff(BackoffConfig(min_delay=1.0, max_delay=5.0, factor=1.3, jitter=0.1))
        allowed = self.dispatcher.resolve_used_update_types()
        stopping = asyncio.ensure_future(self._stopping.wait())
        try:
            while not self._stopping.is_set():
                request = asyncio.ensure_future(self.bot(
                    GetUpdates(offset=offset, timeout=POLL_SECONDS, allowed_updates=allowed),
                    request_timeout=int(self.bot.session.timeout + POLL_SECONDS)))
                await asyncio.wait({request, stopping}, return_when=asyncio.FIRST_COMPLETED)
                if not request.done():
                    request.cancel()
                    with contextlib.suppress(asyncio.CancelledError, TelegramAPIError):
                        await request
                    return
                try:
                    updates = request.result()
                except TelegramUnauthorizedError:
                    raise
                except TelegramAPIError as exc:
                    log.warning("could not fetch updates (%s); trying again", exc)
                    await backoff.asleep()
                    continue
                backoff.reset()
                if updates:
                    await self._take([update.model_dump(mode="json", by_alias=True,
                                                        exclude_unset=True)
                                      for update in updates], stopping)
                    offset = updates[-1].update_id + 1
        finally:
            stopping.cancel()

    async def _take(self, updates: list[dict[str, Any]], stopping: asyncio.Future[Any]) -> None:
        """Queue a polled batch and wait until it is handled."""
        batch = str(updates[-1]["update_id"])
        queued = 0
        for position, update in enumerate(updates):
            try:
                queued += await self.inbox.put(update, batch)
            except (RedisError, OSError):
                # Redis is away: nothing can be queued, so the rest is answered now (with
                # the apology) rather than left with Telegram to grow stale.
                for rest in updates[position:]:
                    await self.handle(rest)
                break
        if not queued:
            return
        waiting = asyncio.ensure_future(self.inbox.wait_batch(batch, BATCH_WAIT_SECONDS))
        await asyncio.wait({waiting, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if not waiting.done():
            waiting.cancel()
        with contextlib.suppress(asyncio.CancelledError, RedisError, OSError):
            if waiting.done() and not await waiting:
                log.warning("updates up to %s are still being handled after %s s; they stay "
                            "queued in Redis", batch, BATCH_WAIT_SECONDS)

    async def _on_webhook(self, request: web.Request) -> web.Response:
        """Telegram is answered 200 only once the update is queued in Redis (or, while Redis
        is away, handled): an update it gets no 200 for, it sends again."""
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self.settings.secret_token().encode()):
            return web.Response(status=401, text="wrong secret token")
        try:
            update = await request.json()
        except ValueError:
            return web.Response(status=400, text="not JSON")
        if not isinstance(update, dict) or type(update.get("update_id")) is not int:
            return web.Response(status=400, text="not an update")
        try:
            Update.model_validate(update)  # what cannot be handled is not queued
        except ValidationError as exc:
            log.warning("webhook: update %s is not an update the bot can read (%s); "
                        "answered 400", update["update_id"], _problems(exc))
            return web.Response(status=400, text="not an update")
        try:
            await self.inbox.put(update)
        except (RedisError, OSError):
            await self.handle(update)
        return web.Response()

    def webhook_app(self) -> web.Application:
        """The aiohttp app Telegram posts updates to; a wrong or missing secret gets 401."""
        settings = self.settings
        path = urlsplit(settings.webhook_url or "").path or "/webhook"
        app = web.Application()
        app.router.add_post(path, self._on_webhook)

        async def register_webhook(*_: Any, **__: Any) -> None:
            await self.bot.set_webhook(
                url=settings.webhook_url or "",
                secret_token=settings.secret_token(),
                allowed_updates=self.dispatcher.resolve_used_update_types(),
            )
            log.info("webhook registered at %s", settings.webhook_url)

        async def consume(_: web.Application) -> None:
            self.inbox.start(self.handle)

        async def stop_consuming(_: web.Application) -> None:
            await self.inbox.stop()

        self.dispatcher.startup.register(register_webhook)
        setup_application(app, self.dispatcher, bot=self.bot)
        app.on_startup.append(consume)
        app.on_shutdown.insert(0, stop_consuming)
        self.api_routes(app)
        return app

    async def run_webhook(self) -> None:
        await self.check()
        await self.publish_commands()
        self.start_worker()
        runner = web.AppRunner(self.webhook_app(), handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, self.settings.host, self.settings.port)
        await site.start()
        self.address = runner.addresses[0][:2]
        log.info("listening for the webhook on %s:%s", *self.address)
        try:
            await self._stopping.wait()
        finally:
            await runner.cleanup()

    async def run_worker(self) -> None:
        """`shopbot worker`: follow-ups only, for a shop that scales its web processes."""
        try:
            await self.check()
            worker = self.followups.worker()
            try:
                await worker.async_run()
            finally:
                await worker.close()
        finally:
            await self.close()

    async def run(self) -> None:
        # What start-up built lives as long as the process: the collector need not walk it.
        # And young objects are collected less often: each update makes thousands (pydantic
        # models, coroutines), and a full collection of a big heap stalls every chat.
        gc.freeze()
        gc.set_threshold(20_000, 20, 20)
        try:
            if self.settings.webhook_url:
                await self.run_webhook()
            else:
                await self.run_polling()
        finally:
            await self.close()


def create_app(
    settings: Settings,
    *,
    clock: Clock | None = None,
    rng: random.Random | None = None,
    shop: Shop | None = None,
    sleep: Sleep = asyncio.sleep,
) -> App:
    """Wire the bot. `clock` and `sleep` are injectable together, so tests can let the staff
    chat's queue wait minutes in no time."""
    problem = settings.token_problem()
    if problem is not None:
        raise StartupError(problem)
    shop = shop or load_shop(settings.shop_file)
    prefix = settings.redis_prefix or f"shopbot:{shop.id}"
    redis, persistent = _redis(settings)
    clock = clock or (lambda: datetime.now(UTC))
    store = Store(redis, prefix, timedelta(days=settings.history_retention_days), clock)
    key_builder = DefaultKeyBuilder(prefix=f"{prefix}:fsm", with_destiny=True)
    storage: BaseStorage = (RedisStorage(redis, key_builder=key_builder) if persistent
                            else MemoryStorage())
    texts = Texts(TEMPLATES_DIR, load_catalogues(LOCALES_DIR), shop.currency, rng,
                  shop.default_language, shop)
    assistant = Assistant(
        shop, store, Understanding(shop), clock,
        quiet_period=timedelta(hours=settings.greeting_quiet_hours),
    )
    bot = Bot(
        token=settings.bot_token.get_secret_value().strip(),
        session=_session(settings),
        default=DefaultBotProperties(parse_mode=ParseMode.HTML, link_preview_is_disabled=True),
    )
    metrics = Metrics()
    inbox = Inbox(redis, prefix, metrics=metrics)
    bot.session.middleware(SendOnce(inbox))
    bot.session.middleware(ForgiveLateAnswers())
    bot.session.middleware(PaceAndRetry(Pacer(redis, f"{prefix}:out", sleep=sleep,
                                              rate=max(30.0, settings.broadcast_rate))))
    bot.session.middleware(CountRequests(metrics))
    bot.session.middleware(RememberReplies(store, clock))
    stats = Stats(store, clock, shop.tz, on_count=lambda what, n: metrics.events.labels(
        what).inc(n))
    assistant.stats = stats
    orders = OrderBook(store)
    aftersale = AfterSale(lambda: assistant.shop, store, orders, stats, clock)
    courier = Courier(bot, texts, store)
    followups = Followups(redis, store, aftersale, courier, stats, clock,
                          delay=timedelta(hours=settings.followup_delay_hours),
                          day=settings.followup_day(), lanes=settings.broadcast_lanes)
    order_desk = OrderDesk(orders, aftersale, courier, followups, store, clock)
    broadcasts = Broadcasts(store, orders, lambda: assistant.shop, clock)
    followups.sender = Sender(
        bot, broadcasts, RateLimit(store, clock, sleep), store, texts, stats, clock,
        rate=settings.broadcast_rate, paid=settings.paid_broadcast,
        owner_lang=lambda: assistant.shop.default_language)
    assistant.aftersale = aftersale
    desk = None
    if settings.staff_chat_id is not None:
        desk = StaffDesk(
            bot, settings.staff_chat_id, assistant, Takeovers(store), texts,
            Outbox(redis, store.key("staff", "outbox"), clock, sleep=sleep),
            send_to, stats,
            lang=settings.staff_language or shop.default_language,
            idle_after=timedelta(minutes=settings.staff_idle_minutes),
        )
        desk.outbox.on_late = desk.running_late
        desk.orders = orders
    dispatcher = Dispatcher(
        # The inbox hands a chat to one consumer at a time: no lock is needed on top.
        storage=storage, events_isolation=DisabledEventIsolation(),
        assistant=assistant, texts=texts, store=store, settings=settings, desk=desk,
        aftersale=aftersale, order_desk=order_desk, courier=courier, stats=stats,
        broadcasts=broadcasts, followups=followups,
    )
    flood = FloodGuard(store, clock, limit=settings.flood_messages,
                       seconds=settings.flood_seconds)
    dispatcher.update.outer_middleware(CountUpdates(metrics))
    dispatcher.message.outer_middleware(FloodMiddleware(flood, metrics))
    dispatcher.include_router(setup_routers())
    dispatcher.errors.register(_on_error)
    app = App(settings, shop, bot, dispatcher, redis, store, texts, assistant, persistent, desk,
              order_desk, followups, inbox, metrics)
    dispatcher["reload_shop"] = app.reload_shop
    return app


def _problems(exc: ValidationError, shown: int = 3) -> str:
    """A validation error in one short line: `message.date: Field required; ...`."""
    errors = exc.errors(include_url=False, include_input=False)
    text = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'update'}: {e['msg']}"
                     for e in errors[:shown])
    return text + (f"; and {len(errors) - shown} more" if len(errors) > shown else "")


def _session(settings: Settings) -> AiohttpSession:
    if settings.telegram_api_server:
        base = settings.telegram_api_server.rstrip("/")
        return AiohttpSession(api=TelegramAPIServer.from_base(base))
    return AiohttpSession()


def _redis(settings: Settings) -> tuple[Redis, bool]:
    if settings.redis_url:
        # A blocking pool waits for a free connection instead of raising under load.
        pool = BlockingConnectionPool.from_url(settings.redis_url, max_connections=64, timeout=5)
        return Redis(connection_pool=pool), True
    from fakeredis import FakeAsyncRedis

    log.warning(
        "REDIS_URL is not set: using an in-process Redis. NOTHING SURVIVES A RESTART "
        "(customers, conversations, languages). Set REDIS_URL for a real shop."
    )
    return FakeAsyncRedis(), False


class PaceAndRetry(BaseRequestMiddleware):
    """Sends wait for Telegram's limits (shared through Redis); a 429, a 5xx or a network
    failure is tried again, a bounded number of times.

    A send that may have reached Telegram (a timeout, a dropped connection) is not sent
    again: Telegram has no idempotency key, and a duplicate is worse than a retry missed.
    """

    def __init__(self, pacer: Pacer, sleep: Sleep = asyncio.sleep) -> None:
        self.pacer, self.sleep = pacer, sleep

    async def __call__(self, make_request: NextRequestMiddlewareType[TelegramType], bot: Bot,
                       method: TelegramMethod[TelegramType]) -> Response[TelegramType]:
        name = type(method).__name__
        if name == "GetUpdates":  # the polling loop has its own back-off
            return await make_request(bot, method)
        chat_id = getattr(method, "chat_id", None)
        paced = name in _SENDS or (name in _GROUP_PACED and isinstance(chat_id, int)
                                   and chat_id < 0)
        count = len(getattr(method, "media", None) or getattr(method, "message_ids", None)
                    or [None])
        for attempt in range(pacing.RETRIES + 1):
            last = attempt == pacing.RETRIES
            if paced:
                await self.pacer.before_send(chat_id, count)
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                if last or pacing.own_retries.get() or exc.retry_after > pacing.MAX_RETRY_AFTER:
                    raise
                log.info("%s: 429, trying again in %s s", name, exc.retry_after)
                await self.sleep(exc.retry_after)
            except (TelegramServerError, RestartingTelegram):
                if last:
                    raise
                await self.sleep(pacing.BACKOFF[attempt])
            except TelegramNetworkError as exc:
                if last or (name in _SENDS and "Connect" not in exc.message):
                    raise  # only a connection never made is surely not a message sent
                await self.sleep(pacing.BACKOFF[attempt])
        raise AssertionError("unreachable")


class SendOnce(BaseRequestMiddleware):
    """What an update's sends returned is recorded while it is in hand. If its process dies
    and the update is handled again, a send the first try made (same method, same chat, same
    place in the order) is answered from the record: the shopper does not get it twice."""

    def __init__(self, inbox: Inbox) -> None:
        self.inbox = inbox

    async def __call__(self, make_request: NextRequestMiddlewareType[TelegramType], bot: Bot,
                       method: TelegramMethod[TelegramType]) -> Response[TelegramType]:
        now: Handling | None = handling.get()
        name = type(method).__name__
        if now is None or name not in _SENDS:
            return await make_request(bot, method)
        returns = _adapter(method.__returning__)
        chat_id = getattr(method, "chat_id", None)
        position, now.sends = now.sends, now.sends + 1
        if position < len(now.earlier):
            earlier = now.earlier[position]
            if earlier["method"] == name and earlier["chat"] == chat_id:
                log.info("%s to %s was sent before the process stopped: not sent again",
                         name, chat_id)
                self.inbox.metrics.sends_not_repeated.inc()
                return returns.validate_python(earlier["result"], context={"bot": bot})
        result = await make_request(bot, method)
        try:
            sent = returns.dump_python(result, mode="json", by_alias=True, exclude_unset=True)
            await self.inbox.record(now, {"method": name, "chat": chat_id, "result": sent})
        except (RedisError, OSError):
            log.debug("send not recorded", exc_info=True)
        return result


@functools.cache
def _adapter(returning: Any) -> TypeAdapter[Any]:
    return TypeAdapter(returning)  # building one is costly: once per result type


class ForgiveLateAnswers(BaseRequestMiddleware):
    """A button's answer that comes too late (Telegram waits about 15 s, and forgets queries
    across its restarts) must not stop the rest of the work for that press."""

    async def __call__(self, make_request: NextRequestMiddlewareType[TelegramType], bot: Bot,
                       method: TelegramMethod[TelegramType]) -> Response[TelegramType]:
        try:
            return await make_request(bot, method)
        except TelegramBadRequest as exc:
            if not isinstance(method, AnswerCallbackQuery) or "query" not in exc.message:
                raise
            log.info("a button press was answered too late: %s", exc.message)
            return True  # type: ignore[return-value]


class CountRequests(BaseRequestMiddleware):
    """Every Bot API call, by method and outcome, into the metrics."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    async def __call__(self, make_request: NextRequestMiddlewareType[TelegramType], bot: Bot,
                       method: TelegramMethod[TelegramType]) -> Response[TelegramType]:
        name = type(method).__name__
        outcome = "ok"
        try:
            response = await make_request(bot, method)
        except TelegramRetryAfter:
            outcome = "429"
            self.metrics.retry_after.inc()
            raise
        except (TelegramNetworkError, OSError, TimeoutError):
            outcome = "network"
            raise
        except TelegramAPIError as exc:
            outcome = type(exc).__name__  # TelegramBadRequest, TelegramForbiddenError...
            raise
        finally:
            self.metrics.requests.labels(name, outcome).inc()
        if name in _SENDS:
            # What a middleware gets back is the method's result: a list for albums.
            self.metrics.sends.inc(len(response) if isinstance(response, list) else 1)
        return response


_SENDS = frozenset({"SendMessage", "SendPhoto", "SendDocument", "SendMediaGroup",
                    "CopyMessage", "CopyMessages", "SendSticker", "SendVideo", "SendVoice",
                    "SendAnimation", "SendAudio", "ForwardMessage"})
# In a group these count against its 20 a minute too.
_GROUP_PACED = frozenset({"EditMessageText", "EditMessageCaption", "EditMessageReplyMarkup",
                          "CreateForumTopic", "EditForumTopic"})


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


async def _on_error(event: ErrorEvent, bot: Bot, texts: Texts, store: Store) -> bool:
    """Log the failure; the shopper gets an apology, never a traceback."""
    log.error("update %s failed", event.update.update_id, exc_info=event.exception)
    update = event.update
    message = update.message or (update.callback_query.message if update.callback_query else None)
    user = update.message.from_user if update.message else (
        update.callback_query.from_user if update.callback_query else None
    )
    if message is None or user is None or message.chat.type != "private":
        return True
    lang = from_telegram(user.language_code)
    try:
        customer = await store.customer(user.id)
        lang = customer.lang if customer else lang
    except Exception:  # the store may be what failed; the apology still goes out
        log.debug("no profile for the apology", exc_info=True)
    try:
        await bot.send_message(message.chat.id, texts.render("error", lang))
    except Exception:  # best effort: the failure itself is already logged
        log.debug("could not send the apology", exc_info=True)
    return True
