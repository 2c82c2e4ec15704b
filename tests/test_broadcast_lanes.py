"""A broadcast's lanes under trouble: a slow Bot API, a slice cut off by the job queue's
timeout, lanes that all died. Real arq workers, the fake Bot API, real Redis; whatever
happens, everyone gets the promotion once and the broadcast ends."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import pytest

from bot.app.runtime import App
from bot.devtools.fake_bot_api import FakeBotAPI, Shopper
from bot.domain.broadcasts import BroadcastIn
from handlers.layer import create_app
from tests.conftest import FakeClock, Harness, run_due, settings_for
from tests.test_broadcasts import PROMO, customers

pytestmark = pytest.mark.dates


@pytest.fixture
async def wall_clock_bot(api: FakeBotAPI, prefix: str) -> AsyncIterator[Harness]:
    """The bot on the wall clock, as deployed: slow calls take the slice's own time."""
    app = create_app(settings_for(api, prefix), clock=lambda: datetime.now(UTC),
                     rng=random.Random(1))
    harness = Harness(app, api)
    await harness.start()
    yield harness
    await harness.stop()


async def start(app: App, at: datetime | None = None) -> str:
    sender = app.followups.sender
    assert sender is not None
    broadcast = await sender.broadcasts.create(BroadcastIn.model_validate(PROMO))
    await app.followups.broadcast(broadcast.id, at or app.followups.clock(), lanes=2)
    return broadcast.id


async def until_over(app: App, bid: str, seconds: float = 60.0) -> str:
    """The broadcast's status once it is done or cancelled and none of its slices is queued
    or running, so each slice's result is stored (what a worker does in between is the
    worker's own pace; the bound only keeps a broken test from hanging)."""
    sender = app.followups.sender
    assert sender is not None
    async with asyncio.timeout(seconds):
        while True:
            broadcast = await sender.broadcasts.get(bid)
            assert broadcast is not None
            if (broadcast.status in ("done", "cancelled")
                    and not await app.followups.jobs.any_queued("broadcast", bid)):
                return broadcast.status
            await asyncio.sleep(0.05)


def received(api: FakeBotAPI, people: list[Shopper], since: int) -> Counter[int]:
    ids = {p.id for p in people}
    return Counter(c.chat_id for c in api.calls[since:]
                   if c.method == "sendMessage" and c.ok and c.chat_id in ids)


async def slice_results(app: App) -> list[bool]:
    mine = app.store.keys.job("broadcast")
    return [r.success for r in await app.followups.jobs.arq.all_job_results()
            if (r.job_id or "").startswith(mine)]


async def running_worker(app: App) -> Callable[[], None]:
    task = asyncio.create_task(app.followups.worker().async_run())
    # Not closed: closing an arq worker closes the app's Redis pool too.
    return task.cancel


async def test_a_slow_bot_api_overruns_no_slice_and_everyone_gets_it_once(
        wall_clock_bot: Harness, api: FakeBotAPI) -> None:
    app = wall_clock_bot.app
    crowd = await customers(wall_clock_bot, api, *["en"] * 8)
    sender = app.followups.sender
    assert sender is not None
    sender.slice, sender.send_timeout = 0.5, 1  # small, so that the test is quick
    sender.rate = 5.0  # 8 recipients take several slices
    api.slow("sendMessage", 0.2)  # every send is slow
    stuck = crowd[3]
    api.slow("sendMessage", 3.0, chat_id=stuck.id)  # longer than a send may take
    since = len(api.calls)
    bid = await start(app)
    stop = await running_worker(app)
    try:
        assert await until_over(app, bid) == "done"
    finally:
        stop()
    # The stuck send went out in the end, but the bot could not know: never sent again.
    assert received(api, crowd, since) == Counter({p.id: 1 for p in crowd})
    progress = await sender.broadcasts.progress(bid)
    assert progress is not None and progress.counts == {"sent": 7, "failed": 1}
    results = await slice_results(app)
    assert len(results) > 2 and all(results)  # several slices, none cut off by the queue


