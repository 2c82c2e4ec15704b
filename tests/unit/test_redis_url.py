"""REDIS_URL: one server, or the master that Sentinels name."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bot.app.config import Settings
from bot.app.redis_url import SentinelAddress, sentinel_address, shown


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
