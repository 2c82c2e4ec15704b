"""Sending a broadcast: one sender per worker lane, all sharing one rate through Redis.

A lane works in slices (20 s each, then it queues its next slice), so no arq job runs
for long: a worker killed mid-slice has its slice retried by arq, and the recipients its
dead sender had taken go back to the queue (`Broadcasts.rescue`). A worker runs one job at a
time, so the lanes of a broadcast spread over the worker processes: when one dies, the
others keep the rate (one lane alone can keep it).

Within a slice a lane keeps several sends in flight (`Sender.in_flight`), each at an instant
of its own booked from the shared rate: a slow send or a slow Redis call delays that one
message, not the ones after it, so the rate is kept however long each takes. Redis work is
batched: a round trip claims a second's worth of recipients, one books a fifth of a second's
worth of instants, and the one that marks a recipient `sending` also records the outcomes of
the sends that ended since.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Literal

from aiogram import Bot
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
)
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.app import pacing
from bot.core.languages import Lang
from bot.domain.broadcasts import Broadcast, Broadcasts, Progress, RateLimit, new_sender
from bot.domain.stats import Stats
from bot.storage.broadcasts import Outcome, Start
from bot.storage.store import Store
from handlers.callback_data import UnsubscribeData
from handlers.present import edit_text, send_photo, send_text
from handlers.texts import Texts

log = logging.getLogger(__name__)
SLICE = 20.0  # seconds a lane sends (at most) before handing over to its next slice
SEND_TIMEOUT = 10  # seconds one send may take; then its outcome is unknown (not repeated)
PROGRESS_EVERY = 5  # seconds between edits of the owner's progress message
BEAT_EVERY = 5.0  # seconds between a lane's heartbeats (and looks at the broadcast's status)
GONE = ("chat not found", "user is deactivated", "bot was kicked")
# Sends in flight per lane: enough to hide this many seconds of latency per send at the
# full rate (one lane must carry the whole rate when the others are between slices or dead),
# within a bound that leaves most of the Bot API session's 100 connections to the rest.
IN_FLIGHT_SECONDS = 2.0
MAX_IN_FLIGHT = 50
# Sends waiting for Redis to mark their recipient `sending`: at most this many seconds' worth
# (3 at 25/s). When Redis stalls, the sends it holds up all go the moment it answers; more
# of them would be a burst above the rate, so the lane waits (and lets late instants go).
STARTING_SECONDS = 0.1
CLAIM_SECONDS = 1.0  # a claim takes this many seconds' worth of recipients
BOOK_SECONDS = 0.2  # a booking takes this many seconds' worth of instants
# An instant the lane could not use in time (its process stalled, say) is let go once it is
# more than this many steps past: catching up would send a burst above the rate.
LATE_STEPS = 2
Ending = Literal["more", "later", "drained", "stopped"]


def in_flight_for(rate: float) -> int:
    """Sends a lane keeps in flight at `rate` messages a second."""
    return max(2, min(MAX_IN_FLIGHT, math.ceil(rate * IN_FLIGHT_SECONDS)))


class Sender:
    def __init__(self, bot: Bot, broadcasts: Broadcasts, limit: RateLimit, store: Store,
                 texts: Texts, stats: Stats, clock: Callable[[], datetime], *,
                 rate: float, paid: bool, owner_lang: Callable[[], Lang],
                 slice_seconds: float = SLICE, send_timeout: int = SEND_TIMEOUT,
                 in_flight: int | None = None) -> None:
        self.bot = bot
        self.broadcasts = broadcasts
        self.limit = limit
        self.store = store
        self.texts = texts
        self.stats = stats
        self.clock = clock
        self.rate = rate
        self.paid = paid
        self.owner_lang = owner_lang
        self.slice = slice_seconds
        self.send_timeout = send_timeout
        self.in_flight = in_flight or in_flight_for(rate)

    @property
    def job_timeout(self) -> float:
        """What the job queue allows one slice. A slice starts no send after its budget and
        no send outlasts SEND_TIMEOUT, so this is twice the most it should take: room for a
        loaded machine and slow Redis calls."""
        return 2 * (self.slice + self.send_timeout)

    async def run(self, bid: str) -> datetime | None:
        """Send for up to a slice; when the broadcast needs more, the next slice's time."""
        pacing.own_retries.set(True)  # a 429 pauses every sender: see Lane.deliver()
        broadcast, began = await self._start(bid)
        if broadcast is None:
            return None
        return await Lane(self, broadcast, first=began).run()

    async def _start(self, bid: str) -> tuple[Broadcast | None, bool]:
        """The broadcast if it is running, and whether this call started it."""
        def begin(b: Broadcast) -> bool:
            if b.status != "scheduled" or b.at > self.clock().timestamp():
                return False
            b.status = "running"
            return True

        began = await self.broadcasts.update(bid, begin) is not None
        broadcast = await self.broadcasts.get(bid)
        running = broadcast is not None and broadcast.status == "running"
        return (broadcast if running else None), began

    async def _deliver(self, broadcast: Broadcast, chat: int, lang: Lang) -> None:
        variant = broadcast.variant(lang)
        rows = []
        if variant.get("button_text") and variant.get("button_url"):
            rows.append([InlineKeyboardButton(text=variant["button_text"],
                                              url=variant["button_url"])])
        rows.append([InlineKeyboardButton(text=self.texts.label("unsubscribe", lang),
                                          callback_data=UnsubscribeData().pack())])
        markup = InlineKeyboardMarkup(inline_keyboard=rows)
        if variant.get("photo"):
            await send_photo(self.bot, chat, variant["photo"], caption=variant["text"],
                             markup=markup, request_timeout=self.send_timeout, paid=self.paid)
        else:
            await send_text(self.bot, chat, variant["text"], markup=markup,
                            request_timeout=self.send_timeout, paid=self.paid)

    async def preview(self, broadcast: Broadcast, chat: int, lang: Lang) -> None:
        """The owner sees each language's message as customers will."""
        await self._deliver(broadcast, chat, lang)

    async def _report(self, bid: str, *, final: bool = False) -> None:
        """Edit the owner's progress message: often enough to watch, within the limits."""
        progress = await self.broadcasts.progress(bid)
        if progress is None or progress.broadcast.owner_chat is None \
                or progress.broadcast.status_message is None:
            return
        if not final and not await self.broadcasts.may_report(bid, PROGRESS_EVERY):
            return
        owner = await self.store.customer(progress.broadcast.owner_chat)
        try:
            await edit_text(self.bot, progress.broadcast.owner_chat,
                            progress.broadcast.status_message,
                            self.progress_text(progress, owner.lang if owner else None),
                            request_timeout=self.send_timeout)
        except TelegramAPIError as exc:
            log.info("progress of %s not shown: %s", bid, exc.message)

    def progress_text(self, progress: Progress, lang: Lang | None = None) -> str:
        """In the owner's language (the shop's when the bot does not know the owner)."""
        seconds = progress.remaining / self.rate if self.rate else 0
        return self.texts.render("broadcast_progress", lang or self.owner_lang(),
                                 progress=progress,
                                 counts=progress.counts, minutes=max(1, round(seconds / 60)))


