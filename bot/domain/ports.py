"""What the shop's rules need from the outside world, as Protocols: the Telegram layer
(`handlers/`) implements them, and the factory hands the implementations in. The rules never
import the Telegram layer."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from bot.core.languages import Lang
from bot.domain.replies import Reply

if TYPE_CHECKING:
    from bot.domain.broadcasts import Broadcasts


class Courier(Protocol):
    """Messages the bot starts (order news, follow-ups), as opposed to answers."""

    async def send(self, customer_id: int, replies: list[Reply], lang: Lang, *,
                   promotion: bool = False) -> bool:
        """False when the customer cannot be reached (blocked the bot, never started it).
        A `promotion` goes to the bot's own chat only, never to a business chat."""
        ...

    async def send_text(self, chat_id: int, text: str) -> bool:
        """A ready text (to an owner, say); False when they cannot be reached."""
        ...


class BroadcastSender(Protocol):
    """Sends one broadcast's messages, resumably; a worker runs it as a job."""

    broadcasts: Broadcasts

    @property
    def job_timeout(self) -> float: ...

    async def run(self, bid: str) -> datetime | None:
        """Send what is left of broadcast `bid`; when to run again, if it is not done."""
        ...


class OrderWebhook(Protocol):
    """Posts to the shop's backend (`ORDER_WEBHOOK_URL`), signed; bot/app/order_webhook.py."""

    async def post(self, delivery_id: str, body: bytes) -> str | None:
        """None when the backend acknowledged it (2xx); else what went wrong, in a line."""
        ...
