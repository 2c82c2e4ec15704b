"""The bot on a Redis it finds through Sentinel (REDIS_URL=redis+sentinel://…), and an
update confirmed to Telegram only once a replica has it (REDIS_WAIT_REPLICAS).

A real Sentinel (redis-server in sentinel mode, Debian's package) watches the test Redis as
the master of a service; the bot is given only the Sentinel's address and the service name,
and serves a shopper with its state in that master. The replica tests start a master and a
replica of their own, so the shared test Redis gains no replica."""

from __future__ import annotations

import asyncio
import shutil
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from urllib.parse import urlparse

import pytest
from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.storage.inbox import Inbox
from tests.conftest import Harness, missing, redis_url

SERVICE = "shopbot-test"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
async def sentinel(tmp_path: Path) -> AsyncIterator[str]:
    """A Sentinel on a port of its own, watching the test Redis; its redis+sentinel URL."""
    server = shutil.which("redis-server")
    if server is None:
        missing("redis-server is not installed")
    master = urlparse(redis_url())
    port = free_port()
    config = tmp_path / "sentinel.conf"  # Sentinel rewrites its file: one of the test's own
    config.write_text(
        f"port {port}\nbind 127.0.0.1\ndir {tmp_path}\nsentinel resolve-hostnames yes\n"
        f"sentinel monitor {SERVICE} {master.hostname or '127.0.0.1'} {master.port or 6379} 1\n")
    process = await asyncio.create_subprocess_exec(
        server, str(config), "--sentinel", stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL)
    probe = Redis(host="127.0.0.1", port=port)
    try:
        for _ in range(200):  # until it answers with the master: waits for the event
            try:
                if await probe.execute_command("SENTINEL", "get-master-addr-by-name",
                                               SERVICE):
                    break
            except (OSError, RedisError):
                pass  # not listening yet
            await asyncio.sleep(0.05)
        else:
            pytest.fail("the Sentinel never answered")
        database = master.path.strip("/") or "0"
        yield f"redis+sentinel://127.0.0.1:{port}/{SERVICE}/{database}"
    finally:
        await probe.aclose()
        process.terminate()
        await asyncio.wait_for(process.wait(), 10)


async def test_a_shopper_is_served_through_sentinel_and_the_state_is_in_its_master(
    sentinel: str, make_shopbot: Callable[..., Awaitable[Harness]], redis: Redis,
) -> None:
    shopbot = await make_shopbot(redis_url=sentinel)
    shopper = shopbot.api.new_shopper(first_name="Ann", language_code="en")
    [greeting] = await shopbot.send(shopper, "/start")
    assert "Ann" in greeting
    # Kept in the very server the test reads directly, found through the Sentinel.
    key = shopbot.app.store.keys.customer(shopper.id)
    assert (await redis.hget(key, "first_name")) == b"Ann"
    [answer] = await shopbot.send(shopper, "do you ship abroad?")
    assert answer


async def start_server(tmp_path: Path, *args: str) -> tuple[asyncio.subprocess.Process, Redis]:
    server = shutil.which("redis-server")
    if server is None:
        missing("redis-server is not installed")
    port = free_port()
    folder = tmp_path / str(port)
    folder.mkdir()
    process = await asyncio.create_subprocess_exec(
        server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
        "--dir", str(folder), *args, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL)
    client = Redis(host="127.0.0.1", port=port)
    for _ in range(200):
        try:
            await client.ping()
            return process, client
        except (OSError, RedisError):
            await asyncio.sleep(0.05)
    pytest.fail("redis-server never answered")


@pytest.fixture
async def replicated(tmp_path: Path) -> AsyncIterator[tuple[Redis, Redis]]:
    """A master and one replica that has caught up with it."""
    master_process, master = await start_server(tmp_path)
    port = master.connection_pool.connection_kwargs["port"]
    replica_process, replica = await start_server(tmp_path, "--replicaof", "127.0.0.1",
                                                  str(port))
    try:
        for _ in range(200):  # until the master counts it: waits for the event
            if online(await master.info("replication")):
                break
            await asyncio.sleep(0.05)
        else:
            pytest.fail("the replica never connected")
        yield master, replica
    finally:
        for client in (master, replica):
            await client.aclose()
        for process in (replica_process, master_process):
            process.terminate()
            await asyncio.wait_for(process.wait(), 10)


def online(replication: dict) -> bool:
    """The replica is connected and done with its first sync: WAIT counts only such."""
    replica = replication.get("slave0")
    return isinstance(replica, dict) and replica.get("state") == "online"


def message(update_id: int, chat: int) -> dict:
    return {"update_id": update_id,
            "message": {"message_id": update_id, "date": 1, "text": "hello",
                        "chat": {"id": chat, "type": "private"},
                        "from": {"id": chat, "is_bot": False, "first_name": "A"}}}


async def test_an_update_is_confirmed_once_the_replica_has_it(
        replicated: tuple[Redis, Redis]) -> None:
    master, replica = replicated
    inbox = Inbox(master, "shopbot-test", replicas=1, replica_wait_ms=5000)
    assert await inbox.put(message(7, 70))
    # Read from the replica the moment put returns: WAIT made it wait for this copy.
    assert await replica.exists(inbox.keys.inbox_seen(7), inbox.keys.inbox_queue("70")) == 2
    assert inbox.metrics.registry.get_sample_value(
        "shopbot_updates_unreplicated_total") == 0


async def test_too_few_replicas_delay_the_confirmation_but_never_lose_the_update(
        replicated: tuple[Redis, Redis], caplog: pytest.LogCaptureFixture) -> None:
    master, _ = replicated
    inbox = Inbox(master, "shopbot-test", replicas=2, replica_wait_ms=200)
    assert await inbox.put(message(8, 80))  # one replica of two: confirmed after the wait
    assert await master.llen(inbox.keys.inbox_queue("80")) == 1
    assert inbox.metrics.registry.get_sample_value(
        "shopbot_updates_unreplicated_total") == 1
    assert "of 2 replicas within 200 ms" in caplog.text
