"""Handing a conversation to staff once the bot's replies said a colleague will answer."""

from __future__ import annotations

from aiogram.types import Message

from bot.domain.replies import Reply
from bot.storage.store import Customer
from handlers.filters import staff_ready
from handlers.staff_desk import StaffDesk


async def hand_over(replies: list[Reply], customer: Customer, desk: StaffDesk | None,
                    message: Message | None = None) -> None:
    """After the shopper was told a colleague will answer: open their topic for staff, and
    put there the message that asked for a person, so staff can answer it."""
    wanted = [r.handoff for r in replies if r.handoff]
    if wanted and staff_ready(desk):
        if await desk.hand_over(customer, wanted[0]) and message is not None:
            await desk.from_customer(customer, message)
