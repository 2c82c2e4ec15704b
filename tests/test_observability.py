"""/healthz, /metrics and the log context, through the fake Bot API and real Redis."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import socket
import subprocess
from pathlib import Path

import aiohttp
import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from bot.app import logcontext
from bot.devtools.fake_bot_api import FakeBotAPI
from handlers.layer import create_app
from tests.conftest import FakeClock, Harness, settings_for


async def get(bot: Harness, path: str) -> tuple[int, str]:
    assert bot.app.address is not None
    host, port = bot.app.address
    async with aiohttp.ClientSession() as http, http.get(f"http://{host}:{port}{path}") as r:
        return r.status, await r.text()


def sample(metrics: str, name: str, **labels: str) -> float:
    """The value of one sample in Prometheus' text format (0 when absent)."""
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = re.escape(name) + (r"\{" + re.escape(wanted) + r"\}" if labels else "") + \
        r" ([0-9.e+-]+)$"
    found = re.search(pattern, metrics, re.M)
    return float(found.group(1)) if found else 0.0


async def test_healthz_says_ok_while_redis_answers(shopbot: Harness) -> None:
    status, body = await get(shopbot, "/healthz")
    assert status == 200
    assert json.loads(body) == {"status": "ok", "redis": "ok", "staff_chat": None}


async def test_metrics_count_updates_sends_latency_and_429s(shopbot: Harness,
                                                          api: FakeBotAPI) -> None:
    ann = api.new_shopper(first_name="Ann")
    await shopbot.send(ann, "hi")
    await shopbot.send(ann, "do you have linen shirts?")
    api.fail("sendMessage", 429, retry_after=1, chat_id=ann.id)
    await shopbot.send(ann, "thanks")
    status, metrics = await get(shopbot, "/metrics")
    assert status == 200
    assert sample(metrics, "shopbot_updates_total", type="message") == 3
    assert sample(metrics, "shopbot_update_seconds_count") == 3
    assert sample(metrics, "shopbot_messages_sent_total") >= 2
    assert sample(metrics, "shopbot_telegram_429_total") == 1
    assert sample(metrics, "shopbot_telegram_requests_total", method="SendMessage",
                  outcome="429") == 1
    assert sample(metrics, "shopbot_events_total", event="conversations") == 1
    assert sample(metrics, "shopbot_redis_up") == 1


async def test_logs_carry_the_update_and_the_chat(shopbot: Harness, api: FakeBotAPI,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    caplog.handler.addFilter(logcontext.ContextFilter())
    caplog.set_level(logging.INFO)
    ann = api.new_shopper(first_name="Ann")
    api.fail("sendMessage", 400, chat_id=ann.id)  # the handler fails: an error is logged
    update = api.message_update(ann, "hi")
    await shopbot.feed(update)
    failed = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert failed and failed[0].update_id == update["update_id"]  # type: ignore[attr-defined]
    assert failed[0].chat_id == ann.id  # type: ignore[attr-defined]
    line = json.loads(logcontext.JsonFormatter().format(failed[0]))
    assert line["level"] == "ERROR" and "exception" in line
    outside = logging.LogRecord("x", logging.INFO, __file__, 1, "idle", None, None)
    assert logcontext.ContextFilter().filter(outside) and outside.update_id == "-"  # type: ignore[attr-defined]


class RedisServer:
    """A redis-server of the test's own, to stop and start again on the same port."""

    def __init__(self, tmp_path: Path) -> None:
        self.dir = tmp_path
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            "redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--dir", str(self.dir), stdout=subprocess.DEVNULL)
        client = Redis.from_url(self.url)
        for _ in range(100):
            try:
                await client.ping()
                break
            except RedisConnectionError:
                await asyncio.sleep(0.05)
        await client.aclose()

    async def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            await self.process.wait()
            self.process = None


async def test_a_redis_outage_gets_an_apology_and_the_bot_recovers(
        api: FakeBotAPI, clock: FakeClock, tmp_path: Path) -> None:
    server = RedisServer(tmp_path)
    await server.start()
    app = create_app(settings_for(api, "outage", redis_url=server.url,
                                  in_process_worker=True), clock=clock)
    bot = Harness(app, api)
    await bot.start()
    try:
        ann = api.new_shopper(first_name="Ann")
        assert "Ann" in (await bot.send(ann, "hi"))[0]
        await server.stop()
        apology = await bot.send(ann, "do you have linen shirts?")
        assert apology == ["I am sorry, something went wrong on my side. Please try again in "
                           "a moment."]
        status, body = await get(bot, "/healthz")
        assert status == 503 and json.loads(body)["redis"] == "unreachable"
        await asyncio.sleep(3)  # the follow-up worker polls its queue meanwhile, and fails
        await server.start()  # empty: the outage also lost what Redis held
        replies = await bot.send(ann, "do you have the linen shirt in M?")
        assert replies and "shirt" in replies[-1].lower()
        status, _ = await get(bot, "/healthz")
        assert status == 200
        assert not app._tasks[-1].done()  # the follow-up worker is still there
    finally:
        await bot.stop()
        await server.stop()


async def test_a_failure_before_the_handlers_still_names_the_update_and_the_chat(
        api: FakeBotAPI, clock: FakeClock, tmp_path: Path,
        caplog: pytest.LogCaptureFixture) -> None:
    """Redis gone: the update fails in aiogram's own middlewares (its FSM reads Redis), before
    any of the bot's. The log line an operator reads still says which update and chat."""
    caplog.handler.addFilter(logcontext.ContextFilter())
    caplog.handler.setFormatter(logging.Formatter(logcontext.TEXT_FORMAT))
    server = RedisServer(tmp_path)
    await server.start()
    bot = Harness(create_app(settings_for(api, "outage", redis_url=server.url),
                             clock=clock), api)
    await bot.start()
    try:
        ann = api.new_shopper(first_name="Ann")
        await server.stop()
        update = api.message_update(ann, "do you have linen shirts?")
        calls = await bot.feed(update)
        assert [c.chat_id for c in calls if c.method == "sendMessage"] == [ann.id]  # the apology
    finally:
        await bot.stop()
        await server.stop()
    failed = [line for line in caplog.text.splitlines() if " ERROR " in line]
    assert failed and f"update {update['update_id']} failed" in failed[0]
    assert f"[update={update['update_id']} chat={ann.id}]" in failed[0]
