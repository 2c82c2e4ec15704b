"""From "I'll take it" to paid, in the chat: the cart, the invoice, Telegram's shipping and
pre-checkout queries and the payment becoming an order, end to end through the fake Bot
API over HTTP, on two shops of different trades and in the four languages."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from bot import DEMO_SHOP
from bot.core.shop import Product, Shop, Variant, load_shop
from bot.devtools.fake_bot_api import Call, FakeBotAPI, Shopper
from bot.domain import actions
from handlers.callback_data import pack
from handlers.payments import minor
from tests.conftest import TRADES, Harness

LANGS = ("en", "ru", "zh-hans", "zh-hant")
TOKEN = "284685063:TEST:provider-token"


@pytest.fixture(params=sorted(TRADES))
def trade(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def paying(make_shopbot: Callable[..., Awaitable[Harness]], trade: str) -> Harness:
    return await make_shopbot(shop_file=TRADES[trade], payment_provider_token=TOKEN)


def cheapest(shop: Shop, *, stock: int = 1) -> tuple[Product, Variant]:
    """The cheapest variant with at least `stock` in stock."""
    found = [(v.price or p.price or Decimal(0), p, v) for p in shop.products
             for v in p.variants if v.stock >= stock and not p.digital]
    _, product, variant = min(found, key=lambda x: x[0])
    return product, variant


def sold_out(shop: Shop) -> tuple[Product, Variant]:
    return next((p, v) for p in shop.products for v in p.variants if v.stock == 0)


def picks(product: Product, variant: Variant) -> str:
    """The card's button for that variant (option and value indexes)."""
    chosen = tuple((i, [v.id for v in option.values].index(variant.options[option.id]))
                   for i, option in enumerate(product.options))
    return pack(actions.PickOptions(product.id, chosen))


async def press(bot: Harness, shopper: Shopper, data: str) -> list[str]:
    calls = await bot.feed(bot.api.callback_update(shopper, data))
    return [str(c.params.get("text") or c.params.get("caption") or "") for c in calls
            if c.chat_id == shopper.id and c.method in ("sendMessage", "sendPhoto") and c.ok]


async def take(bot: Harness, shopper: Shopper, product: Product, variant: Variant) -> str:
    """Pick the variant on the card, then "Order this": the cart's text."""
    await press(bot, shopper, picks(product, variant))
    return "\n".join(await press(bot, shopper, pack(actions.OrderProduct(product.id))))


def invoices(api: FakeBotAPI, shopper: Shopper) -> list[Call]:
    return [c for c in api.calls if c.method == "sendInvoice" and c.chat_id == shopper.id
            and c.ok]


@pytest.mark.parametrize("lang", LANGS)
async def test_a_cart_in_each_language(paying: Harness, api: FakeBotAPI, lang: str) -> None:
    shop = paying.app.shop
    product, variant = cheapest(shop, stock=2)
    shopper = api.new_shopper(language_code=lang)
    await paying.send(shopper, "/start")
    cart = await take(paying, shopper, product, variant)
    name = shop.text(product.name, lang)
    assert name is not None and name in cart
    unit = variant.price or product.price
    assert unit is not None
    money = paying.app.texts._formatters[lang].money  # type: ignore[attr-defined]
    assert f"× 1: {money(unit)}" in cart
    # One more, one fewer, then out: the cart says so each time.
    assert f"× 2: {money(unit * 2)}" in "\n".join(await press(paying, shopper, "cart:p:0"))
    assert f"× 1: {money(unit)}" in "\n".join(await press(paying, shopper, "cart:m:0"))
    said = await press(paying, shopper, "cart:x:0")
    carts = paying.app.assistant.carts
    assert carts is not None
    empty = await carts.view(shopper.id)
    assert empty.lines == ()
    assert said == [paying.app.texts.render("cart", lang, view=empty, added=None, short=[])]


async def test_a_sold_out_variant_cannot_be_added(paying: Harness, api: FakeBotAPI) -> None:
    product, variant = sold_out(paying.app.shop)
    shopper = api.new_shopper(language_code="en")
    await paying.send(shopper, "/start")
    said = await take(paying, shopper, product, variant)
    carts = paying.app.assistant.carts
    assert carts is not None and (await carts.view(shopper.id)).lines == ()
    # The card says it is sold out and what is close (the variants in stock), not the cart.
    assert "🛒" not in said  # the cart's heading: no cart was shown
    name = paying.app.shop.text(product.name, "en")
    assert name is not None and name in said
    close = [v for v in product.variants if v.stock > 0]
    assert close and any(
        all(str(product.option(o).value(val).name.get("en")) in said  # type: ignore[union-attr]
            for o, val in v.options.items() if product.option(o) is not None)
        for v in close)


