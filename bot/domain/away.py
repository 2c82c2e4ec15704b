"""The away mode: what a shopper handed to a person is told while the team is away.

An owner sets it with /away (handlers/away.py); it is kept in Redis (bot/storage/away.py),
so every process follows it at once and it survives restarts. Three modes:

- off: handoffs as ever;
- holiday, until a date: a shopper handed over is told, once per conversation, that the
  team is back on that day and that the bot helps meanwhile; where the bot would say "back
  tomorrow at 10:00" (a greeting at night, the contacts), it says "on holiday until …".
  Staff still get the topic, its card and the message, and may answer (writing there takes
  the conversation over), but the handoff does not silence the bot: nobody may answer for
  days. The mode ends by itself when that day begins in the shop's zone (read from the
  clock where it is used: no job turns it off);
- unanswered after N minutes: a handoff that no person answered in N minutes of working
  time gets one message saying the team is busy and will answer soon (a follow-up job,
  bot/domain/followups.py, so it survives restarts and runs in any process); staff are told
  in the topic.

With `working_hours`: a holiday wins over "back tomorrow at 10:00" (the team is not back
tomorrow); in the unanswered mode, the minutes count from the next opening when the
handoff comes while the shop is closed, and the shopper keeps the "back at …" hint.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal, Protocol

from babel.dates import get_month_names

from bot.core.shop import Shop
from bot.domain.ports import Courier
from bot.domain.replies import Reply
from bot.domain.takeover import Takeovers
from bot.storage.away import AwayRecords
from bot.storage.store import Store

log = logging.getLogger(__name__)
MIN_MINUTES, MAX_MINUTES = 1, 1440  # a minute to a day: longer is a holiday, not a wait
JOB = "away_unanswered"
RECENT_DAYS = 183  # a day without a year this far back is taken as a slip, not next year's
Schedule = Callable[..., Awaitable[bool]]  # Followups.schedule(job, key, at, *args)


class Notices(Protocol):
    """The staff chat's notices in a customer's topic (handlers/staff_desk.py)."""

    async def notice(self, customer_id: int, template: str, **context: Any) -> None: ...


@dataclass(frozen=True)
class AwayMode:
    kind: Literal["off", "holiday", "unanswered"] = "off"
    until: date | None = None  # a holiday's day the team is back
    minutes: int | None = None  # how long a handoff waits for a person, unanswered mode


OFF = AwayMode()


class Away:
    def __init__(self, records: AwayRecords, store: Store, takeovers: Takeovers,
                 shop: Callable[[], Shop], clock: Callable[[], datetime]) -> None:
        self.records = records
        self.store = store
        self.takeovers = takeovers
        self.shop = shop  # the shop served now (a reload swaps it)
        self.clock = clock
        # Set by the factory once they exist: the job queue, the sending, the staff chat.
        self.schedule: Schedule | None = None
        self.courier: Courier | None = None
        self.staff: Notices | None = None

    def today(self) -> date:
        return self.clock().astimezone(self.shop().tz).date()

    # -- the mode ---------------------------------------------------------------------------
    async def mode(self) -> AwayMode:
        """The mode in force now: a holiday whose day has come is over, by the clock."""
        fields = await self.records.get()
        kind = fields.get("mode")
        if kind == "holiday":
            try:
                until = date.fromisoformat(fields.get("until", ""))
            except ValueError:
                return OFF
            return AwayMode("holiday", until=until) if until > self.today() else OFF
        if kind == "unanswered" and fields.get("minutes", "").isdigit():
            return AwayMode("unanswered", minutes=int(fields["minutes"]))
        return OFF

    async def set_holiday(self, until: date, by: int) -> None:
        await self.records.put({"mode": "holiday", "until": until.isoformat(), "by": str(by),
                                "at": str(self.clock().timestamp())})

    async def set_unanswered(self, minutes: int, by: int) -> None:
        await self.records.put({"mode": "unanswered", "minutes": str(minutes), "by": str(by),
                                "at": str(self.clock().timestamp())})

    async def turn_off(self) -> None:
        await self.records.put(None)

    # -- a handoff ----------------------------------------------------------------------------
    async def tell(self, customer_id: int, replies: list[Reply]) -> list[Reply]:
        """`replies` as the away mode words them. On holiday, "the team is back tomorrow at
        10:00" (a greeting at night, the contacts) becomes "on holiday until …", and a
        handoff's wait hint gives way to the holiday, told once per conversation."""
        at = next((i for i, r in enumerate(replies) if r.handoff), None)
        if at is None and not any(r.context.get("offline") for r in replies):
            return replies  # nothing here says when the team answers: no need to look
        mode = await self.mode()
        if mode.kind != "holiday" or mode.until is None:
            return replies
        back = datetime.combine(mode.until, datetime.min.time(), tzinfo=self.shop().tz)
        out = [replace(r, context={**r.context, "offline": {"holiday": back}})
               if r.context.get("offline") else r for r in replies]
        if at is None:
            return out
        conversation = await self.store.conversation(customer_id)
        started = conversation.started_at if conversation else None
        first = await self.records.tell_once(
            customer_id, str(started.timestamp()) if started else "")
        handoff = out[at]
        # "usually within a few minutes" and "back tomorrow at 10:00" are not true on holiday.
        out[at] = replace(handoff, context={**handoff.context,
                                            "away": {"told": not first, "back": back}})
        if first:
            out.insert(at + 1, Reply("away_holiday", {
                "shop": self.shop(), "name": handoff.context.get("name", ""), "back": back}))
        return out

    async def handed_over(self, customer_id: int, since: datetime) -> bool:
        """A handoff began at `since` (its topic has the card): whether a person holds the
        conversation now. On holiday, not: the bot goes on helping the shopper, as they were
        told, and staff who write in the topic take it over as ever. In the unanswered mode,
        the check that someone answered is queued."""
        mode = await self.mode()
        if mode.kind == "holiday":
            return False
        if mode.kind == "unanswered" and mode.minutes is not None and self.schedule is not None:
            at = self._working(since) + timedelta(minutes=mode.minutes)
            await self.schedule(JOB, f"{customer_id}:{since.timestamp():.0f}", at, customer_id,
                                since.timestamp())
        return True

    def _working(self, moment: datetime) -> datetime:
        """`moment`, or the next opening when the shop is closed then: the minutes are the
        team's working minutes (the shopper was told when they are back)."""
        hours = self.shop().working_hours
        local = moment.astimezone(self.shop().tz)
        if not hours.days or hours.is_open(local):
            return moment
        back = hours.next_opening(local)
        return back if back is not None else moment

    async def unanswered(self, customer_id: int, since_ts: float) -> bool:
        """The job: nobody answered the handoff of `since_ts` in time. The shopper gets one
        message saying the team is busy; staff are told. False when there is nothing to do:
        answered, handed back, a newer handoff, or the mode changed meanwhile. Marked sent
        before it is sent, so a job retried after a crash never sends it twice."""
        handoff = await self.takeovers.get(customer_id)
        since = datetime.fromtimestamp(since_ts, tz=UTC)
        if not handoff.with_staff or handoff.since is None \
                or abs(handoff.since.timestamp() - since_ts) > 1:
            return False  # back with the bot (/done, idle) or handed over again since
        mode = await self.mode()
        if mode.kind != "unanswered" or mode.minutes is None:
            return False
        if any(line.who == "staff" and line.at >= since
               for line in await self.store.history(customer_id)):
            return False
        now = self.clock()
        if self._working(now) != now and self.schedule is not None:
            # The shop closed meanwhile: the check waits for the team to be back.
            at = self._working(now) + timedelta(minutes=mode.minutes)
            await self.schedule(JOB, f"{customer_id}:{since_ts:.0f}:{at.timestamp():.0f}", at,
                                customer_id, since_ts)
            return False
        customer = await self.store.customer(customer_id)
        if customer is None or self.courier is None:
            return False
        if not await self.records.mark_sent(customer_id, f"{since_ts:.0f}"):
            return False
        reply = Reply("away_unanswered", {"shop": self.shop(), "name": customer.first_name})
        sent = await self.courier.send(customer_id, [reply], customer.lang)
        if sent and self.staff is not None:
            await self.staff.notice(customer_id, "staff/away_unanswered",
                                    name=customer.first_name, minutes=mode.minutes)
        return sent


