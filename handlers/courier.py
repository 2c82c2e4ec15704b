"""Messages the bot starts (not answers): order news, follow-ups. A customer who blocked the
bot is marked, so the next follow-up skips them."""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError

from bot.core.languages import Lang
from bot.domain.replies import Reply
from bot.storage.store import Store
from handlers.present import send_text, send_to
from handlers.texts import Texts

log = logging.getLogger(__name__)


class Courier:
    def __init__(self, bot: Bot, texts: Texts, store: Store) -> None:
        self.bot = bot
        self.texts = texts
        self.store = store

    async def send_text(self, chat_id: int, text: str) -> bool:
        """A ready text (to an owner, say); False when they cannot be reached."""
        try:
            await send_text(self.bot, chat_id, text)
        except (TelegramForbiddenError, TelegramBadRequest) as exc:
            log.warning("could not tell %s: %s", chat_id, exc.message)
            return False
        return True

    async def send(self, customer_id: int, replies: list[Reply], lang: Lang) -> bool:
        """False when Telegram says the customer cannot be reached (blocked, never started)."""
        try:
            await send_to(self.bot, customer_id, replies, self.texts, lang)
        except TelegramForbiddenError:
            log.info("customer %s blocked the bot: marked, follow-ups skip them", customer_id)
            await self.store.set_blocked(customer_id, True)
            return False
        except TelegramBadRequest as exc:
            if "chat not found" not in exc.message:
                raise
            await self.store.set_blocked(customer_id, True)
            return False
        return True