async def test_checkout_sends_an_invoice_priced_in_the_shops_currency(
        paying: Harness, api: FakeBotAPI) -> None:
    shop = paying.app.shop
    product, variant = cheapest(shop)
    shopper = api.new_shopper(language_code="ru")
    await paying.send(shopper, "/start")
    await take(paying, shopper, product, variant)
    await press(paying, shopper, "cart:c:0")
    [sent] = invoices(api, shopper)
    params = sent.params
    assert params["currency"] == shop.currency and params["provider_token"] == TOKEN
    unit = variant.price or product.price
    assert unit is not None
    assert sum(p["amount"] for p in params["prices"]) == minor(unit, shop.currency)
    assert params["need_shipping_address"] is True and params["is_flexible"] is True


async def pay(bot: Harness, api: FakeBotAPI, shopper: Shopper, payload: str,
              country: str = "RU") -> dict:
    """The shopper pays the invoice: Telegram's queries, then the payment if allowed."""
    updates = api.pay(shopper, payload, address={"country_code": country})
    outcome: dict = {}
    for update in updates:
        if "successful_payment" in (update.get("message") or {}):
            answer = api.pre_checkout_answers[outcome["pre_checkout"]]
            if not answer["ok"]:
                return {**outcome, "refused": answer["error_message"]}
        await bot.feed(update)
        if "shipping_query" in update:
            outcome["shipping"] = api.shipping_answers[update["shipping_query"]["id"]]
            if not outcome["shipping"]["ok"]:
                return outcome  # Telegram goes no further
        if "pre_checkout_query" in update:
            outcome["pre_checkout"] = update["pre_checkout_query"]["id"]
    return outcome


async def checkout(bot: Harness, api: FakeBotAPI, shopper: Shopper, product: Product,
                   variant: Variant, times: int = 1) -> str:
    await bot.send(shopper, "/start")
    await take(bot, shopper, product, variant)
    for _ in range(times - 1):
        await press(bot, shopper, "cart:p:0")
    await press(bot, shopper, "cart:c:0")
    return str(invoices(api, shopper)[-1].params["payload"])


async def test_delivery_is_priced_and_free_over_the_threshold(
        paying: Harness, api: FakeBotAPI) -> None:
    shop = paying.app.shop
    policy = shop.policy
    assert policy.free_shipping_threshold is not None and policy.shipping_cost is not None
    product, variant = cheapest(shop, stock=3)
    unit = variant.price or product.price
    assert unit is not None
    if unit < policy.free_shipping_threshold:
        shopper = api.new_shopper(language_code="en")
        payload = await checkout(paying, api, shopper, product, variant)
        [option] = (await pay(paying, api, shopper, payload))["shipping"]["shipping_options"]
        assert option["prices"][0]["amount"] == minor(policy.shipping_cost, shop.currency)
    enough = int(policy.free_shipping_threshold / unit) + 1
    if enough <= variant.stock:
        shopper = api.new_shopper(language_code="en")
        payload = await checkout(paying, api, shopper, product, variant, times=enough)
        [option] = (await pay(paying, api, shopper, payload))["shipping"]["shipping_options"]
        assert option["prices"][0]["amount"] == 0
        assert option["title"] == paying.app.texts.render("invoice", "en",
                                                          piece="free_delivery").strip()


