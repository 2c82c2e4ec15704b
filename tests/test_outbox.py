"""The staff chat's outbox: 20 messages a minute, shared through Redis, nothing dropped."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from redis.asyncio import Redis

from bot.storage.outbox import Outbox
from tests.conftest import FakeClock


def busiest_minute(times: list[float]) -> int:
    """The most sends in any 60-second window."""
    return max(sum(1 for t in times if start - 60 < t <= start) for start in times)


async def test_a_burst_waits_for_the_budget_in_order_and_staff_are_told_once(
        redis: Redis, prefix: str, clock: FakeClock) -> None:
    start = clock().timestamp()
    sent: list[tuple[str, float]] = []

    async def late(wait: float) -> None:
        sent.append((f"late notice ({wait:.0f}s)", clock().timestamp() - start))

    outbox = Outbox(redis, f"{prefix}:outbox", clock, sleep=clock.sleep,
                    late_after=timedelta(seconds=30), on_late=late)

    async def post(number: int) -> int:
        sent.append((f"message {number}", clock().timestamp() - start))
        return number

    results = await asyncio.gather(*(outbox.send(lambda n=n: post(n)) for n in range(45)))
    assert results == list(range(45))  # every message went, none dropped
    names = [name for name, _ in sent]
    assert [n for n in names if n.startswith("message")] == [f"message {n}" for n in range(45)]
    assert busiest_minute([t for _, t in sent]) == 20  # the budget, fully used, never passed
    # Told once, before the first message that waited more than 30 s, which waited a minute.
    notices = [n for n in names if n.startswith("late")]
    assert notices == ["late notice (60s)"]
    assert names.index(notices[0]) == names.index("message 20") - 1
    assert sent[-1][1] == 120  # 46 posts: three minutes' budgets, at 0, 60 and 120 s

    # Once the backlog has gone, a new one is announced again.
    clock.advance(minutes=5)
    await asyncio.gather(*(outbox.send(lambda n=n: post(n)) for n in range(21)))
    assert len([n for n, _ in sent if n.startswith("late")]) == 2


async def test_processes_share_one_budget(redis: Redis, prefix: str, clock: FakeClock) -> None:
    times: list[float] = []

    async def post() -> None:
        times.append(clock().timestamp())

    first, second = (Outbox(redis, f"{prefix}:outbox", clock, sleep=clock.sleep)
                     for _ in range(2))
    await asyncio.gather(*(box.send(post) for _ in range(15) for box in (first, second)))
    assert len(times) == 30 and busiest_minute(times) == 20


async def test_an_album_costs_one_slot_per_item(redis: Redis, prefix: str,
                                                clock: FakeClock) -> None:
    times: list[float] = []

    async def post() -> None:
        times.append(clock().timestamp())

    outbox = Outbox(redis, f"{prefix}:outbox", clock, sleep=clock.sleep)
    await asyncio.gather(*(outbox.send(post, cost=10) for _ in range(3)))
    assert times[1] == times[0] and times[2] == times[0] + 60
