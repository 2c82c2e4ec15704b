"""Full pipeline vs bare aiogram: webhook throughput and reply latency, side by side.

    python benchmarks/pipeline.py [--shoppers 5000] [--chats 200] [--seconds 30] [--rounds 3]

Two subjects, each in a process of its own, answer updates POSTed here to the webhook they
registered, and reply to the fake Bot API served here (bot/devtools/fake_bot_api.py); both use
the real Redis at REDIS_URL (default redis://127.0.0.1:6379/0):

- shopbot: `python -m handlers run` with WEBHOOK_URL and the shop file (SHOP_FILE, else the
  demo shop); BROADCAST_RATE=1000 with PAID_BROADCAST=true, so that the shop-wide pace of
  30 messages a second does not cap it; LOG_LEVEL=WARNING;
- echo: benchmarks/echo_bot.py, a bare aiogram bot with RedisStorage that answers every
  message with its text.

A reply is timed the moment the fake receives it (a listener on the fake, no polling).
Each round runs each subject once, alternating which goes first, in a fresh process with a
Redis prefix of its own, after a warm-up of 200 shoppers:
1. throughput: N new shoppers write one message each (hello, a price, a size, goodbye),
   posted with bounded concurrency; updates answered / time from the first POST to the
   last first reply;
2. latency: C new shoppers chat at once for S seconds: write, wait for the first reply,
   think 1.5-2.5 s, write the next line; latency = POST sent -> first reply received.
The table shows medians over the rounds; every key under the run's prefix is deleted at
the end, and the bots are stopped, also on Ctrl+C or failure.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import gc
import hashlib
import json
import math
import os
import random
import secrets
import signal
import socket
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from redis.asyncio import Redis

from bot import DEMO_SHOP
from bot.app.config import Settings
from bot.core.shop import Shop, load_shop
from bot.devtools.fake_bot_api import FakeBotAPI, Shopper

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "123456:TEST-token"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
WARM_UP = 200  # shoppers through each fresh process before anything is timed
THINK = (1.5, 2.5)  # seconds a chat waits after a reply (under FLOOD_MESSAGES=10 in 15 s)
REPLY_TIMEOUT = 10.0  # a message unanswered this long is counted as missed
STALL = 15.0  # the throughput phase stops waiting once no reply came for this long
START_TIMEOUT = 90.0


# -- the subjects ------------------------------------------------------------------------

@dataclass(frozen=True)
class Subject:
    name: str
    argv: tuple[str, ...]
    env: dict[str, str]


SHOPBOT = Subject("shopbot", (sys.executable, "-m", "handlers", "run"), {
    # The highest rate the settings allow: 1000/s shop-wide instead of Telegram's free 30/s.
    "BROADCAST_RATE": "1000", "PAID_BROADCAST": "true", "LOG_LEVEL": "WARNING"})
ECHO = Subject("echo", (sys.executable, str(ROOT / "benchmarks" / "echo_bot.py")), {})


@dataclass(frozen=True)
class Webhook:
    pid: int
    port: int
    url: str
    headers: dict[str, str]


class SubjectFailed(Exception):
    pass


def shop_file() -> Path:
    return Path(os.environ.get("SHOP_FILE") or DEMO_SHOP).resolve()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def subject_env(subject: Subject, api_url: str, redis_url: str, prefix: str,
                port: int) -> dict[str, str]:
    # The shop's own settings from this environment are left out: the run is reproducible.
    base = {k: v for k, v in os.environ.items() if k.lower() not in Settings.model_fields}
    return {**base, "BOT_TOKEN": TOKEN, "TELEGRAM_API_SERVER": api_url, "REDIS_URL": redis_url,
            "REDIS_PREFIX": prefix, "WEBHOOK_URL": f"http://127.0.0.1:{port}/webhook",
            "WEBHOOK_SECRET": secrets.token_urlsafe(24), "HOST": "127.0.0.1",
            "PORT": str(port), "SHOP_FILE": str(shop_file()), **subject.env}


def die_with_parent() -> None:
    """In the child, before exec: SIGTERM when the benchmark dies, even by SIGKILL."""
    if sys.platform == "linux":
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None).prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG


def tail(log: Path, lines: int = 15) -> str:
    with contextlib.suppress(OSError):
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    return "(no output)"


async def until_healthy(process: asyncio.subprocess.Process, port: int, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            if process.returncode is not None:
                raise SubjectFailed(f"exited with {process.returncode}:\n{tail(log)}")
            with contextlib.suppress(aiohttp.ClientError, OSError):
                async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.2)
    raise SubjectFailed(f"no 200 from /healthz within {START_TIMEOUT:.0f} s:\n{tail(log)}")


async def stop(process: asyncio.subprocess.Process) -> None:
    if process.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        process.terminate()
    try:
        await asyncio.wait_for(process.wait(), 10)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
        await process.wait()


@contextlib.asynccontextmanager
async def serve(subject: Subject, api: FakeBotAPI, redis_url: str, prefix: str,
                workdir: Path) -> AsyncIterator[Webhook]:
    """The subject running, healthy, with its webhook registered at the fake."""
    port = free_port()
    log = workdir / f"{prefix.replace(':', '-')}.log"
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            *subject.argv, env=subject_env(subject, api.url, redis_url, prefix, port),
            cwd=workdir, stdout=out, stderr=asyncio.subprocess.STDOUT, start_new_session=True,
            preexec_fn=die_with_parent)
    try:
        await until_healthy(process, port, log)
        await api.wait_for("setWebhook", timeout=10)
        secret = api.webhook.get("secret_token")
        headers = {"Content-Type": "application/json"}
        if secret:
            headers[SECRET_HEADER] = secret
        yield Webhook(process.pid, port, api.webhook["url"], headers)
    except SubjectFailed as exc:
        raise SubjectFailed(f"{subject.name}: {exc}") from None
    finally:
        await stop(process)


# -- load --------------------------------------------------------------------------------

# What shoppers write, a few ways each, in the shop's four languages: a greeting, a price, a
# size, a goodbye. The bot keeps its readings of short lines (bot/nlu/understanding.py), so
# how often a line comes again decides how much that saves: the run reports it.
PHRASES: dict[str, tuple[tuple[str, ...], ...]] = {
    "en": (("hello", "hi", "hi there", "good morning", "hello!", "hey"),
           ("how much is the {p}?", "what does the {p} cost?", "price of the {p}?",
            "how much for the {p}", "is the {p} expensive?"),
           ("do you have it in M?", "is there an L?", "do you have size S?", "any XL left?"),
           ("thanks, bye", "thank you!", "bye", "ok thanks", "great, thank you")),
    "ru": (("здравствуйте", "привет", "добрый день", "добрый вечер"),
           ("сколько стоит {p}?", "какая цена у {p}?", "почём {p}?"),
           ("есть размер M?", "а L есть?", "есть S?"),
           ("спасибо, до свидания", "спасибо!", "всего доброго")),
    "zh-hans": (("你好", "您好", "在吗"),
                ("{p}多少钱？", "{p}什么价格？", "{p}怎么卖？"),
                ("有M码吗？", "有L码吗？", "S码有货吗？"),
                ("谢谢，再见", "谢谢", "好的，谢谢")),
    "zh-hant": (("你好", "您好", "在嗎"),
                ("{p}多少錢？", "{p}什麼價格？"),
                ("有M碼嗎？", "有L碼嗎？"),
                ("謝謝，再見", "謝謝")),
}


class Script:
    """What each shopper writes: one language a shopper, a product of the shop's, each line
    one of a few ways of saying it (PHRASES). Counts the lines it gave out."""

    def __init__(self, shop: Shop) -> None:
        self.products = {lang: [(shop.text(p.name, lang) or p.id).lower()
                                for p in shop.products if p.in_stock] for lang in PHRASES}
        self.given: Counter[str] = Counter()

    def line(self, shopper: int, turn: int) -> str:
        lang = list(PHRASES)[shopper % len(PHRASES)]
        kinds = PHRASES[lang]
        ways = kinds[turn % len(kinds)]
        pick = random.Random(shopper * 1009 + turn)
        products = self.products[lang]
        line = pick.choice(ways).format(p=products[shopper % len(products)])
        self.given[line] += 1
        return line

    def repeats(self) -> str:
        sent, distinct = sum(self.given.values()), len(self.given)
        return (f"{sent} lines sent, {distinct} different: at most "
                f"{(sent - distinct) / max(sent, 1):.0%} of them could be read from the bot's "
                f"kept readings")


class Replies:
    """The first reply to each chat's latest message, timed as the fake receives it."""

    def __init__(self, bot_id: int) -> None:
        self.bot_id = bot_id
        self.waiting: dict[int, asyncio.Future[float]] = {}

    def expect(self, chat_id: int) -> asyncio.Future[float]:
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self.waiting[chat_id] = future
        return future

    def forget(self, chat_id: int) -> None:
        self.waiting.pop(chat_id, None)

    def on_event(self, event: str, payload: dict[str, Any]) -> None:
        if event != "message" or payload.get("from", {}).get("id") != self.bot_id:
            return  # edits, keyboards, or a shopper's own message being made
        now = time.perf_counter()
        future = self.waiting.pop(payload["chat"]["id"], None)  # later replies find none
        if future is not None and not future.done():
            future.set_result(now)


