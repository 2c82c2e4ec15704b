"""Paying in the chat: the cart's buttons, the Telegram invoice for it, Telegram's shipping
and pre-checkout queries, and a payment becoming the shop's order (bot/domain/cart.py holds
the rules).

An invoice is for goods through the payment provider (PAYMENT_PROVIDER_TOKEN, in the shop's
currency), or in Telegram Stars (`XTR`) when the cart holds only digital products priced in
Stars. Its payload is the checkout's id: what the pre-checkout reserves and the payment
turns into an order.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any

from aiogram import Router
from aiogram.filters import BaseFilter, Command
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LabeledPrice,
    Message,
    PreCheckoutQuery,
    ShippingOption,
    ShippingQuery,
)
from babel.numbers import get_currency_precision

from bot.app.config import Settings
from bot.core.languages import Lang, from_telegram
from bot.core.shop import Shop
from bot.domain.actions import CheckOut
from bot.domain.cart import CartLine, Carts, Checkout
from bot.domain.conversation import Assistant
from bot.domain.followups import Followups
from bot.domain.order_desk import OrderDesk
from bot.domain.orders import ItemIn, OrderEventIn
from bot.domain.ports import Courier
from bot.storage.store import Customer, Store
from handlers.callback_data import CartData
from handlers.present import answer, invoice_link, send, send_invoice
from handlers.staff_desk import StaffDesk
from handlers.texts import Texts, plain

log = logging.getLogger(__name__)

STARS = "XTR"
LINK_AFTER = 10  # lines: a longer cart is paid through a link to its invoice
TITLE_LIMIT, DESCRIPTION_LIMIT, LABEL_LIMIT = 32, 255, 64  # Telegram's, in characters


def minor(amount: Decimal, currency: str) -> int:
    """An amount in the currency's smallest unit, as Telegram takes prices."""
    digits = 0 if currency == STARS else get_currency_precision(currency)
    return int((amount * (10 ** digits)).to_integral_value())


def major(amount: int, currency: str) -> Decimal:
    digits = 0 if currency == STARS else get_currency_precision(currency)
    return Decimal(amount) / (10 ** digits)


def _fit(text: str, limit: int) -> str:
    text = " ".join(plain(text).split())
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


class HasPayment(BaseFilter):
    async def __call__(self, message: Message) -> bool:
        return message.successful_payment is not None


# -- the cart's buttons ----------------------------------------------------------------------

async def cart_button(query: CallbackQuery, callback_data: CartData, assistant: Assistant,
                      customer: Customer, texts: Texts, settings: Settings,
                      carts: Carts | None = None) -> None:
    if not isinstance(query.message, Message) or carts is None:
        await query.answer(plain(texts.render("stale_button", customer.lang)))
        return
    action = callback_data.action()
    await query.answer()
    if isinstance(action, CheckOut):
        await check_out(query.message, assistant, carts, customer, texts, settings)
        return
    replies = await assistant.cart_press(customer, action)
    if replies is None:
        replies = [assistant.cart_reply(customer, await carts.view(customer.id))]
    await send(query.message, replies, texts, customer.lang)


async def cart_command(message: Message, assistant: Assistant, customer: Customer,
                       texts: Texts, carts: Carts | None = None) -> None:
    """/cart: the cart as it is."""
    if carts is None:
        await send(message, [assistant.order_info(customer)], texts, customer.lang)
        return
    await send(message, [assistant.cart_reply(customer, await carts.view(customer.id))],
               texts, customer.lang)


async def check_out(message: Message, assistant: Assistant, carts: Carts, customer: Customer,
                    texts: Texts, settings: Settings) -> None:
    """The invoice for the cart; or the cart again, when something in it ran out."""
    result = await carts.checkout(customer.id)
    if result is None or isinstance(result, list):
        view = await carts.view(customer.id)
        await send(message, [assistant.cart_reply(customer, view, short=result or [])],
                   texts, customer.lang)
        return
    fields = invoice(result, texts, customer.lang, assistant.shop, settings)
    if fields is None:
        # Goods that need the provider, and no provider: the shop's way to order.
        await send(message, [assistant.order_info(customer)], texts, customer.lang)
        return
    assert message.bot is not None
    # A business chat takes no invoice message (the bot writes there as the shop's
    # account): the invoice goes as a link, as for a cart too long for one.
    if len(result.view.lines) > LINK_AFTER or message.business_connection_id:
        link = await invoice_link(message.bot, fields)
        pay = texts.label("pay", customer.lang)
        await answer(message, texts.render("invoice_link", customer.lang), markup=(
            InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(text=pay, url=link)]])))
        return
    await send_invoice(message.bot, message.chat.id, fields)


