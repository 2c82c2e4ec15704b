"""The staff chat: a forum topic per customer. Staff answer, note, reply from templates and
hand back; only members of the chat can act in it, only ADMIN_IDS run owner commands."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message, TelegramObject, User

from bot.app.config import Settings
from bot.core.shop import Shop
from bot.domain.aftersale import AfterSale
from bot.domain.takeover import Person
from handlers.callback_data import ReturnStatusData, StaffDoneData
from handlers.commands import reload_report
from handlers.courier import Courier
from handlers.filters import Inline, is_admin, staff_ready
from handlers.staff_desk import StaffDesk
from handlers.texts import Texts

log = logging.getLogger(__name__)

# What a staff member can send a customer; service messages (topic created...) are not.
CONTENT = {"text", "photo", "document", "voice", "video", "sticker", "audio", "animation",
           "video_note", "location", "contact", "venue", "dice"}


async def in_staff_chat(event: Message | CallbackQuery,
                        desk: StaffDesk | None) -> bool:
    message = event.message if isinstance(event, CallbackQuery) else event
    return staff_ready(desk) and message is not None \
        and message.chat.id == desk.chat_id


class StaffOnly(BaseMiddleware):
    """Members of the staff chat only. A public group lets anyone read and press buttons,
    and a channel's discussion group lets outsiders comment: they are ignored."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        desk: StaffDesk = data["desk"]
        user: User | None = data.get("event_from_user")
        sender_chat = getattr(event, "sender_chat", None)
        person = None
        if sender_chat is not None:
            allowed = sender_chat.id == desk.chat_id  # an anonymous admin of the staff chat
        else:
            allowed = user is not None and not user.is_bot and await desk.is_staff(user.id)
            if allowed and user is not None:
                person = Person(user.id, user.full_name, user.username)
                await desk.takeovers.team.seen(person)  # so /pass @username finds them
        if allowed:
            # None for an anonymous admin: the group speaks, no one in particular, who can
            # neither take a conversation nor find theirs kept as a note.
            data["person"] = person
            return await handler(event, data)
        if isinstance(event, CallbackQuery):
            await event.answer(data["texts"].render("staff/not_staff", desk.lang),
                               show_alert=True)
        log.info("ignored %s in the staff chat from a non-member", type(event).__name__)
        return None


async def _customer(message: Message, desk: StaffDesk) -> int | None:
    if not message.is_topic_message or message.message_thread_id is None:
        return None
    return await desk.takeovers.customer_of(message.message_thread_id)


async def done(message: Message, desk: StaffDesk, texts: Texts,
               person: Person | None = None) -> None:
    customer = await _customer(message, desk)
    if customer is None:
        await _help(message, desk, texts, outside=True)
        return
    await desk.hand_back(customer, by=_who(message), person=person)


async def card_button(query: CallbackQuery, callback_data: StaffDoneData,
                      desk: StaffDesk, person: Person | None = None) -> None:
    """The card's buttons: take the conversation, or hand it back to the bot."""
    customer = callback_data.customer
    await query.answer()
    if callback_data.what == "take" and person is not None:
        await desk.take(customer, person)
    elif callback_data.what == "done":
        await desk.hand_back(customer, by=query.from_user.full_name, person=person)


async def take(message: Message, desk: StaffDesk, texts: Texts,
               person: Person | None = None) -> None:
    """/take in a customer's topic: the conversation is the sender's."""
    customer = await _customer(message, desk)
    if customer is None or person is None:
        await _help(message, desk, texts, outside=customer is None)
        return
    await desk.take(customer, person)


async def pass_on(message: Message, command: CommandObject, desk: StaffDesk, texts: Texts,
                  person: Person | None = None) -> None:
    """/pass @colleague (or /pass in answer to a colleague's message): the conversation is
    theirs now."""
    customer = await _customer(message, desk)
    if customer is None or person is None:
        await _help(message, desk, texts, outside=customer is None)
        return
    to = await _colleague(message, command, desk)
    if to is None:
        await desk.answer_staff(texts.render("staff/pass_unknown", desk.lang,
                                             asked=(command.args or "").strip()),
                                message.message_thread_id)
        return
    await desk.assign(customer, to, by=person)


async def _colleague(message: Message, command: CommandObject,
                     desk: StaffDesk) -> Person | None:
    """Whom /pass names: a mention Telegram resolved (a name picked from the list), an
    @username the bot has seen at work here, or the author of the message answered."""
    for entity in message.entities or []:
        if entity.type == "text_mention" and entity.user is not None:
            user = entity.user
            return Person(user.id, user.full_name, user.username)
    asked = (command.args or "").split()
    if asked:
        return await desk.takeovers.team.by_username(asked[0])
    answered = message.reply_to_message
    user = answered.from_user if answered is not None else None
    # In a forum, a message that answers none still "replies" to the topic's first post.
    if user is not None and not user.is_bot and answered is not None \
            and answered.message_id != message.message_thread_id:
        return Person(user.id, user.full_name, user.username)
    return None


