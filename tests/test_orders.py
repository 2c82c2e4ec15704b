"""Orders reported by the shop's backend over HTTP, and what shoppers see of them."""

from __future__ import annotations

from typing import Any

import pytest

from bot.devtools.fake_bot_api import FakeBotAPI, Shopper
from tests.conftest import DRESS, SHIRT, Harness, ShopBackend, texts_to

# Run again by scripts/test with the machine's clock moved (a year ahead, 29 February).
pytestmark = pytest.mark.dates


async def messages_to(api: FakeBotAPI, shopper: Shopper, since: int) -> list[str]:
    return texts_to(api.calls[since:], shopper.id)


# -- the API ---------------------------------------------------------------------------------

async def test_the_api_wants_the_bearer_token(shop: tuple[Harness, ShopBackend]) -> None:
    _, backend = shop
    for token in (None, "wrong"):
        status, body = await backend.post({"order_id": "1", "event": "created"}, token=token)
        assert status == 401 and body["ok"] is False


@pytest.mark.parametrize(("payload", "field"), [
    ({"order_id": "1045", "event": "sold", "customer_id": 1, "items": [SHIRT]}, "event"),
    ({"order_id": "1045", "event": "created", "customer_id": 1}, "items"),
    ({"order_id": "1045", "event": "created", "items": [SHIRT]}, "customer_id"),
    ({"order_id": "1045", "event": "created", "customer_id": 1,
      "items": [{**SHIRT, "quantity": 0}]}, "items.0.quantity"),
    ({"order_id": "1045", "event": "shipped", "customer_id": 1, "items": [SHIRT]}, "tracking"),
    ({"order_id": "bad id!", "event": "created", "customer_id": 1, "items": [SHIRT]},
     "order_id"),
    ({"order_id": "1045", "event": "created", "customer_id": 1, "items": [SHIRT],
      "colour": "red"}, "colour"),
    ({"order_id": "1045", "event": "created", "token": "short", "items": [SHIRT]}, "token"),
    ("{not json", None),
    ("[1, 2]", None),
])
async def test_a_bad_payload_gets_a_400_naming_the_field(
        shop: tuple[Harness, ShopBackend], payload: Any, field: str | None) -> None:
    _, backend = shop
    status, body = await backend.post(payload)
    assert status == 400 and body["ok"] is False
    assert body["field"] == field, body
    assert body["error"]


async def test_events_are_told_once_with_tracking(shop: tuple[Harness, ShopBackend],
                                                  api: FakeBotAPI) -> None:
    bot, backend = shop
    ann = api.new_shopper(first_name="Ann")
    await bot.send(ann, "hello")
    since = len(api.calls)
    await backend.event("1045", "created", customer_id=ann.id, items=[SHIRT, DRESS],
                        total=9480)
    assert not await messages_to(api, ann, since)  # an order being created needs no message
    await backend.event("1045", "paid", customer_id=ann.id)
    [paid] = await messages_to(api, ann, since)
    assert "received the payment for order #1045" in paid
    assert "Classic linen shirt, M, white" in paid
    since = len(api.calls)
    body = await backend.event("1045", "shipped", carrier="CDEK", tracking="CD123456RU",
                               tracking_url="https://track.example/CD123456RU",
                               expected="2026-11-27")
    [shipped] = await messages_to(api, ann, since)
    assert "on its way" in shipped and "CDEK" in shipped and "CD123456RU" in shipped
    assert "27 November" in shipped
    button = api.sent_to(ann.id)[-1].params["reply_markup"]["inline_keyboard"][0][0]
    assert button["url"] == "https://track.example/CD123456RU"
    assert body["status"] == "shipped" and body["duplicate"] is False
    # The same event again: 200, marked duplicate, and the shopper hears nothing more.
    since = len(api.calls)
    again = await backend.event("1045", "shipped", carrier="CDEK", tracking="CD123456RU")
    assert again["duplicate"] is True
    assert not await messages_to(api, ann, since)


