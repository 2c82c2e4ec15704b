"""Who holds a conversation, the bot or a person, which person, and where its staff topic is.

A person holds it from the handoff until they hand it back (or it goes idle); while they do,
the bot stays quiet. Within the team, one member has it (is assigned): whoever takes it
(/take), is passed it (/pass), or answers first while no one has; a colleague's words in its
topic are notes for the team then. The records, the staff topic and the copies of messages
made for edits are kept by bot/storage/takeovers.py; the team's members and who is on duty
by bot/storage/team.py.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bot.storage.store import Store
from bot.storage.takeovers import Handoff, HandoffRecords
from bot.storage.team import Person, TeamRecords

# The records, read by the Telegram layer
__all__ = ["Handoff", "Person", "Takeovers"]


class Takeovers:
    def __init__(self, store: Store) -> None:
        self.records = HandoffRecords(store)
        self.team = TeamRecords(store)

    async def get(self, customer: int) -> Handoff:
        return await self.records.get(customer)

    async def holds(self, customer: int) -> bool:
        """True while a person holds the conversation: the bot stays quiet."""
        return await self.records.holds(customer)

    async def take(self, customer: int, reason: str, now: datetime,
                   detail: dict[str, Any] | None = None) -> bool:
        """A person holds the conversation from now on; False if one already did. `detail`:
        what the card says of the reason (an order and its stars)."""
        if await self.records.hold(customer, now):
            return False
        # Staff who wrote first have answered already: no first-reply time is counted.
        await self.records.note_handoff(customer, reason, now, replied=reason == "staff",
                                        detail=detail)
        return True

    async def first_reply(self, customer: int, now: datetime) -> timedelta | None:
        """How long the customer waited for staff's first answer since the handoff (once)."""
        replied, since = await self.records.mark_replied(customer)
        if replied or since is None:
            return None
        return now - since

    async def touch(self, customer: int, now: datetime) -> None:
        """A message went either way: the idle clock starts again."""
        await self.records.touch(customer, now)

    async def release(self, customer: int) -> bool:
        """The bot has the conversation again; False if it already had."""
        return await self.records.release(customer)

    async def assign(self, customer: int, person: int, now: datetime, *,
                     only_if_free: bool = False) -> tuple[bool, int | None]:
        """`person` has the conversation: whether it changed hands, and who had it before.
        `only_if_free`: only if no one had it (a first answer takes a free conversation,
        never a colleague's)."""
        return await self.records.assign(customer, person, now, only_if_free=only_if_free)

    async def first_note(self, customer: int, person: int, assignee: int) -> bool:
        """Whether `person` is to be told, this once, that what they write in the topic
        stays a note while `assignee` has the conversation."""
        return await self.records.first_note(customer, person, assignee)

    async def idle(self, now: datetime, after: timedelta) -> list[int]:
        """Customers held by a person with no message either way for `after`."""
        return await self.records.quiet_since(now - after)

    # -- topics ------------------------------------------------------------------------
    async def set_topic(self, customer: int, topic: int, card: int | None,
                        card_of: datetime | None = None) -> None:
        """`card_of`: the handoff (its start) the card was posted for, if any."""
        await self.records.set_topic(customer, topic, card, card_of)

    async def set_card(self, customer: int, card: int, card_of: datetime | None = None) -> None:
        await self.records.set_card(customer, card, card_of)

    async def forget_topic(self, customer: int, topic: int) -> None:
        """Staff deleted the topic: the next message opens a new one."""
        await self.records.forget_topic(customer, topic)

    async def customer_of(self, topic: int) -> int | None:
        return await self.records.customer_of(topic)

    # -- message copies, for edits --------------------------------------------------------
    async def mirror(self, customer: int, direction: str, pairs: list[tuple[int, int]]) -> None:
        """Remember copies: `direction` "in" (customer -> topic) or "out" (topic -> customer);
        kept a week after the last one."""
        await self.records.mirror(customer, direction, pairs)

    async def copy_of(self, customer: int, direction: str, source: int) -> int | None:
        return await self.records.copy_of(customer, direction, source)
