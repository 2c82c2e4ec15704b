"""Messages the bot starts (not answers): order news, follow-ups. A customer who blocked the
bot is marked, so the next follow-up skips them."""

from __future__ import annotations

import logging

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest, TelegramForbiddenError

from bot.core.languages import Lang
from bot.domain.business import Business
from bot.domain.replies import Reply
from bot.storage.store import Store
from handlers.present import in_business_chat, send_text, send_to
from handlers.texts import Texts

log = logging.getLogger(__name__)


class Courier:
    def __init__(self, bot: Bot, texts: Texts, store: Store, business: Business | None = None,
                 *, business_followups: bool = True) -> None:
        self.bot = bot
        self.texts = texts
        self.store = store
        self.business = business
        # BUSINESS_FOLLOWUPS: a customer who last wrote to the shop's business account hears
        # from it there; off, they hear in the bot's own chat, if they have one.
        self.business_followups = business_followups

    async def send_text(self, chat_id: int, text: str) -> bool:
        """A ready text (to an owner, say); False when they cannot be reached."""
        try:
            await send_text(self.bot, chat_id, text)
        except (TelegramForbiddenError, TelegramBadRequest) as exc:
            log.warning("could not tell %s: %s", chat_id, exc.message)
            return False
        return True

    async def send(self, customer_id: int, replies: list[Reply], lang: Lang, *,
                   promotion: bool = False) -> bool:
        """False when Telegram says the customer cannot be reached (blocked, never started).

        To the chat the customer last wrote in: the shop's business account
        (bot/domain/business.py) or the bot's own chat. A promotion goes to the bot's own
        chat only, which is where the customer consented to them."""
        connection = await self.business.connection_of(customer_id) if self.business else None
        if connection is None:
            return await self._send_bot_chat(customer_id, replies, lang, mark_blocked=True)
        if not promotion and self.business_followups and connection.serving:
            try:
                with in_business_chat(customer_id, connection.id):
                    await send_to(self.bot, customer_id, replies, self.texts, lang)
                return True
            except (TelegramForbiddenError, TelegramBadRequest) as exc:
                # Telegram lets a bot write there only for a while after the shopper's last
                # message: past it, their chat with the bot, if they have one.
                log.info("customer %s not reached through business account %s (%s): trying "
                         "their chat with the bot", customer_id, connection.id, exc.message)
        # A customer met in a business chat may never have started the bot: a refusal there
        # says nothing of a block.
        return await self._send_bot_chat(customer_id, replies, lang, mark_blocked=False)

    async def _send_bot_chat(self, customer_id: int, replies: list[Reply], lang: Lang, *,
                             mark_blocked: bool) -> bool:
        try:
            await send_to(self.bot, customer_id, replies, self.texts, lang)
        except TelegramForbiddenError:
            if mark_blocked:
                log.info("customer %s blocked the bot: marked, follow-ups skip them",
                         customer_id)
                await self.store.set_blocked(customer_id, True)
            return False
        except TelegramBadRequest as exc:
            if "chat not found" not in exc.message:
                raise
            if mark_blocked:
                await self.store.set_blocked(customer_id, True)
            return False
        return True
