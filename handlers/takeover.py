"""The customer's side while a person holds the conversation: the bot only passes messages on."""

from __future__ import annotations

from aiogram import Router
from aiogram.types import CallbackQuery, ChatMemberUpdated, Message, User

from bot.storage.store import Customer, Store
from handlers.filters import staff_ready
from handlers.staff_desk import StaffDesk


async def held(event: Message | CallbackQuery, desk: StaffDesk | None,
               event_from_user: User | None = None) -> bool:
    """A filter: a person holds this shopper's conversation (the bot stays quiet)."""
    if not staff_ready(desk) or event_from_user is None:
        return False
    return await desk.holds(event_from_user.id)


async def to_staff(message: Message, desk: StaffDesk, customer: Customer) -> None:
    await desk.from_customer(customer, message)


async def quiet_button(query: CallbackQuery) -> None:
    """An old button pressed while a person answers: stop its spinner, nothing more."""
    await query.answer()


async def edited(message: Message, desk: StaffDesk | None) -> None:
    """The shopper edited a message that was copied to staff: edit the copy too."""
    if staff_ready(desk) and message.from_user is not None:
        await desk.edited(message.from_user.id, message, "in")


async def blocked(update: ChatMemberUpdated, desk: StaffDesk | None, store: Store) -> None:
    """The shopper blocked (or unblocked) the bot: follow-ups skip them meanwhile, and their
    topic, if they have one, is told."""
    gone = update.new_chat_member.status == "kicked"
    await store.set_blocked(update.chat.id, gone)
    if gone and staff_ready(desk):
        await desk.customer_blocked(update.chat.id)


def register(router: Router) -> None:
    """On the shoppers' router (handlers/routers.py), which passes private chats only and
    loads the customer's profile for a handler that matched."""
    router.message.register(to_staff, held)
    router.callback_query.register(quiet_button, held)
    router.edited_message.register(edited)
    router.my_chat_member.register(blocked)
