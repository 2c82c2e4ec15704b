"""A cart in the chat, and its checkout: what the shopper chose (a product's variant, as
many as the stock allows), what it comes to with delivery, and the stock held while it
is paid. Plain rules over the shop file; bot/storage/carts.py keeps the records.

Stock is the shop file's, less what checkouts being paid (or paid, until the file's stock
is updated) hold: a sold-out variant cannot be added, and a checkout is refused when
another took the last one first.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from bot.core.shop import Localized, Product, Shop, Variant
from bot.storage.carts import CartRecords

HOLD = timedelta(minutes=15)  # stock held for a checkout from its pre-checkout on
MAX_QUANTITY = 99  # of one line: Telegram's pay sheet, and a sane chat cart


def line_key(product_id: str, options: dict[str, str]) -> str:
    return product_id + "|" + ",".join(f"{k}={v}" for k, v in sorted(options.items()))


@dataclass(frozen=True)
class CartLine:
    product: Product
    variant: Variant | None
    options: dict[str, str]
    quantity: int

    @property
    def key(self) -> str:
        return line_key(self.product.id, self.options)

    @property
    def unit(self) -> Decimal:
        price = self.variant.price if self.variant is not None else None
        return price or self.product.price or Decimal(0)

    @property
    def total(self) -> Decimal:
        return self.unit * self.quantity

    @property
    def stock(self) -> int | None:
        """The shop file's stock of this variant; None: not counted."""
        return self.variant.stock if self.variant is not None else self.product.stock

    def names(self) -> tuple[Localized, ...]:
        """The chosen values' names, in the product's option order."""
        return tuple(value.name for option in self.product.options
                     if (value := option.value(self.options.get(option.id, ""))) is not None)


@dataclass(frozen=True)
class CartView:
    lines: tuple[CartLine, ...]
    subtotal: Decimal
    shipping: Decimal | None  # delivery's cost; 0: free; None: nothing to ship, or not set
    free_from: Decimal | None  # the free-shipping threshold, while not reached
    # The whole cart in Telegram Stars, when it holds only digital products priced in them.
    stars: int | None

    @property
    def total(self) -> Decimal:
        return self.subtotal + (self.shipping or 0)

    @property
    def ships(self) -> bool:
        return any(not line.product.digital for line in self.lines)


@dataclass(frozen=True)
class Added:
    outcome: Literal["added", "no_more", "sold_out"]
    line: CartLine
    view: CartView
    left: int | None = None  # how many more could be added (no_more: 0)


@dataclass(frozen=True)
class Checkout:
    id: str
    customer: int
    view: CartView
    at: datetime

    def record(self, currency: str) -> dict[str, Any]:
        return {"customer": self.customer, "currency": currency, "at": self.at.timestamp(),
                "subtotal": str(self.view.subtotal), "stars": self.view.stars,
                "shipping": None if self.view.shipping is None else str(self.view.shipping),
                "lines": [{"product": line.product.id, "options": line.options,
                           "quantity": line.quantity, "unit": str(line.unit)}
                          for line in self.view.lines]}


