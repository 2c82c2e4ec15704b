"""Messages the bot starts (not answers): order news, follow-ups. A customer who blocked the
bot is marked, so the next follow-up skips them."""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError

from bot.core.languages import Lang
from bot.domain.business import Business, Connection
from bot.domain.replies import Reply
from bot.storage.store import Store
from handlers.present import in_business_chat, send_text, send_to
from handlers.texts import Texts

log = logging.getLogger(__name__)


class Courier:
    def __init__(self, bot: Bot, texts: Texts, store: Store,
                 business: Business | None = None) -> None:
        self.bot = bot
        self.texts = texts
        self.store = store
        # Set (BUSINESS_FOLLOWUPS): a customer who last wrote to the shop's business account
        # hears from it there.
        self.business = business

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
        connection = await self.business.connection_of(customer_id) if self.business else None
        if connection is not None:
            return await self._send_business(customer_id, connection, replies, lang)
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

    async def _send_business(self, customer_id: int, connection: Connection,
                             replies: list[Reply], lang: Lang) -> bool:
        """To the business chat the customer last wrote in. Telegram lets a bot write there
        only for a while after the shopper's last message, and only while the connection
        lets it reply: a refusal is logged, and the customer is not marked blocked (their
        chat with the bot, if they have one, is untouched)."""
        if not connection.serving:
            log.info("customer %s last wrote to business account %s, which the bot may no "
                     "longer answer: not sent", customer_id, connection.id)
            return False
        try:
            with in_business_chat(customer_id, connection.id):
                await send_to(self.bot, customer_id, replies, self.texts, lang)
        except (TelegramForbiddenError, TelegramBadRequest) as exc:
            log.info("customer %s not reached through business account %s: %s", customer_id,
                     connection.id, exc.message)
            return False
        return True