@dataclass
class Sent:
    at: float
    reply: asyncio.Future[float]


@dataclass
class Burst:
    posted: int
    answered: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.answered / self.seconds if self.seconds > 0 else 0.0


@dataclass
class Chats:
    latencies: list[float]
    missed: int
    posted: int = 0
    seconds: float = 0.0

    @property
    def rate(self) -> float:
        """Updates a second the chats offered."""
        return self.posted / self.seconds if self.seconds > 0 else 0.0


async def settle(futures: list[asyncio.Future[float]]) -> None:
    """Until every future is done, or none got done for STALL seconds."""
    left = {f for f in futures if not f.done()}
    while left:
        done, left = await asyncio.wait(left, timeout=STALL)
        if not done:
            return


class Load:
    def __init__(self, api: FakeBotAPI, http: aiohttp.ClientSession, webhook: Webhook,
                 replies: Replies, script: Script) -> None:
        self.api, self.http, self.webhook = api, http, webhook
        self.replies, self.script = replies, script
        self.refused = 0  # POSTs not answered 200, or not answered at all

    def update(self, shopper: Shopper, text: str) -> bytes:
        return json.dumps(self.api.message_update(shopper, text)).encode()

    async def post(self, chat_id: int, body: bytes) -> Sent | None:
        sent = Sent(time.perf_counter(), self.replies.expect(chat_id))
        with contextlib.suppress(aiohttp.ClientError):
            async with self.http.post(self.webhook.url, data=body,
                                      headers=self.webhook.headers) as response:
                await response.read()
                if response.status == 200:
                    return sent
        self.refused += 1
        self.replies.forget(chat_id)
        return None

    async def burst(self, count: int, concurrency: int) -> Burst:
        """`count` new shoppers, one message each, at most `concurrency` POSTs in flight."""
        shoppers = [self.api.new_shopper() for _ in range(count)]
        queue = iter([(s.id, self.update(s, self.script.line(n, n)))
                      for n, s in enumerate(shoppers)])
        sent: list[Sent] = []

        async def poster() -> None:
            for chat_id, body in queue:  # one iterator shared by all posters
                if (one := await self.post(chat_id, body)) is not None:
                    sent.append(one)

        started = time.perf_counter()
        await asyncio.gather(*(poster() for _ in range(concurrency)))
        await settle([s.reply for s in sent])
        arrived = [s.reply.result() for s in sent if s.reply.done()]
        for shopper in shoppers:
            self.replies.forget(shopper.id)
        return Burst(count, len(arrived), max(arrived, default=started) - started)

    async def chats(self, count: int, seconds: float, seed: int) -> Chats:
        """`count` shoppers chatting at once for `seconds`."""
        rng = random.Random(seed)
        started = time.perf_counter()
        deadline = started + seconds
        result = Chats([], 0)

        async def chat(n: int) -> None:
            shopper = self.api.new_shopper()
            await asyncio.sleep(rng.uniform(0, THINK[1]))  # they do not all start at once
            turn = 0
            while time.perf_counter() < deadline:
                sent = await self.post(shopper.id, self.update(shopper, self.script.line(n, turn)))
                turn += 1
                result.posted += 1
                if sent is not None:
                    try:
                        arrived = await asyncio.wait_for(sent.reply, REPLY_TIMEOUT)
                        result.latencies.append(arrived - sent.at)
                    except TimeoutError:
                        result.missed += 1
                        self.replies.forget(shopper.id)
                await asyncio.sleep(rng.uniform(*THINK))

        await asyncio.gather(*(chat(n) for n in range(count)))
        result.seconds = time.perf_counter() - started
        return result


