"""After the sale (PLAYBOOK: "After-sale"): where is my order, did it arrive, how was it,
returns and exchanges, and the tags that say who comes back.

Plain rules, like the conversation: they say what to answer (Replies); the handlers and the
courier turn that into Telegram messages. Ratings, return requests and their drafts are kept
by bot/storage/aftersale.py.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any

from bot.core.shop import Shop
from bot.domain.actions import (
    Arrived,
    AskPerson,
    Rate,
    RateHelp,
    ReturnCancel,
    ReturnItem,
    ReturnOrder,
    ReturnPhotosDone,
    ReturnReason,
    ReturnResolution,
    ReturnSend,
    ReturnStep,
    ReturnWanted,
    SkipHelpComment,
)
from bot.domain.orders import Order, OrderBook, order_numbers, spent
from bot.domain.replies import Button, Reply
from bot.domain.stats import Stats
from bot.storage.aftersale import AfterSaleRecords, Return
from bot.storage.stats import HelpRatingRecords
from bot.storage.store import Customer, Store

REASONS = ("size", "damaged", "wrong", "changed_mind", "other")
RESOLUTIONS = ("exchange", "refund")
RETURN_STATUSES = ("requested", "approved", "declined", "received", "refunded", "exchanged")
# How old a delivery may be for "has everything arrived?" to still make sense.
CHECK_WITHIN = timedelta(days=7)
# How long a hand-back's "how was the help?" can be answered; 1–2 stars go to staff.
HELP_ASK_KEPT = timedelta(days=30)
LOW_HELP = 2


class AfterSale:
    def __init__(self, shop: Callable[[], Shop], store: Store, orders: OrderBook, stats: Stats,
                 clock: Callable[[], datetime]) -> None:
        self._shop = shop  # the shop file can be reloaded: always ask for the current one
        self.store = store
        self.records = AfterSaleRecords(store)
        self.orders = orders
        self.stats = stats
        self.clock = clock
        self.help = HelpRatings(shop, store, stats, clock)

    @property
    def shop(self) -> Shop:
        return self._shop()

    def _base(self, customer: Customer | None) -> dict[str, Any]:
        return {"shop": self.shop, "name": customer.first_name if customer else ""}

    # -- "where is my order?" ------------------------------------------------------------
    async def where_is(self, customer: Customer, text: str) -> Reply:
        orders = await self.orders.of(customer.id)
        asked = order_numbers(text)
        context = {**self._base(customer), "asked": None}
        if asked:
            wanted = {n.lstrip("#").lower() for n in asked}
            matched = [o for o in orders if o.id.lstrip("#").lower() in wanted
                       or _digits(o.id) in {_digits(n) for n in wanted}]
            if not matched:
                return Reply("order_unknown", {**context, "asked": asked[0]},
                             [[Button("ask_person", data=AskPerson())]])
            orders = matched
        if not orders:
            return Reply("order_none", context, [[Button("ask_person", data=AskPerson())]])
        shown = orders[:5]
        return Reply("order_list", {**context, "orders": [self._view(o) for o in shown],
                                    "more": len(orders) - len(shown)})

    async def mentions_order(self, customer: Customer, text: str) -> bool:
        """The message names one of the customer's orders."""
        asked = {_digits(n) for n in order_numbers(text)}
        return bool(asked) and any(_digits(o.id) in asked
                                   for o in await self.orders.of(customer.id))

    def _view(self, order: Order) -> dict[str, Any]:
        """What a shopper reads of an order: names from the catalogue when it knows them."""
        items = []
        for item in order.items:
            product = self.shop.product(item.product) if item.product else None
            items.append({"name": product.name if product else None, "raw": item.name,
                          "quantity": item.quantity, "size": item.size,
                          "color": self.shop.colors.get(item.color or "")})
        tz = self.shop.tz
        shipped, delivered = order.when("shipped"), order.when("delivered")
        return {"id": order.id, "status": order.status, "items": items, "total": order.total,
                "carrier": order.carrier, "tracking": order.tracking,
                "tracking_url": order.tracking_url, "expected": order.expected,
                "shipped": shipped.astimezone(tz) if shipped else None,
                "delivered": delivered.astimezone(tz) if delivered else None}

    # -- what the backend reports, told to the shopper ------------------------------------
    def announcement(self, order: Order, event: str, customer: Customer | None,
                     bound_now: bool) -> Reply | None:
        """The message an event deserves: paid, shipped (with tracking), cancelled; and the
        order itself when the shopper just became known (a one-time link opened)."""
        if event not in ("paid", "shipped", "cancelled") and not bound_now:
            return None
        view = self._view(order)
        buttons = [[Button("track", url=order.tracking_url)]] \
            if event == "shipped" and order.tracking_url else []
        return Reply("order_event", {**self._base(customer), "event": event, "order": view,
                                     "bound": bound_now}, buttons)

    async def retag(self, customer_id: int) -> list[str]:
        """"regular" after N paid orders, "vip" above the amount: set as orders are paid."""
        loyalty = self.shop.loyalty
        paid = [o for o in await self.orders.of(customer_id)
                if "paid" in o.events and o.status != "cancelled"]
        earned = []
        if loyalty.regular_after and len(paid) >= loyalty.regular_after:
            earned.append("regular")
        if loyalty.vip_above and spent(paid) >= float(loyalty.vip_above):
            earned.append("vip")
        await self.store.tag(customer_id, *earned)
        return earned

    # -- after delivery ---------------------------------------------------------------------
    def check_time(self, delivered: datetime, delay: timedelta, day: tuple[time, time],
                   now: datetime) -> datetime | None:
        """When to ask whether everything arrived: `delay` after delivery, moved to the next
        morning when that falls in the night (the shop's time zone).

        A delivery reported late (a backend catching up, an import) is asked about as soon
        as the day allows, while the question still makes sense; None once the delivery is
        more than CHECK_WITHIN old: nobody wants "has it arrived?" weeks after it did."""
        if now - delivered > CHECK_WITHIN:
            return None
        return self.daytime(max(delivered + delay, now), day)

    def daytime(self, at: datetime, day: tuple[time, time]) -> datetime:
        """`at`, or the next start of the day when it falls in the night (the shop's zone)."""
        local = at.astimezone(self.shop.tz)
        start, end = day
        if local.time() < start:
            local = local.replace(hour=start.hour, minute=start.minute, second=0, microsecond=0)
        elif local.time() >= end:
            local = (local + timedelta(days=1)).replace(hour=start.hour, minute=start.minute,
                                                        second=0, microsecond=0)
        return local

    def check_too_late(self, order: Order, now: datetime) -> bool:
        """The check's job ran late (the workers were down): past CHECK_WITHIN, not sent."""
        delivered = order.when("delivered")
        return delivered is None or now - delivered > CHECK_WITHIN

    def delivery_check(self, customer: Customer | None, order: Order) -> Reply:
        return Reply("delivery_check", {**self._base(customer), "order": self._view(order)},
                     [[Button("arrived_ok", data=Arrived(order.id, ok=True)),
                       Button("arrived_problem", data=Arrived(order.id, ok=False))]])

    def ask_rating(self, customer: Customer, order_id: str) -> Reply:
        stars = [Button("stars", data=Rate(order_id, n), args={"n": n})
                 for n in range(1, 6)]
        return Reply("rating_ask", self._base(customer), [stars[:3], stars[3:]])

    async def rate(self, customer: Customer, order_id: str, stars: int, *,
                   with_staff: bool) -> Reply | None:
        """4-5: thanks and a review invitation; 1-3: a sincere apology and a person.
        None for an order that is not this customer's."""
        order = await self.orders.get(order_id)
        if order is None or order.customer != customer.id or not 1 <= stars <= 5:
            return None
        if not await self.records.rate_once(order_id, stars):
            return Reply("rating_again", self._base(customer))
        await self.stats.rating(stars)
        context = {**self._base(customer), "stars": stars, "order": self._view(order)}
        if stars >= 4:
            url = self.shop.loyalty.review_url
            return Reply("rating_thanks", context, [[Button("review", url=url)]] if url else [])
        # With a staff chat a colleague is called in; without, the shopper gets the contacts.
        return Reply("rating_sorry", {**context, "with_staff": with_staff},
                     handoff="low_rating" if with_staff else None)

    # -- returns and exchanges ----------------------------------------------------------------
    async def start_return(self, customer: Customer, order_id: str | None = None) \
            -> Reply | None:
        """The return flow, from choosing the order. None when the shopper has no order the
        bot knows of: then a person takes it (the caller hands over)."""
        orders = [o for o in await self.orders.of(customer.id) if o.status != "cancelled"]
        if order_id is not None:
            orders = [o for o in orders if o.id == order_id]
        if not orders:
            return None
        await self._draft(customer.id, reset=True)
        if len(orders) == 1:
            return await self._choose_order(customer, orders[0])
        rows = [[Button("order_pick", data=ReturnOrder(o.id), args={"order": o.id})]
                for o in orders[:6]]
        return Reply("return_order", self._base(customer), [*rows, [self._cancel()]])

    async def return_step(self, customer: Customer, step: ReturnStep) -> Reply | None:
        """A button of the return flow; None for a step that is not (or no longer) valid."""
        draft = await self._draft(customer.id)
        if isinstance(step, ReturnCancel):
            await self.records.drop_draft(customer.id)
            return Reply("return_cancelled", self._base(customer))
        order = await self.orders.get(draft.get("order", "")) if draft.get("order") else None
        match step:
            case ReturnOrder(order_id):
                picked = await self.orders.get(order_id)
                if picked is None or picked.customer != customer.id:
                    return None
                return await self._choose_order(customer, picked)
            case ReturnItem(index) if order and 0 <= index < len(order.items):
                await self._save(customer.id, item=index)
                return self._ask_reason(customer)
            case ReturnReason(reason) if order and reason in REASONS and "item" in draft:
                await self._save(customer.id, reason=reason, step="photos")
                return Reply("return_photos", self._base(customer),
                             [[Button("return_continue", data=ReturnPhotosDone())],
                              [self._cancel()]])
            case ReturnPhotosDone() if order and "reason" in draft:
                await self._save(customer.id, step="resolution")
                return Reply("return_resolution", self._base(customer),
                             [[Button("exchange", data=ReturnResolution("exchange")),
                               Button("refund", data=ReturnResolution("refund"))],
                              [self._cancel()]])
            case ReturnResolution(resolution) if order and resolution in RESOLUTIONS \
                    and "reason" in draft:
                await self._save(customer.id, resolution=resolution, step="resolution")
                options = self._exchange_options(order, int(draft["item"]))
                if resolution == "exchange" and options:
                    rows = [[Button("variant", data=ReturnWanted(value), args={"label": label})]
                            for value, label in options[:8]]
                    return Reply("return_variant", self._base(customer), [*rows,
                                 [Button("return_continue", data=ReturnWanted(""))]])
                await self._save(customer.id, step="ready")
                return await self._confirm(customer)
            case ReturnWanted(wanted) if order and draft.get("resolution") == "exchange":
                await self._save(customer.id, wanted=wanted or "", step="ready")
                return await self._confirm(customer)
        return None

    async def _confirm(self, customer: Customer) -> Reply:
        return Reply("return_confirm", {**self._base(customer),
                                        **await self._summary(customer.id)},
                     [[Button("return_send", data=ReturnSend())], [self._cancel()]])

    async def add_photo(self, customer_id: int, message_id: int) -> bool:
        """A photo while the flow asks for them: kept for staff. False if it does not."""
        draft = await self._draft(customer_id)
        if draft.get("step") != "photos":
            return False
        photos = json.loads(draft.get("photos") or "[]")
        await self._save(customer_id, photos=json.dumps([*photos, message_id][-10:]))
        return True

    async def submit(self, customer: Customer) -> Return | None:
        """"Send the request": the draft becomes a return request, once."""
        draft = await self._draft(customer.id)
        await self.records.drop_draft(customer.id)
        if draft.get("step") != "ready":
            return None
        number = await self.records.next_number()
        request = Return(
            id=f"R{number}", customer=customer.id, order=draft["order"],
            item=int(draft["item"]), reason=draft["reason"], resolution=draft["resolution"],
            wanted=draft.get("wanted") or None, photos=json.loads(draft.get("photos") or "[]"),
            created_at=self.clock().timestamp())
        await self.records.add(request, customer.id)
        return request

    def submitted(self, customer: Customer, request: Return, with_staff: bool) -> Reply:
        return Reply("return_submitted", {**self._base(customer), "request": request,
                                          "with_staff": with_staff})

    async def get_return(self, return_id: str) -> Return | None:
        return await self.records.get(return_id)

    async def set_return_status(self, return_id: str, status: str) -> Return | None:
        """Staff (or the backend) move a return on; None if unknown or unchanged."""
        request = await self.get_return(return_id)
        if request is None or status not in RETURN_STATUSES or request.status == status:
            return None
        request.status = status
        await self.records.put(request)
        return request

    def return_status(self, customer: Customer | None, request: Return) -> Reply:
        return Reply("return_status", {**self._base(customer), "request": request})

    async def return_view(self, request: Return) -> dict[str, Any]:
        order = await self.orders.get(request.order)
        item = order.items[request.item] if order and request.item < len(order.items) else None
        product = self.shop.product(item.product) if item and item.product else None
        return {"request": request, "order": self._view(order) if order else None,
                "item": {"name": product.name if product else None,
                         "raw": item.name if item else None, "quantity": 1,
                         "size": item.size if item else None,
                         "color": self.shop.colors.get(item.color or "") if item else None}}

    # -- the flow's steps ---------------------------------------------------------------------
    async def _choose_order(self, customer: Customer, order: Order) -> Reply:
        await self._save(customer.id, order=order.id, step="item")
        if len(order.items) == 1:
            await self._save(customer.id, item=0)
            return self._ask_reason(customer)
        view = self._view(order)
        rows = [[Button("item_pick", data=ReturnItem(index), args={"item": item})]
                for index, item in enumerate(view["items"][:8])]
        return Reply("return_item", {**self._base(customer), "order": view},
                     [*rows, [self._cancel()]])

    def _ask_reason(self, customer: Customer) -> Reply:
        rows = [[Button(f"reason_{reason}", data=ReturnReason(reason))] for reason in REASONS]
        return Reply("return_reason", self._base(customer), [*rows, [self._cancel()]])

    def _exchange_options(self, order: Order, index: int) -> list[tuple[str, Any]]:
        """In-stock sizes (or colours) of the product to exchange for, when it is known."""
        item = order.items[index] if index < len(order.items) else None
        product = self.shop.product(item.product) if item and item.product else None
        if item is None or product is None:
            return []
        sizes = [v.size for v in product.variants if v.stock > 0 and v.size
                 and v.size != item.size and (v.color in (None, item.color))]
        if sizes:
            return [(s, s) for s in dict.fromkeys(sizes) if len(s.encode()) <= 40]
        colors = [v.color for v in product.variants if v.stock > 0 and v.color
                  and v.color != item.color]
        return [(c, self.shop.colors.get(c, c)) for c in dict.fromkeys(colors)]

    async def _summary(self, customer_id: int) -> dict[str, Any]:
        draft = await self._draft(customer_id)
        request = Return(id="", customer=customer_id, order=draft["order"],
                         item=int(draft["item"]), reason=draft["reason"],
                         resolution=draft["resolution"], wanted=draft.get("wanted") or None,
                         photos=json.loads(draft.get("photos") or "[]"))
        return await self.return_view(request)

    async def _draft(self, customer_id: int, *, reset: bool = False) -> dict[str, str]:
        if reset:
            await self.records.drop_draft(customer_id)
            return {}
        return await self.records.draft(customer_id)

    async def _save(self, customer_id: int, **values: Any) -> bool:
        await self.records.save_draft(customer_id, values)
        return True

    @staticmethod
    def _cancel() -> Button:
        return Button("return_cancel", data=ReturnCancel())