def invoice(checkout: Checkout, texts: Texts, lang: Lang, shop: Shop,
            settings: Settings) -> dict[str, Any] | None:
    """The fields of the checkout's invoice; None when it cannot be paid in the chat."""
    view = checkout.view
    currency = shop.currency

    def part(name: str, line: CartLine | None = None, **context: Any) -> str:
        return texts.render("invoice", lang, piece=name, line=line, shop=shop, **context)

    common: dict[str, Any] = {
        "title": _fit(part("title"), TITLE_LIMIT),
        "description": _fit(part("description", lines=view.lines), DESCRIPTION_LIMIT),
        "payload": checkout.id,
    }
    if view.stars is not None:
        return {**common, "currency": STARS, "provider_token": "",
                "prices": [LabeledPrice(label=_fit(part("items", lines=view.lines), LABEL_LIMIT),
                                        amount=view.stars)]}
    if settings.payment_provider_token is None:
        return None
    return {**common, "currency": currency,
            "provider_token": settings.payment_provider_token.get_secret_value(),
            "prices": [LabeledPrice(label=_fit(part("line", line), LABEL_LIMIT),
                                    amount=minor(line.total, currency))
                       for line in view.lines],
            # Where it ships, the address is asked; the delivery is priced for it when the
            # shop sets a price or limits where it ships (else the shop says nothing of it).
            "need_shipping_address": view.ships,
            "is_flexible": view.ships and (view.shipping is not None
                                           or bool(shop.policy.ships_to))}


# -- Telegram's queries, answered at once -----------------------------------------------------

async def shipping(query: ShippingQuery, carts: Carts | None, texts: Texts, store: Store,
                   assistant: Assistant) -> None:
    """Where the shopper wants it: the delivery for this checkout, free over the shop's
    threshold (as the cart said), or why the shop cannot ship there."""
    lang = await _lang(store, query.from_user.id, query.from_user.language_code)
    record = await carts.invoiced(query.invoice_payload) if carts else None
    if record is None:
        await query.answer(ok=False, error_message=plain(texts.render(
            "payment_refused", lang, reason="gone")))
        return
    ships_to = assistant.shop.policy.ships_to
    if ships_to and query.shipping_address.country_code.upper() not in ships_to:
        await query.answer(ok=False, error_message=plain(texts.render(
            "payment_refused", lang, reason="country")))
        return
    cost = Decimal(record.get("shipping") or 0)
    free = record.get("shipping") is not None and not cost  # said free in the cart
    title = _fit(texts.render("invoice", lang, piece="free_delivery" if free else "delivery",
                              line=None), LABEL_LIMIT)
    await query.answer(ok=True, shipping_options=[ShippingOption(
        id="delivery", title=title,
        prices=[LabeledPrice(label=title, amount=minor(cost, record["currency"]))])])


async def pre_checkout(query: PreCheckoutQuery, carts: Carts | None, texts: Texts,
                       store: Store) -> None:
    """The last word before the money moves (Telegram waits 10 seconds for it): the stock
    is held for this checkout, or the payment refused with why."""
    lang = await _lang(store, query.from_user.id, query.from_user.language_code)
    reason = await carts.reserve(query.invoice_payload) if carts else "gone"
    record = await carts.invoiced(query.invoice_payload) if carts else None
    if reason == "ok" and record is not None and not _amount_fits(query, record):
        reason = "gone"  # not the invoice this checkout made
    if reason == "ok":
        await query.answer(ok=True)
        return
    log.info("pre-checkout of %s refused: %s", query.invoice_payload, reason)
    await query.answer(ok=False, error_message=plain(texts.render(
        "payment_refused", lang, reason=reason)))


