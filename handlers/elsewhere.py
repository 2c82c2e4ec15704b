"""Commands addressed to another bot (`/start@SomeOtherBot`): left alone, in any chat.

aiogram's `Command` filters already refuse them (they compare the mention with the bot's
username), but the catch-alls after them would not: the shopper's chat would read the text
as a message, the staff chat would answer it as an unknown command, and a held conversation
would pass it on to staff. So they are taken, and dropped, before any other handler.
"""

from __future__ import annotations

from aiogram import Bot, Router
from aiogram.types import Message


async def for_another_bot(message: Message, bot: Bot) -> bool:
    """A filter: a command whose `@mention` names a bot other than this one."""
    text = message.text or message.caption
    if not text or not text.startswith("/"):
        return False
    mention = text.split(maxsplit=1)[0].partition("@")[2]
    if not mention:
        return False
    me = await bot.me()  # cached: asked once at start-up
    return mention.lower() != (me.username or "").lower()


async def ignore(message: Message) -> None:
    """Someone else's command: no answer, no customer profile, nothing passed on."""


def register(router: Router) -> None:
    """On the root router, ahead of every other handler and router."""
    router.message.register(ignore, for_another_bot)
