"""An upgrade from the inbox's key names before the hash tag loses nothing: what an earlier
version left queued, in hand, seen or pinned is moved to the names now when a process
starts (`Inbox.migrate`, on a single Redis), and handled as it would have been."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from redis.asyncio import Redis

from bot.storage.inbox import Inbox, handling
from bot.storage.keys import Keys
from tests.conftest import inbox_handled, redis_url

SEND = {"method": "SendMessage", "chat": 8, "result": {"message_id": 1}}


def message(update_id: int, chat: int, text: str) -> dict[str, Any]:
    return {"update_id": update_id,
            "message": {"message_id": update_id, "date": 1, "text": text,
                        "chat": {"id": chat, "type": "private"},
                        "from": {"id": chat, "is_bot": False, "first_name": "A"}}}


def payload(update: dict[str, Any], batch: str | None = None) -> str:
    """An update as the inbox queues it, in either version."""
    envelope = json.dumps({"b": batch, "u": update}, separators=(",", ":"))
    return f"{update['update_id']} {envelope}"


async def leave_as_the_old_version_did(redis: Redis, keys: Keys) -> None:
    """The old names (`<prefix>:in:…`): update 1 handled; chat 7 ready with updates 2 and 3
    of a polled batch; chat 8's update 4 (of the batch too) in the hand of a process killed
    after one send, its shopper's state pinned; chat 9's update 5 in the hand of a process
    of the old version still running."""
    old = keys.inbox_legacy
    await redis.set(old("seen:1"), "2", ex=3600)
    for update_id in (2, 3, 4, 5):
        await redis.set(old(f"seen:{update_id}"), "1", ex=3600)
    await redis.rpush(old("q:7"), payload(message(2, 7, "two"), "40"),
                      payload(message(3, 7, "three"), "40"))
    await redis.lpush(old("ready"), "7#2")
    await redis.set(old("batch:40"), 3, ex=3600)
    await redis.rpush(old("q:8"), payload(message(4, 8, "four"), "40"))
    await redis.sadd(old("consumers"), "killed", "running")
    await redis.lpush(old("hand:killed"), "8#4")
    await redis.rpush(old("out:4"), "begun", json.dumps(SEND))
    await redis.hset(old("pin:4"), "8", '{"conv":[],"visits":"3"}')
    await redis.rpush(old("q:9"), payload(message(5, 9, "five")))
    await redis.lpush(old("hand:running"), "9#5")
    await redis.set(old("alive:running"), "1", ex=3600)


async def old_keys(redis: Redis, keys: Keys) -> list[bytes]:
    base = keys.inbox_legacy("")
    tagged = keys.inbox_ready().rsplit(":", 1)[0]
    return sorted([key async for key in redis.scan_iter(match=f"{base}*")
                   if not key.decode().startswith(tagged)])


async def test_an_upgrade_moves_what_the_old_version_left_and_loses_nothing(
        redis: Redis, prefix: str) -> None:
    keys = Keys(prefix)
    await leave_as_the_old_version_did(redis, keys)
    inbox = Inbox(Redis.from_url(redis_url()), prefix, lease=1, wake=0.5)
    got: list[tuple[str, list[dict[str, Any]], bytes | None]] = []
    four = asyncio.Event()
    five = asyncio.Event()

    async def handle(update: dict[str, Any]) -> None:
        now = handling.get()
        assert now is not None
        got.append((update["message"]["text"], now.earlier,
                    await redis.hget(now.pins, str(update["message"]["chat"]["id"]))))
        if update["update_id"] == 5:
            five.set()
        elif len(got) == 3:  # two, three and four, in some order of the chats
            four.set()

    inbox.start(handle)
    try:
        assert await inbox.wait_batch("40", 30)  # the old batch's count came along
        await asyncio.wait_for(four.wait(), 30)
        by_text = {text: (earlier, pinned) for text, earlier, pinned in got}
        # Chat 7's in order; chat 8's update handled again, knowing the send it made.
        assert [text for text, _, _ in got if text in ("two", "three")] == ["two", "three"]
        assert by_text["four"] == ([SEND], b'{"conv":[],"visits":"3"}')
        assert inbox.metrics.registry.get_sample_value("shopbot_updates_again_total") == 1
        # Seen under the old names: Telegram sending one again changes nothing.
        for update_id, text in ((1, "one"), (2, "two"), (4, "four")):
            assert not await inbox.put(message(update_id, 7, text))
            assert await inbox_handled(inbox, update_id)
        # The running old process still holds chat 9: left to it. It lets go (its stop),
        # and the next lease renewal here moves the chat over.
        assert "five" not in by_text
        assert await redis.exists(keys.inbox_legacy("q:9"))
        await redis.srem(keys.inbox_legacy("consumers"), "running")
        await redis.delete(keys.inbox_legacy("alive:running"))
        await redis.lrem(keys.inbox_legacy("hand:running"), 1, "9#5")
        await redis.rpush(keys.inbox_legacy("ready"), "9#5")
        await asyncio.wait_for(five.wait(), 30)
        assert await inbox_handled(inbox, 5)
        await asyncio.sleep(0.5)  # a lease renewal finds nothing old left
        assert await old_keys(redis, keys) == []
        assert len(got) == 4
    finally:
        await inbox.stop()
        await inbox.redis.aclose()


async def test_an_update_sent_during_the_upgrade_is_queued_after_the_old_ones(
        redis: Redis, prefix: str) -> None:
    """A put before the process first took anything moves the old keys first: the chat's
    old update is handled before the new one, and an update seen before is not queued."""
    keys = Keys(prefix)
    old = keys.inbox_legacy
    await redis.set(old("seen:20"), "1", ex=3600)
    await redis.rpush(old("q:7"), payload(message(20, 7, "old")))
    await redis.lpush(old("ready"), "7#20")
    inbox = Inbox(Redis.from_url(redis_url()), prefix)
    assert not await inbox.put(message(20, 7, "old"))  # queued already, under the old name
    assert await inbox.put(message(21, 7, "new"))
    got: list[str] = []
    both = asyncio.Event()

    async def handle(update: dict[str, Any]) -> None:
        got.append(update["message"]["text"])
        if len(got) == 2:
            both.set()

    inbox.start(handle)
    try:
        await asyncio.wait_for(both.wait(), 30)
        assert got == ["old", "new"]
        assert await old_keys(redis, keys) == []
    finally:
        await inbox.stop()
        await inbox.redis.aclose()


@pytest.mark.parametrize("prefix_end", ["", ":"])
async def test_nothing_old_nothing_moved(redis: Redis, prefix: str, prefix_end: str) -> None:
    """A Redis with only the names now: migrating changes nothing (and a prefix ending in
    ':' is looked for as it was given)."""
    inbox = Inbox(Redis.from_url(redis_url()), prefix + prefix_end)
    assert await inbox.put(message(30, 7, "hi"))
    before = sorted([key async for key in redis.scan_iter(match=f"{prefix}*")])
    await inbox.migrate()
    assert sorted([key async for key in redis.scan_iter(match=f"{prefix}*")]) == before
    await inbox.redis.aclose()
