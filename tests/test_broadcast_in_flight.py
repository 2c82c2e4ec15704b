"""A lane keeps several sends in flight: slow sends do not slow the broadcast, the bound on
sends in flight holds, a lane killed mid-batch is resumed without sending anyone twice,
and lanes racing each other never send ahead of the shop's one rate.

The bot's clock is the test's (its waits cost no time); the fake Bot API's slowness is
real but small, and nothing here asserts how long anything took."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections import Counter

import pytest

from bot.devtools.fake_bot_api import FakeBotAPI, Shopper
from bot.storage.broadcasts import UNKNOWN
from handlers.broadcast_sender import Sender
from tests.conftest import FakeClock, Harness, ShopBackend, run_due
from tests.test_broadcasts import create, customers

pytestmark = pytest.mark.dates


def received(api: FakeBotAPI, people: list[Shopper], since: int) -> Counter[int]:
    ids = {p.id for p in people}
    return Counter(c.chat_id for c in api.calls[since:]
                   if c.method == "sendMessage" and c.ok and c.chat_id in ids)


def sender_of(bot: Harness) -> Sender:
    sender = bot.app.followups.sender
    assert isinstance(sender, Sender)
    return sender


async def test_slow_sends_go_several_at_once_within_the_bound_and_each_once(
        shop: tuple[Harness, ShopBackend], api: FakeBotAPI,
        monkeypatch: pytest.MonkeyPatch) -> None:
    bot, backend = shop
    crowd = await customers(bot, api, *["en"] * 20)
    sender = sender_of(bot)
    sender.in_flight = 4
    api.slow("sendMessage", 0.05)  # every send takes a while
    deliver = sender._deliver
    flying, most, full = 0, 0, asyncio.Event()

    async def counted(*args: object) -> None:
        nonlocal flying, most
        flying += 1
        most = max(most, flying)
        if flying == sender.in_flight:
            full.set()
        try:
            # The first sends wait until the bound is reached, which a lane sending one at a
            # time never reaches (the bound keeps a broken lane from hanging the test).
            await asyncio.wait([asyncio.ensure_future(full.wait())], timeout=30)
            await deliver(*args)  # type: ignore[arg-type]
        finally:
            flying -= 1

    monkeypatch.setattr(sender, "_deliver", counted)
    since = len(api.calls)
    body = await create(backend)
    await run_due(bot.app)
    assert received(api, crowd, since) == Counter({p.id: 1 for p in crowd})
    assert full.is_set() and most == sender.in_flight  # several at once, never more
    progress = await sender.broadcasts.progress(body["id"])
    assert progress is not None and progress.broadcast.status == "done"
    assert progress.counts == {"sent": 20}


async def test_a_lane_killed_mid_batch_resumes_without_duplicates(
        shop: tuple[Harness, ShopBackend], api: FakeBotAPI, clock: FakeClock,
        monkeypatch: pytest.MonkeyPatch) -> None:
    bot, backend = shop
    crowd = await customers(bot, api, *["en"] * 12)
    sender = sender_of(bot)
    sender.in_flight = 3
    body = await create(backend)
    bid = body["id"]
    deliver, answered, hung = sender._deliver, 0, asyncio.Event()

    async def dying(*args: object) -> None:
        nonlocal answered
        await deliver(*args)  # type: ignore[arg-type]  # the message reaches Telegram...
        answered += 1
        if answered > 4:  # ...but from the fifth on, the lane never hears back
            if answered == 4 + sender.in_flight:
                hung.set()
            await asyncio.Event().wait()

    monkeypatch.setattr(sender, "_deliver", dying)
    since = len(api.calls)
    lane = asyncio.create_task(sender.run(bid))
    await asyncio.wait_for(hung.wait(), 60)  # a bound only: a broken lane fails, not hangs
    # The process dies: from now on nothing of it reaches Redis.
    keys = bot.app.store.keys
    claimed = [k async for k in bot.app.store.redis.scan_iter(
        match=keys.broadcast_claimed(bid, "*"))]
    assert len(claimed) == 1  # it held a batch: some begun, some not yet

    async def gone(*args: object, **kwargs: object) -> None:
        raise ConnectionError("the process is gone")

    monkeypatch.setattr(sender.broadcasts, "record", gone)
    monkeypatch.setattr(sender.broadcasts, "claim", gone)
    lane.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await lane
    monkeypatch.undo()
    waiting = await bot.app.store.redis.lrange(claimed[0], 0, -1)
    assert len(waiting) > 4  # the sends in flight and the ones not begun

    clock.advance(seconds=31)  # its heartbeat lapses
    for _ in range(5):
        if await sender.run(bid) is None:
            break
    progress = await sender.broadcasts.progress(bid)
    assert progress is not None and progress.broadcast.status == "done"
    # Everyone got it once: the three whose send was in flight too, though the bot could
    # not know; they are counted failed, with an unknown outcome, and never sent again.
    assert received(api, crowd, since) == Counter({p.id: 1 for p in crowd})
    assert sum(progress.counts.values()) == 12 and progress.counts["failed"] >= 3
    errors = await bot.app.store.redis.hgetall(keys.broadcast_errors(bid))
    assert len(errors) == progress.counts["failed"]
    assert {e.decode() for e in errors.values()} == {UNKNOWN}


class SlowTelegram:
    """Sends that each take as long as the next `lag` sends need to start: slow by the bot's
    clock, with no real waiting (the bot's session, whose own pacing runs on the machine's
    clock, is left out so it cannot move the test's clock on)."""

    def __init__(self, clock: FakeClock, expected: int, lag: int = 3) -> None:
        self.clock, self.expected, self.lag = clock, expected, lag
        self.sent: list[tuple[float, int]] = []
        self.flying = self.most = 0
        self.started = asyncio.Condition()

    async def __call__(self, broadcast: object, chat: int, lang: str) -> None:
        self.flying += 1
        self.most = max(self.most, self.flying)
        try:
            async with self.started:
                self.sent.append((self.clock().timestamp(), chat))
                mine = len(self.sent)
                self.started.notify_all()
                await self.started.wait_for(
                    lambda: len(self.sent) >= min(mine + self.lag, self.expected))
        finally:
            self.flying -= 1


class Booked:
    """Every instant the lanes book from the shared rate."""

    def __init__(self, sender: Sender) -> None:
        self.reserve = sender.limit.reserve
        self.instants: list[float] = []

    async def __call__(self, *args: float, **kwargs: float | None) -> list[float]:
        instants = await self.reserve(*args, **kwargs)  # type: ignore[arg-type]
        self.instants.extend(instants)
        return instants


async def test_one_lane_keeps_the_rate_however_slow_each_send_is(
        shop: tuple[Harness, ShopBackend], api: FakeBotAPI, clock: FakeClock,
        monkeypatch: pytest.MonkeyPatch) -> None:
    bot, backend = shop
    crowd = await customers(bot, api, *["en"] * 60)
    sender = sender_of(bot)
    telegram, booked = SlowTelegram(clock, len(crowd)), Booked(sender)
    monkeypatch.setattr(sender, "_deliver", telegram)
    monkeypatch.setattr(sender.limit, "reserve", booked)
    body = await create(backend)
    async with asyncio.timeout(60):  # a bound only: a lane sending one at a time hangs
        assert await sender.run(body["id"]) is None
    assert Counter(chat for _, chat in telegram.sent) == Counter({p.id: 1 for p in crowd})
    # Each send outlasted the next three: four at once, never more than the lane allows.
    assert telegram.lag + 1 <= telegram.most <= sender.in_flight
    times, instants = sorted(at for at, _ in telegram.sent), sorted(booked.instants)
    step = 1 / sender.rate
    # No message ahead of the rate: by any moment, no more had gone than instants had come…
    assert all(at >= instant - 1e-6 for at, instant in zip(times, instants, strict=False))
    # …and none lost to the slow sends: all 60 within 59 steps of the first instant. (Each
    # send is recorded after its round trip to Redis, in which the test's clock stands still
    # while the lane's waits move it on: a send's time on it says no more than this.)
    assert times[-1] - instants[0] <= 59 * step + 1e-5


async def test_racing_lanes_never_send_ahead_of_the_shared_rate(
        shop: tuple[Harness, ShopBackend], api: FakeBotAPI, clock: FakeClock,
        monkeypatch: pytest.MonkeyPatch) -> None:
    bot, backend = shop
    crowd = await customers(bot, api, *["en"] * 60)
    sender = sender_of(bot)
    telegram, booked = SlowTelegram(clock, len(crowd)), Booked(sender)
    monkeypatch.setattr(sender, "_deliver", telegram)
    monkeypatch.setattr(sender.limit, "reserve", booked)
    body = await create(backend)
    async with asyncio.timeout(60):
        for _ in range(10):  # two lanes of the shop at once, slice after slice
            ends = await asyncio.gather(sender.run(body["id"]), sender.run(body["id"]))
            if ends == [None, None]:
                break
    assert Counter(chat for _, chat in telegram.sent) == Counter({p.id: 1 for p in crowd})
    step = 1 / sender.rate
    instants = sorted(booked.instants)
    # The shop's instants, whichever lane booked them, are a step apart at least…
    assert all(b - a >= step - 1e-6 for a, b in itertools.pairwise(instants))
    # …and by any moment, no more messages had gone than instants had come.
    times = sorted(at for at, _ in telegram.sent)
    assert all(at >= instant - 1e-6 for at, instant in zip(times, instants, strict=False))


async def test_a_cancelled_broadcast_stops_its_running_lane(
        shop: tuple[Harness, ShopBackend], api: FakeBotAPI, clock: FakeClock,
        monkeypatch: pytest.MonkeyPatch) -> None:
    bot, backend = shop
    await customers(bot, api, *["en"] * 30)
    sender = sender_of(bot)
    sender.rate = 2.0  # 30 recipients take 15 s: the lane looks at the status every 5 s
    body = await create(backend)
    bid = body["id"]
    sent: list[float] = []

    async def send(broadcast: object, chat: int, lang: str) -> None:
        sent.append(clock().timestamp())
        if len(sent) == 3:
            assert await sender.broadcasts.cancel(bid) is not None  # the owner presses ✖

    monkeypatch.setattr(sender, "_deliver", send)
    assert await sender.run(bid) is None  # stopped: no next slice
    progress = await sender.broadcasts.progress(bid)
    assert progress is not None and progress.broadcast.status == "cancelled"
    # At most 5 seconds' worth went after the press, and whoever was not reached waits.
    assert 3 <= len(sent) <= 3 + 5 * sender.rate + 1
    assert progress.counts == {"sent": len(sent)}
    keys = bot.app.store.keys
    states = await bot.app.store.redis.hvals(keys.broadcast_state(bid))
    assert Counter(s.decode() for s in states) == {"sent": len(sent), "pending": 30 - len(sent)}
    assert await sender.broadcasts.queued(bid) == 30 - len(sent)  # none left claimed
