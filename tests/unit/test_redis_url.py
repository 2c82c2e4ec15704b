"""REDIS_URL: one server, or the master that Sentinels name."""

from __future__ import annotations

import asyncio

import pytest
from pydantic import ValidationError
from redis.asyncio.connection import AbstractConnection
from redis.exceptions import ConnectionError as NoConnection

from bot.app.config import Settings
from bot.app.redis_url import Pool, SentinelAddress, sentinel_address, shown


def test_a_plain_url_is_no_sentinel_address() -> None:
    assert sentinel_address("redis://localhost:6379/0") is None


def test_sentinels_service_database_and_password_are_read() -> None:
    assert sentinel_address("redis+sentinel://:s%40cret@10.0.0.1:26380, sentinel-b/shop/3") \
        == SentinelAddress((("10.0.0.1", 26380), ("sentinel-b", 26379)), "shop", 3, None,
                           "s@cret")
    assert sentinel_address("redis+sentinel://ops:pw@[::1]:26379/shop") == SentinelAddress(
        (("::1", 26379),), "shop", 0, "ops", "pw")


@pytest.mark.parametrize(("url", "says"), [
    ("redis+sentinel://host:26379", "name the Sentinel service"),
    ("redis+sentinel://host:26379/", "name the Sentinel service"),
    ("redis+sentinel://host:port/shop", "has no port number"),
    ("redis+sentinel://a:1,,b:2/shop", "a Sentinel address is missing"),
    ("redis+sentinel://a:1/shop/zero", "is not a number"),
])
def test_a_sentinel_url_it_cannot_read_is_refused_at_start_saying_why(url: str,
                                                                       says: str) -> None:
    with pytest.raises(ValidationError, match=says):
        Settings(_env_file=None, redis_url=url)  # type: ignore[call-arg]


def test_a_password_never_reaches_a_log_line() -> None:
    assert shown("redis://user:hunter2@db:6379/0") == "redis://user:***@db:6379/0"
    assert shown("redis+sentinel://:hunter2@a:1,b:2/shop") == "redis+sentinel://:***@a:1,b:2/shop"
    assert shown("redis://db:6379/0") == "redis://db:6379/0"


async def test_the_pool_hands_out_free_connections_and_makes_a_taker_wait_for_one() -> None:
    class Unconnected(Pool):  # no Redis here: a connection is taken as it is
        async def ensure_connection(self, connection: AbstractConnection) -> None:
            return None

    pool = Unconnected.from_url("redis://127.0.0.1:1/0", max_connections=2, timeout=5)
    first, second = await pool.get_connection(), await pool.get_connection()
    assert first is not second
    third = asyncio.ensure_future(pool.get_connection())
    await asyncio.sleep(0.05)
    assert not third.done()  # none free: it waits
    await pool.release(first)
    assert await asyncio.wait_for(third, 1) is first
    await pool.release(second)
    assert await pool.get_connection() is second  # free again: taken at once
    empty = Unconnected.from_url("redis://127.0.0.1:1/0", max_connections=1, timeout=0.1)
    await empty.get_connection()
    with pytest.raises(NoConnection, match="No connection available"):
        await empty.get_connection()
