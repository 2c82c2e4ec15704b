"""What REDIS_WAIT_REPLICAS costs: the time to queue an update (Inbox.put, what Telegram
waits for before it is told the update arrived), without and with waiting for one replica.

    python benchmarks/redis_wait.py [--updates 2000]

Starts a master and a replica of its own (redis-server on free loopback ports) and stops
them at the end. Reports the median and p99 of put's wall time, and the bot process's CPU
per put, in one run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.storage.inbox import Inbox


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start(folder: str, port: int, *args: str) -> subprocess.Popen[bytes]:
    server = shutil.which("redis-server")
    if server is None:
        sys.exit("redis-server is not installed")
    return subprocess.Popen([server, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", folder, *args],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def online(replication: dict) -> bool:
    """The replica is connected and done with its first sync: WAIT counts only such."""
    replica = replication.get("slave0")
    return isinstance(replica, dict) and replica.get("state") == "online"


def message(update_id: int) -> dict:
    return {"update_id": update_id,
            "message": {"message_id": update_id, "date": 1, "text": "hello",
                        "chat": {"id": update_id, "type": "private"},
                        "from": {"id": update_id, "is_bot": False, "first_name": "A"}}}


async def measure(master: Redis, replicas: int, updates: int, first: int) -> dict[str, float]:
    inbox = Inbox(master, f"bench-wait-{replicas}", replicas=replicas, replica_wait_ms=1000)
    walls = []
    cpu = time.process_time()
    for n in range(first, first + updates):
        started = time.perf_counter()
        await inbox.put(message(n))
        walls.append(time.perf_counter() - started)
    cpu = time.process_time() - cpu
    walls.sort()
    return {"median_ms": walls[len(walls) // 2] * 1000,
            "p99_ms": walls[int(len(walls) * 0.99)] * 1000,
            "cpu_ms": cpu / updates * 1000,
            "unreplicated": inbox.metrics.registry.get_sample_value(
                "shopbot_updates_unreplicated_total") or 0}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        master_port, replica_port = free_port(), free_port()
        os.mkdir(f"{folder}/m")
        os.mkdir(f"{folder}/r")
        processes = [start(f"{folder}/m", master_port),
                     start(f"{folder}/r", replica_port, "--replicaof", "127.0.0.1",
                           str(master_port))]
        master = Redis(host="127.0.0.1", port=master_port)
        try:
            for _ in range(200):
                try:
                    if online(await master.info("replication")):
                        break
                except (OSError, RedisError):
                    pass  # not listening yet
                await asyncio.sleep(0.05)
            print(f"load: {os.getloadavg()[0]:.2f}, {args.updates} updates each")
            results = {}
            for replicas in (0, 1):
                results[replicas] = await measure(master, replicas, args.updates,
                                                  1 + replicas * args.updates)
                r = results[replicas]
                print(f"REDIS_WAIT_REPLICAS={replicas}: put median {r['median_ms']:.3f} ms, "
                      f"p99 {r['p99_ms']:.3f} ms, CPU {r['cpu_ms']:.3f} ms, "
                      f"confirmed before the replica had it: {r['unreplicated']:.0f}")
            print(f"ratio of medians: {results[1]['median_ms'] / results[0]['median_ms']:.2f}")
        finally:
            await master.aclose()
            for process in processes:
                process.terminate()
                process.wait(10)


if __name__ == "__main__":
    asyncio.run(main())