async def test_a_slice_cut_off_by_the_job_timeout_hands_its_lane_on(
        shopbot: Harness, api: FakeBotAPI, clock: FakeClock,
        monkeypatch: pytest.MonkeyPatch) -> None:
    app = shopbot.app
    clock.now = datetime.now(UTC)  # the bot's and arq's clock agree on what is due
    crowd = await customers(shopbot, api, *["en"] * 6)
    sender = app.followups.sender
    assert sender is not None
    sender.slice, sender.send_timeout = 0.5, 1  # the queue's timeout: 3 s
    deliver, stalled = sender._deliver, asyncio.Event()

    async def overloaded(*args: object) -> None:
        if not stalled.is_set():  # the machine stalls mid-send, past the job's timeout
            stalled.set()
            await asyncio.sleep(30)
        await deliver(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(sender, "_deliver", overloaded)
    since = len(api.calls)
    bid = await start(app)
    await app.followups.worker(burst=True, jobs=2).async_run()  # the lanes' first slices
    assert stalled.is_set() and False in await slice_results(app)
    await run_due(app)  # the lane's next slice, queued although its slice was cut off
    progress = await sender.broadcasts.progress(bid)
    assert progress is not None and progress.broadcast.status == "done"
    # The one whose send stalled has an unknown outcome: not sent, not twice. What the cut-off
    # slice knew of the others was kept.
    got = received(api, crowd, since)
    assert sorted(got.values()) == [1] * 5 and len(got) == 5
    assert progress.counts == {"sent": 5, "failed": 1}


async def test_a_broadcast_whose_lanes_all_died_is_picked_up_again(
        shopbot: Harness, api: FakeBotAPI, clock: FakeClock) -> None:
    app = shopbot.app
    crowd = await customers(shopbot, api, *["en"] * 5)
    sender = app.followups.sender
    assert sender is not None
    bid = await start(app)
    # Two recipients go out, then both lanes die without queuing their next slices.
    taken = [await sender.broadcasts.take(bid, "gone") for _ in range(2)]
    await sender.broadcasts.update(bid, lambda b: setattr(b, "status", "running") or True)
    for raw in await app.followups.jobs.arq.zrange(app.followups.jobs.queue, 0, -1):
        await app.followups.jobs.arq.zrem(app.followups.jobs.queue, raw)
    for rid in taken:
        await sender.broadcasts.settle(bid, "gone", rid, "sent")
    since = len(api.calls)
    assert await app.followups.revive_broadcasts() == []  # a minute's grace first
    clock.advance(minutes=2)
    assert await app.followups.revive_broadcasts() == [bid]
    assert await app.followups.revive_broadcasts() == []  # revived once: its slices are queued
    await run_due(app)
    await run_due(app)
    assert (await sender.broadcasts.get(bid)).status == "done"  # type: ignore[union-attr]
    got = received(api, crowd, since)
    assert set(got) == {p.id for p in crowd} - set(taken) and set(got.values()) == {1}


async def test_the_worker_revives_at_start(shopbot: Harness, api: FakeBotAPI,
                                           clock: FakeClock) -> None:
    app = shopbot.app
    clock.now = datetime.now(UTC) - timedelta(minutes=5)
    crowd = await customers(shopbot, api, *["en"] * 3)
    bid = await start(app)
    for raw in await app.followups.jobs.arq.zrange(app.followups.jobs.queue, 0, -1):
        await app.followups.jobs.arq.zrem(app.followups.jobs.queue, raw)  # its lanes were lost
    clock.now = datetime.now(UTC)
    since = len(api.calls)
    stop = await running_worker(app)
    try:
        assert await until_over(app, bid) == "done"
    finally:
        stop()
    assert received(api, crowd, since) == Counter({p.id: 1 for p in crowd})