class HelpRatings:
    """Rating a person's help: after staff hand a conversation back, the shopper is asked once
    how the help was (five stars, as an order's rating), then for a word more, which their
    next message within the conversation is, or *Skip*. Each hand-back's question has an id
    of its own, rated once; its stars count in /stats. 1–2 stars (and the word, when given)
    go back to the customer's staff topic: the handlers post them."""

    def __init__(self, shop: Callable[[], Shop], store: Store, stats: Stats,
                 clock: Callable[[], datetime]) -> None:
        self._shop = shop
        self.records = HelpRatingRecords(store)
        self.stats = stats
        self.clock = clock

    def _base(self, customer: Customer) -> dict[str, Any]:
        return {"shop": self._shop(), "name": customer.first_name, "help": True}

    async def ask(self, customer: Customer, person: int | None = None) -> Reply:
        """The question, with an id of its own (a hand-back's); `person`: the staff member
        who helped, whose figures the stars count in."""
        ask = secrets.token_hex(8)
        await self.records.asked(ask, HELP_ASK_KEPT, person)
        stars = [Button("stars", data=RateHelp(ask, n), args={"n": n}) for n in range(1, 6)]
        return Reply("rating_ask", self._base(customer), [stars[:3], stars[3:]])

    async def rate(self, customer: Customer, ask: str, stars: int) -> tuple[Reply, bool] | None:
        """The answer to a star, and whether it was recorded (False: rated before, which
        changes nothing). None for a question the bot does not know (forged, or too old)."""
        if not 1 <= stars <= 5:
            return None
        recorded, person = await self.records.rate_once(ask, stars)
        if recorded is None:
            return None
        if not recorded:
            return Reply("rating_again", self._base(customer)), False
        await self.stats.help_rating(stars)
        if person is not None:
            await self.stats.person(person, f"help_rating_{stars}")
        return Reply("rating_help", {**self._base(customer), "stars": stars,
                                     "low": self.low(stars)},
                     [[Button("skip_comment", data=SkipHelpComment(ask))]]), True

    @staticmethod
    def low(stars: int) -> bool:
        """A rating staff should follow up."""
        return stars <= LOW_HELP

    def open_for_comment(self, asked_at: float, within: timedelta) -> bool:
        """A word is still taken as the comment: the conversation has not gone quiet since
        the stars (`within`: the assistant's quiet period, after which a message starts a
        new conversation)."""
        return self.clock().timestamp() - asked_at < within.total_seconds()

    def commented(self, customer: Customer, stars: int, *, skipped: bool) -> Reply:
        return Reply("rating_comment", {**self._base(customer), "low": self.low(stars),
                                        "skipped": skipped})