async def test_the_last_one_goes_to_whoever_pays_first(
        make_shopbot: Callable[..., Awaitable[Harness]], api: FakeBotAPI, trade: str,
        tmp_path: Path) -> None:
    data = yaml.safe_load(TRADES[trade].read_text(encoding="utf-8"))
    shop = load_shop(TRADES[trade])
    product, variant = cheapest(shop)
    for item in data["products"]:
        for v in item.get("variants", []):
            if item["id"] == product.id and v["options"] == variant.options:
                v["stock"] = 1  # the last one
    path = tmp_path / "shop.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    bot = await make_shopbot(shop_file=path, payment_provider_token=TOKEN)
    first, second = api.new_shopper(language_code="en"), api.new_shopper(language_code="zh-hant")
    first_payload = await checkout(bot, api, first, product, variant)
    second_payload = await checkout(bot, api, second, product, variant)
    paid = await pay(bot, api, first, first_payload)
    assert "refused" not in paid
    refused = await pay(bot, api, second, second_payload)
    assert refused["refused"] == bot.app.texts.render("payment_refused", "zh-hant",
                                                      reason="short").strip()
    # And the one who lost it cannot put it in a cart again.
    await take(bot, second, product, variant)
    carts = bot.app.assistant.carts
    assert carts is not None
    assert [line.quantity for line in (await carts.view(second.id)).lines] == [1]
    # Checking out again says what ran out, and sends no invoice.
    before = len(invoices(api, second))
    said = "\n".join(await press(bot, second, "cart:c:0"))
    name = bot.app.shop.text(product.name, "zh-hant")
    assert name is not None and name in said and len(invoices(api, second)) == before


async def test_a_payment_becomes_an_order_once(paying: Harness, api: FakeBotAPI) -> None:
    shop = paying.app.shop
    product, variant = cheapest(shop)
    shopper = api.new_shopper(language_code="en")
    payload = await checkout(paying, api, shopper, product, variant)
    updates = api.pay(shopper, payload, address={"country_code": "RU"})
    for update in updates:
        await paying.feed(update)
    payment = updates[-1]
    since = len(api.calls)
    await paying.feed(dict(payment))  # Telegram repeats it
    order = await paying.app.orders.orders.get("TG-" + payload)
    assert order is not None and order.status == "paid" and order.customer == shopper.id
    assert [c for c in api.calls[since:] if c.chat_id == shopper.id
            and c.method == "sendMessage"] == []  # told once, not again
    carts = paying.app.assistant.carts
    assert carts is not None and (await carts.view(shopper.id)).lines == ()


async def test_without_a_payment_token_order_this_gives_the_instructions(
        make_shopbot: Callable[..., Awaitable[Harness]], api: FakeBotAPI, trade: str) -> None:
    bot = await make_shopbot(shop_file=TRADES[trade])
    product, variant = cheapest(bot.app.shop)
    shopper = api.new_shopper(language_code="en")
    await bot.send(shopper, "/start")
    said = await take(bot, shopper, product, variant)
    assert bot.app.assistant.carts is None
    assert said and not invoices(api, shopper)  # how to order, as before
    assert not await bot.app.store.redis.exists(bot.app.store.keys.cart(shopper.id))


async def test_a_paid_order_reaches_staff_and_the_backend_once(
        make_shopbot: Callable[..., Awaitable[Harness]], api: FakeBotAPI, trade: str) -> None:
    from tests.conftest import queued
    from tests.test_staff import STAFF, in_topic, topic_of

    api.forum(STAFF)
    bot = await make_shopbot(shop_file=TRADES[trade], payment_provider_token=TOKEN,
                             staff_chat_id=STAFF, order_webhook_url="http://127.0.0.1:9/hook",
                             order_webhook_secret="webhook-secret", admin_ids="5550001")
    product, variant = cheapest(bot.app.shop)
    shopper = api.new_shopper(language_code="en", first_name="Lena")
    payload = await checkout(bot, api, shopper, product, variant)
    updates = api.pay(shopper, payload, address={"country_code": "RU"})
    for update in [*updates, updates[-1]]:  # the payment told twice
        await bot.feed(update)
    card = [m.get("text", "") for m in in_topic(api, topic_of(api, shopper))]
    assert sum(text.startswith("💳") and f"TG-{payload}" in text for text in card) == 1
    jobs = [job for job in await queued(bot.app) if job.startswith("order_webhook:")]
    assert jobs == [f"order_webhook:TG-{payload}"]
    # The owner is told once, in the shop's language.
    told = [c for c in api.sent_to(5550001) if f"TG-{payload}" in str(c.params.get("text"))]
    assert len(told) == 1


