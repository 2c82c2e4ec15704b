"""Shared fixtures: a real Redis, the local fake Bot API, and the bot running against both."""

from __future__ import annotations

import asyncio
import os
import random
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiogram import Bot
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from redis.asyncio import Redis

from bot import DEMO_SHOP
from bot.app.config import Settings
from bot.app.runtime import App
from bot.devtools.fake_bot_api import Call, FakeBotAPI, Shopper
from handlers.layer import create_app

TOKEN = "123456:TEST-token"
STAFF = -1001234567890  # the staff forum's chat id
# Two shops of different trades, on which every feature of the desk is tested.
TRADES = {trade: Path(DEMO_SHOP).parent / "shops" / f"{trade}_shop.yaml"
          for trade in ("bike", "bakery")}
MOSCOW = ZoneInfo("Europe/Moscow")  # the demo shop's time zone


class FakeClock:
    """The bot's clock, set by the test: `clock.local(hour=9)` is 09:00 in the shop's zone."""

    def __init__(self) -> None:
        # Monday 23 November 2026, 11:00 in Moscow: the demo shop is open.
        self.now = datetime(2026, 11, 23, 11, 0, tzinfo=MOSCOW).astimezone(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)

    async def sleep(self, seconds: float) -> None:
        """What the bot's waits take in the test: no real time, the clock moves on."""
        self.advance(seconds=seconds)
        await asyncio.sleep(0)

    def local(self, **fields: int) -> None:
        self.now = self.now.astimezone(MOSCOW).replace(**fields).astimezone(UTC)


def missing(what: str) -> None:
    """A test's server is not there: the test fails, saying how to get one (scripts/test
    starts every server the tests need). A skip would pass a run that proved nothing."""
    pytest.fail(f"{what}: run the tests with scripts/test, which provides it")


async def inbox_handled(inbox: Any, update_id: int) -> bool:
    """Whether the update is marked handled, which comes just after its handler ends."""
    for _ in range(100):
        if await inbox.state(update_id) == "handled":
            return True
        await asyncio.sleep(0.05)
    return False


def redis_url() -> str:
    url = os.environ.get("REDIS_URL")
    if not url:
        pytest.fail("the tests need a real Redis: run them with scripts/test (it sets REDIS_URL)")
    return url


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url())
    yield client
    await client.aclose()


@pytest.fixture
async def prefix() -> AsyncIterator[str]:
    """A key prefix of the test's own; its keys are deleted afterwards."""
    value = f"shopbot-test:{uuid.uuid4().hex[:10]}"
    yield value
    cleaner = Redis.from_url(redis_url())
    keys = [key async for key in cleaner.scan_iter(match=f"{value}:*")]
    keys += [key async for key in cleaner.scan_iter(match=f"arq:*{value}*")]  # arq's own
    if keys:
        await cleaner.delete(*keys)
    await cleaner.aclose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI(TOKEN) as fake:
        yield fake


