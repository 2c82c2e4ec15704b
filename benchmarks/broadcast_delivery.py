"""Broadcast delivery against a fake Bot API that enforces Telegram's 30 messages a second.

    REDIS_URL=redis://127.0.0.1:6379/0 python benchmarks/broadcast_delivery.py [--recipients N]

What it does, in one run:
1. serves the tests' fake Bot API here, answering 429 to sends beyond 30 in any second;
2. writes N customers (default 20,000) into Redis under a fresh prefix;
3. creates one broadcast to all of them and queues it on arq (two lanes);
4. starts two `shopbot worker` processes, and SIGKILLs the first once half is sent;
5. waits until the broadcast is done, then counts what the fake received.

It reports the achieved rate as a share of BROADCAST_RATE (goal: 95% or more), recipients
who got it twice (goal: 0), recipients never attempted (goal: 0), the 429s, and each
worker's peak memory (VmHWM). Figures go to benchmarks/README.md by hand.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from redis.asyncio import Redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.app.config import Settings  # noqa: E402
from bot.devtools.fake_bot_api import FakeBotAPI  # noqa: E402
from bot.domain.broadcasts import BroadcastIn  # noqa: E402
from handlers.layer import create_app  # noqa: E402

TOKEN = "123456:BENCH-token"
RATE = 25.0  # the shop's configured rate (the default)


def peak_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


async def main(recipients: int) -> None:
    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        sys.exit("set REDIS_URL to a Redis the benchmark may write to")
    prefix = f"shopbot-bench:{uuid.uuid4().hex[:8]}"
    redis = Redis.from_url(redis_url)
    async with FakeBotAPI(TOKEN, rate_limit=30) as api:
        env = {**os.environ, "BOT_TOKEN": TOKEN, "TELEGRAM_API_SERVER": api.url,
               "REDIS_URL": redis_url, "REDIS_PREFIX": prefix, "BROADCAST_RATE": str(RATE),
               "LOG_LEVEL": "WARNING"}
        settings = Settings(_env_file=None, bot_token=TOKEN, telegram_api_server=api.url,
                            redis_url=redis_url, redis_prefix=prefix,
                            broadcast_rate=RATE)  # type: ignore[call-arg]
        app = create_app(settings)
        now = datetime.now(UTC).timestamp()
        ids = [900_000_000 + n for n in range(recipients)]
        for start in range(0, recipients, 2000):
            async with redis.pipeline(transaction=False) as pipe:
                for cid in ids[start:start + 2000]:
                    pipe.hset(f"{prefix}:customer:{cid}", mapping={
                        "id": cid, "first_name": "Bench", "telegram_language": "en"})
                pipe.zadd(f"{prefix}:customers", {str(c): now for c in ids[start:start + 2000]})
                await pipe.execute()
        broadcasts = app.followups.sender.broadcasts  # type: ignore[union-attr]
        broadcast = await broadcasts.create(BroadcastIn.model_validate(
            {"variants": {"en": {"text": "<b>New linen</b> is in!"}}}))
        # Started once, before anything is timed: blocking here costs nothing.
        workers = [subprocess.Popen([sys.executable, "-m", "handlers", "worker"],  # noqa: ASYNC220
                                    env=env, cwd=ROOT) for _ in range(2)]
        await asyncio.sleep(3)  # both are polling before the broadcast becomes due
        started = time.monotonic()
        await app.followups.broadcast(broadcast.id, datetime.now(UTC), 2)
        killed_at, peaks = None, [0, 0]
        try:
            while True:
                await asyncio.sleep(1)
                for i, worker in enumerate(workers):
                    if worker.poll() is None:
                        peaks[i] = max(peaks[i], peak_kib(worker.pid))
                progress = await broadcasts.progress(broadcast.id)
                assert progress is not None
                if killed_at is None and progress.done >= recipients // 2:
                    workers[0].send_signal(signal.SIGKILL)
                    killed_at = progress.done
                    print(f"SIGKILL worker 1 after {killed_at} sent", flush=True)
                if progress.broadcast.status == "done":
                    break
                if time.monotonic() - started > recipients / RATE * 3 + 300:
                    print("gave up waiting", flush=True)
                    break
            elapsed = time.monotonic() - started
        finally:
            for worker in workers:
                if worker.poll() is None:
                    worker.terminate()
                    worker.wait(10)
        got = Counter(c.chat_id for c in api.calls if c.method == "sendMessage" and c.ok)
        refused = sum(1 for c in api.calls if c.method == "sendMessage" and not c.ok)
        progress = await broadcasts.progress(broadcast.id)
        assert progress is not None
        first, last = (min(c.time for c in api.calls if c.method == "sendMessage"),
                       max(c.time for c in api.calls if c.method == "sendMessage"))
        sending = last - first
        achieved = len(got) / sending if sending else 0.0
        print(f"recipients: {recipients}, delivered: {len(got)}, status: "
              f"{progress.broadcast.status}, counts: {progress.counts}")
        print(f"elapsed (queued -> done): {elapsed:.0f} s; sending span: {sending:.0f} s")
        print(f"achieved rate: {achieved:.2f}/s = {achieved / RATE:.1%} of {RATE:.0f}/s")
        print(f"duplicates: {sum(1 for n in got.values() if n > 1)}")
        attempted = {c.chat_id for c in api.calls if c.method == "sendMessage"}
        print(f"never attempted: {sum(1 for c in ids if c not in attempted)}; not delivered: "
              f"{sum(1 for c in ids if c not in got)} (outcome unknown after the kill: "
              f"{progress.counts.get('failed', 0)})")
        print(f"429 answers: {refused}")
        print(f"peak memory (VmHWM): worker 1 {peaks[0] / 1024:.1f} MiB (killed), "
              f"worker 2 {peaks[1] / 1024:.1f} MiB")
        await app.close()
        keys = [k async for k in redis.scan_iter(match=f"{prefix}:*")]
        for start in range(0, len(keys), 1000):
            await redis.delete(*keys[start:start + 1000])
        await redis.aclose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=20_000)
    asyncio.run(main(parser.parse_args().recipients))