async def test_stars_only_for_digital_products(
        make_shopbot: Callable[..., Awaitable[Harness]], api: FakeBotAPI, trade: str,
        tmp_path: Path) -> None:
    data = yaml.safe_load(TRADES[trade].read_text(encoding="utf-8"))
    gift_card = {"id": "digital-voucher", "category": data["products"][0]["category"],
                 "name": {"en": "Gift card", "ru": "Подарочная карта", "zh-hans": "礼品卡",
                          "zh-hant": "禮品卡"},
                 "price": 1000, "digital": True, "stars": 500}
    data["products"].append(gift_card)
    path = tmp_path / "shop.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    # No provider: the digital product is still sold, in Stars.
    bot = await make_shopbot(shop_file=path)
    shopper = api.new_shopper(language_code="ru")
    await bot.send(shopper, "/start")
    await press(bot, shopper, pack(actions.OrderProduct("digital-voucher")))
    await press(bot, shopper, "cart:c:0")
    [sent] = invoices(api, shopper)
    assert sent.params["currency"] == "XTR" and sent.params["prices"][0]["amount"] == 500
    assert not sent.params.get("need_shipping_address")
    # Goods that would need a provider do not go into the cart: how to order, as before.
    product, variant = cheapest(bot.app.shop)
    await take(bot, shopper, product, variant)
    carts = bot.app.assistant.carts
    assert carts is not None
    assert [line.product.id for line in (await carts.view(shopper.id)).lines] == [
        "digital-voucher"]


async def test_the_cart_survives_a_restart(
        make_shopbot: Callable[..., Awaitable[Harness]], api: FakeBotAPI, trade: str) -> None:
    bot = await make_shopbot(shop_file=TRADES[trade], payment_provider_token=TOKEN)
    product, variant = cheapest(bot.app.shop, stock=2)
    shopper = api.new_shopper(language_code="zh-hans")
    await bot.send(shopper, "/start")
    await take(bot, shopper, product, variant)
    await press(bot, shopper, "cart:p:0")
    await bot.stop()
    again = await make_shopbot(shop_file=TRADES[trade], payment_provider_token=TOKEN)
    said = "\n".join(await again.send(shopper, "/cart"))
    name = again.app.shop.text(product.name, "zh-hans")
    assert name is not None and name in said and "× 2" in said


async def test_the_address_must_be_where_the_shop_ships(
        make_shopbot: Callable[..., Awaitable[Harness]], api: FakeBotAPI, trade: str,
        tmp_path: Path) -> None:
    data = yaml.safe_load(TRADES[trade].read_text(encoding="utf-8"))
    data.setdefault("policy", {})["ships_to"] = ["RU", "KZ"]
    path = tmp_path / "shop.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    bot = await make_shopbot(shop_file=path, payment_provider_token=TOKEN)
    product, variant = cheapest(bot.app.shop)
    shopper = api.new_shopper(language_code="ru")
    payload = await checkout(bot, api, shopper, product, variant)
    abroad = await pay(bot, api, shopper, payload, country="DE")
    assert abroad["shipping"]["ok"] is False
    assert abroad["shipping"]["error_message"] == bot.app.texts.render(
        "payment_refused", "ru", reason="country").strip()
    home = await pay(bot, api, shopper, payload, country="KZ")
    assert home["shipping"]["ok"] is True and "refused" not in home


async def test_a_long_cart_and_a_business_chat_pay_through_a_link(
        paying: Harness, api: FakeBotAPI) -> None:
    shop = paying.app.shop
    lines = [(p, v) for p in shop.products for v in p.variants if v.stock > 0][:11]
    assert len(lines) == 11
    shopper = api.new_shopper(language_code="en")
    await paying.send(shopper, "/start")
    for product, variant in lines:
        await take(paying, shopper, product, variant)
    calls = await paying.feed(api.callback_update(shopper, "cart:c:0"))
    assert any(c.method == "createInvoiceLink" and c.ok for c in calls)
    [link] = [c for c in calls if c.method == "sendMessage" and c.chat_id == shopper.id]
    button = link.params["reply_markup"]["inline_keyboard"][0][0]
    assert button["url"].startswith("https://t.me/$")
    assert not invoices(api, shopper)
    # The shop's own account (Telegram Business) takes no invoice message: a link there too.
    from tests.test_business import connect, owner

    await connect(paying)
    buyer = api.new_shopper(language_code="en")
    product, variant = cheapest(shop)
    await paying.feed(api.business_message_update("bc-1", buyer, "Hello"))
    await paying.feed(api.business_callback_update("bc-1", buyer, picks(product, variant)))
    await paying.feed(api.business_callback_update(
        "bc-1", buyer, pack(actions.OrderProduct(product.id))))
    await paying.feed(api.business_callback_update("bc-1", buyer, "cart:c:0"))
    sent = api.business_sent("bc-1", buyer.id)[-1]
    assert sent.params["reply_markup"]["inline_keyboard"][0][0]["url"].startswith("https://t.me/$")
    assert not invoices(api, buyer) and owner()