# -- what it costs -----------------------------------------------------------------------

def process_cpu(pid: int) -> float:
    """User + system CPU seconds of a process so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def machine_cpu() -> float:
    """CPU seconds every process on the machine has used so far (from /proc/stat)."""
    try:
        ticks = [int(n) for n in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    except (OSError, ValueError):
        return 0.0
    user, nice, system, _idle, _iowait, irq, softirq, steal = ticks
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


async def usage(pid: int, redis: Redis) -> dict[str, float]:
    cpu, stats = await redis.info("cpu"), await redis.info("stats")
    return {"bot": process_cpu(pid), "harness": time.process_time(),
            "redis": float(cpu["used_cpu_user"]) + float(cpu["used_cpu_sys"]),
            "commands": float(stats["total_commands_processed"]),
            # A read event per request the server took in: a round trip (a pipeline's or a
            # MULTI's commands come in one).
            "trips": float(stats["total_reads_processed"]), "machine": machine_cpu(),
            "wall": time.perf_counter()}


def code_fingerprint() -> str:
    """A digest of the code under test, to notice it changing in the middle of a run."""
    digest = hashlib.sha1(usedforsecurity=False)
    for folder in ("bot", "handlers", "templates", "locales"):
        for path in sorted((ROOT / folder).rglob("*")):
            if path.is_file() and path.suffix in (".py", ".j2", ".po", ".yaml"):
                digest.update(str(path.relative_to(ROOT)).encode() + path.read_bytes())
    return digest.hexdigest()[:12]


async def counters(http: aiohttp.ClientSession, port: int) -> dict[str, float]:
    """shopbot's flood notices and failed updates from /metrics, when it serves them."""
    wanted = ("shopbot_flood_notices_total", "shopbot_update_errors_total")
    try:
        async with http.get(f"http://127.0.0.1:{port}/metrics") as response:
            text = await response.text() if response.status == 200 else ""
    except aiohttp.ClientError:
        return {}
    return {line.split()[0].removeprefix("shopbot_").removesuffix("_total"):
            float(line.split()[1]) for line in text.splitlines() if line.startswith(wanted)}


