"""Broadcasts: segments, language variants, Telegram's limits, resuming, cancelling, consent."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import datetime

import pytest

from bot.devtools.fake_bot_api import FakeBotAPI, Shopper
from bot.domain.broadcasts import RateLimit
from bot.storage.store import Store
from tests.conftest import (
    DRESS,
    MOSCOW,
    SHIRT,
    FakeClock,
    Harness,
    ShopBackend,
    queued,
    run_due,
    texts_to,
)

# Run again by scripts/test with the machine's clock moved (a year ahead, 29 February).
pytestmark = pytest.mark.dates

OWNER = 5550001
PROMO = {
    "variants": {
        "en": {"text": "<b>New linen</b> is in!", "button_text": "Shop now",
               "button_url": "https://example.com/new"},
        "ru": {"text": "<b>Новый лён</b> уже в продаже!", "button_text": "Смотреть",
               "button_url": "https://example.com/ru/new"},
    },
    "default": "en",
}


async def customers(bot: Harness, api: FakeBotAPI, *langs: str) -> list[Shopper]:
    made = []
    for lang in langs:
        shopper = api.new_shopper(language_code=lang)
        await bot.send(shopper, "/start")
        made.append(shopper)
    return made


def promos_to(api: FakeBotAPI, shopper: Shopper, since: int = 0) -> list[str]:
    return [t for t in texts_to(api.calls[since:], shopper.id) if "linen" in t.lower()
            or "лён" in t]


async def create(backend: ShopBackend, **payload: object) -> dict:
    status, body = await backend.post({**PROMO, **payload}, path="/api/broadcasts")
    assert status == 200, body
    return body


async def test_each_customer_gets_their_language_once(shop: tuple[Harness, ShopBackend],
                                                      api: FakeBotAPI) -> None:
    bot, backend = shop
    ann, ivan, mei = await customers(bot, api, "en", "ru", "zh-hant")
    body = await create(backend)
    assert body["recipients"] == 3 and body["status"] == "scheduled"
    since = len(api.calls)
    await run_due(bot.app)
    assert promos_to(api, ann, since) == ["<b>New linen</b> is in!"]
    assert promos_to(api, ivan, since) == ["<b>Новый лён</b> уже в продаже!"]
    assert promos_to(api, mei, since) == ["<b>New linen</b> is in!"]  # no zh-hant: default
    keyboard = api.sent_to(ivan.id)[-1].params["reply_markup"]["inline_keyboard"]
    assert keyboard[0][0]["url"] == "https://example.com/ru/new"
    assert keyboard[1][0]["callback_data"] == "unsub"  # every promotion can be refused
    status, figures = await backend.client.get(
        f"/api/broadcasts/{body['id']}",
        headers={"Authorization": "Bearer shop-api-secret-token"}), None
    figures = await status.json()
    assert figures["status"] == "done" and figures["sent"] == 3
    await run_due(bot.app)  # nothing is sent twice
    assert len(promos_to(api, ann, since)) == 1


async def test_segments(shop: tuple[Harness, ShopBackend], api: FakeBotAPI,
                        clock: FakeClock) -> None:
    bot, backend = shop
    await customers(bot, api, "en")  # wrote 40 days before the others
    clock.advance(days=40)
    ann, _ivan, bob, eve = await customers(bot, api, "en", "ru", "en", "en")
    await bot.app.store.tag(ann.id, "vip")
    for n, (shopper, item) in enumerate(((ann, SHIRT), (bob, DRESS))):
        await backend.event(f"9{n}", "created", customer_id=shopper.id, items=[item])
        await backend.event(f"9{n}", "paid")
    await bot.press(eve, "unsub")  # Eve asked for no promotions

    async def count(**segment: object) -> int:
        return (await create(backend, segment=segment))["recipients"]

    assert await count() == 4  # everyone subscribed: not Eve
    assert await count(languages=["ru"]) == 1
    assert await count(tags=["vip"]) == 1
    assert await count(products=["linen-shirt"]) == 1
    assert await count(categories=["dresses"]) == 1
    assert await count(active_days=30) == 3  # not the one who wrote 40 days ago
    assert await count(languages=["en"], active_days=30) == 2


async def test_blocked_customers_are_marked_and_skipped(shop: tuple[Harness, ShopBackend],
                                                        api: FakeBotAPI) -> None:
    bot, backend = shop
    _ann, bob = await customers(bot, api, "en", "en")
    api.block(bob.id)
    body = await create(backend)
    await run_due(bot.app)
    progress = await bot.app.followups.sender.broadcasts.progress(body["id"])
    assert progress.counts == {"sent": 1, "blocked": 1}
    assert (await bot.app.store.flags(bob.id))["blocked"] == "1"
    assert (await create(backend))["recipients"] == 1  # the next one leaves Bob out


async def test_a_429_pauses_every_sender_and_loses_no_one(
        shop: tuple[Harness, ShopBackend], api: FakeBotAPI, clock: FakeClock) -> None:
    bot, backend = shop
    crowd = await customers(bot, api, *["en"] * 6)
    await create(backend)
    api.fail("sendMessage", 429, retry_after=7, times=2)
    started = clock()
    since = len(api.calls)
    await run_due(bot.app)
    assert all(len(promos_to(api, s, since)) == 1 for s in crowd)
    refused = [c for c in api.calls[since:] if c.method == "sendMessage" and not c.ok]
    assert len(refused) == 2
    assert (clock() - started).total_seconds() >= 7  # everyone waited out retry_after


async def test_a_crash_neither_loses_nor_repeats(shop: tuple[Harness, ShopBackend],
                                                 api: FakeBotAPI) -> None:
    bot, backend = shop
    crowd = await customers(bot, api, *["en"] * 5)
    body = await create(backend)
    broadcasts = bot.app.followups.sender.broadcasts
    await broadcasts.update(body["id"], lambda b: setattr(b, "status", "running") or True)
    # A sender took two recipients and died: one mid-send, one before sending.
    mid_send = await broadcasts.take(body["id"], "dead")
    keys = bot.app.store.keys
    await bot.app.store.redis.lmove(keys.broadcast_queue(body["id"]),
                                    keys.broadcast_claimed(body["id"], "dead"), "LEFT", "RIGHT")
    since = len(api.calls)
    await run_due(bot.app)
    received = Counter(c.chat_id for c in api.calls[since:] if c.method == "sendMessage"
                       and c.ok)
    assert mid_send not in received  # its outcome is unknown: never sent twice
    assert all(received[s.id] == 1 for s in crowd if s.id != mid_send)
    progress = await broadcasts.progress(body["id"])
    assert progress.counts == {"sent": 4, "failed": 1} and progress.broadcast.status == "done"


async def test_a_cancelled_broadcast_stops(shop: tuple[Harness, ShopBackend],
                                           api: FakeBotAPI) -> None:
    bot, backend = shop
    crowd = await customers(bot, api, *["en"] * 3)
    body = await create(backend)
    status, answer = await backend.post({}, path=f"/api/broadcasts/{body['id']}/cancel")
    assert status == 200 and answer["cancelled"] is True and answer["status"] == "cancelled"
    since = len(api.calls)
    await run_due(bot.app)
    assert not any(promos_to(api, s, since) for s in crowd)


async def test_consent(shop: tuple[Harness, ShopBackend], api: FakeBotAPI) -> None:
    bot, backend = shop
    ann, = await customers(bot, api, "en")
    replies = await bot.send(ann, "/stop")
    assert "no more promotions" in replies[0] and "still hear about your orders" in replies[0]
    assert (await create(backend))["recipients"] == 0
    await bot.send(ann, "/start")  # subscribes again
    assert (await create(backend))["recipients"] == 1
    await bot.press(ann, "unsub")
    assert (await create(backend))["recipients"] == 0
    calls = await bot.press(ann, "sub")
    assert "Welcome back" in texts_to(calls, ann.id)[0]
    assert (await create(backend))["recipients"] == 1


async def test_the_api_checks_what_it_is_given(shop: tuple[Harness, ShopBackend]) -> None:
    _, backend = shop
    cases = [
        ({"variants": {}}, "variants"),
        ({"variants": {"fr": {"text": "Salut"}}}, "variants.fr.[key]"),
        ({"variants": {"en": {"text": "x" * 1100, "photo": "https://e.com/p.jpg"}}},
         "variants.en.text"),
        ({"variants": {"en": {"text": "Hi", "button_text": "Go"}}}, "variants.en.button_url"),
        ({"variants": {"en": {"text": "Hi"}}, "default": "ru"}, "default"),
        ({"variants": {"en": {"text": "Hi"}}, "segment": {"languages": ["xx"]}},
         "segment.languages.0"),
    ]
    for payload, field in cases:
        status, body = await backend.post(payload, path="/api/broadcasts")
        assert status == 400 and body["field"] == field, (payload, body)
    status, _ = await backend.post(PROMO, token="wrong", path="/api/broadcasts")
    assert status == 401


async def test_the_owner_lists_and_stops_broadcasts(shop: tuple[Harness, ShopBackend],
                                                    api: FakeBotAPI,
                                                    make_shopbot) -> None:  # type: ignore[no-untyped-def]
    bot, backend = shop
    await customers(bot, api, "en", "en")
    body = await create(backend)
    owner = api.new_shopper(first_name="Owner", id=OWNER)
    bot.app.settings.admin_ids.append(OWNER)
    calls = await bot.feed(api.message_update(owner, "/broadcasts"))
    listing = texts_to(calls, OWNER)[0]
    assert f"{body['id']} · scheduled · sent 0 of 2" in listing
    calls = await bot.press(owner, f"bcx:{body['id']}")
    assert "was cancelled" in texts_to(calls, OWNER)[0]
    shopper = api.new_shopper(first_name="Eve")
    await bot.send(shopper, "hi")
    calls = await bot.feed(api.message_update(shopper, "/broadcasts"))
    assert not any(f"{body['id']} ·" in t for t in texts_to(calls, shopper.id))


async def test_one_rate_for_every_process(redis, prefix: str, clock: FakeClock) -> None:  # type: ignore[no-untyped-def]
    store = Store(redis, prefix)
    booked: list[float] = []

    async def sender(limit: RateLimit, count: int, batch: int) -> None:
        while count > 0:
            instants = await limit.reserve(25, min(batch, count))
            booked.extend(instants)
            count -= len(instants)

    # Two processes booking at once, one an instant at a time, the other five at a time.
    # (Instants, not the test clock's times: two senders' waits would each move it on.)
    first, second = RateLimit(store, clock, clock.sleep), RateLimit(store, clock, clock.sleep)
    start = clock().timestamp()
    await asyncio.gather(sender(first, 50, 1), sender(second, 50, 5))
    assert len(booked) == 100
    booked.sort()
    # 100 messages at 25 a second: one every 40 ms, shared, for 4 seconds, not 2
    assert all(abs(at - (start + n * 0.04)) < 1e-4 for n, at in enumerate(booked))
    busiest = max(sum(1 for u in booked if t <= u < t + 1 - 1e-5) for t in booked)
    assert busiest == 25  # any second: the rate, never more


async def test_the_owner_composes_previews_and_sends_in_telegram(
        shop: tuple[Harness, ShopBackend], api: FakeBotAPI, clock: FakeClock) -> None:
    bot, _ = shop
    ann, ivan = await customers(bot, api, "en", "ru")
    owner = api.new_shopper(first_name="Owner", id=OWNER)
    bot.app.settings.admin_ids.append(OWNER)

    async def owner_says(text: str | None = None, **content: object) -> list[str]:
        return texts_to(await bot.feed(api.message_update(owner, text, **content)), OWNER)

    assert "Send the promotion for English customers" in (await owner_says("/broadcast"))[0]
    menu = await owner_says("New linen is in!", entities=[
        {"type": "bold", "offset": 0, "length": 9}])
    assert "It reaches 2 customers." in menu[0]
    await bot.press(owner, "bc:lang:ru")
    await owner_says("Новый лён уже в продаже!")
    await bot.press(owner, "bc:button")
    assert "does not look like a button" in (await owner_says("just a link"))[0]
    await owner_says("See them | https://example.com/new")
    calls = await bot.press(owner, "bc:only:ru")
    assert "It reaches 1 customer." in texts_to(calls, OWNER)[-1]
    calls = await bot.press(owner, "bc:preview")
    previews = texts_to(calls, OWNER)
    assert "<b>New linen</b> is in!" in previews and "Новый лён уже в продаже!" in previews
    calls = await bot.press(owner, "bc:now")  # asks first, with the count of the menu
    assert texts_to(calls, OWNER) == [bot.app.texts.render(
        "compose/confirm", "en", count=1, shown="1", at=None)]
    await bot.press(owner, "bc:yes")
    since = len(api.calls)
    await run_due(bot.app)
    assert promos_to(api, ivan, since) == ["Новый лён уже в продаже!"]
    assert not promos_to(api, ann, since)
    edited = [c for c in api.calls[since:] if c.method == "editMessageText"
              and c.chat_id == OWNER]
    final = edited[-1].params["text"]
    assert "is finished" in final and "Sent: 1 of 1" in final


async def test_a_broadcast_can_wait_for_its_time(shop: tuple[Harness, ShopBackend],
                                                api: FakeBotAPI, clock: FakeClock) -> None:
    bot, _ = shop
    await customers(bot, api, "en")
    owner = api.new_shopper(first_name="Owner", id=OWNER)
    bot.app.settings.admin_ids.append(OWNER)
    await bot.feed(api.message_update(owner, "/broadcast"))
    await bot.feed(api.message_update(owner, "Winter sale"))
    await bot.press(owner, "bc:later")
    calls = await bot.feed(api.message_update(owner, "9:00"))  # passed today: tomorrow
    assert texts_to(calls, OWNER)
    assert not await queued(bot.app)  # until the owner confirms
    await bot.press(owner, "bc:yes")
    jobs = await queued(bot.app)
    due = {job: at for job, at in jobs.items() if job.startswith("broadcast:")}
    assert set(due.values()) == {datetime(2026, 11, 24, 9, 0, tzinfo=MOSCOW)}
    assert len(due) == 2  # two lanes share it


async def test_stop_after_creation_is_respected(shop: tuple[Harness, ShopBackend],
                                                api: FakeBotAPI) -> None:
    bot, backend = shop
    ann, bob = await customers(bot, api, "en", "en")
    body = await create(backend)
    await bot.send(bob, "/stop")  # after the broadcast was made, before it went out
    since = len(api.calls)
    await run_due(bot.app)
    assert promos_to(api, ann, since) and not promos_to(api, bob, since)
    progress = await bot.app.followups.sender.broadcasts.progress(body["id"])
    assert progress.counts == {"sent": 1, "skipped": 1} and progress.broadcast.status == "done"