async def test_the_pre_checkout_is_answered_while_the_chat_is_busy(
        api: FakeBotAPI, prefix: str, tmp_path: Path) -> None:
    """Through the webhook, as deployed: the shopper's chat is held up (a send that takes
    5 s), and the pre-checkout is answered at once all the same."""
    import aiohttp

    from tests.test_inbox import SECRET, start_shopbot, until
    from tests.test_running import free_port

    port = free_port()
    bot = await start_shopbot(api, prefix, port, tmp_path, PAYMENT_PROVIDER_TOKEN=TOKEN)
    url = f"http://127.0.0.1:{port}/hook"
    shop = load_shop(DEMO_SHOP)
    product, variant = cheapest(shop)
    shopper = api.new_shopper(language_code="en")

    async def post(update: dict) -> None:
        async with aiohttp.ClientSession() as http, http.post(url, json=update, headers={
                "X-Telegram-Bot-Api-Secret-Token": SECRET}) as response:
            assert response.status == 200

    async def answered(method: str, count: int) -> None:
        async def done() -> bool:
            return len([c for c in api.calls if c.method == method and c.answered]) >= count
        await until(done, 60, f"{count} {method}")

    try:
        await post(api.message_update(shopper, "/start"))
        await answered("sendMessage", 1)
        await post(api.callback_update(shopper, picks(product, variant)))
        await answered("answerCallbackQuery", 1)
        await post(api.callback_update(shopper, pack(actions.OrderProduct(product.id))))
        await answered("answerCallbackQuery", 2)
        await post(api.callback_update(shopper, "cart:c:0"))
        await answered("sendInvoice", 1)
        payload = str(invoices(api, shopper)[-1].params["payload"])
        api.slow("sendMessage", 5.0, chat_id=shopper.id)
        await post(api.message_update(shopper, "one more question"))  # held up 5 s
        query = api.pre_checkout_query_update(shopper, payload)
        await post(query)  # answered before this returns
        answer = api.pre_checkout_answers[query["pre_checkout_query"]["id"]]
        assert answer["ok"] is True and answer["after"] < 5.0
    finally:
        bot.terminate()
        assert await bot.wait() == 0
        print((tmp_path / "shopbot.log").read_text()[-3000:])
        print([str(c)[:200] for c in api.calls[-8:]])


async def test_a_payment_while_a_person_holds_the_chat_is_still_an_order(
        make_shopbot: Callable[..., Awaitable[Harness]], api: FakeBotAPI, trade: str) -> None:
    from tests.test_staff import STAFF

    api.forum(STAFF)
    bot = await make_shopbot(shop_file=TRADES[trade], payment_provider_token=TOKEN,
                             staff_chat_id=STAFF)
    product, variant = cheapest(bot.app.shop)
    shopper = api.new_shopper(language_code="en")
    payload = await checkout(bot, api, shopper, product, variant)
    await bot.send(shopper, "I want to talk to a person")
    assert bot.app.desk is not None and await bot.app.desk.holds(shopper.id)
    for update in api.pay(shopper, payload, address={"country_code": "RU"}):
        await bot.feed(update)
    order = await bot.app.orders.orders.get("TG-" + payload)
    assert order is not None and order.status == "paid"


async def test_forget_erases_the_cart_and_mydata_shows_it(
        paying: Harness, api: FakeBotAPI) -> None:
    product, variant = cheapest(paying.app.shop)
    shopper = api.new_shopper(language_code="en")
    await paying.send(shopper, "/start")
    await take(paying, shopper, product, variant)
    data = await paying.app.store.redis.get(paying.app.store.keys.cart(shopper.id))
    assert data is not None
    from bot.storage.privacy import ShopperRecords

    kept = await ShopperRecords(paying.app.store).gather(shopper.id)
    assert kept["cart"]["lines"][0]["product"] == product.id
    await paying.send(shopper, "/forget")
    await paying.feed(api.callback_update(shopper, pack(actions.Forget(sure=True))))
    assert not await paying.app.store.redis.exists(paying.app.store.keys.cart(shopper.id))