# -- one measurement ---------------------------------------------------------------------

@dataclass
class Run:
    subject: str
    round: int
    burst: Burst
    chats: Chats
    cost: dict[str, float]  # per answered update in the throughput phase
    notes: dict[str, float]

    @property
    def p50(self) -> float:
        return percentile(self.chats.latencies, 50)

    @property
    def p99(self) -> float:
        return percentile(self.chats.latencies, 99)

    def line(self) -> str:
        notes = ", ".join(f"{k} {v:g}" for k, v in self.notes.items() if v)
        return (f"round {self.round} {self.subject:>7}: {self.burst.rate:7.0f} updates/s "
                f"({self.burst.answered}/{self.burst.posted} answered in "
                f"{self.burst.seconds:.1f} s); latency p50 {self.p50:.1f} ms, p99 "
                f"{self.p99:.1f} ms ({len(self.chats.latencies)} replies, "
                f"{self.chats.missed} missed, {self.chats.rate:.0f} updates/s offered); "
                f"bot CPU {self.cost['bot']:.2f} ms/update"
                + (f"; {notes}" if notes else ""))


def percentile(values: list[float], q: float) -> float:
    """Nearest rank, in milliseconds."""
    if not values:
        return float("nan")
    ranked = sorted(values)
    return ranked[min(len(ranked), max(1, math.ceil(q / 100 * len(ranked)))) - 1] * 1000


