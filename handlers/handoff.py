"""Handing a conversation to staff once the bot's replies said a colleague will answer."""

from __future__ import annotations

from typing import Any

from aiogram.types import Message

from bot.domain.replies import Reply
from bot.storage.store import Customer
from handlers.filters import staff_ready
from handlers.staff_desk import StaffDesk


async def hand_over(replies: list[Reply], customer: Customer, desk: StaffDesk | None,
                    message: Message | None = None,
                    detail: dict[str, Any] | None = None) -> None:
    """After the shopper was told a colleague will answer: open their topic for staff, and
    put there the message that asked for a person, so staff can answer it. `detail`: what
    the card says of the reason (the order rated low)."""
    wanted = [r.handoff for r in replies if r.handoff]
    if wanted and staff_ready(desk):
        await desk.hand_over(customer, wanted[0], detail=detail, message=message)
        # On holiday (bot/domain/away.py) the handoff left the bot answering: staff are told
        # why, and that writing in the topic takes the conversation over.
        away = next((r.context.get("away") for r in replies if r.handoff), None)
        if away and not await desk.takeovers.holds(customer.id):
            # Through the desk's queue of staff-chat posts (as every notice), so it comes
            # after the card, and the shopper's update waits for no staff-chat slot.
            await desk.notice(customer.id, "staff/away_holiday", name=customer.first_name,
                              back=away["back"])
