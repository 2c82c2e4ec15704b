"""A broadcast lane's scheduler over stand-ins for Redis and Telegram, with no I/O at all, so
what the lane does between two answers is exactly what it can do without them."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from bot.storage.broadcasts import Broadcast, Outcome, Start
from handlers.broadcast_sender import STARTING_SECONDS, Lane


class Records:
    """The broadcast's queue and states, as the lane sees them through `Broadcasts`; marking
    recipients `sending` can be held up (Redis stalled)."""

    def __init__(self, recipients: int) -> None:
        self.queue = list(range(1, recipients + 1))
        self.states = dict.fromkeys(self.queue, "pending")
        self.stalled = False
        self.resume = asyncio.Event()
        self.waiting = self.most_waiting = 0
        self.full = asyncio.Event()  # as many held up as the lane may have

    async def claim(self, bid: str, sender: str, count: int) -> list[int]:
        taken, self.queue = self.queue[:count], self.queue[count:]
        return taken

    async def record(self, bid: str, sender: str, outcomes: Sequence[Outcome] = (),
                     begin: Sequence[int] = ()) -> list[Start]:
        if begin and self.stalled:
            self.waiting += 1
            self.most_waiting = max(self.most_waiting, self.waiting)
            self.full.set()
            await self.resume.wait()
            self.waiting -= 1
        for done in outcomes:
            if done.outcome == "pending":
                self.states[done.recipient] = "pending"
                self.queue.insert(0, done.recipient)
            elif self.states[done.recipient] == "sending":
                self.states[done.recipient] = done.outcome
        for rid in begin:
            self.states[rid] = "sending"
        return [Start(rid, "go", True, "en", None) for rid in begin]

    async def alive(self, bid: str, sender: str) -> None:
        pass

    async def rescue(self, bid: str) -> int:
        return 0

    async def silent_holders_lapse(self, bid: str, sender: str, silent: float) -> None:
        return None

    async def queued(self, bid: str) -> int:
        return len(self.queue)

    async def get(self, bid: str) -> Broadcast:
        return BROADCAST

    async def finished(self, bid: str) -> None:
        return None

    @staticmethod
    def language(start: Start, broadcast: Broadcast) -> str:
        return "en"


class Rate:
    """The shared rate, one instant every 1/rate seconds, on a clock of the test's own."""

    def __init__(self) -> None:
        self.now = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)
        self.next = self.now.timestamp()

    def clock(self) -> datetime:
        return self.now

    async def reserve(self, per_second: float, count: int,
                      until: float | None = None) -> list[float]:
        at = max(self.next, self.now.timestamp())
        booked = [at + n / per_second for n in range(count)
                  if until is None or at + n / per_second <= until]
        if booked:
            self.next = booked[-1] + 1 / per_second
        return booked

    async def sleep(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)
        await asyncio.sleep(0)


BROADCAST = Broadcast(id="B1", variants={"en": {"text": "Hi"}}, default="en", segment={},
                      status="running", created_at=0, at=0)


async def test_a_stalled_redis_holds_back_a_few_sends_not_a_burst() -> None:
    records, rate, sent = Records(60), Rate(), []

    async def deliver(broadcast: Broadcast, chat: int, lang: str) -> None:
        sent.append(chat)

    sender = SimpleNamespace(broadcasts=records, limit=rate, clock=rate.clock, rate=25.0,
                             in_flight=50, slice=20.0, _deliver=deliver,
                             stats=SimpleNamespace(count=lambda *a: asyncio.sleep(0)),
                             _report=lambda *a, **k: asyncio.sleep(0))
    lane = Lane(sender, BROADCAST)  # type: ignore[arg-type]
    held = max(2, math.ceil(25 * STARTING_SECONDS))
    running = asyncio.create_task(lane.run())
    records.stalled = True  # Redis stops answering the marks
    await asyncio.wait_for(records.full.wait(), 5)
    # Nothing in the lane's way but the stall: given every chance, it starts no more sends
    # while the ones held up wait (they would all go at once when Redis answers).
    for _ in range(200):
        await asyncio.sleep(0)
    assert records.waiting == held and not sent
    records.stalled = False
    records.resume.set()
    assert await asyncio.wait_for(running, 5) is None
    assert records.most_waiting == held
    assert sorted(sent) == list(range(1, 61))  # everyone once