async def test_a_one_time_link_binds_the_order_to_whoever_opens_it(
        shop: tuple[Harness, ShopBackend], api: FakeBotAPI) -> None:
    bot, backend = shop
    body = await backend.event("1046", "created", token="tok_abcdef123456", items=[DRESS])
    assert body["link"] == "https://t.me/shopbot_test_bot?start=tok_abcdef123456"
    assert body["customer_id"] is None
    await backend.event("1046", "paid")  # nobody to tell yet
    bob = api.new_shopper(first_name="Bob")
    [reply] = await bot.send(bob, "/start tok_abcdef123456")  # one message, the greeting first
    welcome, _, linked = reply.partition("\n\n")
    assert "Welcome" in welcome
    assert "Order #1046 is now linked to this chat" in linked and "paid" in linked
    eve = api.new_shopper(first_name="Eve")
    assert len(await bot.send(eve, "/start tok_abcdef123456")) == 1  # used up: a greeting only
    assert "#1046" in (await bot.send(bob, "where is my order?"))[-1]
    assert "#1046" not in (await bot.send(eve, "where is my order?"))[-1]


# -- "where is my order?" ------------------------------------------------------------------------

async def test_where_is_my_order(shop: tuple[Harness, ShopBackend], api: FakeBotAPI) -> None:
    bot, backend = shop
    ann = api.new_shopper(first_name="Ann")
    assert "do not see any orders" in (await bot.send(ann, "Where is my order?"))[-1]
    await backend.event("1045", "created", customer_id=ann.id, items=[SHIRT])
    await backend.event("1045", "shipped", tracking="CD123456RU", carrier="CDEK",
                        expected="2026-11-27")
    await backend.event("1052", "created", customer_id=ann.id, items=[DRESS])
    listing = (await bot.send(ann, "where's my parcel?"))[-1]
    assert "#1045" in listing and "on its way" in listing and "CD123456RU" in listing
    assert "Expected on 27 November" in listing
    assert "#1052" in listing and "waiting for payment" in listing
    one = (await bot.send(ann, "what about order 1052?"))[-1]
    assert "#1052" in one and "#1045" not in one
    calls = await bot.feed(api.message_update(ann, "where is order #9999?"))
    unknown = texts_to(calls, ann.id)[-1]
    assert "cannot find order 9999" in unknown
    assert api.sent_to(ann.id)[-1].params["reply_markup"]["inline_keyboard"][0][0][
        "callback_data"] == "person"
    ivan = api.new_shopper(first_name="Иван", language_code="ru")
    await backend.event("2001", "created", customer_id=ivan.id, items=[SHIRT])
    assert "#2001" in (await bot.send(ivan, "Где мой заказ?"))[-1]


async def test_tags_follow_paid_orders(shop: tuple[Harness, ShopBackend], api: FakeBotAPI) -> None:
    bot, backend = shop
    ann = api.new_shopper(first_name="Ann")
    for n in range(3):
        await backend.event(f"30{n}", "created", customer_id=ann.id, items=[DRESS],
                            total=5990)
        await backend.event(f"30{n}", "paid")
        assert ("regular" in await bot.app.store.tags(ann.id)) is (n == 2)
    assert "vip" not in await bot.app.store.tags(ann.id)
    await backend.event("399", "created", customer_id=ann.id, items=[DRESS], total=20000)
    await backend.event("399", "paid")
    assert await bot.app.store.tags(ann.id) == ["regular", "vip"]


async def test_the_shopper_reads_order_news_in_their_language(
        shop: tuple[Harness, ShopBackend], api: FakeBotAPI) -> None:
    bot, backend = shop
    ivan = api.new_shopper(first_name="Иван", language_code="ru")
    await bot.send(ivan, "Привет")
    since = len(api.calls)
    await backend.event("2002", "created", customer_id=ivan.id, items=[SHIRT])
    await backend.event("2002", "cancelled")
    [text] = await messages_to(api, ivan, since)
    assert "#2002" in text and "Иван" in text and "cancelled" not in text