def _amount_fits(query: PreCheckoutQuery, record: dict[str, Any]) -> bool:
    if query.currency == STARS:
        return record.get("stars") is not None and query.total_amount == int(record["stars"])
    items = minor(Decimal(record["subtotal"]), record["currency"])
    shipping = minor(Decimal(record.get("shipping") or 0), record["currency"])
    return query.currency == record["currency"] and query.total_amount in (
        items, items + shipping)


async def _lang(store: Store, user_id: int, telegram: str | None) -> Lang:
    customer = await store.customer(user_id)
    return customer.lang if customer is not None else from_telegram(telegram)


# -- the payment ------------------------------------------------------------------------------

async def paid(message: Message, carts: Carts | None, order_desk: OrderDesk,
               customer: Customer, assistant: Assistant, texts: Texts,
               desk: StaffDesk | None, followups: Followups, settings: Settings,
               courier: Courier) -> None:
    """Telegram took the money: the checkout becomes the shop's order, once (Telegram may
    send the same payment again), as the backend's `created` and `paid` would make it."""
    payment = message.successful_payment
    assert payment is not None
    record = await carts.paid(payment.invoice_payload,
                              payment.telegram_payment_charge_id) if carts else None
    if record is None:
        return
    shop = assistant.shop
    lang = shop.default_language
    items = []
    for item in record["lines"]:
        product = shop.product(item["product"])
        name = item["product"] if product is None else plain(texts.render(
            "invoice", lang, piece="name",
            line=CartLine(product, None, item["options"], int(item["quantity"]))))
        items.append(ItemIn(product=item["product"], name=name[:200],
                            quantity=int(item["quantity"]), price=float(item["unit"])))
    order_id = "TG-" + payment.invoice_payload
    booked = float(major(payment.total_amount, payment.currency)) \
        if payment.currency != STARS else float(Decimal(record["subtotal"]))
    await order_desk.report(OrderEventIn(order_id=order_id, event="created",
                                         customer_id=customer.id, items=items, total=booked))
    await order_desk.report(OrderEventIn(order_id=order_id, event="paid",
                                         customer_id=customer.id))
    log.info("order %s paid in the chat by %s: %s %s", order_id, customer.id,
             payment.total_amount, payment.currency)
    # The shop's backend hears of it (ORDER_WEBHOOK_URL), once per order.
    await followups.order_webhook(order_id, {
        "order_id": order_id, "customer_id": customer.id,
        "items": [item.model_dump(exclude_none=True) for item in items],
        "currency": payment.currency, "total": str(major(payment.total_amount, payment.currency)),
        "shipping_option": payment.shipping_option_id,
        "order_info": payment.order_info.model_dump(exclude_none=True)
        if payment.order_info else None,
        "telegram_payment_charge_id": payment.telegram_payment_charge_id,
        "provider_payment_charge_id": payment.provider_payment_charge_id})
    lines = [(item.name or "", item.quantity) for item in items]
    total = major(payment.total_amount, payment.currency)
    if desk is not None and desk.ready:
        await desk.paid_order(customer, order_id, lines, total, payment.currency)
    # The owners hear of it too, in the shop's language, as of a failed reload.
    notice = texts.render("staff/paid_order", lang, name=customer.first_name, order=order_id,
                          items=lines, total=total, currency=payment.currency)
    for admin in settings.admin_ids:
        await courier.send_text(admin, notice)


def register(router: Router) -> None:
    """Shipping and pre-checkout queries on the root router (handlers/routers.py): no chat
    to hold, no customer to load first, no wait."""
    router.shipping_query.register(shipping)
    router.pre_checkout_query.register(pre_checkout)


def register_payment(router: Router) -> None:
    """On the shoppers' router, before a person's hold (which passes every message on to
    staff): Telegram took the money, so the order is made whoever holds the chat."""
    router.message.register(paid, HasPayment())


def register_shoppers(router: Router) -> None:
    """On the shoppers' router, before the catch-all: the cart."""
    router.message.register(cart_command, Command("cart"))
    router.callback_query.register(cart_button, CartData.filter())
