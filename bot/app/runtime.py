"""The running bot: polling or a webhook, the follow-up worker beside it, reloads,
/healthz and /metrics. Built by the factory (bot/app/factory.py)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import hmac
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from aiogram import Bot, Dispatcher
from aiogram.dispatcher.middlewares.user_context import UserContextMiddleware
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramNetworkError,
    TelegramUnauthorizedError,
)
from aiogram.methods import (
    GetUpdates,
)
from aiogram.types import BotCommand, Update
from aiogram.utils.backoff import Backoff, BackoffConfig
from aiogram.webhook.aiohttp_server import setup_application
from aiohttp import web
from pydantic import ValidationError
from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.app import logcontext
from bot.app.config import Settings
from bot.app.ports import Desk, Renderer
from bot.app.redis_url import shown
from bot.core.metrics import CONTENT_TYPE as METRICS_CONTENT_TYPE
from bot.core.metrics import Metrics
from bot.core.shop import Shop, ShopFileError, load_shop
from bot.domain.conversation import Assistant
from bot.domain.followups import Followups
from bot.domain.order_desk import OrderDesk
from bot.nlu.understanding import Understanding
from bot.storage.inbox import Inbox
from bot.storage.own_texts import OwnTexts
from bot.storage.store import Store
from bot.web.shop_api import add_broadcast_api, add_shop_api

log = logging.getLogger("shopbot")
IDLE_SWEEP_SECONDS = 60.0
WORKER_RETRY_SECONDS = 2.0  # how often a worker that lost Redis asks whether it is back
POLL_SECONDS = 10  # getUpdates' long poll
PARSED_KEPT = 512  # parsed updates kept for `handle` (App._parsed)
SETTLE_SECONDS = 10.0  # at close, the staff chat's last posts are waited for this long
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
    texts: Renderer
    assistant: Assistant
    persistent: bool  # False on the in-process Redis
    desk: Desk | None  # None without STAFF_CHAT_ID
    orders: OrderDesk
    followups: Followups
    inbox: Inbox
    metrics: Metrics = field(default_factory=Metrics)
    own_texts: OwnTexts | None = None  # the texts owners word in Telegram
    address: tuple[str, int] | None = None  # where /healthz and /metrics are served, once they are
    username: str | None = None  # the bot's @username, known after check()
    _tasks: list[asyncio.Task[Any]] = field(default_factory=list)
    _closers: list[Callable[[], Awaitable[Any]]] = field(default_factory=list)
    _worker: Any = None  # the in-process follow-up worker (arq), while one runs
    _stopping: asyncio.Event = field(default_factory=asyncio.Event)
    # Updates the webhook parsed, by id, until handled here: one is parsed once, not again
    # by `handle` (about a tenth of a millisecond). Ones another process handles drop out.
    _parsed: OrderedDict[int, Update] = field(default_factory=OrderedDict)

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
            raise StartupError(f"cannot reach Redis at {shown(self.settings.redis_url or '')}: "
                               f"{exc}") from None
        if self.own_texts is not None:
            # The texts owners worded in Telegram, before the first update is served; then
            # every change another process makes, as it is made.
            await self.own_texts.refresh()
            follower = asyncio.create_task(self.own_texts.follow())
            self._tasks.append(follower)
            # Cancelled with the other tasks; awaited, so it lets go of Redis before it closes.
            self._closers.append(lambda: asyncio.wait({follower}, timeout=5))
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
                    # Through the courier (a port the Telegram layer implements): bot/ cannot
                    # import handlers/present.py, the one way a message leaves.
                    told = await self.orders.courier.send_text(admin, text)
                except TelegramAPIError:
                    told = False
                if not told:
                    log.warning("could not tell admin %s about the failed reload", admin)

    async def publish_commands(self) -> None:
        """The command menu in each language (Telegram keys it by two-letter code)."""
        for code, lang in ((None, "en"), ("ru", "ru"), ("zh", "zh-hans")):
            names = ("start", "catalog", *(("cart",) if self.assistant.carts else ()),
                     "language", "bye", "stop", "mydata", "forget")
            commands = [
                BotCommand(command=name, description=self.texts.label(f"cmd_{name}", lang))
                for name in names
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
        if self.desk is not None:
            # The staff chat's posts still under way (a card, a notice): a short while to
            # go out before the connections close; past it they are lost, as the outbox's
            # waits are (docs/staff-chat.md).
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.desk.settled(), timeout=SETTLE_SECONDS)
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
        parsed = self._parsed.pop(update.get("update_id"), None)  # type: ignore[arg-type]
        try:
            if parsed is None:
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
            if _answered_at_once(update):
                await self.handle(update)
                continue
            try:
                queued += await self.inbox.put(update, batch, take=True)
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
            # What cannot be handled is not queued.
            parsed = Update.model_validate(update, context={"bot": self.bot})
        except ValidationError as exc:
            log.warning("webhook: update %s is not an update the bot can read (%s); "
                        "answered 400", update["update_id"], _problems(exc))
            return web.Response(status=400, text="not an update")
        self._parsed[parsed.update_id] = parsed
        if len(self._parsed) > PARSED_KEPT:
            self._parsed.popitem(last=False)
        if _answered_at_once(update):
            await self.handle(update)
            return web.Response()
        try:
            await self.inbox.put(update, take=True)
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


def _answered_at_once(update: dict[str, Any]) -> bool:
    """Telegram's shipping and pre-checkout queries wait for their answer (10 seconds for a
    pre-checkout, or the payment fails): handled as they come, never behind a chat's
    queue. Nothing is lost by it: one not answered in time is asked again by the
    shopper's next try."""
    return "pre_checkout_query" in update or "shipping_query" in update


def _problems(exc: ValidationError, shown: int = 3) -> str:
    """A validation error in one short line: `message.date: Field required; ...`."""
    errors = exc.errors(include_url=False, include_input=False)
    text = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'update'}: {e['msg']}"
                     for e in errors[:shown])
    return text + (f"; and {len(errors) - shown} more" if len(errors) > shown else "")