def settings_for(api: FakeBotAPI, prefix: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "bot_token": TOKEN,
        "telegram_api_server": api.url,
        "redis_url": redis_url(),
        "redis_prefix": prefix,
        "in_process_worker": False,  # tests run follow-ups when they choose (run_due)
        # Polling serves /healthz and /metrics on HOST:PORT: a free port of this machine.
        "host": "127.0.0.1", "port": 0,
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


_PLUMBING = {"getUpdates", "getMe", "deleteWebhook", "setMyCommands"}


class Harness:
    """The real bot, polling the fake Bot API; the test acts as shoppers."""

    def __init__(self, app: App, api: FakeBotAPI) -> None:
        self.app = app
        self.api = api
        self._done: dict[int, asyncio.Event] = {}
        self._task: asyncio.Task[None] | None = None
        # An update counts as handled once the staff chat's posts it started went out (a
        # test of those posts' own timing turns this off, as the bot itself does not wait).
        self.settles = True

    async def start(self) -> None:
        dispatcher = self.app.dispatcher
        feed_update = dispatcher.feed_update

        # Wraps the whole of an update's handling, error handlers included, so a test knows
        # when everything the bot does for it is done.
        async def traced(bot, update, **kwargs):  # type: ignore[no-untyped-def]
            try:
                return await feed_update(bot, update, **kwargs)
            finally:
                # What the update started in the staff chat, after its handler (the desk
                # posts a card or a notice off the staff member's way), is part of it too.
                if self.app.desk is not None and self.settles:
                    await self.app.desk.settled()
                self._done.setdefault(update.update_id, asyncio.Event()).set()

        dispatcher.feed_update = traced  # type: ignore[method-assign]
        self._task = asyncio.create_task(self.app.run_polling())
        # The fake records a long poll as it arrives: once one is in, polling runs.
        # Bounds only keep a broken test from hanging: generous for a loaded machine.
        await self.api.wait_for(lambda call: call.method == "getUpdates", timeout=60)

    async def stop(self) -> None:
        """Stop polling and close the app (a test may stop it early, to restart the bot)."""
        if self._task is None:
            return
        task, self._task = self._task, None
        self.app.stop()
        await asyncio.wait({task}, timeout=60)
        await self.app.close()

    async def feed(self, update: dict, timeout: float = 60) -> list[Call]:
        """Push one update, wait until the dispatcher has handled it, return what it sent."""
        since = len(self.api.calls)
        update_id = self.api.push_update(update)
        event = self._done.setdefault(update_id, asyncio.Event())
        waiter = asyncio.ensure_future(event.wait())
        assert self._task is not None
        done, _ = await asyncio.wait({waiter, self._task}, timeout=timeout,
                                     return_when=asyncio.FIRST_COMPLETED)
        if waiter not in done:
            waiter.cancel()
            if self._task in done:
                self._task.result()  # the bot stopped: raise why
            raise AssertionError(f"update {update_id} was not handled within {timeout}s")
        return [call for call in self.api.calls[since:] if call.method not in _PLUMBING]

    async def send(self, shopper: Shopper, text: str | None = None, **content: object) -> list[str]:
        """A shopper writes; returns the texts the bot sent to that shopper."""
        calls = await self.feed(self.api.message_update(shopper, text, **content))
        return texts_to(calls, shopper.id)

    async def press(self, shopper: Shopper, data: str) -> list[Call]:
        return await self.feed(self.api.callback_update(shopper, data))


def messages_to(calls: list[Call], chat: int) -> list[Call]:
    """The texts the bot sent to `chat` among `calls`, that went."""
    return [c for c in calls if c.method == "sendMessage" and c.chat_id == chat and c.ok]


def sent_ids(calls: list[Call], chat: int) -> list[int]:
    """The ids of those messages."""
    return [c.result["message_id"] for c in messages_to(calls, chat)]


def said_to(calls: list[Call], chat: int) -> list[str]:
    return [c.params["text"] for c in messages_to(calls, chat)]


def last_buttons(calls: list[Call], chat: int) -> list[tuple[str, str]]:
    """The buttons of the last of those messages: label and data."""
    [*_, last] = messages_to(calls, chat)
    markup = last.params.get("reply_markup") or {"inline_keyboard": []}
    return [(b["text"], b["callback_data"]) for row in markup["inline_keyboard"] for b in row]


def texts_to(calls: list[Call], chat_id: int) -> list[str]:
    return [
        str(call.params.get("text") or call.params.get("caption") or "")
        for call in calls
        if call.chat_id == chat_id and call.method in ("sendMessage", "sendPhoto") and call.ok
    ]


@pytest.fixture
async def shopbot(api: FakeBotAPI, prefix: str, clock: FakeClock) -> AsyncIterator[Harness]:
    app = create_app(settings_for(api, prefix), clock=clock, rng=random.Random(1),
                     sleep=clock.sleep)
    harness = Harness(app, api)
    await harness.start()
    yield harness
    await harness.stop()


@pytest.fixture
async def make_shopbot(api: FakeBotAPI, prefix: str,
                       clock: FakeClock) -> AsyncIterator[Callable[..., Awaitable[Harness]]]:
    """A bot with settings of the test's own (a shop file, admins...)."""
    started: list[Harness] = []

    async def make(**overrides: object) -> Harness:
        app = create_app(settings_for(api, prefix, **overrides), clock=clock,
                         rng=random.Random(1), sleep=clock.sleep)
        harness = Harness(app, api)
        await harness.start()
        started.append(harness)
        return harness

    yield make
    for harness in started:
        await harness.stop()


async def staffed(api: FakeBotAPI, make_shopbot: Callable[..., Awaitable[Harness]],
                  trade: str, owner: int) -> Harness:
    """The bot of one of TRADES' shops, with a working staff forum and `owner` as admin."""
    api.forum(STAFF)
    bot = await make_shopbot(shop_file=TRADES[trade], staff_chat_id=STAFF,
                             admin_ids=str(owner))
    assert bot.app.desk is not None and bot.app.desk.ready
    return bot


@pytest.fixture
async def shopbot_rules(shopbot: Harness):  # type: ignore[no-untyped-def]
    """The shop's rules without Telegram: the running bot's assistant and a customer."""
    assistant = shopbot.app.assistant
    customer = await assistant.store.identify(1, first_name="Ann", last_name=None,
                                              username=None, telegram_language="en",
                                              now=assistant.clock())
    return assistant, customer


# -- the shop's backend and the follow-up worker ----------------------------------------------
API_TOKEN = "shop-api-secret-token"


class ShopBackend:
    """The shop's backend, calling the bot's HTTP API for real."""

    def __init__(self, client: TestClient) -> None:
        self.client = client

    async def post(self, payload: Any, token: str | None = API_TOKEN,
                   path: str = "/api/orders") -> tuple[int, dict]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        kwargs = {"data": payload} if isinstance(payload, str) else {"json": payload}
        response = await self.client.post(path, headers=headers, **kwargs)
        return response.status, await response.json()

    async def event(self, order_id: str, event: str, **fields: Any) -> dict:
        status, body = await self.post({"order_id": order_id, "event": event, **fields})
        assert status == 200, body
        return body


@pytest.fixture
async def shop(make_shopbot: Callable[..., Awaitable[Harness]]) \
        -> AsyncIterator[tuple[Harness, ShopBackend]]:
    """The bot with its HTTP API for the shop's backend, called over a real connection."""
    # Its own API server would listen on HOST:PORT; the test serves the same routes instead.
    bot: Harness = await make_shopbot(shop_api_token=API_TOKEN, host="127.0.0.1", port=0)
    web_app = web.Application()
    bot.app.api_routes(web_app)
    async with TestClient(TestServer(web_app, host="127.0.0.1")) as client:
        yield bot, ShopBackend(client)


SHIRT = {"product": "linen-shirt", "quantity": 1, "price": 3490, "size": "M",
         "color": "white"}
DRESS = {"product": "wrap-dress", "quantity": 1, "price": 5990, "size": "S",
         "color": "terracotta"}


async def run_due(app: App) -> None:
    """Time comes for each queued follow-up in turn (the test's clock moves on to its time,
    never back): an arq worker runs it, then stops. Jobs these queue are left queued."""
    redis = app.followups.jobs.arq
    queue = app.followups.jobs.queue
    clock = app.followups.clock
    for job, score in await redis.zrange(queue, 0, -1, withscores=True):
        if isinstance(clock, FakeClock):
            clock.now = max(clock.now, datetime.fromtimestamp(score / 1000, tz=UTC))
        await redis.zadd(queue, {job: 1})  # 1 ms after 1970: due (0 reads as "none")
        # Not closed afterwards: closing an arq worker closes the app's Redis pool too.
        await app.followups.worker(burst=True, jobs=1).async_run()


async def queued(app: App) -> dict[str, datetime]:
    """The follow-ups waiting in arq's queue, by job id, with the time each is due."""
    raw = await app.followups.jobs.arq.zrange(app.followups.jobs.queue, 0, -1, withscores=True)
    return {(k.decode() if isinstance(k, bytes) else k).removeprefix(app.store.prefix + ":"):
            datetime.fromtimestamp(score / 1000, tz=UTC) for k, score in raw}


@pytest.fixture
async def fake_bot(api: FakeBotAPI) -> AsyncIterator[Bot]:
    """aiogram's Bot on the fake Bot API, for tests of the fake itself."""
    bot = api.make_bot()
    yield bot
    await bot.session.close()