def _digits(value: str) -> str:
    return "".join(ch for ch in value if ch.isdigit())


def birthday_today(month_day: str, year: int, now: datetime, tz: Any) -> bool:
    """The greeting of `year` is due today (the shop's zone): the date is still the
    customer's and today is that day (the 28th for 29 February in a common year)."""
    if not month_day:
        return False
    month, day = (int(part) for part in month_day.split("-")[-2:])
    try:
        wanted = date(year, month, day)
    except ValueError:
        wanted = date(year, month, 28)
    return now.astimezone(tz).date() == wanted


def next_birthday(month_day: str, now: datetime, tz: Any, *, after_year: int | None = None,
                  hour: int = 11) -> datetime:
    """The next birthday greeting time: 11:00 on the day, in the shop's time zone (in a
    year after `after_year`, when given: the greeting of that year has been dealt with)."""
    month, day = (int(part) for part in month_day.split("-")[-2:])
    local = now.astimezone(tz)
    first = max(local.year, after_year + 1) if after_year is not None else local.year
    for year in (first, first + 1, first + 2):
        try:
            candidate = datetime(year, month, day, hour, tzinfo=tz)
        except ValueError:  # 29 February in a common year: the 28th
            candidate = datetime(year, month, 28, hour, tzinfo=tz)
        if candidate > local:
            return candidate
    raise ValueError(month_day)