# -- reading a date an owner typed ------------------------------------------------------------
_MONTHS: dict[str, int] = {}
for _locale in ("en", "ru"):
    for _context in ("format", "stand-alone"):
        for _width in ("wide", "abbreviated"):
            for _number, _name in get_month_names(_width, context=_context,
                                                  locale=_locale).items():
                _MONTHS[_name.lower().rstrip(".")] = _number
_ISO = re.compile(r"^(\d{4})[-./](\d{1,2})[-./](\d{1,2})$")
_DAY_FIRST = re.compile(r"^(\d{1,2})[./-](\d{1,2})(?:[./-](\d{2}|\d{4}))?$")
_CHINESE = re.compile(r"^(?:(\d{4})年)?(\d{1,2})月(\d{1,2})[日号號]?$")
_WORDS = re.compile(r"^(?:(\d{1,2})\s*([^\d\s]+)|([^\d\s]+)\s*(\d{1,2}))(?:\s+(\d{4}))?$")


def read_date(text: str, today: date) -> date | None:
    """The day an owner typed: "2027-01-03", "03.01", "3.1.2027", "3/1" (day first), "3
    January", "January 3, 2027", "3 января", "1月3日", "2027年1月3日". Without a year, the
    next such day, unless it passed lately (then that past day, which the owner is told
    is over). None when it reads as no date."""
    cleaned = unicodedata.normalize("NFKC", text).strip().lower()
    cleaned = re.sub(r"(?<=\d)(st|nd|rd|th)\b", "", cleaned)
    cleaned = re.sub(r"[,]", " ", cleaned).replace("/", ".")
    cleaned = re.sub(r"\s+", " ", cleaned).strip()
    if found := _ISO.match(cleaned):
        return _made(int(found[1]), int(found[2]), int(found[3]))
    if found := _DAY_FIRST.match(cleaned):
        year = found[3]
        return _dated(today, int(found[1]), int(found[2]),
                      None if year is None else int(year) + (2000 if len(year) == 2 else 0))
    if found := _CHINESE.match(cleaned.replace(" ", "")):
        return _dated(today, int(found[3]), int(found[2]),
                      int(found[1]) if found[1] else None)
    if found := _WORDS.match(cleaned):
        day, word = (found[1], found[2]) if found[1] else (found[4], found[3])
        month = _month(word.strip("."))
        if month is None:
            return None
        return _dated(today, int(day), month, int(found[5]) if found[5] else None)
    return None


def _month(word: str) -> int | None:
    if word in _MONTHS:
        return _MONTHS[word]
    # "Sept", "dec", "янв", "декаб": the start of one month's name, three letters or more.
    starts = {number for name, number in _MONTHS.items()
              if len(word) >= 3 and name.startswith(word)}
    return starts.pop() if len(starts) == 1 else None


def _dated(today: date, day: int, month: int, year: int | None) -> date | None:
    if year is not None:
        return _made(year, month, day)
    this_year = _made(today.year, month, day)
    # A day passed lately is a slip to refuse ("6 Dec" on 7 December), not next year's.
    if this_year is not None and this_year >= today - timedelta(days=RECENT_DAYS):
        return this_year
    return _made(today.year + 1, month, day)


def _made(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def minutes_of(text: str) -> int | None:
    """A whole number of minutes from MIN_MINUTES to MAX_MINUTES ("10", "10 min"), or None."""
    found = re.match(r"^\s*(\d{1,5})\s*\D{0,12}$", unicodedata.normalize("NFKC", text))
    if not found:
        return None
    minutes = int(found[1])
    return minutes if MIN_MINUTES <= minutes <= MAX_MINUTES else None