class Lane:
    """One slice of one lane. The scheduler (`run`) claims recipients, takes a booked
    instant for each, sleeps until it and starts the send as a task; at most
    `Sender.in_flight` sends are in flight at once. Each send marks its recipient `sending`
    just before the message goes (with the outcomes of sends over since, in the same round
    trip), so a kill leaves at most the sends in flight with an unknown outcome, never one
    sent twice."""

    def __init__(self, sender: Sender, broadcast: Broadcast, *, first: bool = False) -> None:
        self.sender = sender
        self.first = first  # this slice started the broadcast
        self.broadcasts = sender.broadcasts
        self.limit = sender.limit
        self.clock = sender.clock
        self.broadcast = broadcast
        self.bid = broadcast.id
        self.name = new_sender()
        self.step = 1.0 / sender.rate
        self.window = asyncio.Semaphore(sender.in_flight)
        self.starting = asyncio.Semaphore(max(2, math.ceil(sender.rate * STARTING_SECONDS)))
        self.claim_batch = max(1, math.ceil(sender.rate * CLAIM_SECONDS))
        self.book_batch = max(1, min(sender.in_flight, math.ceil(sender.rate * BOOK_SECONDS)))
        self.claimed: deque[int] = deque()  # claimed, not yet begun
        self.empty = False  # the last claim found the queue empty
        self.claiming: asyncio.Task[None] | None = None
        # Booked instants not yet used, each with when its booking came back if it is the
        # first of the booking (else 0).
        self.instants: deque[tuple[float, float]] = deque()
        self.out_of_time = False  # the next free instant falls after the slice
        self.booking: asyncio.Task[None] | None = None
        self.epoch = 0  # moved on by a 429: instants booked before it are void
        self.over: list[Outcome] = []  # outcomes not yet recorded
        self.flying = 0  # sends started and not over
        self.landed = asyncio.Event()  # set when the last send in flight is over
        self.put_back = False  # a 429 put someone back in line since the last claim
        self.resume_at: float | None = None  # when a dead sender's recipients can be rescued
        self.sent = 0  # messages sent, not yet counted in the statistics
        self.deadline = self.beat = 0.0
        self.reporting: asyncio.Task[None] | None = None  # the owner's progress message

    def now(self) -> float:
        return self.clock().timestamp()

    async def run(self) -> datetime | None:
        await self.broadcasts.alive(self.bid, self.name)
        await self.broadcasts.rescue(self.bid)
        self.beat = self.now()
        # The lane that starts the broadcast sends for half a slice first, so that its
        # lanes hand over to their next slices half a slice apart, not all at once (which
        # would leave the rate unused until one of them is back).
        self.deadline = self.beat + self.sender.slice * (0.5 if self.first else 1.0)
        try:
            # The claims and bookings in the background are tasks of the group too, so the
            # slice ends only when everything it started is over.
            async with asyncio.TaskGroup() as tasks:
                ending = await self.schedule(tasks)
        except asyncio.CancelledError:
            # Cut off (the job queue's timeout): what is known is kept if Redis takes it;
            # the sends that were in flight stay `sending`, outcome unknown.
            with contextlib.suppress(Exception):
                await asyncio.shield(self.flush())
            raise
        await self.flush(release=True)
        await self.count()
        if ending == "later":
            return await self.limit.free_at()  # after a 429, say: the next slice waits
        if ending == "more":
            return self.clock()
        if ending == "drained" and await self.broadcasts.queued(self.bid):
            return await self.limit.free_at()  # a 429 put someone back in line
        if ending == "drained" and self.resume_at is not None:
            # A dead sender's recipients can be taken back then.
            return datetime.fromtimestamp(self.resume_at, tz=UTC)
        done = await self.broadcasts.finished(self.bid)
        if done is not None:
            await self.sender.stats.count("broadcasts")
        await self.sender._report(self.bid, final=done is not None)
        return None

    async def schedule(self, tasks: asyncio.TaskGroup) -> Ending:
        # The first claim and the first booking, side by side rather than one after the other.
        self.claiming = tasks.create_task(self.claim())
        self.booking = tasks.create_task(self.book())
        while True:
            if self.now() >= self.deadline:
                return "more"
            if self.now() - self.beat >= BEAT_EVERY and not await self.heartbeat(tasks):
                return "stopped"  # cancelled
            await self.window.acquire()
            started = starting = False
            try:
                if self.now() >= self.deadline:
                    return "more"
                # The recipient first, then the instant: a claim's round trip does not eat
                # into the time between the instant and the send.
                recipient = await self.next_recipient(tasks)
                if recipient is None:
                    return "drained"
                await self.starting.acquire()
                starting = True
                at = await self.next_instant(tasks)
                if at is None:
                    self.claimed.appendleft(recipient)
                    return "later"
                wait = at - self.now()
                if wait > 0:
                    await self.limit.sleep(wait)
                self.flying += 1
                tasks.create_task(self.send(recipient))
                started = True
            finally:
                if not started:
                    self.window.release()
                    if starting:
                        self.starting.release()

    async def heartbeat(self, tasks: asyncio.TaskGroup) -> bool:
        """Alive, what is known recorded; False when the broadcast was stopped."""
        self.beat = self.now()
        await self.broadcasts.alive(self.bid, self.name)
        await self.flush()
        await self.count()
        current = await self.broadcasts.get(self.bid)
        if current is None or current.status != "running":
            return False
        if self.reporting is None or self.reporting.done():
            # Beside the sends: the edit is a call to Telegram, which would make the next
            # send late.
            self.reporting = tasks.create_task(self.sender._report(self.bid))
        return True

    # -- recipients, in batches ------------------------------------------------------------
    async def next_recipient(self, tasks: asyncio.TaskGroup) -> int | None:
        while not self.claimed:
            if self.empty:
                # The queue is empty, but a send in flight may still put someone back (a
                # 429): the lane waits for them, and takes those back in this slice.
                if self.flying:
                    self.landed.clear()
                    await self.landed.wait()
                if self.put_back:
                    self.put_back = False
                    await self.flush()
                elif not await self.rescue_the_dead():
                    return None
                self.empty = False
            if self.claiming is None:
                self.claiming = tasks.create_task(self.claim())
            await self.claiming
        recipient = self.claimed.popleft()
        if len(self.claimed) <= self.claim_batch // 2 and not self.empty \
                and self.claiming is None:
            self.claiming = tasks.create_task(self.claim())  # the next batch, ahead of need
        return recipient

    async def rescue_the_dead(self) -> bool:
        """The queue is empty, yet senders that stopped beating (killed, most likely) hold
        recipients: they are rescued once their heartbeats lapse, by this slice if that
        comes before its end, else by the next slice, queued for then. True when this slice
        took some back."""
        lapse = await self.broadcasts.silent_holders_lapse(self.bid, self.name, 2 * BEAT_EVERY)
        if lapse is None:
            return False
        if lapse > self.deadline:
            self.resume_at = lapse
            return False
        if lapse > self.now():
            await self.limit.sleep(lapse - self.now())
        return await self.broadcasts.rescue(self.bid) > 0

    async def claim(self) -> None:
        try:
            taken = await self.broadcasts.claim(self.bid, self.name, self.claim_batch)
            self.claimed.extend(taken)
            self.empty = not taken
        finally:
            self.claiming = None

    # -- instants, in batches --------------------------------------------------------------
    async def next_instant(self, tasks: asyncio.TaskGroup) -> float | None:
        while True:
            while not self.instants:
                if self.out_of_time:
                    return None
                if self.booking is None:
                    self.booking = tasks.create_task(self.book())
                await self.booking
            at, came = self.instants.popleft()
            if len(self.instants) < self.book_batch and self.booking is None \
                    and not self.out_of_time:
                self.booking = tasks.create_task(self.book())  # booked ahead of need
            # The first of a booking may have been due when booked: its round trip does not
            # count against it, or a slow Redis would have every booking let go.
            if self.now() - max(at, came) <= LATE_STEPS * self.step:
                return at

    async def book(self) -> None:
        epoch = self.epoch
        try:
            booked = await self.limit.reserve(self.sender.rate, self.book_batch,
                                              until=self.deadline)
            if not booked:
                self.out_of_time = True
            elif epoch == self.epoch:
                self.instants.append((booked[0], self.now()))
                self.instants.extend((at, 0.0) for at in booked[1:])
        finally:
            self.booking = None

    # -- one send ----------------------------------------------------------------------------
    async def send(self, recipient: int) -> None:
        try:
            outcomes, self.over = self.over, []
            try:
                start, = await self.broadcasts.record(self.bid, self.name, outcomes,
                                                      [recipient])
            finally:
                self.starting.release()
            if start.verdict == "go":
                outcome = await self.deliver(start)
                # Only now: the list may have been swapped for a new one meanwhile.
                self.over.append(outcome)
        finally:
            self.window.release()
            self.flying -= 1
            if not self.flying:
                self.landed.set()

    async def deliver(self, start: Start) -> Outcome:
        recipient = start.recipient
        try:
            await self.sender._deliver(self.broadcast, recipient,
                                       self.broadcasts.language(start, self.broadcast))
        except TelegramRetryAfter as exc:
            # Nothing went out: every sender waits, and this recipient goes back in line.
            await self.limit.pause(exc.retry_after)
            self.epoch += 1
            self.instants.clear()
            self.put_back = True
            return Outcome(recipient, "pending")
        except TelegramForbiddenError as exc:
            gone = any(marker in exc.message.lower() for marker in GONE)
            await self.sender.store.set_blocked(recipient, True)
            return Outcome(recipient, "left" if gone else "blocked")
        except TelegramBadRequest as exc:
            gone = any(marker in exc.message.lower() for marker in GONE)
            return Outcome(recipient, "left" if gone else "failed", exc.message)
        except (TimeoutError, TelegramNetworkError):
            # Telegram may have delivered it: not retried, so never twice.
            return Outcome(recipient, "failed", "outcome unknown (network)")
        except TelegramAPIError as exc:
            return Outcome(recipient, "failed", exc.message)
        self.sent += 1
        return Outcome(recipient, "sent")

    # -- what is known, to Redis -------------------------------------------------------------
    async def flush(self, *, release: bool = False) -> None:
        """Record the outcomes not yet recorded; with `release`, the recipients claimed and
        not begun go back to the head of the queue, in their order."""
        outcomes, self.over = self.over, []
        if release:
            outcomes += [Outcome(r, "pending") for r in reversed(self.claimed)]
            self.claimed.clear()
        await self.broadcasts.record(self.bid, self.name, outcomes)

    async def count(self) -> None:
        if self.sent:
            sent, self.sent = self.sent, 0
            await self.sender.stats.count("broadcast_messages", sent)
