"""Who may do what, as aiogram filters and guards: one place for the checks routers and
handlers repeat."""

from __future__ import annotations

from typing import TypeGuard

from aiogram.filters import BaseFilter
from aiogram.types import CallbackQuery, Message, User

from bot.app.config import Settings
from handlers.staff_desk import StaffDesk


def is_admin(user: User | None, settings: Settings) -> bool:
    """One of the shop's admins (ADMIN_IDS)."""
    return user is not None and user.id in settings.admin_ids


class IsAdmin(BaseFilter):
    """Passes the shop's admins only (owner commands, /broadcast, /reload)."""

    async def __call__(self, event: Message | CallbackQuery, settings: Settings) -> bool:
        return is_admin(event.from_user, settings)


def staff_ready(desk: StaffDesk | None) -> TypeGuard[StaffDesk]:
    """A staff chat is set and passed its start-up check: people can take conversations."""
    return desk is not None and desk.ready
