"""What the factory needs from the Telegram layer (`handlers/`), as Protocols. `handlers`
imports `bot`, never the reverse: the layer is handed to the factory, which builds each part
by its constructor here."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Protocol

from aiogram import Bot, Dispatcher

from bot.app.config import Settings
from bot.core.languages import Lang
from bot.core.metrics import Metrics
from bot.core.shop import Shop
from bot.domain.broadcasts import Broadcasts, RateLimit
from bot.domain.business import Business
from bot.domain.conversation import Assistant
from bot.domain.flood import FloodGuard
from bot.domain.orders import OrderBook
from bot.domain.ports import BroadcastSender, Courier
from bot.domain.stats import Stats
from bot.domain.takeover import Takeovers
from bot.storage.outbox import Outbox
from bot.storage.own_texts import Wording
from bot.storage.store import Store


class Renderer(Protocol):
    """Texts from templates and catalogues, in a language (handlers/texts.py)."""

    def render(self, name: str, lang: Lang, /, **context: Any) -> str: ...

    def label(self, name: str, lang: Lang, /, **context: Any) -> str: ...

    def use_shop(self, currency: str, default: Lang, shop: Shop | None = None) -> None: ...

    def use_own(self, wording: Wording) -> None: ...


class Desk(Protocol):
    """The staff chat (handlers/staff_desk.py)."""

    chat_id: int

    @property
    def ready(self) -> bool: ...

    async def check(self) -> None: ...

    async def sweep(self) -> None: ...

    async def notice(self, customer_id: int, template: str, **context: Any) -> None:
        """A notice in the customer's topic (the away mode tells staff what it said)."""
        ...

    async def settled(self) -> None: ...


class TelegramLayer(Protocol):
    """The parts of the bot that speak Telegram, built by the factory in this order."""

    def texts(self, shop: Shop, rng: random.Random | None) -> Renderer: ...

    def courier(self, bot: Bot, texts: Renderer, store: Store, business: Business,
                *, business_followups: bool) -> Courier: ...

    def sender(self, bot: Bot, broadcasts: Broadcasts, limit: RateLimit, store: Store,
               texts: Renderer, stats: Stats, clock: Callable[[], datetime], *,
               rate: float, paid: bool, owner_lang: Callable[[], Lang]) -> BroadcastSender: ...

    def desk(self, bot: Bot, chat_id: int, assistant: Assistant, takeovers: Takeovers,
             texts: Renderer, outbox: Outbox, stats: Stats, orders: OrderBook, *,
             lang: Lang, idle_after: timedelta, business: Business) -> Desk: ...

    def setup(self, bot: Bot, dispatcher: Dispatcher, *, settings: Settings, store: Store,
              flood: FloodGuard, metrics: Metrics, clock: Callable[[], datetime],
              business: Business) -> None:
        """Routers, middlewares and the error handler on `dispatcher`; the Telegram layer's
        own middlewares on the bot's session."""
        ...
