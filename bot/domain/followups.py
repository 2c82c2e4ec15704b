"""Follow-ups on arq, the Redis job queue: the delivery check, the birthday greeting, and the
away mode's check that someone answered a handoff (bot/domain/away.py).

Jobs live in Redis (bot/storage/jobs.py), so they survive restarts; each has an id made of
what it is about, so arq never queues it twice; and a job marks itself sent *before*
sending, so a worker that dies mid-job and is retried cannot send it twice (a send whose
outcome is unknown is not repeated). Customers who blocked the bot are skipped; promotional
ones (the birthday) also skip those who turned promotions off.

The worker runs inside `shopbot run` by default, or alone as `shopbot worker`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import Any

from bot.domain.aftersale import AfterSale, birthday_today, next_birthday
from bot.domain.away import Away
from bot.domain.order_hooks import OrderHooks
from bot.domain.orders import Order
from bot.domain.ports import BroadcastSender, Courier
from bot.domain.replies import Reply
from bot.domain.stats import Stats
from bot.storage.jobs import JobQueue, Worker
from bot.storage.store import Store

log = logging.getLogger(__name__)
# How long past its time a queued job may still start (arq drops it then); the jobs' own
# rules decide whether a late one still makes sense.
JOB_LIFETIME = timedelta(days=8)
# A slice that failed: its lane goes on after this, when its dead sender's heartbeat has
# lapsed (SENDER_TTL), so that the recipient it held is settled.
FAILED_SLICE_PAUSE = timedelta(seconds=45)
REVIVE_AFTER = timedelta(minutes=1)  # a broadcast this late with no slice queued is revived


class Followups:
    def __init__(self, jobs: JobQueue, store: Store, aftersale: AfterSale, courier: Courier,
                 sender: BroadcastSender, stats: Stats, clock: Callable[[], datetime], *,
                 delay: timedelta, day: tuple[time, time], lanes: int = 2,
                 order_hooks: OrderHooks | None = None) -> None:
        self.jobs = jobs
        self.store = store
        self.aftersale = aftersale
        self.courier = courier
        self.stats = stats
        self.clock = clock
        self.delay = delay
        self.day = day
        self.lanes = lanes  # a revived broadcast's senders
        self.sender = sender
        self.order_hooks = order_hooks  # None while ORDER_WEBHOOK_URL is unset
        self.away: Away | None = None  # the away mode's "nobody answered" check, once wired

    # -- scheduling ------------------------------------------------------------------------
    async def schedule(self, job: str, key: str, at: datetime, *args: Any) -> bool:
        """Queue `job` for `at`, or at once when `at` is past; False when a job with this key
        is queued or done already."""
        # arq gives a job's record a lifetime of "due time minus its own wall clock, plus a
        # day": negative, and a refused write, for a time more than a day past (a late order
        # event). The lifetime is given here instead, as a span from the bot's own clock, so
        # no time in the past (or a test's clock) can make it fail.
        wait = max(at - self.clock(), timedelta(0))
        return await self.jobs.enqueue(job, key, at, wait + JOB_LIFETIME, *args)

    async def delivered(self, order: Order) -> datetime | None:
        """Queue the delivery check; None when there is nobody to ask, or the delivery is too
        old to ask about (recorded, so it is never sent later)."""
        at = order.when("delivered")
        if at is None or order.customer is None:
            return None
        when = self.aftersale.check_time(at, self.delay, self.day, self.clock())
        if when is None:
            await self._skip(f"delivery_check:{order.id}", "the delivery is too old to ask about")
            return None
        await self.schedule("delivery_check", order.id, when, order.id)
        return when

    async def birthday_known(self, customer_id: int, month_day: str,
                             after_year: int | None = None) -> datetime:
        when = next_birthday(month_day, self.clock(), self.aftersale.shop.tz,
                             after_year=after_year)
        await self.schedule("birthday", f"{customer_id}:{when.year}", when, customer_id,
                            when.year)
        return when

    async def _skip(self, what: str, why: str) -> None:
        """Recorded as handled, so neither a retry nor the same event posted again sends it."""
        await self.jobs.mark_sent(what, "skipped")
        log.info("%s skipped: %s", what, why)

    # -- the jobs --------------------------------------------------------------------------
    async def delivery_check(self, order_id: str) -> bool:
        order = await self.aftersale.orders.get(order_id)
        if order is None or order.customer is None or order.status != "delivered":
            return False  # cancelled or returned meanwhile, or nobody to ask
        if self.aftersale.check_too_late(order, self.clock()):
            await self._skip(f"delivery_check:{order_id}", "it ran too long after the delivery")
            return False
        customer = await self.store.customer(order.customer)
        reply = self.aftersale.delivery_check(customer, order)
        return await self._send_once(f"delivery_check:{order_id}", order.customer, reply,
                                     promotion=False)

    async def birthday(self, customer_id: int, year: int) -> bool:
        flags = await self.store.flags(customer_id)
        if flags["birthday"]:  # next year's greeting, whatever happens to this one
            await self.birthday_known(customer_id, flags["birthday"], after_year=year)
        customer = await self.store.customer(customer_id)
        if customer is None:
            return False
        if not birthday_today(flags["birthday"], year, self.clock(), self.aftersale.shop.tz):
            # The job ran on another day (the workers were down, or the date was erased or
            # changed): a late "happy birthday" is worse than none.
            await self._skip(f"birthday:{customer_id}:{year}", "it is not the birthday today")
            return False
        reply = Reply("birthday", {"shop": self.aftersale.shop, "name": customer.first_name})
        return await self._send_once(f"birthday:{customer_id}:{year}", customer_id, reply,
                                     promotion=True)

    async def _send_once(self, what: str, customer_id: int, reply: Reply, *,
                         promotion: bool) -> bool:
        flags = await self.store.flags(customer_id)
        if flags["blocked"] == "1" or (promotion and flags["promotions"] == "0"):
            log.info("%s skipped: the customer %s", what,
                     "blocked the bot" if flags["blocked"] == "1" else "turned promotions off")
            return False
        if not await self.jobs.mark_sent(what):
            return False  # sent before (or tried, with an unknown outcome)
        customer = await self.store.customer(customer_id)
        lang = customer.lang if customer else self.aftersale.shop.default_language
        if await self.courier.send(customer_id, [reply], lang, promotion=promotion):
            await self.stats.count("followups")
            return True
        return False

    # -- the order webhook ----------------------------------------------------------------------
    async def order_webhook(self, order_id: str, body: dict[str, Any]) -> bool:
        """Tell the shop's backend of an order the bot created (bot/domain/order_hooks.py):
        queue its delivery, now. False when the order was queued before, or
        ORDER_WEBHOOK_URL is unset (nothing is sent)."""
        if self.order_hooks is None:
            return False
        first = await self.order_hooks.begin(order_id, body)
        if not first and not await self.order_hooks.pending(order_id):
            return False
        # Queued again when recorded but not done: a process that died between the two is
        # mended; arq refuses the id while the first job is queued, running or finished.
        queued = await self.schedule("order_webhook", order_id, self.clock(), order_id)
        return first and queued

    async def order_webhook_try(self, order_id: str) -> bool:
        """One try of the delivery, True when acknowledged; a failed one queues the next
        (`<order id>:<try>`)."""
        if self.order_hooks is None:
            return False
        tried = await self.order_hooks.attempt(order_id)
        if tried.at is not None:
            await self.schedule("order_webhook", f"{order_id}:{tried.next_try}", tried.at,
                                order_id)
        return tried.delivered

    # -- broadcasts ---------------------------------------------------------------------------
    async def broadcast(self, bid: str, at: datetime, lanes: int, generation: int = 0) -> None:
        """Start a broadcast at `at` on `lanes` senders, which any worker process may run."""
        for lane in range(lanes):
            await self.schedule("broadcast", f"{bid}:{lane}:{generation}:0", at, bid, lane, 0,
                                generation)

    async def broadcast_slice(self, bid: str, lane: int, n: int, generation: int = 0) -> bool:
        """One slice of a lane, then the lane's next slice is queued, however this one ended:
        an error, or the job queue's timeout, must not end the lane with people unsent."""
        after: datetime | None = self.clock() + FAILED_SLICE_PAUSE
        try:
            after = await self.sender.run(bid)
        finally:
            if after is not None:
                await self.schedule("broadcast", f"{bid}:{lane}:{generation}:{n + 1}", after,
                                    bid, lane, n + 1, generation)
        return after is not None

    async def revive_broadcasts(self) -> list[str]:
        """Broadcasts due for a while, not finished, with no slice queued or running: their
        lanes all died (a slice that could not queue its successor). Started on new lanes;
        the recipients' states keep anyone from getting it twice."""
        now = self.clock()
        due = (now - REVIVE_AFTER).timestamp()
        revived = []
        for broadcast in await self.sender.broadcasts.unfinished(due_before=due):
            if await self.jobs.any_queued("broadcast", broadcast.id):
                continue
            generation = await self.sender.broadcasts.next_generation(broadcast.id)
            await self.broadcast(broadcast.id, now, self.lanes, generation)
            log.warning("broadcast %s had no sender left: started again on %d lanes",
                        broadcast.id, self.lanes)
            revived.append(broadcast.id)
        return revived

    def worker(self, *, burst: bool = False, jobs: int = -1) -> Worker:
        """The arq worker for these jobs (burst: run what is due, or `jobs` of it, then
        stop)."""

        async def delivery_check(ctx: dict[str, Any], order_id: str) -> bool:
            return await self.delivery_check(order_id)

        async def birthday(ctx: dict[str, Any], customer_id: int, year: int) -> bool:
            return await self.birthday(customer_id, year)

        async def broadcast(ctx: dict[str, Any], bid: str, lane: int, n: int,
                            generation: int = 0) -> bool:
            return await self.broadcast_slice(bid, lane, n, generation)

        async def order_webhook(ctx: dict[str, Any], order_id: str) -> bool:
            return await self.order_webhook_try(order_id)

        async def revive_broadcasts(ctx: dict[str, Any]) -> list[str]:
            return await self.revive_broadcasts()

        async def away_unanswered(ctx: dict[str, Any], customer_id: int, since: float) -> bool:
            # Queued only once the away mode is wired; a job left from before does nothing.
            return await self.away.unanswered(customer_id, since) if self.away else False

        return self.jobs.worker(
            {"delivery_check": delivery_check, "birthday": birthday, "broadcast": broadcast,
             "order_webhook": order_webhook, "away_unanswered": away_unanswered},
            timeouts={"broadcast": self.sender.job_timeout},
            every_minute={"revive_broadcasts": revive_broadcasts}, burst=burst, jobs=jobs)