class Carts:
    def __init__(self, records: CartRecords, shop: Callable[[], Shop],
                 clock: Callable[[], datetime], hold: timedelta = HOLD, *,
                 provider: bool = True) -> None:
        self.records = records
        self.shop = shop
        self.clock = clock
        self.hold = hold
        self.provider = provider  # a payment provider is set: goods are paid in the chat

    def accepts(self, product: Product) -> bool:
        """Whether the product can be paid for in the chat: through the provider, or in
        Stars for a digital product priced in them."""
        return self.provider or bool(product.digital and product.stars)

    # -- the cart ------------------------------------------------------------------------
    async def view(self, customer: int) -> CartView:
        return self._view(await self._lines(customer))

    async def add(self, customer: int, product: Product, options: dict[str, str],
                  quantity: int = 1) -> Added:
        """One more of a product's variant (the options that single it out)."""
        lines = await self._lines(customer)
        line = next((x for x in lines if x.key == line_key(product.id, options)), None)
        wanted = CartLine(product, _variant(product, options), options,
                          (line.quantity if line else 0) + quantity)
        left = await self._left(customer, wanted)
        if left is not None and left < 0:
            outcome: Literal["no_more", "sold_out"] = \
                "no_more" if line is not None or (wanted.stock or 0) > 0 else "sold_out"
            return Added(outcome, wanted, self._view(lines), max(0, left + quantity))
        if wanted.quantity > MAX_QUANTITY:
            return Added("no_more", wanted, self._view(lines), 0)
        lines = [wanted if x.key == wanted.key else x for x in lines] \
            if line is not None else [*lines, wanted]
        await self._save(customer, lines)
        return Added("added", wanted, self._view(lines), left)

    async def change(self, customer: int, index: int, delta: int) -> CartView | None:
        """One more or one fewer of a line (none left: the line goes); None for a line
        that is not in the cart (an old button)."""
        lines = await self._lines(customer)
        if not 0 <= index < len(lines):
            return None
        line = lines[index]
        changed = CartLine(line.product, line.variant, line.options, line.quantity + delta)
        if delta > 0:
            left = await self._left(customer, changed)
            if changed.quantity > MAX_QUANTITY or (left is not None and left < 0):
                return self._view(lines)  # no more to be had: the cart as it is
        lines[index:index + 1] = [changed] if changed.quantity > 0 else []
        await self._save(customer, lines)
        return self._view(lines)

    async def remove(self, customer: int, index: int) -> CartView | None:
        lines = await self._lines(customer)
        if not 0 <= index < len(lines):
            return None
        del lines[index]
        await self._save(customer, lines)
        return self._view(lines)

    async def empty(self, customer: int) -> None:
        await self.records.save(customer, [])

    # -- checkout ------------------------------------------------------------------------
    async def checkout(self, customer: int) -> Checkout | list[CartLine] | None:
        """The cart as it will be invoiced; the lines there is no longer enough of (the
        cart then holds what can be had); None for an empty cart."""
        lines = await self._lines(customer)
        if not lines:
            return None
        short = [line for line in lines
                 if (left := await self._left(customer, line)) is not None and left < 0]
        if short:
            return short
        checkout = Checkout("c" + secrets.token_hex(8), customer, self._view(lines),
                            self.clock())
        await self.records.save_checkout(checkout.id, checkout.record(self.shop().currency))
        await self.records.checked_out(customer, checkout.id)  # earlier invoices lapse
        return checkout

    async def invoiced(self, checkout_id: str) -> dict[str, Any] | None:
        return await self.records.checkout(checkout_id)

    async def reserve(self, checkout_id: str) -> Literal["ok", "gone", "paid", "short"]:
        """Hold the checkout's stock while it is paid (Telegram's pre-checkout). Only the
        cart's latest invoice stands, and only at the prices the shop charges now."""
        record = await self.records.checkout(checkout_id)
        if record is None:
            return "gone"
        if record.get("paid"):
            return "paid"
        customer = int(record["customer"])
        if await self.records.standing(customer) != checkout_id:
            return "gone"  # the cart changed, or was invoiced again, since
        shop = self.shop()
        wanted: dict[str, int] = {}
        lines: list[CartLine] = []
        for item in record["lines"]:
            product = shop.product(item["product"])
            if product is None:
                return "gone"
            line = CartLine(product, _variant(product, item["options"]), item["options"],
                            int(item["quantity"]))
            if (product.variants and line.variant is None) or line.unit != Decimal(item["unit"]):
                return "gone"  # no longer sold, or not at that price
            wanted[line.key] = wanted.get(line.key, 0) + line.quantity
            lines.append(line)
        today = self._view(lines)  # and what it comes to today: Stars, delivery
        if today.stars != record.get("stars") or (
                None if today.shipping is None else str(today.shipping)) != record.get("shipping"):
            return "gone"
        short = await self.records.reserve(checkout_id, customer, wanted, self._stock,
                                           self.clock(), self.hold)
        return "short" if short else "ok"

    async def paid(self, checkout_id: str, charge: str) -> dict[str, Any] | None:
        """The checkout was paid: its stock stays held, the shopper's cart empties. None
        when this payment was told before (Telegram repeats an update it got no answer
        to), or the checkout is unknown."""
        if not await self.records.paid(checkout_id, charge):
            return None
        await self.records.keep(checkout_id)
        record = await self.records.checkout(checkout_id)
        if record is not None:
            await self.records.save(int(record["customer"]), [])
        return record

    # -- helpers -------------------------------------------------------------------------
    async def _lines(self, customer: int) -> list[CartLine]:
        """The cart's lines the shop still sells (a reload may have dropped some)."""
        shop = self.shop()
        lines = []
        for item in await self.records.lines(customer):
            product = shop.product(item.get("product", ""))
            options = dict(item.get("options") or {})
            if product is None:
                continue
            variant = _variant(product, options)
            if product.variants and variant is None:
                continue
            lines.append(CartLine(product, variant, options, int(item.get("quantity") or 1)))
        return lines

    async def _save(self, customer: int, lines: list[CartLine]) -> None:
        await self.records.save(customer, [
            {"product": line.product.id, "options": line.options, "quantity": line.quantity}
            for line in lines])

    async def _left(self, customer: int, line: CartLine) -> int | None:
        """How many more of the line's variant could be had beyond the line's quantity
        (negative: short by that many); None when its stock is not counted."""
        if line.stock is None:
            return None
        held = await self.records.held(self._stock, self.clock(), customer)
        return line.stock - held.get(line.key, 0) - line.quantity

    def _view(self, lines: list[CartLine]) -> CartView:
        shop = self.shop()
        subtotal = sum((line.total for line in lines), Decimal(0))
        policy = shop.policy
        ships = any(not line.product.digital for line in lines)
        free = policy.free_shipping_threshold is not None \
            and subtotal >= policy.free_shipping_threshold
        shipping = None
        if ships and policy.shipping_cost is not None:
            shipping = Decimal(0) if free else policy.shipping_cost
        elif ships and free:
            shipping = Decimal(0)
        stars = sum(line.product.stars * line.quantity for line in lines
                    if line.product.stars is not None) \
            if lines and all(line.product.digital and line.product.stars for line in lines) \
            else None
        return CartView(tuple(lines), subtotal, shipping,
                        policy.free_shipping_threshold if ships and not free else None,
                        stars or None)


    def _stock(self, key: str) -> int | None:
        """A line key's stock in the shop file served now (None: not counted, or no
        longer sold)."""
        product_id, _, options = key.partition("|")
        product = self.shop().product(product_id)
        if product is None:
            return None
        chosen = dict(pair.split("=", 1) for pair in options.split(",") if "=" in pair)
        variant = _variant(product, chosen)
        return variant.stock if variant is not None else product.stock


def _variant(product: Product, options: dict[str, str]) -> Variant | None:
    return next((v for v in product.variants if v.options == options), None)
