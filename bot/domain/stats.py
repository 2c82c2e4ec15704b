"""How the shop is doing, counted per day in the shop's time zone.

Each day's counters, and the seconds staff took to answer each handoff first, are kept
400 days by bot/storage/stats.py.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.storage.stats import StatsCounters
from bot.storage.store import Store

COUNTERS = ("conversations", "handoffs", "followups", "broadcasts", "broadcast_messages")


def average(ratings: dict[int, int]) -> float | None:
    """The average of star ratings (stars → how many), None when there are none."""
    count = sum(ratings.values())
    return sum(stars * n for stars, n in ratings.items()) / count if count else None


class RatedHelp:
    """The ratings shoppers gave a person's help (`help_ratings`, stars → count)."""

    help_ratings: dict[int, int]

    @property
    def help_rated(self) -> int:
        return sum(self.help_ratings.values())

    @property
    def help_average(self) -> float | None:
        """The average stars, None when no one rated it."""
        return average(self.help_ratings)


PERSON_COUNTERS = ("taken", "replies", "reply_seconds", "resolved", "resolve_seconds")


@dataclass
class Person(RatedHelp):
    """One staff member's figures: counted under `person:<user id>:<counter>` in the day."""

    taken: int = 0  # conversations they took (/take, /pass to them, first to answer)
    replies: int = 0  # handoffs they answered first
    reply_seconds: int = 0  # how long those customers waited, in all
    resolved: int = 0  # conversations they handed back (/done)
    resolve_seconds: int = 0  # from taking to handing back, in all
    help_ratings: dict[int, int] = field(
        default_factory=lambda: dict.fromkeys(range(1, 6), 0))

    @property
    def first_reply(self) -> float | None:
        """The average wait for their first answer, in seconds."""
        return self.reply_seconds / self.replies if self.replies else None

    @property
    def resolution(self) -> float | None:
        """The average time from taking a conversation to handing it back, in seconds."""
        return self.resolve_seconds / self.resolved if self.resolved else None

    def add(self, other: Person) -> None:
        for name in PERSON_COUNTERS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for stars, n in other.help_ratings.items():
            self.help_ratings[stars] += n


@dataclass
class Day(RatedHelp):
    day: date
    conversations: int = 0
    handoffs: int = 0  # conversations a person took over
    followups: int = 0  # after-sale messages sent (delivery checks, birthdays)
    broadcasts: int = 0
    broadcast_messages: int = 0
    ratings: dict[int, int] = field(default_factory=lambda: dict.fromkeys(range(1, 6), 0))
    # Ratings of a person's help, asked after staff hand a conversation back: stars → count.
    help_ratings: dict[int, int] = field(
        default_factory=lambda: dict.fromkeys(range(1, 6), 0))
    replies: list[float] = field(default_factory=list)  # seconds to staff's first answer
    people: dict[int, Person] = field(default_factory=dict)  # by staff member's user id

    @property
    def answered_by_bot(self) -> float | None:
        """Share of conversations no person had to take over."""
        if not self.conversations:
            return None
        return max(0.0, 1 - self.handoffs / self.conversations)

    @property
    def satisfaction(self) -> float | None:
        return average(self.ratings)

    @property
    def first_reply(self) -> float | None:
        return statistics.median(self.replies) if self.replies else None


def merge(days: list[Day]) -> Day:
    """Several days as one (a week); `days` is not empty."""
    total = Day(days[0].day)
    for d in days:
        for name in COUNTERS:
            setattr(total, name, getattr(total, name) + getattr(d, name))
        for stars, n in d.ratings.items():
            total.ratings[stars] += n
        for stars, n in d.help_ratings.items():
            total.help_ratings[stars] += n
        total.replies += d.replies
        for person_id, person in d.people.items():
            total.people.setdefault(person_id, Person()).add(person)
    return total


class Stats:
    def __init__(self, store: Store, clock: Callable[[], datetime], tz: ZoneInfo,
                 on_count: Callable[[str, int], None] | None = None) -> None:
        self.counters = StatsCounters(store)
        self.clock = clock
        self.tz = tz
        self.on_count = on_count  # mirrors each count, e.g. into the Prometheus metrics

    def today(self) -> date:
        return self.clock().astimezone(self.tz).date()

    async def count(self, what: str, n: int = 1) -> None:
        await self.counters.count(self.today(), what, n)
        if self.on_count is not None:
            self.on_count(what, n)

    async def rating(self, stars: int) -> None:
        await self.count(f"rating_{stars}")

    async def help_rating(self, stars: int) -> None:
        """A shopper rated a person's help (after a hand-back), 1–5."""
        await self.count(f"help_rating_{stars}")

    async def first_reply(self, seconds: float, person: int | None = None) -> None:
        """Staff's first answer to a handoff, `seconds` after it; `person` answered."""
        await self.counters.first_reply(self.today(), seconds)
        if person is not None:
            await self.person(person, "replies")
            await self.person(person, "reply_seconds", round(seconds))

    async def person(self, person: int, what: str, n: int = 1) -> None:
        """One of a staff member's figures (`PERSON_COUNTERS`, `help_rating_<stars>`)."""
        await self.counters.count(self.today(), f"person:{person}:{what}", n)

    async def days(self, count: int) -> list[Day]:
        """The last `count` days, oldest first, today included."""
        today = self.today()
        wanted = [today - timedelta(days=back) for back in range(count - 1, -1, -1)]
        result = []
        for day, (values, replies) in zip(wanted, await self.counters.days(wanted),
                                          strict=True):
            d = Day(day, **{name: values.get(name, 0) for name in COUNTERS})
            d.ratings = {s: values.get(f"rating_{s}", 0) for s in range(1, 6)}
            d.help_ratings = {s: values.get(f"help_rating_{s}", 0) for s in range(1, 6)}
            d.replies = replies
            d.people = _people(values)
            result.append(d)
        return result


def _people(values: dict[str, int]) -> dict[int, Person]:
    people: dict[int, Person] = {}
    for name, n in values.items():
        if not name.startswith("person:"):
            continue
        _, person_id, what = name.split(":", 2)
        person = people.setdefault(int(person_id), Person())
        if what.startswith("help_rating_"):
            person.help_ratings[int(what.removeprefix("help_rating_"))] = n
        elif what in PERSON_COUNTERS:
            setattr(person, what, n)
    return people
