"""/mydata and /forget, and how long conversation lines are kept; through the fake Bot API,
the shop's HTTP API and real Redis."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis

from bot.devtools.fake_bot_api import FakeBotAPI, Shopper
from tests.conftest import SHIRT, FakeClock, Harness, ShopBackend, run_due, texts_to

# Run again by scripts/test with the machine's clock moved (a year ahead, 29 February).
pytestmark = pytest.mark.dates

STAFF = -1001234567890


async def erase(bot: Harness, shopper: Shopper) -> list[str]:
    asked = await bot.send(shopper, "/forget")
    assert "cannot be undone" in asked[0]
    return texts_to(await bot.press(shopper, "forget:yes"), shopper.id)


async def test_mydata_sends_everything_kept_as_a_file(
        shop: tuple[Harness, ShopBackend], api: FakeBotAPI) -> None:
    bot, backend = shop
    ann = api.new_shopper(first_name="Ann", username="ann_k")
    await bot.send(ann, "do you have the linen shirt in M?")
    await backend.event("A-100", "created", customer_id=ann.id, items=[SHIRT], total=3490)
    calls = await bot.feed(api.message_update(ann, "/mydata"))
    sent = [c for c in calls if c.method == "sendDocument" and c.chat_id == ann.id]
    assert len(sent) == 1 and "/forget" in sent[0].params["caption"]
    (upload,) = sent[0].files.values()  # aiogram names the part at random (attach://...)
    assert upload.filename and upload.filename.endswith(".json")
    data = json.loads(upload.data)
    assert data["telegram_user_id"] == ann.id
    assert data["profile"]["first_name"] == "Ann" and data["profile"]["username"] == "ann_k"
    assert "do you have the linen shirt in M?" in [line["text"] for line in data["history"]]
    assert [order["id"] for order in data["orders"]] == ["A-100"]


async def test_forget_erases_after_a_yes_and_staff_are_told(
        api: FakeBotAPI, make_shopbot: Callable[..., Awaitable[Harness]], redis: Redis) -> None:
    api.forum(STAFF)
    bot = await make_shopbot(staff_chat_id=STAFF)
    ann = api.new_shopper(first_name="Ann")
    await bot.send(ann, "hi")
    await bot.send(ann, "I want to talk to a person")  # a topic in the staff chat
    prefix = bot.app.store.prefix
    assert await redis.exists(f"{prefix}:customer:{ann.id}", f"{prefix}:history:{ann.id}") == 2
    # While a person holds the conversation, /forget still reaches the bot.
    done = await erase(bot, ann)
    assert done == ["Done: everything we kept about you is erased. If you write to us again, "
                    "we will start afresh, and we will be glad to help."]
    left = [key async for key in redis.scan_iter(match=f"{prefix}:*{ann.id}*")]
    assert left == []
    assert await redis.zscore(f"{prefix}:customers", str(ann.id)) is None
    topic = next(iter(api.topics[STAFF].values()))
    assert topic["name"] == "🗑 Erased customer"
    notices = [m for m in api.messages.values() if m["chat"]["id"] == STAFF
               and "asked to erase their data" in str(m.get("text"))]
    assert len(notices) == 1 and notices[0]["message_thread_id"] == topic["message_thread_id"]


async def test_forget_keeps_orders_unlinked_and_no_keeps_everything(
        shop: tuple[Harness, ShopBackend], api: FakeBotAPI, redis: Redis) -> None:
    bot, backend = shop
    ann = api.new_shopper(first_name="Ann")
    await bot.send(ann, "hi")
    await backend.event("A-200", "created", customer_id=ann.id, items=[SHIRT], total=3490)
    prefix = bot.app.store.prefix
    await bot.send(ann, "/forget")
    kept = texts_to(await bot.press(ann, "forget:no"), ann.id)
    assert kept == ["All right, nothing was erased."]
    assert await redis.exists(f"{prefix}:customer:{ann.id}", f"{prefix}:orders:{ann.id}") == 2
    await erase(bot, ann)
    order = json.loads(await redis.get(f"{prefix}:order:A-200"))
    assert order["customer"] is None and order["items"]
    assert not await redis.exists(f"{prefix}:orders:{ann.id}")
    # Writing again starts afresh: a new profile, a first-time greeting.
    again = await bot.send(ann, "hello")
    assert again and "again" not in again[0].lower()


async def test_conversation_lines_are_kept_no_longer_than_the_retention(
        make_shopbot: Callable[..., Awaitable[Harness]], api: FakeBotAPI, clock: FakeClock,
        redis: Redis) -> None:
    bot = await make_shopbot(history_retention_days=1)
    ann = api.new_shopper(first_name="Ann")
    await bot.send(ann, "first visit question")
    key = f"{bot.app.store.prefix}:history:{ann.id}"
    assert 0 < await redis.ttl(key) <= 86400
    clock.advance(days=2)
    await bot.send(ann, "second visit")
    lines = [json.loads(raw)["text"] for raw in await redis.lrange(key, 0, -1)]
    assert "first visit question" not in lines and "second visit" in lines


async def _mentions(redis: Redis, key: bytes, needle: str) -> bool:
    kind = (await redis.type(key)).decode()
    if kind == "string":
        values = [await redis.get(key)]
    elif kind == "hash":
        values = [part for pair in (await redis.hgetall(key)).items() for part in pair]
    elif kind == "list":
        values = await redis.lrange(key, 0, -1)
    elif kind == "set":
        values = list(await redis.smembers(key))
    elif kind == "zset":
        values = [member for member, _ in await redis.zrange(key, 0, -1, withscores=True)]
    else:
        values = []
    return needle in key.decode() or any(needle in repr(v) for v in values)


async def test_forget_leaves_no_key_or_value_that_names_the_shopper(
        shop: tuple[Harness, ShopBackend], api: FakeBotAPI, clock: FakeClock,
        redis: Redis) -> None:
    bot, backend = shop
    ann = api.new_shopper(first_name="Ann")
    await bot.send(ann, "hi, do you have the linen shirt in M?")
    await backend.event("A-300", "created", customer_id=ann.id, items=[SHIRT], total=3490,
                        birthday="1990-12-31")
    await backend.event("A-300", "paid")
    await backend.event("A-300", "shipped", tracking="CD1", carrier="CDEK")
    await backend.event("A-300", "delivered")
    prefix = bot.app.store.prefix
    queue = bot.app.followups.jobs.queue
    assert any(str(ann.id) in job.decode() for job in await redis.zrange(queue, 0, -1))
    await erase(bot, ann)
    # What the README lists as kept: broadcasts' per-recipient states (none here).
    keys = [key async for key in redis.scan_iter(match=f"{prefix}:*")]
    keys += [key async for key in redis.scan_iter(match=f"arq:*{prefix}*")]
    named = [key.decode() for key in keys if await _mentions(redis, key, str(ann.id))]
    assert named == []
    # The delivery check is about the shop's order, kept unlinked: it asks nobody.
    since = len(api.calls)
    clock.advance(days=2)
    await run_due(bot.app)
    assert not [c for c in api.calls[since:] if c.chat_id == ann.id]


async def test_retention_is_reckoned_on_the_bots_clock(
        make_shopbot: Callable[..., Awaitable[Harness]], api: FakeBotAPI,
        clock: FakeClock) -> None:
    bot = await make_shopbot(history_retention_days=1)
    clock.now = datetime.now(UTC) - timedelta(days=3)  # the bot's clock, not the machine's
    ann = api.new_shopper(first_name="Ann")
    await bot.send(ann, "a question asked just now")
    said = [line.text for line in await bot.app.store.history(ann.id)]  # the staff card's
    assert "a question asked just now" in said
    clock.advance(days=2)
    assert await bot.app.store.history(ann.id) == []
