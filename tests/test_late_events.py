"""Times in the past: order events reported late, one-time links opened late, follow-ups
whose workers were down. Through the shop's HTTP API and the fake Bot API, with the bot's
clock set to the wall clock (the one arq and Redis use), so the test means the same on any
date."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.devtools.fake_bot_api import FakeBotAPI
from tests.conftest import (
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

ASK = "Has everything arrived all right?"


def at_noon_today(clock: FakeClock) -> datetime:
    """The wall clock's today, at noon in the shop's zone: follow-ups may go at once."""
    today = datetime.now(UTC).astimezone(MOSCOW)
    clock.now = today.replace(hour=12, minute=0, second=0, microsecond=0).astimezone(UTC)
    return clock.now


async def delivered_at(backend: ShopBackend, order: str, customer: int | None,
                       at: datetime, **fields: object) -> dict:
    await backend.event(order, "created", items=[SHIRT], total=3490, at=at.isoformat(),
                        **({"customer_id": customer} if customer else {}), **fields)
    await backend.event(order, "paid", at=at.isoformat())
    await backend.event(order, "shipped", tracking="CD1", carrier="CDEK", at=at.isoformat())
    status, body = await backend.post({"order_id": order, "event": "delivered",
                                       "at": at.isoformat()})
    assert status == 200, body  # a late event is an event like any other
    return body


@pytest.mark.parametrize("ago", [timedelta(minutes=5), timedelta(hours=20),
                                 timedelta(days=3), timedelta(days=6, hours=20)])
async def test_a_late_delivery_is_still_asked_about(
        shop: tuple[Harness, ShopBackend], api: FakeBotAPI, clock: FakeClock,
        ago: timedelta) -> None:
    bot, backend = shop
    now = at_noon_today(clock)
    ann = api.new_shopper(first_name="Ann")
    await bot.send(ann, "hi")
    await delivered_at(backend, "1045", ann.id, now - ago)
    [(job, when)] = (await queued(bot.app)).items()
    # A day after delivery, or now when that is past (noon: within the day's hours).
    assert job == "delivery_check:1045" and when == max(now - ago + timedelta(days=1), now)
    since = len(api.calls)
    await run_due(bot.app)
    [check] = texts_to(api.calls[since:], ann.id)
    assert ASK in check and "#1045" in check


@pytest.mark.parametrize("ago", [timedelta(days=8), timedelta(days=40),
                                 timedelta(days=3 * 365)])
async def test_a_delivery_too_old_to_ask_about_is_recorded_not_sent(
        shop: tuple[Harness, ShopBackend], api: FakeBotAPI, clock: FakeClock,
        ago: timedelta) -> None:
    bot, backend = shop
    now = at_noon_today(clock)
    ann = api.new_shopper(first_name="Ann")
    await bot.send(ann, "hi")
    since = len(api.calls)
    await delivered_at(backend, "1045", ann.id, now - ago)
    assert await queued(bot.app) == {}
    store = bot.app.store
    assert await store.redis.get(store.keys.sent("delivery_check", "1045")) == b"skipped"
    again = await backend.event("1045", "delivered", at=(now - ago).isoformat())
    assert again["duplicate"] is True  # posted again by a retrying backend: still nothing
    await run_due(bot.app)
    assert not any(ASK in text for text in texts_to(api.calls[since:], ann.id))


async def test_an_event_posted_again_after_the_queue_forgot_it_is_not_asked_twice(
        shop: tuple[Harness, ShopBackend], api: FakeBotAPI, clock: FakeClock) -> None:
    bot, backend = shop
    now = at_noon_today(clock)
    ann = api.new_shopper(first_name="Ann")
    await bot.send(ann, "hi")
    await delivered_at(backend, "1045", ann.id, now - timedelta(days=2))
    since = len(api.calls)
    await run_due(bot.app)
    # arq keeps a finished job's result for a week; then the same event may queue it again.
    followups = bot.app.followups
    async for key in followups.jobs.arq.scan_iter(match=f"arq:*{bot.app.store.prefix}*"):
        await followups.jobs.arq.delete(key)
    assert (await backend.event("1045", "delivered", at=(now - timedelta(days=2)).isoformat())
            )["duplicate"] is True
    await run_due(bot.app)
    assert len([t for t in texts_to(api.calls[since:], ann.id) if ASK in t]) == 1


@pytest.mark.parametrize("ago", [timedelta(minutes=30), timedelta(days=3),
                                 timedelta(days=2 * 365)])
async def test_a_one_time_link_opened_for_a_late_delivery_links_the_order(
        shop: tuple[Harness, ShopBackend], api: FakeBotAPI, clock: FakeClock,
        ago: timedelta) -> None:
    bot, backend = shop
    now = at_noon_today(clock)
    body = await delivered_at(backend, "1046", None, now - ago, token="tok_late_delivery")
    assert body["customer_id"] is None
    bob = api.new_shopper(first_name="Bob")
    replies = await bot.send(bob, "/start tok_late_delivery")
    assert "Order #1046 is now linked to this chat" in replies[-1]
    jobs = await queued(bot.app)
    assert list(jobs) == ([] if ago > timedelta(days=7) else ["delivery_check:1046"])


async def test_a_check_whose_job_ran_a_week_late_is_not_sent(
        shop: tuple[Harness, ShopBackend], api: FakeBotAPI, clock: FakeClock) -> None:
    bot, backend = shop
    now = at_noon_today(clock)
    ann = api.new_shopper(first_name="Ann")
    await bot.send(ann, "hi")
    await delivered_at(backend, "1045", ann.id, now)
    clock.advance(days=9)  # the workers were down all that time
    since = len(api.calls)
    await run_due(bot.app)
    assert not any(ASK in text for text in texts_to(api.calls[since:], ann.id))
    store = bot.app.store
    assert await store.redis.get(store.keys.sent("delivery_check", "1045")) == b"skipped"


@pytest.mark.parametrize("birthday", ["12-31", "02-29", "01-01"])
async def test_a_birthday_greeting_comes_on_the_day_or_not_at_all(
        shop: tuple[Harness, ShopBackend], api: FakeBotAPI, clock: FakeClock,
        birthday: str) -> None:
    bot, backend = shop
    at_noon_today(clock)
    ann = api.new_shopper(first_name="Ann")
    await bot.send(ann, "hi")
    await backend.event("1", "created", customer_id=ann.id, items=[SHIRT],
                        birthday=f"1992-{birthday}")
    [(job, when)] = (await queued(bot.app)).items()
    assert when > clock() and when.astimezone(MOSCOW).hour == 11
    local = when.astimezone(MOSCOW)
    assert (local.month, local.day) in {(int(birthday[:2]), int(birthday[3:])), (2, 28)}
    # The workers were down on the day: two days late, no greeting, and next year's waits.
    clock.now = when + timedelta(days=2)
    await bot.app.followups.jobs.arq.zadd(bot.app.followups.jobs.queue,
                                      {f"{bot.app.store.prefix}:{job}": 1})
    since = len(api.calls)
    await bot.app.followups.worker(burst=True, jobs=1).async_run()
    assert not any("birthday" in t.lower() for t in texts_to(api.calls[since:], ann.id))
    [(later, next_when)] = (await queued(bot.app)).items()
    assert later != job and next_when.year == when.year + 1


async def test_a_broadcast_scheduled_in_the_past_goes_at_once(
        shop: tuple[Harness, ShopBackend], api: FakeBotAPI, clock: FakeClock) -> None:
    bot, backend = shop
    now = at_noon_today(clock)
    ann = api.new_shopper(first_name="Ann")
    await bot.send(ann, "hi")
    status, body = await backend.post(
        {"variants": {"en": {"text": "Late summer sale"}},
         "at": (now - timedelta(days=400)).isoformat()}, path="/api/broadcasts")
    assert status in (200, 201), body
    assert all(when == now for when in (await queued(bot.app)).values())
    since = len(api.calls)
    await run_due(bot.app)
    assert "Late summer sale" in texts_to(api.calls[since:], ann.id)
