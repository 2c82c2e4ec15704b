"""Sending a broadcast: one sender per worker lane, all sharing one rate through Redis.

A lane works in slices (20 s each, then it queues its next slice), so no arq job runs
for long: a worker killed mid-slice has its slice retried by arq, and the recipients its
dead sender had taken go back to the queue (`Broadcasts.rescue`). A worker runs one job at a
time, so the lanes of a broadcast spread over the worker processes: when one dies, the
others keep the rate (one lane alone can send far above Telegram's limit).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

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
from bot.storage.store import Store
from handlers.callback_data import UnsubscribeData
from handlers.present import edit_text, send_photo, send_text
from handlers.texts import Texts

log = logging.getLogger(__name__)
SLICE = 20.0  # seconds a lane sends before handing over to its next slice
SEND_TIMEOUT = 10  # seconds one send may take; then its outcome is unknown (not repeated)
PROGRESS_EVERY = 5  # seconds between edits of the owner's progress message
GONE = ("chat not found", "user is deactivated", "bot was kicked")


class Sender:
    def __init__(self, bot: Bot, broadcasts: Broadcasts, limit: RateLimit, store: Store,
                 texts: Texts, stats: Stats, clock: Callable[[], datetime], *,
                 rate: float, paid: bool, owner_lang: Callable[[], Lang],
                 slice_seconds: float = SLICE, send_timeout: int = SEND_TIMEOUT) -> None:
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

    @property
    def job_timeout(self) -> float:
        """What the job queue allows one slice. A slice starts no send after its budget and
        no send outlasts SEND_TIMEOUT, so this is twice the most it should take: room for a
        loaded machine and slow Redis calls."""
        return 2 * (self.slice + self.send_timeout)

    async def run(self, bid: str) -> datetime | None:
        """Send for up to a slice; when the broadcast needs more, the next slice's time."""
        pacing.own_retries.set(True)  # a 429 pauses every sender: see _send()
        broadcast = await self._start(bid)
        if broadcast is None:
            return None
        sender = new_sender()
        await self.broadcasts.alive(bid, sender)
        await self.broadcasts.rescue(bid)
        started = self.clock().timestamp()
        deadline = started + self.slice
        beat = started
        while self.clock().timestamp() < deadline:
            if self.clock().timestamp() - beat > 5:
                beat = self.clock().timestamp()
                await self.broadcasts.alive(bid, sender)
                current = await self.broadcasts.get(bid)
                if current is None or current.status != "running":
                    break  # cancelled
                await self._report(bid)
            # The rate first, then the recipient: taken and marked `sending` only when the
            # message can go at once, so a crash leaves almost no one with an unknown outcome.
            if not await self.limit.wait(self.rate, until=deadline):
                return await self.limit.free_at()  # after a 429, say: the next slice waits
            recipient = await self.broadcasts.take(bid, sender)
            if recipient is None:
                break
            await self._send_one(broadcast, sender, recipient)
        else:
            return self.clock()
        done = await self.broadcasts.finished(bid)
        if done is not None:
            await self.stats.count("broadcasts")
        await self._report(bid, final=done is not None)
        return None

    async def _start(self, bid: str) -> Broadcast | None:
        def begin(b: Broadcast) -> bool:
            if b.status != "scheduled" or b.at > self.clock().timestamp():
                return False
            b.status = "running"
            return True

        await self.broadcasts.update(bid, begin)
        broadcast = await self.broadcasts.get(bid)
        return broadcast if broadcast is not None and broadcast.status == "running" else None

    async def _send_one(self, broadcast: Broadcast, sender: str, recipient: int) -> None:
        customer = await self.store.customer(recipient)
        lang = customer.lang if customer else broadcast.default
        flags = await self.store.flags(recipient)
        if flags["promotions"] == "0" or flags["blocked"] == "1":
            # Said /stop (or blocked the bot) after the broadcast was made: not sent.
            await self.broadcasts.settle(broadcast.id, sender, recipient, "skipped")
            return
        try:
            await self._deliver(broadcast, recipient, lang)
        except TelegramRetryAfter as exc:
            # Nothing went out: every sender waits, and this recipient goes back in line.
            await self.limit.pause(exc.retry_after)
            await self.broadcasts.put_back(broadcast.id, sender, recipient)
            return
        except TelegramForbiddenError as exc:
            gone = any(marker in exc.message.lower() for marker in GONE)
            await self.store.set_blocked(recipient, True)
            await self.broadcasts.settle(broadcast.id, sender, recipient,
                                         "left" if gone else "blocked")
            return
        except TelegramBadRequest as exc:
            gone = any(marker in exc.message.lower() for marker in GONE)
            await self.broadcasts.settle(broadcast.id, sender, recipient,
                                         "left" if gone else "failed", exc.message)
            return
        except (TimeoutError, TelegramNetworkError):
            # Telegram may have delivered it: not retried, so never twice.
            await self.broadcasts.settle(broadcast.id, sender, recipient, "failed",
                                         "outcome unknown (network)")
            return
        except TelegramAPIError as exc:
            await self.broadcasts.settle(broadcast.id, sender, recipient, "failed",
                                         exc.message)
            return
        await self.broadcasts.settle(broadcast.id, sender, recipient, "sent")
        await self.stats.count("broadcast_messages")

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
