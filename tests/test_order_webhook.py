"""The order webhook: an order the bot created itself is posted to the shop's backend, signed,
retried until acknowledged or 48 hours have passed, once per order. The backend here is a
local aiohttp server on the loopback; the follow-up worker runs the jobs (`run_due`), and
the test's clock moves to each job's time."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from pydantic import ValidationError

from bot.app.config import Settings
from tests.conftest import TOKEN, FakeClock, Harness, queued, run_due

SECRET = "backend-shared-secret"
ORDER = {"items": [{"product": "linen-shirt", "quantity": 1, "price": 3490}],
         "total": 3490, "currency": "RUB", "customer": 7, "comment": "Доставка к 18:00"}


class Backend:
    """The shop's backend: records each post, answers with the statuses it is given (then
    200)."""

    def __init__(self) -> None:
        self.answers: list[int] = []
        self.posts: list[tuple[dict[str, str], bytes]] = []
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.posts.append((dict(request.headers), await request.read()))
        return web.Response(status=self.answers.pop(0) if self.answers else 200)


@pytest.fixture
async def backend() -> AsyncIterator[Backend]:
    hooks = Backend()
    app = web.Application()
    app.router.add_post("/hooks/orders", hooks.handle)
    async with TestServer(app, host="127.0.0.1") as server:
        hooks.url = str(server.make_url("/hooks/orders"))
        yield hooks


Make = Callable[..., Awaitable[Harness]]


async def hooked(make_shopbot: Make, url: str) -> Harness:
    return await make_shopbot(order_webhook_url=url, order_webhook_secret=SECRET)


def verified(headers: dict[str, str], body: bytes) -> dict:
    """What a backend does: the signature checked on the exact bytes, then the JSON read."""
    expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-Shopbot-Signature"], expected)
    assert headers["Content-Type"] == "application/json"
    return json.loads(body)


async def test_a_refused_post_is_tried_again_and_acknowledged(
        make_shopbot: Make, backend: Backend, clock: FakeClock) -> None:
    bot = await hooked(make_shopbot, backend.url)
    backend.answers = [500]
    start = clock()
    assert await bot.app.followups.order_webhook("TG-1001", ORDER) is True
    assert list(await queued(bot.app)) == ["order_webhook:TG-1001"]

    await run_due(bot.app)
    assert len(backend.posts) == 1  # answered 500: the next try waits 10 seconds
    assert await queued(bot.app) == {"order_webhook:TG-1001:2": start + timedelta(seconds=10)}

    await run_due(bot.app)
    assert len(backend.posts) == 2
    assert await queued(bot.app) == {}  # acknowledged: nothing more
    assert clock() == start + timedelta(seconds=10)
    (first_headers, first), (headers, body) = backend.posts
    assert body == first  # the same bytes, so the same signature, at every try
    assert headers["X-Shopbot-Delivery"] == first_headers["X-Shopbot-Delivery"] == "TG-1001"
    assert verified(headers, body) == {**ORDER, "delivery_id": "TG-1001", "event": "order.paid"}
    record = await bot.app.followups.order_hooks.records.get("TG-1001")
    assert record is not None and record.tries == 2 and record.last_error == "HTTP 500"
    assert record.delivered == start + timedelta(seconds=10) and record.body is None


async def test_a_wrong_secret_does_not_verify(make_shopbot: Make, backend: Backend) -> None:
    bot = await hooked(make_shopbot, backend.url)
    await bot.app.followups.order_webhook("TG-1002", ORDER)
    await run_due(bot.app)
    [(headers, body)] = backend.posts
    forged = "sha256=" + hmac.new(b"another secret", body, hashlib.sha256).hexdigest()
    assert not hmac.compare_digest(headers["X-Shopbot-Signature"], forged)
    verified(headers, body)


async def test_the_same_order_queued_twice_is_sent_once(make_shopbot: Make,
                                                        backend: Backend) -> None:
    bot = await hooked(make_shopbot, backend.url)
    hooks = bot.app.followups
    assert await hooks.order_webhook("TG-1003", ORDER) is True
    assert await hooks.order_webhook("TG-1003", {**ORDER, "total": 1}) is False
    assert len(await queued(bot.app)) == 1
    await run_due(bot.app)
    assert await hooks.order_webhook("TG-1003", ORDER) is False  # delivered: not again
    await run_due(bot.app)
    assert len(backend.posts) == 1
    assert verified(*backend.posts[0])["total"] == 3490  # the first body stands


async def test_a_job_run_again_after_success_sends_nothing(
        make_shopbot: Make, backend: Backend, clock: FakeClock) -> None:
    bot = await hooked(make_shopbot, backend.url)
    followups = bot.app.followups
    await followups.order_webhook("TG-1004", ORDER)
    await run_due(bot.app)
    assert len(backend.posts) == 1
    # The same delivery's job again (a retry queued before the answer came, a worker's
    # retry): it finds the order delivered.
    assert await followups.schedule("order_webhook", "TG-1004:again", clock(), "TG-1004")
    await run_due(bot.app)
    assert len(backend.posts) == 1
    assert await followups.order_webhook_try("TG-1004") is False
    assert len(backend.posts) == 1


async def test_tries_stop_after_48_hours_with_an_error_line(
        make_shopbot: Make, clock: FakeClock, caplog: pytest.LogCaptureFixture) -> None:
    with socket.socket() as free:  # a port nothing listens on: every try a connection error
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    bot = await hooked(make_shopbot, f"http://127.0.0.1:{port}/hooks/orders")
    start = clock()
    await bot.app.followups.order_webhook("TG-1005", ORDER)
    with caplog.at_level(logging.WARNING):
        for _ in range(400):
            if not await queued(bot.app):
                break
            await run_due(bot.app)
    assert await queued(bot.app) == {}
    record = await bot.app.followups.order_hooks.records.get("TG-1005")
    assert record is not None and record.delivered is None and record.gave_up is not None
    assert record.last_error is not None and record.last_error.startswith("connection error")
    # Waits of 10 s, 30 s, 1 min, 5 min, then 15 min: tries at 0, 10, 40, 100 and 400 s,
    # then every 15 minutes; the last within the 48 hours, at 47 h 51 min 40 s.
    assert clock() - start == timedelta(seconds=400 + 191 * 900) <= timedelta(hours=48)
    assert record.tries == 4 + 192
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "TG-1005 NOT delivered" in errors[0].getMessage()


async def test_an_unset_url_queues_nothing(make_shopbot: Make) -> None:
    bot = await make_shopbot()
    assert bot.app.followups.order_hooks is None
    assert await bot.app.followups.order_webhook("TG-1006", ORDER) is False
    assert await queued(bot.app) == {}


def settings(**values: object) -> Settings:
    return Settings(_env_file=None, bot_token=TOKEN, **values)  # type: ignore[call-arg]


def test_the_settings_need_the_secret_with_the_url() -> None:
    assert settings().order_webhook_url is None
    assert settings(order_webhook_url="", order_webhook_secret="").order_webhook_url is None
    ok = settings(order_webhook_url="https://shop.example/hooks", order_webhook_secret="s")
    assert ok.order_webhook_secret is not None
    assert ok.order_webhook_secret.get_secret_value() == "s"
    for wrong, says in [
        ({"order_webhook_url": "https://shop.example/hooks"}, "ORDER_WEBHOOK_SECRET is required"),
        ({"order_webhook_url": "https://shop.example/hooks", "order_webhook_secret": " "},
         "ORDER_WEBHOOK_SECRET is required"),
        ({"order_webhook_url": "ftp://shop.example/hooks", "order_webhook_secret": "s"},
         "ORDER_WEBHOOK_URL must be an http:// or https:// URL"),
        ({"order_webhook_url": "shop.example/hooks", "order_webhook_secret": "s"},
         "ORDER_WEBHOOK_URL must be"),
    ]:
        with pytest.raises(ValidationError, match=says):
            settings(**wrong)
