"""After delivery: the delivery check on arq, the rating, returns and exchanges, the owner's
statistics. Follow-up times are read from arq's queue (the bot's clock is the test's);
`run_due` then lets their time come and runs a real arq worker."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

import pytest

from bot.devtools.fake_bot_api import FakeBotAPI, Shopper
from bot.domain.orders import OrderEventIn
from handlers.layer import create_app
from tests.conftest import (
    API_TOKEN,
    DRESS,
    MOSCOW,
    SHIRT,
    FakeClock,
    Harness,
    ShopBackend,
    queued,
    run_due,
    settings_for,
    texts_to,
)
from tests.test_staff import STAFF, in_topic, topic_of

# Run again by scripts/test with the machine's clock moved (a year ahead, 29 February).
pytestmark = pytest.mark.dates

OWNER = 5550001


def local(clock: FakeClock, **fields: int) -> datetime:
    return clock().astimezone(MOSCOW).replace(second=0, microsecond=0, **fields)


async def delivered(backend: ShopBackend, shopper: Shopper, order: str = "1045",
                    items: list[dict] | None = None) -> None:
    await backend.event(order, "created", customer_id=shopper.id, items=items or [SHIRT],
                        total=3490)
    await backend.event(order, "paid")
    await backend.event(order, "shipped", tracking="CD1", carrier="CDEK")
    await backend.event(order, "delivered")


def last_keyboard(api: FakeBotAPI, shopper: Shopper) -> list[list[dict]]:
    sent = [c for c in api.sent_to(shopper.id) if c.params.get("reply_markup")]
    return sent[-1].params["reply_markup"]["inline_keyboard"]


# -- the delivery check ------------------------------------------------------------------------

@pytest.mark.parametrize(("delivered_at", "asked_at"), [
    (dict(hour=11), dict(day=24, hour=11)),  # a day later, in the day
    (dict(hour=22, minute=30), dict(day=25, hour=9)),  # 22:30 the next day: next morning
    (dict(hour=3), dict(day=24, hour=9)),  # 03:00 the next day: at nine
])
async def test_the_delivery_check_waits_a_day_and_never_comes_at_night(
        shop: tuple[Harness, ShopBackend], api: FakeBotAPI, clock: FakeClock,
        delivered_at: dict, asked_at: dict) -> None:
    bot, backend = shop
    clock.local(**delivered_at)
    ann = api.new_shopper(first_name="Ann")
    await delivered(backend, ann)
    jobs = await queued(bot.app)
    assert jobs == {"delivery_check:1045": local(clock, **{"minute": 0, **asked_at})}


async def test_the_check_is_sent_once_even_across_a_restart(
        api: FakeBotAPI, prefix: str, clock: FakeClock,
        make_shopbot: Callable[..., Awaitable[Harness]],
        shop: tuple[Harness, ShopBackend]) -> None:
    bot, backend = shop
    ann = api.new_shopper(first_name="Ann")
    await bot.send(ann, "hi")
    await delivered(backend, ann)
    assert await backend.event("1045", "delivered") == {  # reported twice: queued once
        "ok": True, "order_id": "1045", "status": "delivered", "duplicate": True,
        "customer_id": ann.id}
    assert list(await queued(bot.app)) == ["delivery_check:1045"]
    await bot.stop()  # the bot restarts between scheduling and sending
    restarted = create_app(settings_for(api, prefix), clock=clock)
    try:
        since = len(api.calls)
        await run_due(restarted)
        [check] = texts_to(api.calls[since:], ann.id)
        assert "Has everything arrived all right?" in check and "#1045" in check
        labels = [b["text"] for row in last_keyboard(api, ann) for b in row]
        assert labels == ["👍 Yes, all good", "😟 There is a problem"]
        await restarted.followups.schedule("delivery_check", "1045-again", clock(), "1045")
        await run_due(restarted)  # the same check, queued again by mistake: not sent twice
        assert len(texts_to(api.calls[since:], ann.id)) == 1
    finally:
        await restarted.close()


async def test_no_check_for_a_customer_who_blocked_the_bot(
        shop: tuple[Harness, ShopBackend], api: FakeBotAPI) -> None:
    bot, backend = shop
    ann = api.new_shopper(first_name="Ann")
    await bot.send(ann, "hi")
    await delivered(backend, ann)
    await bot.feed(api.my_chat_member_update(ann, "kicked"))
    since = len(api.calls)
    await run_due(bot.app)
    assert not api.calls_for(ann.id)[since:] and not [
        c for c in api.calls[since:] if c.chat_id == ann.id]


async def test_a_check_whose_send_is_refused_marks_the_customer(
        shop: tuple[Harness, ShopBackend], api: FakeBotAPI) -> None:
    bot, backend = shop
    ann, bob = api.new_shopper(first_name="Ann"), api.new_shopper(first_name="Bob")
    await delivered(backend, ann, "1")
    await delivered(backend, bob, "2")
    api.block(ann.id)  # blocked without the bot being told
    await run_due(bot.app)
    assert (await bot.app.store.flags(ann.id))["blocked"] == "1"
    assert texts_to(api.calls, bob.id)  # Bob still got his


# -- the rating --------------------------------------------------------------------------------

async def test_all_good_then_five_stars_invites_a_review(
        shop: tuple[Harness, ShopBackend], api: FakeBotAPI) -> None:
    bot, backend = shop
    ann = api.new_shopper(first_name="Ann")
    await bot.send(ann, "hi")
    await delivered(backend, ann)
    await run_due(bot.app)
    calls = await bot.press(ann, "fu:ok:1045")
    assert "from 1 to 5" in texts_to(calls, ann.id)[0]
    assert [b["callback_data"] for row in last_keyboard(api, ann) for b in row] == [
        f"rate:1045:{n}" for n in range(1, 6)]
    calls = await bot.press(ann, "rate:1045:5")
    assert "delighted" in texts_to(calls, ann.id)[0]
    assert last_keyboard(api, ann)[0][0]["url"] == "https://example.com/linen-lane/reviews"
    calls = await bot.press(ann, "rate:1045:1")  # a second rating is not counted
    assert "already rated" in texts_to(calls, ann.id)[0]
    week = (await bot.app.followups.stats.days(1))[0]
    assert week.ratings == {1: 0, 2: 0, 3: 0, 4: 0, 5: 1} and week.followups == 1


async def test_a_low_rating_apologises_and_brings_in_a_person(
        api: FakeBotAPI, make_shopbot: Callable[..., Awaitable[Harness]]) -> None:
    api.forum(STAFF)
    bot = await make_shopbot(staff_chat_id=STAFF, shop_api_token=API_TOKEN)
    ann = api.new_shopper(first_name="Ann")
    await bot.send(ann, "hi")
    await bot.app.orders.report(_event("1045", "created", ann.id, [SHIRT]))
    calls = await bot.press(ann, "rate:1045:2")
    assert "truly sorry" in texts_to(calls, ann.id)[0]
    notice = in_topic(api, topic_of(api, ann))[0]["text"]
    assert "rated order #1045 2 of 5" in notice
    assert await bot.app.desk.holds(ann.id)  # a person holds the conversation now
    assert not await bot.send(ann, "it was torn")  # the bot stays quiet


async def test_someone_elses_order_cannot_be_rated(shop: tuple[Harness, ShopBackend],
                                                    api: FakeBotAPI) -> None:
    bot, backend = shop
    ann, eve = api.new_shopper(first_name="Ann"), api.new_shopper(first_name="Eve")
    await delivered(backend, ann)
    await bot.send(eve, "hi")
    calls = await bot.press(eve, "rate:1045:1")
    answer = next(c for c in calls if c.method == "answerCallbackQuery")
    assert answer.params.get("text") and not texts_to(calls, eve.id)
    assert await bot.app.store.redis.get(bot.app.store.keys.rating("1045")) is None


# -- returns and exchanges --------------------------------------------------------------------

async def test_a_problem_starts_the_return_flow_and_staff_get_the_request(
        api: FakeBotAPI, make_shopbot: Callable[..., Awaitable[Harness]]) -> None:
    api.forum(STAFF)
    bot = await make_shopbot(staff_chat_id=STAFF)
    ann = api.new_shopper(first_name="Ann")
    await bot.send(ann, "hi")
    for event in ("created", "paid", "shipped", "delivered"):
        await bot.app.orders.report(_event("1045", event, ann.id, [SHIRT, DRESS],
                                           tracking="CD1"))
    await run_due(bot.app)

    calls = await bot.press(ann, "fu:bad:1045")
    assert "Which item" in texts_to(calls, ann.id)[0]
    labels = [row[0]["text"] for row in last_keyboard(api, ann)[:2]]
    assert labels == ["Classic linen shirt, M, white", "Linen wrap midi dress, S, terracotta"]
    calls = await bot.press(ann, "ret:i:0")
    assert "reason" in texts_to(calls, ann.id)[0]
    calls = await bot.press(ann, "ret:r:size")
    assert "photo" in texts_to(calls, ann.id)[0]
    photo = api.message_update(ann, photo=api.photo())
    assert "Photo received" in texts_to(await bot.feed(photo), ann.id)[0]
    await bot.press(ann, "ret:p")
    calls = await bot.press(ann, "ret:x:exchange")
    sizes = [row[0]["text"] for row in last_keyboard(api, ann)[:-1]]
    assert sizes == ["XS", "S", "L", "XL", "XXL"]  # white, in stock, not the M she has
    calls = await bot.press(ann, "ret:v:L")
    summary = texts_to(calls, ann.id)[0]
    assert "not the variant wanted" in summary and "exchange for L" in summary
    assert "1 photo attached" in summary
    calls = await bot.press(ann, "ret:s")
    assert "R1" in texts_to(calls, ann.id)[0] and "Next:" in texts_to(calls, ann.id)[0]

    topic = topic_of(api, ann)
    shown = in_topic(api, topic)
    card = next(m for m in shown if m.get("text", "").startswith("↩ Return request R1"))
    assert "Classic linen shirt" in card["text"] and "exchange for L" in card["text"]
    assert "photo" in shown[-1]  # the photo, copied for staff
    assert not await bot.app.desk.holds(ann.id)  # the bot still talks to Ann

    olga = api.new_shopper(first_name="Olga")
    calls = await bot.feed(api.callback_update(olga, "rs:R1:approved", message=card))
    assert "approved" in texts_to(calls, ann.id)[0]
    assert "Olga" in in_topic(api, topic)[-1]["text"]
    calls = await bot.feed(api.callback_update(olga, "rs:R1:approved", message=card))
    assert not texts_to(calls, ann.id)  # pressed twice: told once


async def test_return_status_from_the_backend(shop: tuple[Harness, ShopBackend],
                                              api: FakeBotAPI) -> None:
    bot, backend = shop
    ann = api.new_shopper(first_name="Ann")
    await bot.send(ann, "hi")
    await delivered(backend, ann)
    assert "reason" in (await bot.send(ann, "I want to return the shirt"))[-1]
    await bot.press(ann, "ret:r:damaged")
    await bot.press(ann, "ret:p")
    await bot.press(ann, "ret:x:refund")
    calls = await bot.press(ann, "ret:s")
    assert "R1" in texts_to(calls, ann.id)[0]
    since = len(api.calls)
    status, body = await backend.post({"status": "refunded"}, path="/api/returns/R1")
    assert status == 200 and body["status"] == "refunded"
    assert "refund for request R1 is on its way" in texts_to(api.calls[since:], ann.id)[0]
    status, body = await backend.post({"status": "lost"}, path="/api/returns/R1")
    assert status == 400 and body["field"] == "status"
    status, body = await backend.post({"status": "approved"}, path="/api/returns/R99")
    assert status == 404


async def test_a_return_without_known_orders_goes_to_a_person(
        api: FakeBotAPI, make_shopbot: Callable[..., Awaitable[Harness]]) -> None:
    api.forum(STAFF)
    bot = await make_shopbot(staff_chat_id=STAFF)
    ann = api.new_shopper(first_name="Ann")
    replies = await bot.send(ann, "I'd like to return the dress, it doesn't fit")
    assert "right here" in replies[-1]
    assert "wants to return or exchange" in in_topic(api, topic_of(api, ann))[0]["text"]


async def test_the_flow_can_be_cancelled_and_old_buttons_do_nothing(
        shop: tuple[Harness, ShopBackend], api: FakeBotAPI) -> None:
    bot, backend = shop
    ann = api.new_shopper(first_name="Ann")
    await delivered(backend, ann)
    await bot.send(ann, "I want to return the shirt")
    assert "cancelled the request" in texts_to(await bot.press(ann, "ret:c"), ann.id)[0]
    calls = await bot.press(ann, "ret:s")  # the old "send" button
    answer = next(c for c in calls if c.method == "answerCallbackQuery")
    assert answer.params.get("text") and not texts_to(calls, ann.id)
    assert await bot.app.orders.aftersale.get_return("R1") is None


# -- staff tags and the card -------------------------------------------------------------------

async def test_staff_tags_and_orders_show_on_the_card(
        api: FakeBotAPI, make_shopbot: Callable[..., Awaitable[Harness]]) -> None:
    api.forum(STAFF)
    bot = await make_shopbot(staff_chat_id=STAFF)
    ann = api.new_shopper(first_name="Ann")
    await bot.send(ann, "hi")
    await bot.app.orders.report(_event("1045", "created", ann.id, [SHIRT]))
    await bot.send(ann, "I want to talk to a person")
    topic = topic_of(api, ann)
    card = in_topic(api, topic)[0]
    assert "#1045 (created)" in card["text"]
    olga = api.new_shopper(first_name="Olga")
    await bot.feed(api.message_update(olga, "/tag wholesale", chat=STAFF,
                                      message_thread_id=topic))
    assert "wholesale" in api.messages[(STAFF, card["message_id"])]["text"]
    assert await bot.app.store.tags(ann.id) == ["wholesale"]


# -- birthdays ---------------------------------------------------------------------------------

async def test_a_birthday_greeting_respects_the_opt_out(shop: tuple[Harness, ShopBackend],
                                                         api: FakeBotAPI,
                                                         clock: FakeClock) -> None:
    bot, backend = shop
    ann, bob = api.new_shopper(first_name="Ann"), api.new_shopper(first_name="Bob")
    for shopper, order in ((ann, "1"), (bob, "2")):
        await bot.send(shopper, "hi")
        await backend.event(order, "created", customer_id=shopper.id, items=[SHIRT],
                            birthday="1990-12-01")
    jobs = await queued(bot.app)
    assert jobs[f"birthday:{ann.id}:2026"] == datetime(2026, 12, 1, 11, tzinfo=MOSCOW)
    await bot.app.store.redis.hset(bot.app.store.keys.customer(bob.id), "promotions", "0")
    since = len(api.calls)
    await run_due(bot.app)
    assert "Happy birthday, Ann" in texts_to(api.calls[since:], ann.id)[0]
    assert not texts_to(api.calls[since:], bob.id)
    assert f"birthday:{ann.id}:2027" in await queued(bot.app)  # and next year's


# -- the owner's statistics --------------------------------------------------------------------

async def test_stats_for_the_owner_only(api: FakeBotAPI,
                                        make_shopbot: Callable[..., Awaitable[Harness]]) -> None:
    api.forum(STAFF)
    bot = await make_shopbot(staff_chat_id=STAFF, admin_ids=str(OWNER))
    ann, bob = api.new_shopper(first_name="Ann"), api.new_shopper(first_name="Bob")
    await bot.send(ann, "hi")
    await bot.send(bob, "I want to talk to a person")
    olga = api.new_shopper(first_name="Olga")
    await bot.feed(api.message_update(olga, "Hello Bob!", chat=STAFF,
                                      message_thread_id=topic_of(api, bob)))
    owner = api.new_shopper(first_name="Owner", id=OWNER)
    calls = await bot.feed(api.message_update(owner, "/stats"))
    report = texts_to(calls, OWNER)[0]
    assert "50%" in report  # two conversations, one needed a person
    photo = next(c for c in calls if c.method == "sendPhoto" and c.chat_id == OWNER)
    assert photo.files and next(iter(photo.files.values())).data.startswith(b"\x89PNG")
    calls = await bot.feed(api.message_update(ann, "/stats"))
    assert not any(c.method == "sendPhoto" for c in calls)  # a shopper gets no report


def _event(order: str, event: str, customer: int, items: list[dict],
           **fields: object) -> OrderEventIn:
    return OrderEventIn.model_validate({"order_id": order, "event": event,
                                        "customer_id": customer, "items": items, **fields})





async def test_without_a_staff_chat_owners_hear_of_returns_and_low_ratings_get_contacts(
        make_shopbot: Callable[..., Awaitable[Harness]], api: FakeBotAPI) -> None:
    bot = await make_shopbot(admin_ids=str(OWNER))
    ann = api.new_shopper(first_name="Ann")
    await bot.send(ann, "hi")
    for event in ("created", "paid", "shipped", "delivered"):
        await bot.app.orders.report(_event("1045", event, ann.id, [SHIRT], tracking="CD1"))
    sorry = texts_to(await bot.press(ann, "rate:1045:2"), ann.id)[0]
    assert "Please tell my colleagues" in sorry and "+7" in sorry  # the shop's contacts
    await bot.send(ann, "I want to return the shirt")
    for step in ("ret:r:damaged", "ret:p", "ret:x:refund"):
        await bot.press(ann, step)
    calls = await bot.press(ann, "ret:s")
    assert "R1" in texts_to(calls, ann.id)[0]
    [to_owner] = texts_to(calls, OWNER)
    assert to_owner.startswith("↩ Return request R1 from Ann") and "refund" in to_owner
