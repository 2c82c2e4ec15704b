"""Flood control at the door: before any handler, a shopper over the limit is not served."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import Message, TelegramObject

from bot.app.config import Settings
from bot.core.languages import from_telegram
from bot.core.metrics import Metrics
from bot.domain.conversation import Assistant
from bot.domain.flood import FloodGuard
from handlers.filters import is_admin, staff_ready
from handlers.present import say
from handlers.staff_desk import StaffDesk
from handlers.texts import Texts

log = logging.getLogger(__name__)


class FloodMiddleware(BaseMiddleware):
    def __init__(self, guard: FloodGuard, metrics: Metrics) -> None:
        self.guard, self.metrics = guard, metrics

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if not isinstance(event, Message) or event.chat.type != "private" \
                or event.from_user is None:
            return await handler(event, data)
        user = event.from_user
        settings: Settings = data["settings"]
        if is_admin(user, settings):
            return await handler(event, data)
        verdict = await self.guard.check(user.id, event.media_group_id
                                         or str(event.message_id))
        if verdict == "ok":
            return await handler(event, data)
        desk: StaffDesk | None = data.get("desk")
        if staff_ready(desk) and await desk.is_staff(user.id):
            return await handler(event, data)  # staff are never throttled
        if verdict == "notice":
            log.info("flood control: %s is sending too fast; not answering until calm",
                     user.id)
            self.metrics.flood_notices.inc()
            assistant: Assistant = data["assistant"]
            texts: Texts = data["texts"]
            customer = await assistant.store.customer(user.id)
            lang = customer.lang if customer else from_telegram(user.language_code)
            await say(event, texts, "flood_notice", lang)
        return None
