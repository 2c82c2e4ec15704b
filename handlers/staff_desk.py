"""The staff chat: a forum supergroup where each customer has a topic of their own.

A handoff opens (or reuses) the customer's topic with one post: a card that says who they
are, what was said, why a person is wanted, who is on duty, and who has it, with buttons to
take it and to hand it back. While a person holds the conversation, the customer's messages
are copied into the topic and the staff's messages to the customer; the bot stays quiet.
One member of the team has it at a time (bot/domain/takeover.py); a colleague's words in
its topic stay notes.

Everything posted into the staff chat goes through the outbox, Telegram's 20 a minute; a
person's messages to a customer never do. What staff do is sent to the customer first,
and what it changes in the staff chat (the card, a notice) is posted after, off the staff
member's way (`_soon`): their next message does not wait for the staff chat's budget.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from aiogram import Bot
from aiogram.enums import ChatMemberStatus
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest, TelegramForbiddenError
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.core.languages import Lang
from bot.domain.business import Business, Connection
from bot.domain.conversation import Assistant
from bot.domain.orders import OrderBook
from bot.domain.stats import Stats
from bot.domain.takeover import Handoff, Person, Takeovers
from bot.storage.outbox import Outbox
from bot.storage.store import Customer, as_text
from handlers.callback_data import ReturnStatusData, StaffDoneData
from handlers.present import edit_copy, edit_text, in_business_chat, send_copies, send_text
from handlers.texts import Texts, plain

log = logging.getLogger(__name__)

CARD_LINES = 8  # lines of conversation on the card
MEMBER_CACHE = 300  # seconds a staff membership check is trusted
TOPIC_WAIT = 300  # seconds another process may take to make a customer's topic
TOPIC_LOOK = 5  # a process waiting for another's topic looks again this often, to be safe

# One process makes a customer's topic: the lock holds its token (nil returned), or the
# token of the process making it (returned), whose word the others wait for.
_CLAIM_TOPIC = """
local maker = redis.call('GET', KEYS[1])
if maker then return maker end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])
return false
"""
_GONE = ("message thread not found", "topic_deleted", "topic_id_invalid")
Deliver = Callable[[Bot, int, list[Any], Texts, Lang], Awaitable[None]]


class StaffDesk:
    def __init__(
        self,
        bot: Bot,
        chat_id: int,
        assistant: Assistant,
        takeovers: Takeovers,
        texts: Texts,
        outbox: Outbox,
        deliver: Deliver,
        stats: Stats,
        orders: OrderBook | None = None,  # for the card
        *,
        lang: Lang,
        idle_after: timedelta,
        album_wait: float = 1.0,
        business: Business | None = None,
    ) -> None:
        self.bot = bot
        self.chat_id = chat_id
        self.assistant = assistant
        self.takeovers = takeovers
        self.store = assistant.store
        self.texts = texts
        self.outbox = outbox
        self.deliver = deliver
        self.stats = stats
        self.lang = lang
        self.idle_after = idle_after
        self.albums = Albums(album_wait)
        self.ready = False  # set by check(): the chat is a forum and the bot may manage topics
        self.orders = orders
        # A customer who last wrote to the shop's business account is answered there.
        self.business = business
        outbox.on_late = self.running_late  # the queue is late: the chat is told, once
        self._locks: weakref.WeakValueDictionary[int, asyncio.Lock] = \
            weakref.WeakValueDictionary()
        self._later: set[asyncio.Task[None]] = set()  # `_soon`'s, kept until they ran
        self._tails: dict[int, asyncio.Task[None]] = {}  # each customer's last one
        self._claim_topic = self.store.redis.register_script(_CLAIM_TOPIC)

    @property
    def clock(self) -> Callable[[], datetime]:
        return self.assistant.clock

    # -- start-up ---------------------------------------------------------------------------
    async def check(self) -> list[str]:
        """What keeps the staff chat from working, each with how to fix it (empty: ready)."""
        where = f"STAFF_CHAT_ID={self.chat_id}"
        try:
            chat = await self.bot.get_chat(self.chat_id)
            me = await self.bot.get_me()
            member = await self.bot.get_chat_member(self.chat_id, me.id)
        except TelegramAPIError as exc:
            problems = [f"{where}: Telegram answered {exc.message!r}. Add the bot to the staff "
                        "group and check the id (a supergroup's id starts with -100)."]
        else:
            problems = []
            if chat.type != "supergroup":
                problems.append(f"{where} is a {chat.type}, not a supergroup: create a group, "
                                "turn on Topics in its settings, and use that group's id.")
            elif not chat.is_forum:
                problems.append(f"{where}: topics are off. In the group's settings, turn on "
                                "Topics.")
            can_manage = member.status == ChatMemberStatus.CREATOR or (
                member.status == ChatMemberStatus.ADMINISTRATOR
                and bool(getattr(member, "can_manage_topics", False)))
            if not can_manage:
                problems.append(f"{where}: the bot is {member.status}, not an administrator "
                                "with the \"Manage topics\" right. Promote it and allow "
                                "\"Manage topics\".")
        self.ready = not problems
        for problem in problems:
            log.error("staff chat not used: %s", problem)
        if problems:
            log.error("the bot serves shoppers on its own; handoffs show the shop's contacts")
        return problems

    # -- handing over -------------------------------------------------------------------------
    async def hand_over(self, customer: Customer, reason: str,
                        detail: dict[str, Any] | None = None,
                        message: Message | None = None) -> bool:
        """A person takes the conversation: the bot falls quiet at once, and its topic (made
        if need be) gets one post, the card, carrying why, who is on duty, and the buttons.
        The post goes in the background, in the customer's order (`_soon`), so the staff
        chat's budget holds up no update; if the staff chat fails, the bot takes the
        conversation back. `message`, the one that asked for a person, follows the card,
        for staff to answer. True: the conversation is with a person (or on its way)."""
        now = self.clock()
        taken = await self.takeovers.take(customer.id, reason, now, detail)
        shown = await self.takeovers.get(customer.id) if taken else None
        if taken:
            await self.stats.count("handoffs")
            away = self.assistant.away
            if away is not None and not await away.handed_over(customer.id, now):
                await self.takeovers.release(customer.id)  # on holiday: the bot helps on
        self._soon(customer.id, self._show_handoff(customer, shown, message))
        return True

    async def _show_handoff(self, customer: Customer, shown: Handoff | None,
                            message: Message | None) -> None:
        """The handoff's card (`shown`: the handoff as it began; None: a person already had
        the conversation, and its topic is only made sure of), then `message`."""
        try:
            async with self._lock(customer.id):
                topic, new = await self._topic(customer, shown)
                if shown is not None and not new and (
                        await self.takeovers.get(customer.id)).card_of != shown.since:
                    # A new card at the foot of the topic, where staff read, rather than an
                    # edit of the old one up above and a notice: one post, not two. Unless
                    # the topic was made for this very handoff, by another process.
                    text, buttons = await self._card(customer, shown)
                    card = await self._post(customer, text, topic=topic, buttons=buttons)
                    await self.takeovers.set_card(customer.id, card, shown.since)
        except TelegramAPIError:
            # Rights taken away since start-up, the group gone...: no one would see this
            # conversation, so the bot keeps it rather than stay quiet for nobody.
            log.exception("handoff of %s failed: the bot keeps the conversation", customer.id)
            await self.takeovers.release(customer.id)
            return
        if message is not None:
            await self.from_customer(customer, message)

    async def holds(self, customer_id: int) -> bool:
        """True while a person holds the conversation. An idle one goes back to the bot."""
        handoff = await self.takeovers.get(customer_id)
        if not handoff.with_staff:
            return False
        if self._idle(handoff.active_at or handoff.since):
            await self._idle_release(customer_id)
            return False
        return True

    def _idle(self, active: datetime | None) -> bool:
        """Idle for STAFF_IDLE_MINUTES of working time: a handoff at night waits for the
        team (the shopper was told so) and gets its full time once they are at work."""
        now = self.clock()
        if active is None:
            return False
        hours = self.assistant.shop.working_hours
        local = now.astimezone(self.assistant.shop.tz)
        if hours.days:
            span = hours.hours_on(local)
            if span is None or not hours.is_open(local):
                return False
            opened = local.replace(hour=span[0].hour, minute=span[0].minute, second=0,
                                   microsecond=0)
            active = max(active, opened)
        return now - active >= self.idle_after

    async def hand_back(self, customer_id: int, by: str, person: Person | None = None) -> bool:
        """/done: the bot takes over again and says goodbye. False if it already had it.
        The conversation counts as resolved by whoever had it (else by `person`)."""
        handoff = await self.takeovers.get(customer_id)
        if not await self.takeovers.release(customer_id):
            await self.notice(customer_id, "staff/handed_back", already=True, by=by)
            return False
        helper = handoff.assignee or (person.id if person else None)
        if helper is not None:
            await self.stats.person(helper, "resolved")
            if handoff.assigned_at is not None:
                await self.stats.person(helper, "resolve_seconds", round(
                    (self.clock() - handoff.assigned_at).total_seconds()))
        customer = await self.store.customer(customer_id)
        if customer is not None:
            replies = await self.assistant.goodbye(customer)
            # How was the help: asked once per hand-back, with the goodbye (one message).
            aftersale = self.assistant.aftersale
            if aftersale is not None:
                replies.append(await aftersale.help.ask(customer, helper))
            try:
                async with self._reaching(customer_id) as reached:
                    if reached:
                        await self.deliver(self.bot, customer_id, replies, self.texts,
                                           customer.lang)
            except TelegramForbiddenError:
                await self.customer_blocked(customer_id)
        await self._handed_back(customer_id, by)
        return True

    async def _handed_back(self, customer_id: int, by: str) -> None:
        await self.notice(customer_id, "staff/handed_back", already=False, by=by)
        await self.refresh_card(customer_id)  # its buttons go: the bot has it

    @contextlib.asynccontextmanager
    async def _reaching(self, customer_id: int) -> AsyncIterator[bool]:
        """Within it, what is sent to the customer goes where they last wrote: the shop's
        business account (bot/domain/business.py) or the chat with the bot. False when
        that is an account that no longer lets the bot reply (staff are told)."""
        connection = await self._business_of(customer_id)
        if connection is None:
            yield True
        elif not connection.serving:
            await self.notice(customer_id, "staff/business_unreachable")
            yield False
        else:
            with in_business_chat(customer_id, connection.id):
                yield True

    async def _business_of(self, customer_id: int) -> Connection | None:
        return await self.business.connection_of(customer_id) if self.business else None

    async def sweep(self) -> int:
        """Give idle conversations back to the bot; returns how many."""
        returned = 0
        for customer_id in await self.takeovers.idle(self.clock(), self.idle_after):
            if self._idle((await self.takeovers.get(customer_id)).active_at):
                await self._idle_release(customer_id)
                returned += 1
        return returned

    async def _idle_release(self, customer_id: int) -> None:
        if await self.takeovers.release(customer_id):
            minutes = int(self.idle_after.total_seconds() // 60)
            await self.notice(customer_id, "staff/idle", minutes=minutes)
            await self.refresh_card(customer_id)

    # -- copying --------------------------------------------------------------------------
    async def from_customer(self, customer: Customer, message: Message) -> None:
        """A customer's message while a person holds the conversation: into the topic, in
        the background, after what went before it (`_soon`)."""
        await self.takeovers.touch(customer.id, self.clock())
        if message.business_connection_id:
            await self.business_said(customer, "shopper", describe(message))
            return

        async def copy(ids: list[int]) -> None:
            try:
                async with self._lock(customer.id):
                    copies = await self._copy_in(customer, ids)
            except TelegramBadRequest as exc:
                # A service message, a poll...: staff are told what it was instead.
                log.info("message of %s not copied: %s", customer.id, exc.message)
                await self.notice(customer.id, "staff/not_copied", kind=_kind(message))
                return
            await self.takeovers.mirror(customer.id, "in", list(zip(ids, copies, strict=False)))

        self._soon(customer.id, self._copy_grouped(("in", customer.id), message, copy))

    async def business_said(self, customer: Customer, who: str, text: str) -> None:
        """A message in the shop's business chat with the customer while its owner answers in
        person (`who`: "owner" or "shopper"), in the customer's topic (in the background).
        Telegram copies nothing out of a business chat, so the topic gets its words."""
        self._soon(customer.id, self._business_said(customer, who, text))

    async def _business_said(self, customer: Customer, who: str, text: str) -> None:
        try:
            async with self._lock(customer.id):
                topic, _ = await self._topic(customer)
                await self._post(customer, self.texts.render(
                    "staff/business_said", self.lang, who=who, name=customer.first_name,
                    text=text), topic=topic)
        except TelegramAPIError:
            log.warning("business chat of %s not shown in its topic", customer.id, exc_info=True)

    async def paid_order(self, customer: Customer, order_id: str,
                         items: list[tuple[str, int]], total: Any, currency: str) -> None:
        """An order the shopper paid in the chat: a card in their topic (opened for it), in
        the background."""
        self._soon(customer.id, self._paid_order(customer, order_id, items, total, currency))

    async def _paid_order(self, customer: Customer, order_id: str,
                          items: list[tuple[str, int]], total: Any, currency: str) -> None:
        try:
            async with self._lock(customer.id):
                topic, _ = await self._topic(customer)
                await self._post(customer, self.texts.render(
                    "staff/paid_order", self.lang, name=customer.first_name, order=order_id,
                    items=items, total=total, currency=currency), topic=topic)
        except TelegramAPIError:
            log.warning("paid order %s not shown to staff", order_id, exc_info=True)

    async def from_staff(self, customer_id: int, message: Message,
                         person: Person | None = None) -> None:
        """A staff message in the customer's topic: to the customer (a person takes over),
        unless a colleague has the conversation: then it is a note, and its writer is told
        so once. The first to answer a conversation no one has takes it."""
        customer = await self.store.customer(customer_id)
        if customer is None:
            return
        now = self.clock()
        holder = await self._answering(customer_id, person, now)
        if holder is not None:
            if person is not None and await self.takeovers.first_note(
                    customer_id, person.id, holder):
                await self._kept_as_note(customer_id, person, holder)
            return
        await self.store.remember(customer_id, "staff", describe(message), now)
        connection = await self._business_of(customer_id)
        if connection is not None:
            await self._to_business(customer_id, connection, message)
            return

        async def copy(ids: list[int]) -> None:
            try:
                copies = await self._copy(customer_id, self.chat_id, ids)
            except TelegramForbiddenError:
                await self.customer_blocked(customer_id)
                return
            await self.takeovers.mirror(customer_id, "out", list(zip(ids, copies, strict=False)))

        await self._copy_grouped(("out", customer_id), message, copy)

    async def _answering(self, customer_id: int, person: Person | None,
                         now: datetime) -> int | None:
        """`person` answers the customer (a message, a quick reply): the colleague who has
        the conversation instead, if one does (the answer is then a note); else None, and
        it counts: a person holds the conversation, the first reply is timed, the idle
        clock starts again, and a conversation no one had is theirs."""
        handoff = await self.takeovers.get(customer_id)
        if person is not None and handoff.with_staff and handoff.assignee not in (
                None, person.id):
            return handoff.assignee
        if await self.takeovers.take(customer_id, "staff", now):
            log.info("staff took over the conversation with %s", customer_id)
        waited = await self.takeovers.first_reply(customer_id, now)
        if waited is not None:
            await self.stats.first_reply(waited.total_seconds(),
                                         person.id if person else None)
        await self.takeovers.touch(customer_id, now)
        if person is not None and (await self.takeovers.assign(
                customer_id, person.id, now, only_if_free=True))[0]:
            await self.stats.person(person.id, "taken")
            await self.refresh_card(customer_id)
        return None

    async def _to_business(self, customer_id: int, connection: Connection,
                           message: Message) -> None:
        """A staff message for a customer in the shop's business chat: its words, sent
        through the account (Telegram's copies cannot go there); anything else, staff are
        told it did not go."""
        text = message.html_text if (message.text or message.caption) else None
        if not connection.serving:
            await self.notice(customer_id, "staff/business_unreachable")
            return
        if text is None:
            await self.notice(customer_id, "staff/business_text_only")
            return
        try:
            with in_business_chat(customer_id, connection.id):
                await send_text(self.bot, customer_id, text)
        except (TelegramForbiddenError, TelegramBadRequest) as exc:
            log.info("staff message to %s not sent through business account %s: %s",
                     customer_id, connection.id, exc.message)
            await self.notice(customer_id, "staff/business_unreachable")

    async def canned(self, customer_id: int, key: str, person: Person | None = None) -> bool:
        """/reply KEY: the message `canned/KEY` in the customer's language (one added in
        Telegram without that language: in the shop's). Not while a colleague of `person`
        has the conversation: they are told so."""
        customer = await self.store.customer(customer_id)
        if customer is None or key not in self.canned_keys():
            return False
        now = self.clock()
        holder = await self._answering(customer_id, person, now)
        if holder is not None and person is not None:
            await self._kept_as_note(customer_id, person, holder)
            return True
        text = self.texts.render(f"canned/{key}", customer.lang,
                                 shop=self.assistant.shop, name=customer.first_name)
        try:
            async with self._reaching(customer_id) as reached:
                if not reached:
                    return True
                await send_text(self.bot, customer_id, text)
        except TelegramForbiddenError:
            await self.customer_blocked(customer_id)
            return True
        # Said by staff, as any answer: on the card's last lines, and an answer to the
        # away mode's "nobody answered" check.
        await self.store.remember(customer_id, "staff", plain(text), now)
        await self.notice(customer_id, "staff/canned_sent", key=key, text=plain(text))
        return True

    # -- assignment ---------------------------------------------------------------------------
    async def take(self, customer_id: int, person: Person) -> None:
        """/take or the card's button: `person` has the conversation (a person holds it, if
        the bot had it)."""
        await self.assign(customer_id, person, by=person)

    async def assign(self, customer_id: int, person: Person, by: Person) -> None:
        """`person` has the conversation now, `by`'s doing (/pass when they differ); the
        card shows it and the topic says so, calling `person` by name."""
        now = self.clock()
        await self.takeovers.take(customer_id, "staff", now)
        changed, before = await self.takeovers.assign(customer_id, person.id, now)
        if changed:
            await self.stats.person(person.id, "taken")
        previous = await self.takeovers.team.person(before) if before else None
        await self._assigned(customer_id, person, by, previous, changed)

    async def _assigned(self, customer_id: int, person: Person, by: Person,
                        previous: Person | None, changed: bool) -> None:
        await self.notice(customer_id, "staff/assigned", person=person, by=by,
                          previous=previous, changed=changed)
        if changed:
            await self.refresh_card(customer_id)

    async def _kept_as_note(self, customer_id: int, person: Person, assignee: int) -> None:
        holder = await self.takeovers.team.person(assignee) or Person(assignee, str(assignee))
        await self.notice(customer_id, "staff/kept_as_note", person=person, holder=holder)

    async def duty(self, person: Person, on: bool | None, topic: int | None) -> None:
        """/duty: `person` on duty, off duty (`on`), or who is (None)."""
        if on is not None:
            await self.takeovers.team.set_duty(person.id, on)
        await self.answer_staff(self.texts.render(
            "staff/duty", self.lang, person=person, on=on,
            on_duty=await self.takeovers.team.on_duty()), topic)

    def canned_keys(self) -> list[str]:
        """The quick replies as they are now: bundled, the shop file's, and those owners
        added or removed in Telegram (/replies)."""
        return self.texts.canned_keys()

    async def _copy_grouped(self, owner: tuple[str, int], message: Message,
                            copy: Callable[[list[int]], Awaitable[None]]) -> None:
        if message.media_group_id:
            await self.albums.add(owner, message.media_group_id, message.message_id, copy)
            return
        await self.albums.flush(owner)  # an album sent just before goes first
        await copy([message.message_id])

    async def _copy_in(self, customer: Customer, ids: list[int]) -> list[int]:
        topic, _ = await self._topic(customer)
        try:
            return await self._copy(self.chat_id, customer.id, ids, topic)
        except TelegramBadRequest as exc:
            if not _gone(exc):
                raise
        # Staff deleted the topic: a new one, with its card, then the message.
        await self.takeovers.forget_topic(customer.id, topic)
        topic, _ = await self._topic(customer)
        return await self._copy(self.chat_id, customer.id, ids, topic)

    async def _copy(self, to: int, source: int, ids: list[int],
                    topic: int | None = None) -> list[int]:
        async def call() -> list[int]:
            return await send_copies(self.bot, to, source, ids, topic=topic)

        return await self.outbox.send(call, len(ids)) if to == self.chat_id else await call()

    # -- edits -------------------------------------------------------------------------------
    async def edited(self, customer_id: int, message: Message, direction: str) -> bool:
        """Mirror an edit onto the copy, where Telegram allows editing (text and captions)."""
        copy = await self.takeovers.copy_of(customer_id, direction, message.message_id)
        if copy is None:
            return False
        chat = self.chat_id if direction == "in" else customer_id

        async def call() -> Any:
            return await edit_copy(self.bot, chat, copy, message)

        if message.text is None and message.caption is None:
            return False  # a changed photo or file: Telegram lets no one but its sender swap it
        if direction == "in":  # into the staff chat: in the background, as every post there
            self._soon(customer_id, self._mirrored(self.outbox.send(call)))
            return True
        return await self._mirrored(call())

    @staticmethod
    async def _mirrored(edit: Awaitable[Any]) -> bool:
        try:
            await edit
        except TelegramBadRequest as exc:
            log.info("edit not mirrored: %s", exc.message)
            return False
        return True

    # -- notices ------------------------------------------------------------------------------
    async def forgotten(self, topic: int | None) -> None:
        """A customer erased their data: staff are told where they talked, and the topic
        loses the customer's name (in the background)."""
        self._soon(0, self._forgotten(topic))

    async def _forgotten(self, topic: int | None) -> None:
        text = self.texts.render("staff/forgotten", self.lang)
        try:
            await self.outbox.send(lambda: send_text(self.bot, self.chat_id, text, topic=topic))
        except TelegramBadRequest:  # the topic is gone: General, then
            await self.outbox.send(lambda: send_text(self.bot, self.chat_id, text))
            return
        if topic is not None:
            name = self.texts.label("erased_topic", self.lang)
            with contextlib.suppress(TelegramBadRequest):
                await self.outbox.send(lambda: self.bot.edit_forum_topic(
                    self.chat_id, topic, name=name))

    async def customer_blocked(self, customer_id: int) -> None:
        await self.notice(customer_id, "staff/blocked")

    async def notice(self, customer_id: int, template: str, **context: Any) -> None:
        """A line for staff in the customer's topic, in the staff's language (in the
        background, after what was asked for before)."""
        self._soon(customer_id, self._post_to(
            customer_id, self.texts.render(template, self.lang, **context)))

    async def answer_staff(self, text: str, topic: int | None = None) -> None:
        """The bot's answer to a staff command, where it was given: posted in the
        background, so the topic's next message to the customer does not wait for it."""
        self._soon(0, self.outbox.send(
            lambda: send_text(self.bot, self.chat_id, text, topic=topic)))

    async def running_late(self, wait: float) -> None:
        """The outbox's notice, in the General topic."""
        minutes = max(1, round(wait / 60))
        await send_text(self.bot, self.chat_id, self.texts.render(
            "staff/queue_late", self.lang, minutes=minutes))

    async def is_staff(self, user_id: int) -> bool:
        """A member of the staff chat (asked of Telegram, trusted for five minutes)."""
        key = self.store.keys.staff_member(user_id)
        cached = await self.store.redis.get(key)
        if cached is not None:
            return cached in (b"1", "1")
        try:
            member = await self.bot.get_chat_member(self.chat_id, user_id)
        except TelegramAPIError:
            return False
        ok = member.status in (ChatMemberStatus.CREATOR, ChatMemberStatus.ADMINISTRATOR,
                               ChatMemberStatus.MEMBER) or (
            member.status == ChatMemberStatus.RESTRICTED and bool(getattr(member, "is_member",
                                                                          False)))
        await self.store.redis.set(key, "1" if ok else "0", ex=MEMBER_CACHE)
        return ok

    # -- the topic and its card -----------------------------------------------------------
    def _lock(self, customer_id: int) -> asyncio.Lock:
        lock = self._locks.get(customer_id)
        if lock is None:
            lock = self._locks[customer_id] = asyncio.Lock()
        return lock

    async def _topic(self, customer: Customer,
                     shown: Handoff | None = None) -> tuple[int, bool]:
        """The customer's topic, and whether it was just made; made once per customer, with
        its card (of `shown`, the handoff that made it, if given). Callers hold the
        customer's lock."""
        handoff = await self.takeovers.get(customer.id)
        if handoff.topic is not None:
            return handoff.topic, False
        # Another process may be making it this very moment (the customer's lock is only
        # this process's): one makes it, the others wait until it is made. Made means with
        # its card: the topic is recorded only once the card is in it, so no process takes
        # a half-made topic for a finished one and posts a second card (a maker whose card
        # was slow to go out used to cause exactly that). The others block in Redis on the
        # maker's word (`topic_made:<its token>`, which every waiter reads and leaves in
        # place; named by the token, not the customer, so it keeps nothing about them)
        # rather than sleep and look. A maker that died lets its lock lapse after
        # TOPIC_WAIT (long: creating a topic may itself wait for the staff chat's budget);
        # the next process to look makes the topic then.
        redis = self.store.redis
        lock, token = self.store.keys.topic_lock(customer.id), uuid.uuid4().hex
        while (maker := await self._claim_topic(keys=[lock], args=[token, TOPIC_WAIT])):
            said = self.store.keys.topic_made(as_text(maker) or "")
            await redis.brpoplpush(said, said, timeout=TOPIC_LOOK)
            handoff = await self.takeovers.get(customer.id)
            if handoff.topic is not None:
                return handoff.topic, False
        card: int | None = None
        card_of: datetime | None = None
        try:
            handoff = await self.takeovers.get(customer.id)
            if handoff.topic is not None:  # made between the first look and taking the lock
                return handoff.topic, False
            name = topic_name(customer)
            created = await self.outbox.send(
                lambda: self.bot.create_forum_topic(self.chat_id, name))
            topic = created.message_thread_id
            try:
                handoff = shown or await self.takeovers.get(customer.id)
                card_of = handoff.since if handoff.with_staff else None
                text, buttons = await self._card(customer, handoff)
                posted = await self.outbox.send(lambda: send_text(
                    self.bot, self.chat_id, text, topic=topic, markup=buttons))
                card = posted.message_id
            finally:
                # Without its card when posting it failed: the next handoff posts one.
                await self.takeovers.set_topic(customer.id, topic, card, card_of)
                said = self.store.keys.topic_made(token)
                async with redis.pipeline(transaction=True) as pipe:
                    pipe.rpush(said, "1")
                    pipe.expire(said, TOPIC_WAIT)
                    await pipe.execute()
        finally:
            await redis.delete(lock)
        return topic, True

    async def _refresh_card(self, customer: Customer) -> None:
        handoff = await self.takeovers.get(customer.id)
        if handoff.topic is None:
            return
        text, buttons = await self._card(customer, handoff)
        if handoff.card is not None:
            try:
                await self.outbox.send(lambda: edit_text(
                    self.bot, self.chat_id, handoff.card, text, markup=buttons))
                return
            except TelegramBadRequest as exc:
                if "not modified" in exc.message:
                    return
                log.info("card of %s not edited (%s): posting a new one", customer.id,
                         exc.message)
        card = await self._post(customer, text, topic=handoff.topic, buttons=buttons)
        await self.takeovers.set_card(customer.id, card,
                                      handoff.since if handoff.with_staff else None)

    async def _card(self, customer: Customer, handoff: Handoff | None = None,
                    ) -> tuple[str, InlineKeyboardMarkup | None]:
        """The card: who the customer is and what was said; while a person holds the
        conversation, why, and who has it (else who is on duty), with its buttons."""
        handoff = handoff or await self.takeovers.get(customer.id)
        said = await self.store.history(customer.id, CARD_LINES)
        gifts = await self.store.gifts_promised(customer.id)
        orders = await self.orders.of(customer.id) if self.orders is not None else []
        team = self.takeovers.team
        holder = on_duty = None
        if handoff.with_staff:
            holder = await team.person(handoff.assignee) if handoff.assignee else None
            if handoff.assignee and holder is None:
                holder = Person(handoff.assignee, str(handoff.assignee))
            on_duty = await team.on_duty() if holder is None else None
        text = self.texts.render(
            "staff/card", self.lang, customer=customer, said=said,
            gifts=gifts, tags=await self.store.tags(customer.id),
            orders=[f"#{o.id} ({o.status})" for o in orders[:5]],
            tz=self.assistant.shop.tz, handoff=handoff if handoff.with_staff else None,
            holder=holder, on_duty=on_duty)
        return text, self._card_buttons(customer.id, handoff)

    def _card_buttons(self, customer_id: int, handoff: Handoff) -> InlineKeyboardMarkup | None:
        if not handoff.with_staff:
            return None
        row = [InlineKeyboardButton(text=self.texts.label("staff_done", self.lang),
                                    callback_data=StaffDoneData(what="done",
                                                                customer=customer_id).pack())]
        if handoff.assignee is None:
            row.insert(0, InlineKeyboardButton(
                text=self.texts.label("staff_take", self.lang),
                callback_data=StaffDoneData(what="take", customer=customer_id).pack()))
        return InlineKeyboardMarkup(inline_keyboard=[row])

    async def refresh_card(self, customer_id: int) -> None:
        """After what the card shows changed (tags, who has it): edited in the background."""
        self._soon(customer_id, self._refresh_card_of(customer_id))

    async def _refresh_card_of(self, customer_id: int) -> None:
        customer = await self.store.customer(customer_id)
        if customer is not None:
            async with self._lock(customer_id):
                await self._refresh_card(customer)

    async def return_request(self, customer: Customer, request: Any,
                             view: dict[str, Any]) -> None:
        """A return or exchange request: into the customer's topic (in the background), with
        its photos and buttons for its next status. The conversation stays with the bot
        until staff write."""
        self._soon(customer.id, self._return_request(customer, request, view))

    async def _return_request(self, customer: Customer, request: Any,
                              view: dict[str, Any]) -> None:
        text = self.texts.render("staff/return_card", self.lang, name=customer.first_name,
                                 **view)
        statuses = ("approved", "declined", "received",
                    "exchanged" if request.resolution == "exchange" else "refunded")
        buttons = InlineKeyboardMarkup(inline_keyboard=[[
            InlineKeyboardButton(text=self.texts.label(f"return_{status}", self.lang),
                                 callback_data=ReturnStatusData(request=request.id,
                                                                status=status).pack())]
            for status in statuses])
        async with self._lock(customer.id):
            topic, _ = await self._topic(customer)
            await self._post(customer, text, topic=topic, buttons=buttons)
            if request.photos and await self._business_of(customer.id) is not None:
                # Sent in the shop's business chat, which Telegram copies nothing out of.
                await self._post(customer, self.texts.render(
                    "staff/business_photos", self.lang, photos=len(request.photos)),
                    topic=topic)
            elif request.photos:
                try:
                    await self._copy_in(customer, sorted(request.photos))
                except TelegramBadRequest as exc:
                    log.info("return photos not copied: %s", exc.message)

    async def _post(self, customer: Customer, text: str, *, topic: int,
                    buttons: InlineKeyboardMarkup | None = None) -> int:
        """Post in the customer's topic; a deleted topic is made again and the post retried."""
        try:
            sent = await self.outbox.send(lambda: send_text(
                self.bot, self.chat_id, text, topic=topic, markup=buttons))
        except TelegramBadRequest as exc:
            if not _gone(exc):
                raise
            await self.takeovers.forget_topic(customer.id, topic)
            new_topic, _ = await self._topic(customer)
            sent = await self.outbox.send(lambda: send_text(
                self.bot, self.chat_id, text, topic=new_topic, markup=buttons))
        return sent.message_id

    async def _post_to(self, customer_id: int, text: str) -> None:
        """A notice in the customer's topic, if they have one and Telegram still knows it."""
        customer = await self.store.customer(customer_id)
        handoff = await self.takeovers.get(customer_id)
        if customer is None or handoff.topic is None:
            return
        async with self._lock(customer_id):
            await self._post(customer, text, topic=handoff.topic)

    def _soon(self, customer_id: int, post: Awaitable[Any]) -> None:
        """Post in the staff chat in the background: a handoff's card, a customer's message,
        what a staff action changes (the card, a notice). Nothing the bot handles waits for
        the staff chat's budget then: not the staff member's next message to the customer,
        not the next update. Posts about one customer (0: none) go one after another, in the
        order they were asked for."""
        before = self._tails.get(customer_id)

        async def run() -> None:
            if before is not None:
                await asyncio.wait({before})
            try:
                await post
            except TelegramAPIError:
                log.warning("staff chat post about %s failed", customer_id, exc_info=True)
            except Exception:  # a background task: logged, never lost silently
                log.exception("staff chat post about %s failed", customer_id)

        task = asyncio.create_task(run())
        self._tails[customer_id] = task
        self._later.add(task)

        def done(finished: asyncio.Task[None]) -> None:
            self._later.discard(finished)
            if self._tails.get(customer_id) is finished:
                del self._tails[customer_id]

        task.add_done_callback(done)

    async def settled(self) -> None:
        """Until the posts `_soon` started have gone (tests; a clean shutdown)."""
        while self._later:
            await asyncio.gather(*self._later, return_exceptions=True)


