"""Everything the bot leaves alone on purpose: edits, groups, channels, foreign buttons."""

from __future__ import annotations

from aiogram import Router
from aiogram.types import CallbackQuery, Message


async def edited(message: Message) -> None:
    """An edit of an earlier message: the bot already answered the original."""


async def foreign_callback(query: CallbackQuery) -> None:
    """A button pressed outside a private chat: stop its spinner, nothing else."""
    await query.answer()


def build() -> Router:
    router = Router(name="fallback")
    router.edited_message.register(edited)
    router.callback_query.register(foreign_callback)
    return router