@contextlib.contextmanager
def collector_still() -> Iterator[None]:
    """No garbage collection in this process while a phase is measured. This process is
    the load and the fake Bot API that times each reply: a full collection of what it
    keeps stood it still for 200-450 ms on this machine, and every reply that came
    meanwhile was timed late, the echo bot's as much as shopbot's. What a phase makes is
    collected after it."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.collect()


async def measure(subject: Subject, round_no: int, args: argparse.Namespace, redis: Redis,
                  redis_url: str, prefix: str, workdir: Path, script: Script) -> Run:
    async with FakeBotAPI(TOKEN) as api:
        replies = Replies(api.bot_user["id"])
        api.listeners.append(replies.on_event)
        connector = aiohttp.TCPConnector(limit=max(args.concurrency, args.chats))
        async with serve(subject, api, redis_url, prefix, workdir) as webhook, \
                aiohttp.ClientSession(connector=connector) as http:
            load = Load(api, http, webhook, replies, script)
            await load.burst(WARM_UP, args.concurrency)
            with collector_still():
                before = await usage(webhook.pid, redis)
                burst = await load.burst(args.shoppers, args.concurrency)
                after = await usage(webhook.pid, redis)
            await asyncio.sleep(2)  # the last second replies go out before latency is timed
            with collector_still():
                chats = await load.chats(args.chats, args.seconds, seed=round_no)
            notes = await counters(http, webhook.port)
        notes |= {"refused POSTs": load.refused,
                  "failed Bot API calls": sum(1 for c in api.calls if not c.ok)}
    spent = {k: after[k] - before[k] for k in before}
    answered = max(burst.answered, 1)
    ours = spent["bot"] + spent["harness"] + spent["redis"]
    cost = {"bot": spent["bot"] * 1000 / answered, "redis": spent["redis"] * 1000 / answered,
            "commands": spent["commands"] / answered, "trips": spent["trips"] / answered,
            "harness": spent["harness"] / spent["wall"] * 100,
            "others": max(spent["machine"] - ours, 0.0) / spent["wall"] * 100}
    return Run(subject.name, round_no, burst, chats, cost, notes)


# -- the report --------------------------------------------------------------------------

ROWS: tuple[tuple[str, Callable[[Run], float], str], ...] = (
    ("throughput (updates/s)", lambda r: r.burst.rate, "{:.0f}"),
    ("latency p50 (ms)", lambda r: r.p50, "{:.1f}"),
    ("latency p99 (ms)", lambda r: r.p99, "{:.1f}"),
    ("latency phase: updates/s offered", lambda r: r.chats.rate, "{:.0f}"),
    ("bot CPU per update (ms)", lambda r: r.cost["bot"], "{:.2f}"),
    # The whole server's figures: anyone else using this Redis meanwhile is counted too.
    ("Redis round trips per update", lambda r: r.cost["trips"], "{:.1f}"),
    ("Redis commands per update (scripts' own included)", lambda r: r.cost["commands"],
     "{:.1f}"),
    ("Redis CPU per update (ms)", lambda r: r.cost["redis"], "{:.2f}"),
    ("load generator + fake API CPU (% of a core)", lambda r: r.cost["harness"], "{:.0f}"),
    ("other processes' CPU (% of a core)", lambda r: r.cost["others"], "{:.0f}"),
)


def table(runs: list[Run]) -> str:
    names = (SHOPBOT.name, ECHO.name)
    lines = [f"| | {names[0]} | {names[1]} | {names[0]}/{names[1]} | all {names[0]} | "
             f"all {names[1]} |", "| --- | --- | --- | --- | --- | --- |"]
    for label, value, fmt in ROWS:
        per = {n: [value(r) for r in runs if r.subject == n] for n in names}
        if not all(per.values()):
            continue
        mid = {n: statistics.median(v) for n, v in per.items()}
        ratio = f"{mid[names[0]] / mid[names[1]]:.2f}" if mid[names[1]] else "-"
        lines.append(f"| {label} | {fmt.format(mid[names[0]])} | {fmt.format(mid[names[1]])} "
                     f"| {ratio} | " + " | ".join(
                         ", ".join(fmt.format(v) for v in per[n]) for n in names) + " |")
    return "\n".join(lines)


async def drop_keys(redis: Redis, root: str) -> int:
    # arq names its job keys after the job id, which carries the prefix further in.
    keys = [key async for key in redis.scan_iter(match=f"*{root}*", count=1000)]
    for start in range(0, len(keys), 1000):
        await redis.delete(*keys[start:start + 1000])
    return len(keys)


async def main(args: argparse.Namespace) -> int:
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    redis_url = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0"
    root = f"bench:{uuid.uuid4().hex[:12]}"
    script = Script(load_shop(shop_file()))
    redis = Redis.from_url(redis_url)
    runs: list[Run] = []
    code = code_fingerprint()
    print(f"code under test: {code} (a digest of bot/, handlers/, templates/, locales/)")
    try:
        await redis.ping()
        with tempfile.TemporaryDirectory(prefix="shopbot-pipeline-") as workdir:
            for round_no in range(1, args.rounds + 1):
                order = (SHOPBOT, ECHO) if round_no % 2 else (ECHO, SHOPBOT)
                for subject in order:
                    prefix = f"{root}:{subject.name}{round_no}"
                    runs.append(await measure(subject, round_no, args, redis, redis_url,
                                              prefix, Path(workdir), script))
                    print(runs[-1].line(), flush=True)
        print(f"\n{args.shoppers} shoppers for throughput; {args.chats} chats for "
              f"{args.seconds:g} s for latency; medians of {args.rounds} round(s)\n")
        print(table(runs))
        print(f"\n{script.repeats()}")
        if code_fingerprint() != code:
            print("\nWARNING: the code under test changed during the run; the rounds did not "
                  "all run the same code", file=sys.stderr)
            return 3
        return 0
    except SubjectFailed as exc:
        print(f"pipeline: {exc}", file=sys.stderr)
        return 1
    except asyncio.CancelledError:  # Ctrl+C or SIGTERM: the bots are stopped by now
        print("pipeline: interrupted", file=sys.stderr)
        return 130
    finally:
        removed = await drop_keys(redis, root)
        await redis.aclose()
        print(f"(deleted {removed} Redis keys under {root})", file=sys.stderr)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shoppers", type=int, default=5000,
                        help="new shoppers in the throughput phase (default: 5000)")
    parser.add_argument("--chats", type=int, default=200,
                        help="chats at once in the latency phase (default: 200)")
    parser.add_argument("--seconds", type=float, default=30.0,
                        help="length of the latency phase (default: 30)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds (default: 3)")
    parser.add_argument("--concurrency", type=int, default=50,
                        help="POSTs in flight in the throughput phase (default: 50)")
    return parser.parse_args(argv)


if __name__ == "__main__":
    try:
        sys.exit(asyncio.run(main(parse_args())))
    except KeyboardInterrupt:
        sys.exit(130)
