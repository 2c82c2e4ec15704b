"""The fake Bot API's Telegram Payments: invoices through a provider and in Telegram Stars,
the shopper's shipping and pre-checkout queries, the payment and a Stars refund, driven
through a real aiogram Bot and session."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import LabeledPrice, Message, ShippingOption, Update
from aiohttp import ClientSession

from bot.devtools.fake_bot_api import FakeBotAPI, Shopper

TOKEN = "123456:TEST-token"
PROVIDER = "284685063:TEST:fake-provider"
TEA = [LabeledPrice(label="Green tea", amount=1200), LabeledPrice(label="Gift wrap", amount=300)]
OPTIONS = [
    ShippingOption(id="post", title="Royal Mail", prices=[LabeledPrice(label="Post", amount=250)]),
    ShippingOption(id="express", title="Courier",
                   prices=[LabeledPrice(label="Courier", amount=700),
                           LabeledPrice(label="Insurance", amount=50)]),
]


async def tea_invoice(fake_bot: Bot, chat_id: int, payload: str = "order:42", **kw: Any) -> Message:
    fields: dict[str, Any] = {
        "title": "Green tea", "description": "100 g of Sencha, wrapped as a gift",
        "payload": payload, "provider_token": PROVIDER, "currency": "GBP", "prices": TEA, **kw}
    return await fake_bot.send_invoice(chat_id, **fields)


async def stars_invoice(fake_bot: Bot, chat_id: int, payload: str = "ebook:7",
                        amount: int = 50) -> Message:
    return await fake_bot.send_invoice(chat_id, title="Tea guide", description="The e-book",
                                  payload=payload, currency="XTR",
                                  prices=[LabeledPrice(label="E-book", amount=amount)])


async def test_send_invoice_delivers_an_invoice_message(api: FakeBotAPI, fake_bot: Bot) -> None:
    ann = api.new_shopper(first_name="Ann")
    events: list[tuple[str, dict[str, Any]]] = []
    api.listeners.append(lambda event, payload: events.append((event, payload)))

    sent = await tea_invoice(fake_bot, ann.id, start_parameter="tea", need_shipping_address=True,
                             photo_url="https://example.com/tea.jpg")

    assert sent.invoice is not None
    assert (sent.invoice.title, sent.invoice.currency, sent.invoice.total_amount) == (
        "Green tea", "GBP", 1500)
    assert sent.invoice.start_parameter == "tea"
    assert sent.chat.id == ann.id and sent.from_user and sent.from_user.id == 123456
    [call] = api.sent_to(ann.id)
    assert call.method == "sendInvoice" and call.result["message_id"] == sent.message_id
    assert api.messages[(ann.id, sent.message_id)]["invoice"]["total_amount"] == 1500
    assert [e for e, _ in events] == ["message"]
    invoice = api.invoices["order:42"]
    assert invoice["chat_id"] == ann.id and invoice["message_id"] == sent.message_id
    assert invoice["prices"] == [{"label": "Green tea", "amount": 1200},
                                 {"label": "Gift wrap", "amount": 300}]
    assert invoice["provider_token"] == PROVIDER and invoice["total_amount"] == 1500
    assert invoice["need_shipping_address"] is True and invoice["is_flexible"] is False

    await tea_invoice(fake_bot, ann.id, prices=[LabeledPrice(label="Tin", amount=900)])
    assert api.invoices["order:42"]["total_amount"] == 900  # the latest with a payload wins


async def test_a_stars_invoice_takes_no_provider_and_one_price(api: FakeBotAPI,
                                                               fake_bot: Bot) -> None:
    ann = api.new_shopper()
    sent = await stars_invoice(fake_bot, ann.id)
    assert sent.invoice and (sent.invoice.currency, sent.invoice.total_amount) == ("XTR", 50)
    assert api.invoices["ebook:7"]["provider_token"] == ""

    with pytest.raises(TelegramBadRequest, match="PAYMENT_PROVIDER_INVALID"):
        await fake_bot.send_invoice(ann.id, "Tea guide", "The e-book", "ebook:8", "XTR",
                               [LabeledPrice(label="E-book", amount=50)],
                               provider_token=PROVIDER)
    with pytest.raises(TelegramBadRequest, match="STARS_INVOICE_INVALID"):
        await fake_bot.send_invoice(ann.id, "Tea guide", "The e-book", "ebook:8", "XTR", TEA)
    with pytest.raises(TelegramBadRequest, match="PAYMENT_PROVIDER_INVALID"):
        await tea_invoice(fake_bot, ann.id, provider_token="")
    # What to ask a buyer for is ignored for digital goods, as in Telegram.
    await fake_bot.send_invoice(ann.id, "Tea guide", "The e-book", "ebook:9", "XTR",
                           [LabeledPrice(label="E-book", amount=50)],
                           need_shipping_address=True, is_flexible=True)
    assert api.invoices["ebook:9"]["need_shipping_address"] is False
    assert len(api.sent_to(ann.id)) == 2


@pytest.mark.parametrize(("change", "error"), [
    ({"title": "T" * 33}, "Bad Request: INVOICE_TITLE_INVALID"),
    ({"title": ""}, "Bad Request: INVOICE_TITLE_EMPTY"),
    ({"description": "D" * 256}, "Bad Request: INVOICE_DESCRIPTION_INVALID"),
    ({"payload": "п" * 65}, "Bad Request: INVOICE_PAYLOAD_INVALID"),  # 130 bytes
    ({"payload": ""}, "Bad Request: INVOICE_PAYLOAD_INVALID"),
    ({"currency": "gbp"}, "Bad Request: CURRENCY_INVALID"),
    ({"prices": []}, "Bad Request: prices must be non-empty"),
    ({"prices": [LabeledPrice(label="Free", amount=0)]},
     "Bad Request: CURRENCY_TOTAL_AMOUNT_INVALID"),
    ({"prices": [LabeledPrice(label="Tea", amount=500), LabeledPrice(label="Off", amount=-600)]},
     "Bad Request: CURRENCY_TOTAL_AMOUNT_INVALID"),
])
async def test_invalid_invoices_are_refused_like_telegram(api: FakeBotAPI, fake_bot: Bot,
                                                          change: dict[str, Any],
                                                          error: str) -> None:
    ann = api.new_shopper()
    with pytest.raises(TelegramBadRequest) as refused:
        await tea_invoice(fake_bot, ann.id, **change)
    assert refused.value.message == error
    assert api.sent_to(ann.id) == [] and api.invoices == {}
    [call] = api.calls_for(ann.id, "sendInvoice")
    assert not call.ok and call.result["error_code"] == 400


async def test_raw_json_prices_as_a_string_and_bad_amounts(api: FakeBotAPI) -> None:
    ann = api.new_shopper()
    body = {"chat_id": ann.id, "title": "Tea", "description": "Sencha", "payload": "42",
            "provider_token": PROVIDER, "currency": "EUR",
            "prices": '[{"label": "Tea", "amount": 990}]'}
    async with ClientSession() as http:
        async with http.post(f"{api.url}/bot{TOKEN}/sendInvoice", json=body) as resp:
            sent = await resp.json()
        bad = {**body, "prices": '[{"label": "Tea", "amount": "9.90"}]'}
        async with http.post(f"{api.url}/bot{TOKEN}/sendInvoice", json=bad) as resp:
            refused = await resp.json()
    assert sent["ok"] and sent["result"]["invoice"]["total_amount"] == 990
    assert "42" in api.invoices  # a payload that looks like a number stays a string
    assert refused == {"ok": False, "error_code": 400,
                       "description": "Bad Request: can't parse prices JSON object"}


async def test_create_invoice_link(api: FakeBotAPI, fake_bot: Bot) -> None:
    link = await fake_bot.create_invoice_link("Tea guide", "The e-book", "ebook:7", "XTR",
                                         [LabeledPrice(label="E-book", amount=75)])
    assert link == "https://t.me/$fake-invoice-1"
    assert api.invoices["ebook:7"]["chat_id"] is None
    assert api.invoices["ebook:7"]["total_amount"] == 75
    second = await fake_bot.create_invoice_link("Tea", "Sencha", "order:1", "GBP", TEA,
                                           provider_token=PROVIDER)
    assert second == "https://t.me/$fake-invoice-2"
    with pytest.raises(TelegramBadRequest, match="PAYMENT_PROVIDER_INVALID"):
        await fake_bot.create_invoice_link("Tea", "Sencha", "order:2", "GBP", TEA)


async def test_paying_a_flexible_invoice_with_shipping(api: FakeBotAPI, fake_bot: Bot) -> None:
    ann = api.new_shopper(first_name="Ann", last_name="Lee")
    await tea_invoice(fake_bot, ann.id, need_shipping_address=True, is_flexible=True,
                      need_name=True, need_email=True)
    events: list[dict[str, Any]] = []
    api.listeners.append(lambda event, payload: event == "payment" and events.append(payload))

    shipping, check, payment = api.pay(ann, "order:42", shipping_option_id="express",
                                        address={"city": "Leeds", "post_code": "LS1 1AA"})
    for update in (shipping, check, payment):
        Update.model_validate(update)  # every one is what aiogram reads
    query = shipping["shipping_query"]
    assert query["shipping_address"]["city"] == "Leeds"
    assert query["from"]["id"] == ann.id and query["invoice_payload"] == "order:42"
    assert (ann.id, 0) not in api.messages  # the payment joins the chat only when pushed

    api.push_update(shipping)
    [got] = await fake_bot.get_updates(timeout=0)
    assert got.shipping_query and got.shipping_query.shipping_address.post_code == "LS1 1AA"
    assert await fake_bot.answer_shipping_query(got.shipping_query.id, ok=True,
                                           shipping_options=OPTIONS)
    answer = api.shipping_answers[query["id"]]
    assert answer["ok"] is True and [o["id"] for o in answer["shipping_options"]] == [
        "post", "express"]
    assert answer["user_id"] == ann.id and answer["invoice_payload"] == "order:42"
    with pytest.raises(TelegramBadRequest, match="QUERY_ID_INVALID"):  # answered already
        await fake_bot.answer_shipping_query(query["id"], ok=True, shipping_options=OPTIONS)

    # The chosen option is filled in now that the bot offered it: 1500 + 700 + 50.
    assert check["pre_checkout_query"]["shipping_option_id"] == "express"
    assert check["pre_checkout_query"]["total_amount"] == 2250
    api.push_update(check)
    [got] = await fake_bot.get_updates(offset=got.update_id + 1, timeout=0)
    pre = got.pre_checkout_query
    assert pre and (pre.currency, pre.total_amount, pre.invoice_payload) == (
        "GBP", 2250, "order:42")
    assert pre.order_info and pre.order_info.name == "Ann Lee"
    assert pre.order_info.email and pre.order_info.shipping_address
    assert pre.order_info.shipping_address.city == "Leeds"
    assert await fake_bot.answer_pre_checkout_query(pre.id, ok=True)
    accepted = api.pre_checkout_answers[pre.id]
    assert accepted["ok"] is True and 0 <= accepted["after"] < 5
    assert accepted["total_amount"] == 2250 and accepted["user_id"] == ann.id

    api.push_update(payment)
    [got] = await fake_bot.get_updates(offset=got.update_id + 1, timeout=0)
    assert got.message and got.message.successful_payment
    paid = got.message.successful_payment
    assert (paid.currency, paid.total_amount, paid.shipping_option_id) == ("GBP", 2250,
                                                                           "express")
    assert paid.telegram_payment_charge_id and paid.provider_payment_charge_id
    assert got.message.from_user and got.message.from_user.id == ann.id
    assert got.message.message_id > 1  # after the invoice, in the shopper's chat
    assert api.messages[(ann.id, got.message.message_id)]["successful_payment"][
        "total_amount"] == 2250
    assert api.payments[paid.telegram_payment_charge_id]["user_id"] == ann.id
    assert [(e["kind"], e["ok"], e["chat_id"]) for e in events] == [
        ("shipping", True, ann.id), ("pre_checkout", True, ann.id)]


async def test_pay_skips_shipping_when_the_price_does_not_depend_on_it(api: FakeBotAPI,
                                                                        fake_bot: Bot) -> None:
    ann = api.new_shopper()
    await tea_invoice(fake_bot, ann.id, need_shipping_address=True, need_phone_number=True)
    check, payment = api.pay(ann, "order:42")
    assert check["pre_checkout_query"]["total_amount"] == 1500
    info = check["pre_checkout_query"]["order_info"]
    assert info["phone_number"] and info["shipping_address"]["country_code"] == "GB"
    assert "shipping_option_id" not in check["pre_checkout_query"]
    assert Update.model_validate(payment).message.successful_payment.order_info  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="no invoice"):
        api.pay(ann, "order:unknown")


async def test_answer_shipping_query_refusals(api: FakeBotAPI, fake_bot: Bot) -> None:
    ann = api.new_shopper()
    await tea_invoice(fake_bot, ann.id, need_shipping_address=True, is_flexible=True)
    query_id = api.shipping_query_update(ann, "order:42")["shipping_query"]["id"]

    with pytest.raises(TelegramBadRequest, match="QUERY_ID_INVALID"):
        await fake_bot.answer_shipping_query("12345", ok=True, shipping_options=OPTIONS)
    with pytest.raises(TelegramBadRequest, match="SHIPPING_OPTIONS_EMPTY"):
        await fake_bot.answer_shipping_query(query_id, ok=True)
    with pytest.raises(TelegramBadRequest, match="ERROR_MESSAGE_EMPTY"):
        await fake_bot.answer_shipping_query(query_id, ok=False)
    with pytest.raises(TelegramBadRequest, match="SHIPPING_ID_DUPLICATE"):
        await fake_bot.answer_shipping_query(query_id, ok=True, shipping_options=OPTIONS[:1] * 2)
    assert api.shipping_answers == {}
    # Refused answers leave the query open; a proper one closes it.
    assert await fake_bot.answer_shipping_query(query_id, ok=False,
                                           error_message="We don't ship there")
    assert api.shipping_answers[query_id]["error_message"] == "We don't ship there"
    assert api.calls_for(ann.id, "answerShippingQuery")[-1].ok
    with pytest.raises(TelegramBadRequest, match="QUERY_ID_INVALID"):
        await fake_bot.answer_shipping_query(query_id, ok=False, error_message="again")


async def test_pre_checkout_default_total_has_the_chosen_shipping(api: FakeBotAPI,
                                                                  fake_bot: Bot) -> None:
    ann = api.new_shopper()
    await tea_invoice(fake_bot, ann.id, need_shipping_address=True, is_flexible=True)
    query_id = api.shipping_query_update(ann, "order:42")["shipping_query"]["id"]
    await fake_bot.answer_shipping_query(query_id, ok=True, shipping_options=OPTIONS)
    update = api.pre_checkout_query_update(ann, "order:42", shipping_option_id="post")
    assert update["pre_checkout_query"]["total_amount"] == 1750
    given = api.pre_checkout_query_update(ann, "other", currency="USD", total_amount=5)
    assert Update.model_validate(given).pre_checkout_query.total_amount == 5  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="no invoice"):
        api.pre_checkout_query_update(ann, "other")


async def test_answer_pre_checkout_query_refusals_and_timeout(api: FakeBotAPI,
                                                              fake_bot: Bot) -> None:
    ann = api.new_shopper()
    await tea_invoice(fake_bot, ann.id)
    declined = api.pre_checkout_query_update(ann, "order:42")["pre_checkout_query"]["id"]
    with pytest.raises(TelegramBadRequest, match="QUERY_ID_INVALID"):
        await fake_bot.answer_pre_checkout_query("999", ok=True)
    with pytest.raises(TelegramBadRequest, match="ERROR_MESSAGE_EMPTY"):
        await fake_bot.answer_pre_checkout_query(declined, ok=False)
    assert await fake_bot.answer_pre_checkout_query(declined, ok=False,
                                               error_message="Sold out, sorry")
    assert api.pre_checkout_answers[declined]["ok"] is False
    assert api.pre_checkout_answers[declined]["error_message"] == "Sold out, sorry"
    with pytest.raises(TelegramBadRequest, match="QUERY_ID_INVALID"):
        await fake_bot.answer_pre_checkout_query(declined, ok=True)

    api.pre_checkout_timeout = 0.05
    late = api.pre_checkout_query_update(ann, "order:42")
    api.push_update(late)
    await asyncio.sleep(0.1)
    with pytest.raises(TelegramBadRequest) as refused:
        await fake_bot.answer_pre_checkout_query(late["pre_checkout_query"]["id"], ok=True)
    assert refused.value.message == "Bad Request: QUERY_ID_INVALID"
    assert late["pre_checkout_query"]["id"] not in api.pre_checkout_answers


async def test_stars_payment_and_refund(api: FakeBotAPI, fake_bot: Bot) -> None:
    ann, bob = api.new_shopper(first_name="Ann"), api.new_shopper(first_name="Bob")
    await stars_invoice(fake_bot, ann.id)
    check, payment = api.pay(ann, "ebook:7")
    assert check["pre_checkout_query"]["currency"] == "XTR"
    assert "order_info" not in check["pre_checkout_query"]
    paid = payment["message"]["successful_payment"]
    assert paid["provider_payment_charge_id"] == "" and paid["total_amount"] == 50
    charge = paid["telegram_payment_charge_id"]
    api.push_update(payment)
    assert Update.model_validate(payment).message.successful_payment.currency == "XTR"  # type: ignore[union-attr]

    with pytest.raises(TelegramBadRequest, match="CHARGE_NOT_FOUND"):
        await fake_bot.refund_star_payment(bob.id, charge)  # not Bob's
    with pytest.raises(TelegramBadRequest, match="CHARGE_NOT_FOUND"):
        await fake_bot.refund_star_payment(ann.id, "stxNOPE")
    assert await fake_bot.refund_star_payment(ann.id, charge)
    assert api.refunds[charge]["total_amount"] == 50
    assert api.refunds[charge]["user_id"] == ann.id
    with pytest.raises(TelegramBadRequest, match="CHARGE_ALREADY_REFUNDED"):
        await fake_bot.refund_star_payment(ann.id, charge)

    await tea_invoice(fake_bot, ann.id)
    money = api.successful_payment_update(ann, "order:42")["message"]["successful_payment"]
    with pytest.raises(TelegramBadRequest, match="CHARGE_NOT_FOUND"):  # not Stars
        await fake_bot.refund_star_payment(ann.id, money["telegram_payment_charge_id"])


async def test_the_same_charge_id_is_the_same_payment_again(api: FakeBotAPI,
                                                            fake_bot: Bot) -> None:
    ann = Shopper(id=700_123_456, first_name="Ann")
    await stars_invoice(fake_bot, ann.id, amount=20)
    first = api.successful_payment_update(ann, "ebook:7", telegram_payment_charge_id="stx1")
    again = api.successful_payment_update(ann, "ebook:7", telegram_payment_charge_id="stx1",
                                           total_amount=999)
    assert first["update_id"] != again["update_id"]
    assert again["message"] == first["message"]
    assert again["message"]["successful_payment"]["total_amount"] == 20
    other = api.successful_payment_update(ann, "ebook:7")
    assert other["message"]["message_id"] == first["message"]["message_id"] + 1
    assert other["message"]["successful_payment"]["telegram_payment_charge_id"] != "stx1"
    for update in (first, again, other):
        assert Update.model_validate(update).message.successful_payment  # type: ignore[union-attr]
