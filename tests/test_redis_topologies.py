"""The bot on a Redis it finds through Sentinel: REDIS_URL=redis+sentinel://…

A real Sentinel (redis-server in sentinel mode, Debian's package) watches the test Redis as
the master of a service; the bot is given only the Sentinel's address and the service name,
and serves a shopper with its state in that master."""

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

from tests.conftest import Harness, redis_url

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
        pytest.skip("redis-server is not installed (scripts/test installs it)")
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
