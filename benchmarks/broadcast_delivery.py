"""Broadcast delivery against a fake Bot API that enforces Telegram's 30 messages a second.

    REDIS_URL=redis://127.0.0.1:6379/0 python benchmarks/broadcast_delivery.py \
        [--recipients N] [--send-latency SECONDS] [--redis-latency SECONDS] [--no-kill]
        [--timeline FILE]

What it does, in one run:
1. serves the tests' fake Bot API here, answering 429 to sends beyond 30 in any second, and
   answering each send only after `--send-latency` seconds (default 0: at once; Telegram
   itself takes 50-300 ms from most places);
2. with `--redis-latency`, puts a proxy between the workers and Redis that holds every
   reply of Redis back for that many seconds (a loaded or distant Redis);
3. writes N customers (default 20,000) into Redis under a fresh prefix;
4. creates one broadcast to all of them and queues it on arq (two lanes);
5. starts two `shopbot worker` processes, and SIGKILLs the first once half is sent (unless
   `--no-kill`);
6. waits until the broadcast is done, then counts what the fake received.

It reports the achieved rate as a share of BROADCAST_RATE (goal: 95% or more; also before
and after the kill, and the longest gap between two sends), recipients who got it twice
(goal: 0), recipients never attempted (goal: 0), the 429s, the most sends the fake had in
hand at once, each worker's CPU time from when the broadcast is queued (the killed one's as
last sampled, at most a second before the kill) and peak memory (VmHWM). `--timeline`
writes how many messages went in each second. Figures go to benchmarks/README.md by hand.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import itertools
import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from aiohttp import web
from redis.asyncio import Redis

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.app.config import Settings  # noqa: E402
from bot.devtools.fake_bot_api import FakeBotAPI  # noqa: E402
from bot.domain.broadcasts import BroadcastIn  # noqa: E402
from handlers.layer import create_app  # noqa: E402

TOKEN = "123456:BENCH-token"
RATE = 25.0  # the shop's configured rate (the default)
TICKS = os.sysconf("SC_CLK_TCK")


def peak_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a live process so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS


class Pauses:
    """This process's full garbage collections that took long: the fake Bot API stands
    still meanwhile, and the requests that arrive then are answered together."""

    def __init__(self) -> None:
        self.long: list[tuple[float, float]] = []  # (when, seconds)
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if info.get("generation") != 2:
            return
        if phase == "start":
            self._started = time.monotonic()
        elif time.monotonic() - self._started > 0.05:
            self.long.append((self._started, time.monotonic() - self._started))


class CountingBotAPI(FakeBotAPI):
    """The fake, counting the sends it holds at once (answered or not yet)."""

    in_hand = most_in_hand = 0

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        sending = request.match_info["method"].lower() == "sendmessage"
        self.in_hand += sending
        self.most_in_hand = max(self.most_in_hand, self.in_hand)
        try:
            return await super()._handle_api(request)
        finally:
            self.in_hand -= sending


class SlowRedis:
    """A TCP proxy to Redis that delays every reply by `latency` seconds, in order."""

    def __init__(self, host: str, port: int, latency: float) -> None:
        self.host, self.port, self.latency = host, port, latency
        self.server: asyncio.Server | None = None

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        return int(self.server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()

    async def _serve(self, client_r: asyncio.StreamReader,
                     client_w: asyncio.StreamWriter) -> None:
        server_r, server_w = await asyncio.open_connection(self.host, self.port)

        async def upstream() -> None:
            while data := await client_r.read(65536):
                server_w.write(data)
                await server_w.drain()
            server_w.close()

        async def downstream() -> None:
            # Replies keep their order: each waits out its own delay from when it arrived.
            loop = asyncio.get_running_loop()
            held: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

            async def release() -> None:
                while True:
                    due, data = await held.get()
                    await asyncio.sleep(max(0.0, due - loop.time()))
                    client_w.write(data)
                    await client_w.drain()
                    held.task_done()

            releaser = asyncio.create_task(release())
            try:
                while data := await server_r.read(65536):
                    held.put_nowait((loop.time() + self.latency, data))
                await held.join()
            finally:
                releaser.cancel()
                client_w.close()

        with contextlib.suppress(OSError, asyncio.CancelledError):
            await asyncio.gather(upstream(), downstream())


async def main(recipients: int, send_latency: float, redis_latency: float,
               kill: bool, timeline: str | None) -> None:
    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        sys.exit("set REDIS_URL to a Redis the benchmark may write to")
    prefix = f"shopbot-bench:{uuid.uuid4().hex[:8]}"
    redis = Redis.from_url(redis_url)
    workers_url, proxy = redis_url, None
    if redis_latency:
        parts = urlsplit(redis_url)
        proxy = SlowRedis(parts.hostname or "127.0.0.1", parts.port or 6379, redis_latency)
        port = await proxy.start()
        netloc = parts.netloc.rsplit("@", 1)
        netloc[-1] = f"127.0.0.1:{port}"
        workers_url = urlunsplit(parts._replace(netloc="@".join(netloc)))
    async with CountingBotAPI(TOKEN, rate_limit=30) as api:
        if send_latency:
            api.slow("sendMessage", send_latency)
        env = {**os.environ, "BOT_TOKEN": TOKEN, "TELEGRAM_API_SERVER": api.url,
               "REDIS_URL": workers_url, "REDIS_PREFIX": prefix,
               "BROADCAST_RATE": str(RATE), "LOG_LEVEL": "WARNING"}
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
        cpu_at_start = [cpu_seconds(w.pid) for w in workers]
        started = time.monotonic()
        pauses = Pauses()
        gc.callbacks.append(pauses)
        await app.followups.broadcast(broadcast.id, datetime.now(UTC), 2)
        killed_at, killed_time, peaks, cpu = None, 0.0, [0, 0], list(cpu_at_start)
        try:
            while True:
                await asyncio.sleep(1)
                for i, worker in enumerate(workers):
                    if worker.poll() is None:
                        peaks[i] = max(peaks[i], peak_kib(worker.pid))
                        cpu[i] = max(cpu[i], cpu_seconds(worker.pid))
                progress = await broadcasts.progress(broadcast.id)
                assert progress is not None
                if kill and killed_at is None and progress.done >= recipients // 2:
                    workers[0].send_signal(signal.SIGKILL)
                    killed_at, killed_time = progress.done, time.monotonic()
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
                    worker.terminate()  # a worker ends its slice first: up to 20 s and more
                    try:
                        worker.wait(60)
                    except subprocess.TimeoutExpired:
                        worker.kill()
                        worker.wait()
        got = Counter(c.chat_id for c in api.calls if c.method == "sendMessage" and c.ok)
        refused = sum(1 for c in api.calls if c.method == "sendMessage" and not c.ok)
        progress = await broadcasts.progress(broadcast.id)
        assert progress is not None
        first, last = (min(c.time for c in api.calls if c.method == "sendMessage"),
                       max(c.time for c in api.calls if c.method == "sendMessage"))
        sending = last - first
        achieved = len(got) / sending if sending else 0.0
        used = [c - s for c, s in zip(cpu, cpu_at_start, strict=True)]
        print(f"recipients: {recipients}, delivered: {len(got)}, status: "
              f"{progress.broadcast.status}, counts: {progress.counts}")
        print(f"send latency: {send_latency:.3f} s; Redis latency (workers): "
              f"{redis_latency:.3f} s; killed: {'yes' if kill else 'no'}")
        print(f"elapsed (queued -> done): {elapsed:.0f} s; sending span: {sending:.0f} s")
        print(f"achieved rate: {achieved:.2f}/s = {achieved / RATE:.1%} of {RATE:.0f}/s")
        times = sorted(c.time for c in api.calls if c.method == "sendMessage" and c.ok)
        gap = max((b - a for a, b in itertools.pairwise(times)), default=0.0)
        if killed_at is not None:
            before = sum(1 for t in times if t < killed_time)
            print(f"  before the kill: {before / (killed_time - first) / RATE:.1%}; after: "
                  f"{(len(times) - before) / (last - killed_time) / RATE:.1%}; longest gap "
                  f"between two sends: {gap:.2f} s")
        else:
            print(f"  longest gap between two sends: {gap:.2f} s")
        if timeline:
            seconds = Counter(int(t - first) for t in times)
            # At the end of the run: nothing else waits on the loop.
            Path(timeline).write_text("".join(  # noqa: ASYNC240
                f"{n} {seconds.get(n, 0)}\n" for n in range(int(last - first) + 1)))
        print(f"duplicates: {sum(1 for n in got.values() if n > 1)}")
        attempted = {c.chat_id for c in api.calls if c.method == "sendMessage"}
        print(f"never attempted: {sum(1 for c in ids if c not in attempted)}; not delivered: "
              f"{sum(1 for c in ids if c not in got)} (outcome unknown after the kill: "
              f"{progress.counts.get('failed', 0)})")
        print(f"429 answers: {refused}; most sends in hand at once: {api.most_in_hand}")
        refusals = sorted(c.time - first for c in api.calls
                          if c.method == "sendMessage" and not c.ok)
        if refusals or pauses.long:
            print("  429s at " + ", ".join(f"{t:.1f} s" for t in refusals) + "; the fake's "
                  "process stood still for garbage collection at " + ", ".join(
                      f"{t - first:.1f} s ({d * 1000:.0f} ms)" for t, d in pauses.long))
        print(f"CPU time: worker 1 {used[0]:.1f} s{' (until killed)' if kill else ''}, "
              f"worker 2 {used[1]:.1f} s; {sum(used) / max(len(got), 1) * 1000:.2f} ms "
              f"a message")
        print(f"peak memory (VmHWM): worker 1 {peaks[0] / 1024:.1f} MiB"
              f"{' (killed)' if kill else ''}, worker 2 {peaks[1] / 1024:.1f} MiB")
        await app.close()
        keys = [k async for k in redis.scan_iter(match=f"{prefix}:*")]
        for start in range(0, len(keys), 1000):
            await redis.delete(*keys[start:start + 1000])
        await redis.aclose()
        if proxy is not None:
            await proxy.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=20_000)
    parser.add_argument("--send-latency", type=float, default=0.0,
                        help="seconds the fake Bot API takes to answer each send")
    parser.add_argument("--redis-latency", type=float, default=0.0,
                        help="seconds each Redis reply to the workers is held back")
    parser.add_argument("--no-kill", action="store_true",
                        help="do not SIGKILL the first worker halfway")
    parser.add_argument("--timeline", metavar="FILE",
                        help="write the messages sent in each second of the run to FILE")
    args = parser.parse_args()
    asyncio.run(main(args.recipients, args.send_latency, args.redis_latency,
                     not args.no_kill, args.timeline))