async def duty(message: Message, command: CommandObject, desk: StaffDesk,
               person: Person | None = None) -> None:
    """/duty on, /duty off, or /duty: who is on duty (called on each handoff's card)."""
    if person is None:
        return
    said = (command.args or "").strip().lower()
    on = {"on": True, "off": False}.get(said)
    await desk.duty(person, on, message.message_thread_id)


async def note(message: Message) -> None:
    """/note or "!": for colleagues only; it stays in the topic."""


async def reply(message: Message, command: CommandObject, desk: StaffDesk,
                texts: Texts, person: Person | None = None) -> None:
    customer = await _customer(message, desk)
    if customer is None:
        await _help(message, desk, texts, outside=True)
        return
    key = (command.args or "").strip()
    if not await desk.canned(customer, key, person):
        await desk.answer_staff(texts.render("staff/canned_keys", desk.lang, key=key,
                                             keys=desk.canned_keys()),
                                message.message_thread_id)


async def reload(message: Message, settings: Settings, desk: StaffDesk, texts: Texts,
                 reload_shop: Callable[[], Shop]) -> None:
    user = message.from_user
    if not is_admin(user, settings):
        text = texts.render("staff/owner_only", desk.lang)
    else:
        text = reload_report(reload_shop, texts, desk.lang, user.id)
    await desk.answer_staff(text, message.message_thread_id)


async def tag(message: Message, command: CommandObject, desk: StaffDesk,
              texts: Texts) -> None:
    """/tag NAME (or /untag NAME) in a customer's topic: tags shown on the card."""
    customer = await _customer(message, desk)
    names = [n.strip().lower() for n in (command.args or "").replace(",", " ").split()
             if n.strip()][:10]
    if customer is None or not names or any(len(n) > 32 for n in names):
        await _help(message, desk, texts, outside=customer is None)
        return
    if command.command == "untag":
        await desk.store.untag(customer, *names)
    else:
        await desk.store.tag(customer, *names)
    await desk.refresh_card(customer)


async def return_status(query: CallbackQuery, callback_data: ReturnStatusData,
                        desk: StaffDesk, aftersale: AfterSale, courier: Courier) -> None:
    """A return moves on: the customer is told, and the topic says who did it."""
    return_id, status = callback_data.request, callback_data.status
    changed = await aftersale.set_return_status(return_id, status)
    await query.answer()
    if changed is None or changed.customer is None:  # None: the customer erased their data
        return
    customer = await aftersale.store.customer(changed.customer)
    lang = customer.lang if customer else aftersale.shop.default_language
    delivered = await courier.send(changed.customer, [aftersale.return_status(customer, changed)],
                                   lang)
    await desk.notice(changed.customer, "staff/return_moved", request=changed,
                      by=query.from_user.full_name, delivered=delivered)


async def unknown_command(message: Message, desk: StaffDesk, texts: Texts) -> None:
    await _help(message, desk, texts, outside=await _customer(message, desk) is None)


async def to_customer(message: Message, desk: StaffDesk,
                      person: Person | None = None) -> None:
    customer = await _customer(message, desk)
    if customer is not None:  # talk among staff in General or other topics stays there
        await desk.from_staff(customer, message, person)


async def edited(message: Message, desk: StaffDesk) -> None:
    customer = await _customer(message, desk)
    if customer is not None:
        await desk.edited(customer, message, "out")


async def _help(message: Message, desk: StaffDesk, texts: Texts, *, outside: bool) -> None:
    await desk.answer_staff(texts.render("staff/commands", desk.lang, outside=outside),
                            message.message_thread_id)


def _who(message: Message) -> str:
    if message.from_user is not None and message.sender_chat is None:
        return message.from_user.full_name
    return message.sender_chat.title or "" if message.sender_chat else ""


def build() -> Router:
    router = Router(name="staff")
    for observer in (router.message, router.edited_message, router.callback_query):
        observer.filter(in_staff_chat)
        observer.middleware(StaffOnly())
    router.message.register(done, Command("done"))
    router.message.register(note, Command("note"))
    router.message.register(note, Inline(F.text.startswith("!")))
    router.message.register(note, Inline(F.caption.startswith("!")))
    router.message.register(reply, Command("reply"))
    router.message.register(reload, Command("reload"))
    router.message.register(tag, Command("tag", "untag"))
    router.message.register(take, Command("take"))
    router.message.register(pass_on, Command("pass"))
    router.message.register(duty, Command("duty"))
    router.message.register(unknown_command, Inline(F.text.startswith("/")))
    router.message.register(to_customer, Inline(F.content_type.in_(CONTENT)))
    router.edited_message.register(edited)
    router.callback_query.register(card_button, StaffDoneData.filter())
    router.callback_query.register(return_status, ReturnStatusData.filter())
    return router
