"""Who is writing: the customer's profile is loaded (and refreshed) before any handler runs."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import Message, TelegramObject, User

from bot.domain.conversation import Assistant
from bot.storage.inbox import handling
from handlers.staff_desk import describe


class CustomerMiddleware(BaseMiddleware):
    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        user: User | None = data.get("event_from_user")
        assistant: Assistant = data["assistant"]
        if user is None or user.is_bot:
            return None
        data["customer"] = await assistant.store.identify(
            user.id,
            first_name=user.first_name,
            last_name=user.last_name,
            username=user.username,
            telegram_language=user.language_code,
            now=assistant.clock(),
        )
        if isinstance(event, Message):
            # For the staff's card: what the customer said, whoever answers it; once, even
            # when the update is handled a second time after its process stopped.
            said = describe(event)
            now = handling.get()
            history = await assistant.store.history(user.id, 10) if now and now.again else []
            if said not in [line.text for line in history if line.who == "customer"][-1:]:
                await assistant.store.remember(user.id, "customer", said, assistant.clock())
        return await handler(event, data)
