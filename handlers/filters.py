"""Who may do what, as aiogram filters and guards: one place for the checks routers and
handlers repeat.

Every filter here is a coroutine. aiogram 3.31 runs a synchronous filter, a magic filter
(`F.chat.type == "private"`) included, through `asyncio.to_thread` (CallableObject.call in
aiogram/dispatcher/event/handler.py): about 20 µs a hop against 1 µs inline, and the
shopper's path crossed a dozen of them per update. `tests/unit/test_dispatch.py` fails on a
synchronous filter or handler anywhere in the routers.
"""

from __future__ import annotations

from typing import Any, TypeGuard

from aiogram.filters import BaseFilter
from aiogram.types import CallbackQuery, Message, TelegramObject, User
from magic_filter import MagicFilter

from bot.app.config import Settings
from handlers.staff_desk import StaffDesk


def is_admin(user: User | None, settings: Settings) -> bool:
    """One of the shop's admins (ADMIN_IDS)."""
    return user is not None and user.id in settings.admin_ids


class IsAdmin(BaseFilter):
    """Passes the shop's admins only (owner commands, /broadcast, /reload), and only in their
    chat with the bot: in a business chat an admin is one more shopper."""

    async def __call__(self, event: Message | CallbackQuery, settings: Settings) -> bool:
        return is_admin(event.from_user, settings) and in_bot_chat(event)


def in_bot_chat(event: Message | CallbackQuery) -> bool:
    """Written, or pressed, in a chat with the bot itself, not in a business account's chat
    the bot answers for (handlers/business.py)."""
    message = event.message if isinstance(event, CallbackQuery) else event
    return not (isinstance(message, Message) and message.business_connection_id)


class Private(BaseFilter):
    """Passes what happens in a private chat with the bot: a message, an edit, a block, or a
    press on a button under a message there."""

    async def __call__(self, event: TelegramObject) -> bool:
        if isinstance(event, CallbackQuery):
            # A press with no message (an inline-mode message) belongs to no chat.
            return event.message is not None and event.message.chat.type == "private"
        chat = getattr(event, "chat", None)
        return chat is not None and chat.type == "private"


async def has_words(message: Message) -> bool:
    """A text with something in it besides spaces (an empty one is answered as a sticker)."""
    return bool(message.text and message.text.strip())


class Inline(BaseFilter):
    """A magic filter resolved on the event loop, where aiogram would resolve it in a
    thread: `Inline(F.text.startswith("!"))` passes exactly what `F.text.startswith("!")`
    passes. For checks off the shopper's path; on it, a filter of its own is cheaper."""

    def __init__(self, magic: MagicFilter) -> None:
        self.magic = magic

    async def __call__(self, event: TelegramObject) -> Any:
        return self.magic.resolve(event)


def staff_ready(desk: StaffDesk | None) -> TypeGuard[StaffDesk]:
    """A staff chat is set and passed its start-up check: people can take conversations."""
    return desk is not None and desk.ready
