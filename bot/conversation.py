"""The conversation with one shopper: greeting, farewell, and what comes in between.

Plain rules over the store and the shop file; the handlers translate Telegram to and from it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from bot.languages import LANGUAGES, Lang
from bot.replies import Button, Reply
from bot.shop import WEEKDAYS, Shop
from bot.storage import Customer, Store
from bot.understanding import Reading, Understanding

Clock = Callable[[], datetime]


def part_of_day(local: datetime) -> str:
    if 5 <= local.hour < 12:
        return "morning"
    if 12 <= local.hour < 18:
        return "afternoon"
    return "evening"


class Assistant:
    def __init__(
        self,
        shop: Shop,
        store: Store,
        understanding: Understanding,
        clock: Clock,
        quiet_period: timedelta,
    ) -> None:
        self.shop = shop
        self.store = store
        self.understanding = understanding
        self.clock = clock
        self.quiet_period = quiet_period

    def local_now(self) -> datetime:
        return self.clock().astimezone(self.shop.tz)

    # -- entry points ---------------------------------------------------------------
    async def start(self, customer: Customer) -> list[Reply]:
        """/start: always a greeting; a new visit when the last conversation went quiet."""
        now = self.clock()
        if await self._is_new_conversation(customer, now):
            await self._open(customer, now)
        else:
            await self.store.note_message(customer.id, now)
        await self.store.seen(customer.id, now)
        return [self.greeting(customer)]

    async def message(self, customer: Customer, text: str) -> list[Reply]:
        now = self.clock()
        reading = self.understanding.read(text, customer.lang)
        new = await self._is_new_conversation(customer, now)
        await self.store.seen(customer.id, now)
        if reading.intent == "farewell":
            if not new:
                return _in(reading, await self.goodbye(customer))
            # A goodbye that opens nothing: answer it warmly, nothing to close.
            return _in(reading, [self.farewell(customer)])
        replies: list[Reply] = []
        if new:
            await self._open(customer, now)
            replies.append(self.greeting(customer))
        else:
            await self.store.note_message(customer.id, now)
        if reading.intent == "greeting":
            if not new:
                replies.append(self.greeting(customer, again=True))
        else:
            replies.append(self.answer(customer, reading))
        return _in(reading, replies)

    def answer(self, customer: Customer, reading: Reading) -> Reply:
        """What the assistant says to one request (greetings and farewells aside)."""
        if reading.intent == "buy":
            return self.order_info(customer)
        if reading.intent == "other":
            return Reply("not_understood", self._base(customer),
                         [self._menu_row()])
        # Understood, but a colleague answers this one: say so honestly, and how to reach them.
        context = {**self._base(customer), "intent": reading.intent,
                   "offline": self._offline(self.local_now())}
        return Reply("team_will_help", context, [[Button("contacts", data="menu:contacts")]])

    async def goodbye(self, customer: Customer) -> list[Reply]:
        now = self.clock()
        await self.store.close_conversation(customer.id, now)
        await self.store.seen(customer.id, now)
        return [self.farewell(customer)]

    async def unsupported(self, customer: Customer) -> list[Reply]:
        """A sticker, photo, voice note...: say what the bot can read, keep the door open."""
        now = self.clock()
        replies: list[Reply] = []
        if await self._is_new_conversation(customer, now):
            await self._open(customer, now)
            replies.append(self.greeting(customer))
        await self.store.seen(customer.id, now)
        replies.append(Reply("unsupported", self._base(customer)))
        return replies

    async def choose_language(self, customer: Customer, lang: Lang) -> list[Reply]:
        await self.store.set_language(customer.id, lang)
        customer.language = lang
        return [Reply("language_set", self._base(customer), [self._menu_row()])]

    # -- replies ----------------------------------------------------------------------
    def greeting(self, customer: Customer, *, again: bool = False) -> Reply:
        local = self.local_now()
        context = {
            **self._base(customer),
            "part": part_of_day(local),
            "returning": customer.visits > 1,
            "again": again,
            "offline": self._offline(local),
        }
        return Reply("greeting", context, [self._menu_row()])

    def farewell(self, customer: Customer) -> Reply:
        return Reply("farewell", {**self._base(customer), "part": part_of_day(self.local_now())})

    def language_prompt(self, customer: Customer) -> Reply:
        row = [Button(f"lang_{lang.replace('-', '_')}", data=f"lang:{lang}") for lang in LANGUAGES]
        return Reply("language_prompt", self._base(customer), [row[:2], row[2:]])

    def contacts(self, customer: Customer) -> Reply:
        days = self.shop.working_hours.days
        hours = [(index, days.get(day)) for index, day in enumerate(WEEKDAYS)] if days else []
        context = {
            **self._base(customer),
            "hours": hours,
            "offline": self._offline(self.local_now()),
            "timezone": self.shop.timezone,
        }
        return Reply("contacts", context)

    def order_info(self, customer: Customer) -> Reply:
        context = self._base(customer)
        buttons = [[Button("website", url=self.shop.order_url)]] if self.shop.order_url else []
        return Reply("order_info", context, buttons)

    # -- helpers -------------------------------------------------------------------------
    async def _is_new_conversation(self, customer: Customer, now: datetime) -> bool:
        conversation = await self.store.conversation(customer.id)
        if conversation is None or conversation.closed or conversation.last_message_at is None:
            return True
        return now - conversation.last_message_at >= self.quiet_period

    async def _open(self, customer: Customer, now: datetime) -> None:
        await self.store.open_conversation(customer.id, now)
        customer.visits = await self.store.count_visit(customer.id)

    def _base(self, customer: Customer) -> dict[str, Any]:
        return {"shop": self.shop, "name": customer.first_name}

    def _menu_row(self) -> list[Button]:
        return [
            Button("how_to_order", data="menu:order"),
            Button("contacts", data="menu:contacts"),
            Button("language", data="menu:language"),
        ]

    def _offline(self, local: datetime) -> dict[str, Any] | None:
        """When staff are away: when they are back, and in how many hours if soon."""
        hours = self.shop.working_hours
        if not hours.days or hours.is_open(local):
            return None  # a shop that lists no hours never says its team is away
        back = hours.next_opening(local)
        if back is None:
            return {"back": None, "hours": None, "minutes": None}
        wait = back - local
        soon = wait < timedelta(hours=12)
        whole_hours = int(wait.total_seconds() // 3600)
        return {
            "back": back,
            "tomorrow": back.date() == (local + timedelta(days=1)).date(),
            "today": back.date() == local.date(),
            "hours": whole_hours if soon and whole_hours >= 1 else None,
            "minutes": max(1, int(wait.total_seconds() // 60)) if wait < timedelta(hours=1)
            else None,
        }


def _in(reading: Reading, replies: list[Reply]) -> list[Reply]:
    """Answer in the language the message was written in, when that is clear."""
    if reading.written_in is None:
        return replies
    return [replace(reply, lang=reading.written_in) for reply in replies]
