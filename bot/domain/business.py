"""Telegram Business: the bot answers in the chats of a business account its owner connected
(Settings → Telegram Business → Chatbots), as the shop itself.

Who wrote a message in such a chat decides what happens to it: the shopper is answered as in
the bot's own chat; the owner writing in person quiets the bot there, as a staff takeover
does, until they hand the chat back or stay silent for a while; Telegram's own greeting and
away messages, and what a bot sent, are nobody stepping in. The records are kept by
bot/storage/business.py; nothing here knows Telegram's types.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from bot.storage.business import BusinessRecords, Connection, Visit

__all__ = ["Business", "Connection", "Visit", "Writer", "writer"]

Writer = Literal["shopper", "owner", "automatic", "bot"]
# What a connection's news means for the bot: it answers there (`connected`), it may not
# (`no_reply`), the shop keeps it quiet in business chats (`muted`: BUSINESS_REPLIES=false),
# the account went away (`disabled`), or nothing changed for it.
Change = Literal["connected", "no_reply", "muted", "disabled", "unchanged"]


def writer(sender: int | None, connection: Connection, *, by_bot: bool,
           offline: bool) -> Writer:
    """Who wrote a message in one of the account's chats. `by_bot`: a bot sent it on the
    account's behalf (this one, answering, or another); `offline`: Telegram sent it by
    itself (the account's greeting or away message, or a scheduled one)."""
    if by_bot:
        return "bot"
    if sender == connection.owner:
        return "automatic" if offline else "owner"
    return "shopper"


@dataclass
class Business:
    records: BusinessRecords
    clock: Callable[[], datetime]
    idle: timedelta  # the owner's silence after which the bot answers their chat again
    answers: bool = True  # BUSINESS_REPLIES: the bot answers shoppers in business chats
    greets: Literal["auto", "always", "never"] = "auto"

    async def connected(self, connection: Connection) -> Change:
        """Telegram told of a connection, new or changed: kept, and how it changed for the
        bot (what the admins are told)."""
        before = await self.records.save(connection)
        if before is not None and before.serving == connection.serving \
                and before.enabled == connection.enabled:
            return "unchanged"
        if not connection.enabled:
            return "disabled"
        if not connection.can_reply:
            return "no_reply"
        return "connected" if self.answers else "muted"

    async def visit(self, customer: int, connection_id: str, sender: int | None, *,
                    by_bot: bool) -> Visit:
        """A message in one of the account's chats; a shopper's notes where they wrote."""
        return await self.records.visit(customer, connection_id, sender, by_bot=by_bot)

    def owner_holds(self, visit: Visit) -> bool:
        """The owner wrote to this shopper in person lately: the bot stays quiet."""
        return visit.owner_at is not None and self.clock() - visit.owner_at < self.idle

    def greeting_wanted(self, connection: Connection) -> bool:
        """Whether the bot greets a new conversation in this account's chats: not on top of
        Telegram's own greeting (BUSINESS_GREETING=auto sees it once it has come)."""
        if self.greets == "auto":
            return not connection.automatic
        return self.greets == "always"

    async def automatic(self, connection: Connection) -> None:
        """Telegram's own greeting or away message came in one of the account's chats."""
        if not connection.automatic:
            await self.records.automatic_seen(connection.id)

    async def owner_wrote(self, customer: int, connection: Connection) -> bool:
        """The owner wrote to the customer in person; True when that starts their hold (the
        owner is told how to hand the chat back), False while it goes on."""
        now = self.clock()
        before = await self.records.owner_wrote(customer, connection.owner, now)
        return before is None or now - before >= self.idle

    async def hand_back(self, customer: int, owner: int) -> bool:
        """The owner's button: the bot answers the customer again; False if it already did
        or the button is not theirs."""
        return await self.records.hand_back(customer, owner)

    async def connection_of(self, customer: int) -> Connection | None:
        """Where a message the bot starts goes: the connection the customer last wrote
        through (which may no longer serve: then it cannot go), None for the bot's own
        chat."""
        connection_id = await self.records.business_of(customer)
        if connection_id is None:
            return None
        connection = await self.records.connection(connection_id)
        return connection or Connection(connection_id, 0, 0, None, enabled=False,
                                        can_reply=False)

    async def connection(self, connection_id: str) -> Connection | None:
        return await self.records.connection(connection_id)
