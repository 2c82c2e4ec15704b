"""What happens when the shop's backend reports an order event, or a shopper opens the
one-time link of their order: record it once, tell the shopper, tag, schedule follow-ups."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from bot.domain.aftersale import AfterSale
from bot.domain.followups import Followups
from bot.domain.orders import Applied, Order, OrderBook, OrderEventIn
from bot.domain.ports import Courier
from bot.domain.replies import Reply
from bot.storage.store import Customer, Store

log = logging.getLogger(__name__)


class OrderDesk:
    def __init__(self, orders: OrderBook, aftersale: AfterSale, courier: Courier,
                 followups: Followups, store: Store, clock: Callable[[], datetime]) -> None:
        self.orders = orders
        self.aftersale = aftersale
        self.courier = courier
        self.followups = followups
        self.store = store
        self.clock = clock

    async def report(self, event: OrderEventIn) -> Applied:
        """One event from the backend (OrderError when it cannot apply)."""
        applied = await self.orders.apply(event, self.clock())
        order = applied.order
        if applied.duplicate:
            # Posted again (a backend's retry): make sure its check is queued. It queues
            # nothing while the job is known, and the check is sent once whatever happens.
            if event.event == "delivered" and order.status == "delivered" \
                    and order.customer is not None:
                await self.followups.delivered(order)
            return applied
        if order.customer is not None and event.birthday:
            month_day = event.birthday[-5:]
            await self.store.set_birthday(order.customer, month_day)
            await self.followups.birthday_known(order.customer, month_day)
        if order.customer is None:
            return applied  # told once the shopper opens the order's link
        customer = await self.store.customer(order.customer)
        await self._follow(order, event.event, customer, applied.bound_now)
        return applied

    async def bind(self, customer: Customer, token: str) -> list[Reply] | None:
        """`/start <token>` from an order page: the order is this shopper's from now on."""
        order = await self.orders.bind(token, customer.id)
        if order is None:
            return None
        reply = self.aftersale.announcement(order, order.status, customer, bound_now=True)
        await self._follow(order, order.status, customer, bound_now=True, tell=False)
        return [reply] if reply else []

    async def _follow(self, order: Order, event: str, customer: Customer | None,
                      bound_now: bool, *, tell: bool = True) -> None:
        assert order.customer is not None
        if tell:
            reply = self.aftersale.announcement(order, event, customer, bound_now)
            if reply is not None:
                lang = customer.lang if customer else self.aftersale.shop.default_language
                await self.courier.send(order.customer, [reply], lang)
        if "paid" in order.events:
            await self.aftersale.retag(order.customer)
        if order.status == "delivered":
            when = await self.followups.delivered(order)
            log.info("order %s delivered: delivery check at %s", order.id, when)
