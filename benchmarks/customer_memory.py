"""Redis memory per known customer: what 10,000 customers cost the shop's Redis.

    REDIS_URL=redis://127.0.0.1:6379/0 python benchmarks/customer_memory.py [--customers N]

Each customer is made the way the bot makes one: a profile (`identify`, `seen`, a visit),
an open conversation, a full history (30 lines, the most kept), two tags, and a place in
the `customers` index. The figure is Redis' own `used_memory` before and after, under a
prefix of its own, which is deleted afterwards. Orders, returns and broadcast states are
left out: they grow with the shop's business, not with its customers.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import uuid
from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis

from bot.storage.store import HISTORY, Store

LINES = (
    "Hello! Do you have the linen shirt in M?",
    "Good afternoon, Anna! Yes, we have it in M. Classic linen shirt · RUB 3,490. A "
    "straight-cut shirt in pre-washed linen with a turn-down collar and a chest pocket.",
    "Какие есть цвета у платья с запахом?",
    "您好！这款连衣裙有白色的吗？我平时穿S码。",
)


async def used(redis: Redis) -> int:
    info = await redis.info("memory")
    return int(info["used_memory"])


async def main(customers: int) -> None:
    redis = Redis.from_url(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    store = Store(redis, f"shopbot-bench:{uuid.uuid4().hex[:8]}")
    now = datetime(2026, 11, 23, 11, 0, tzinfo=UTC)
    before = await used(redis)
    for n in range(customers):
        uid = 700_000_000 + n
        await store.identify(uid, first_name=f"Shopper{n}", last_name="Example",
                             username=f"shopper_{n}", telegram_language="ru", now=now)
        await store.seen(uid, now)
        await store.count_visit(uid)
        await store.open_conversation(uid, now)
        await store.tag(uid, "regular", "vip")
        for line in range(HISTORY):
            await store.remember(uid, "customer" if line % 2 else "bot",
                                 LINES[line % len(LINES)], now + timedelta(seconds=line))
    after = await used(redis)
    keys = [key async for key in redis.scan_iter(match=f"{store.prefix}:*", count=1000)]
    per = (after - before) / customers
    print(f"{customers} customers, {len(keys)} keys")
    print(f"Redis used_memory: +{(after - before) / 2**20:.1f} MiB, "
          f"{per / 1024:.1f} KiB per customer, {per * 10_000 / 2**20:.1f} MiB per 10,000")
    for start in range(0, len(keys), 1000):
        await redis.delete(*keys[start:start + 1000])
    await redis.aclose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=10_000)
    asyncio.run(main(parser.parse_args().customers))
