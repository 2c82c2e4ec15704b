"""REDIS_URL as a client: one Redis server, or the master a set of Sentinels names.

    redis://[[user]:password@]host:port/db                        one server (redis-py's form)
    redis+sentinel://[[user]:password@]host:port[,host:port...]/service[/db]

With Sentinel, the client asks the Sentinels which server is the master of `service` and
follows a failover by itself. The password is the data servers' (Sentinels are usually run
without one; SENTINEL_PASSWORD is not a setting yet). What each topology guarantees is in
docs/operations.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.connection import AbstractConnection
from redis.asyncio.sentinel import Sentinel

SENTINEL_SCHEME = "redis+sentinel://"
SENTINEL_PORT = 26379
POOL_SIZE = 64


@dataclass(frozen=True)
class SentinelAddress:
    sentinels: tuple[tuple[str, int], ...]
    service: str
    db: int = 0
    username: str | None = None
    password: str | None = None


def sentinel_address(url: str) -> SentinelAddress | None:
    """The Sentinels a `redis+sentinel://` URL names; None for any other URL. A sentinel URL
    that cannot be read raises ValueError, saying what is wrong."""
    if not url.startswith(SENTINEL_SCHEME):
        return None
    rest = url[len(SENTINEL_SCHEME):]
    # urllib cannot read a list of hosts with ports, so the URL is taken apart by hand.
    hosts, _, path = rest.partition("/")
    username = password = None
    if "@" in hosts:
        who, _, hosts = hosts.rpartition("@")
        user, colon, secret = who.partition(":")
        username = unquote(user) or None
        password = unquote(secret) if colon else None
    sentinels = []
    for part in hosts.split(","):
        host, colon, port = part.strip().rpartition(":") if ":" in part else (part, "", "")
        host = host.strip().strip("[]")
        if not host:
            raise ValueError(f"REDIS_URL: a Sentinel address is missing in {hosts!r}")
        if colon and not port.isdigit():
            raise ValueError(f"REDIS_URL: {part.strip()!r} has no port number")
        sentinels.append((host, int(port) if colon else SENTINEL_PORT))
    service, _, db = path.strip("/").partition("/")
    if not service:
        raise ValueError("REDIS_URL: name the Sentinel service after the hosts, "
                         "e.g. redis+sentinel://host:26379/mymaster/0")
    if db and not db.isdigit():
        raise ValueError(f"REDIS_URL: the database {db!r} is not a number")
    return SentinelAddress(tuple(sentinels), unquote(service), int(db or 0), username,
                           password)


class Pool(BlockingConnectionPool):
    """redis-py's blocking pool, which takes a free connection without its machinery for
    waiting: every command and pipeline takes one, and the lock, the timeout's timer and
    the wait it sets up when there is nothing to wait for cost about a fifth of a round
    trip's CPU. With none free (or a taker already in the lock) it waits as redis-py's
    does. The connection is checked before use as redis-py checks it."""

    async def get_connection(self, *args: Any, **kwargs: Any) -> AbstractConnection:
        if self._condition.locked() or not self.can_get_connection():
            return await super().get_connection(*args, **kwargs)
        connection = self.get_available_connection()  # no await since the check: still free
        try:
            await self.ensure_connection(connection)
            return connection
        except BaseException:
            await self.release(connection)
            raise


def connect(url: str) -> Redis:
    """A client for REDIS_URL. A blocking pool waits for a free connection instead of raising
    under load; through Sentinel, the pool is the master's and moves with it."""
    address = sentinel_address(url)
    if address is None:
        return Redis(connection_pool=Pool.from_url(url, max_connections=POOL_SIZE, timeout=5))
    sentinel = Sentinel(list(address.sentinels), socket_timeout=5)
    return sentinel.master_for(address.service, db=address.db, username=address.username,
                               password=address.password, max_connections=POOL_SIZE)


def shown(url: str) -> str:
    """REDIS_URL fit for a log line: its password left out."""
    scheme, sep, rest = url.partition("://")
    if "@" not in rest:
        return url
    who, _, where = rest.rpartition("@")
    user = who.partition(":")[0]
    return f"{scheme}{sep}{user}:***@{where}" if ":" in who else url