def topic_name(customer: Customer) -> str:
    """The topic's title: the customer's name and @username, and the id that never changes."""
    name = " ".join(part for part in (customer.first_name, customer.last_name) if part)
    handle = f" @{customer.username}" if customer.username else ""
    return f"{name or customer.id}{handle} · {customer.id}"[:128]


def _kind(message: Message) -> str:
    """What a message is, as Telegram names it (`photo`, `successful_payment`): the
    enum's value, not its Python name (`ContentType.PHOTO`)."""
    kind = message.content_type
    return str(getattr(kind, "value", kind))


def describe(message: Message) -> str:
    """A message as one line of the card: its text, or its kind and caption."""
    if message.text:
        return message.text
    kind = _kind(message)
    return f"[{kind}] {message.caption}" if message.caption else f"[{kind}]"


def _gone(exc: TelegramBadRequest) -> bool:
    return any(marker in exc.message.lower() for marker in _GONE)


@dataclass
class _Album:
    copy: Callable[[list[int]], Awaitable[None]]
    ids: list[int] = field(default_factory=list)
    task: asyncio.Task[None] | None = None


class Albums:
    """An album arrives as one update per item, possibly out of order: gather its items for
    a moment, then copy them at once, sorted, so they stay one album in the right order."""

    def __init__(self, wait: float) -> None:
        self.wait = wait
        self._open: dict[tuple[tuple[str, int], str], _Album] = {}

    async def add(self, owner: tuple[str, int], group: str, message_id: int,
                  copy: Callable[[list[int]], Awaitable[None]]) -> None:
        key = (owner, group)
        album = self._open.get(key)
        if album is None:
            album = self._open[key] = _Album(copy)
            album.task = asyncio.create_task(self._later(key))
        album.ids.append(message_id)

    async def flush(self, owner: tuple[str, int]) -> None:
        """Copy now whatever album of `owner` is still gathering."""
        for key in [key for key in self._open if key[0] == owner]:
            album = self._open.pop(key)
            if album.task is not None:
                album.task.cancel()
            await album.copy(sorted(album.ids))

    async def _later(self, key: tuple[tuple[str, int], str]) -> None:
        await asyncio.sleep(self.wait)
        album = self._open.pop(key, None)
        if album is not None:
            try:
                await album.copy(sorted(album.ids))
            except Exception:  # a background task: log, never lose silently
                log.exception("album %s not copied", key[1])
