"""The inbox on Redis Cluster: every key of one bot's inbox in one hash slot, and the real
`Inbox` (its put, take, done, release and reclaim scripts) serving two processes through a
three-node cluster that `scripts/test` starts (REDIS_CLUSTER_URL).

What else the bot keeps is not on one slot yet (see docs/operations.md, "Redis Cluster"):
here only the inbox runs on the cluster, with a handler that writes nothing of its own."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.cluster import key_slot

from bot.storage.inbox import Inbox, handling
from bot.storage.keys import Keys
from tests.conftest import inbox_handled, missing, redis_url


def message(update_id: int, chat: int, text: str) -> dict[str, Any]:
    return {"update_id": update_id,
            "message": {"message_id": update_id, "date": 1, "text": text,
                        "chat": {"id": chat, "type": "private"},
                        "from": {"id": chat, "is_bot": False, "first_name": "A"}}}


def inbox_keys(keys: Keys) -> list[str]:
    """Every inbox key, one of each kind."""
    return [keys.inbox_seen(1), keys.inbox_queue("7"), keys.inbox_queue("-100:3"),
            keys.inbox_queue("u9"), keys.inbox_ready(), keys.inbox_hand("c1"),
            keys.inbox_alive("c1"), keys.inbox_consumers(), keys.inbox_out("7"),
            keys.inbox_pin(1), keys.inbox_batch("5"), keys.inbox_batch_done("5")]


# -- one slot: no cluster needed -----------------------------------------------------------------

@pytest.mark.parametrize("prefix", ["shopbot:demo", "shop:", "a{b", "x}y", "{tagged}"])
def test_every_inbox_key_of_a_bot_is_in_one_slot(prefix: str) -> None:
    assert len({key_slot(key.encode()) for key in inbox_keys(Keys(prefix))}) == 1


def test_two_shops_on_one_cluster_are_in_two_slots() -> None:
    slots = {key_slot(Keys(f"shopbot:{shop}").inbox_ready().encode())
             for shop in ("linen-lane", "tea-house", "demo")}
    assert len(slots) == 3


class Recording(Redis):
    """A client that notes the keys of every script it runs (and of BRPOPLPUSH, the one
    other command of the inbox with two keys)."""

    scripts: list[tuple[str, list[bytes]]]

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        command = str(args[0]).upper()
        if command in ("EVALSHA", "EVAL"):
            keys = args[3:3 + int(args[2])]
            self.scripts.append((str(args[1])[:12], [_bytes(key) for key in keys]))
        elif command == "BRPOPLPUSH":
            self.scripts.append((command, [_bytes(key) for key in args[1:3]]))
        return await super().execute_command(*args, **options)


def _bytes(key: Any) -> bytes:
    return key if isinstance(key, bytes) else str(key).encode()


async def test_every_script_the_inbox_runs_names_its_keys_in_one_slot(prefix: str) -> None:
    """Put (into the queue and straight into the hand), take, done (with a batch), release,
    reclaim: each with the keys it touches in KEYS, all in the slot of the inbox's tag."""
    client = Recording.from_url(redis_url())
    client.scripts = []
    inbox = Inbox(client, prefix, lease=1, wake=0.5)
    got: list[str] = []
    first = asyncio.Event()

    async def handle(update: dict[str, Any]) -> None:
        got.append(update["message"]["text"])
        first.set()
        if update["message"]["text"] == "held":
            await asyncio.Event().wait()  # still in hand at the stop

    await inbox.put(message(1, 7, "queued"), "b1")  # no consumer yet: into `ready`
    inbox.start(handle)
    try:
        await asyncio.wait_for(first.wait(), 30)  # taken from `ready`, done
        await inbox.put(message(2, 7, "held"), take=True)  # straight into the hand
        await inbox.put(message(3, 7, "after"))
        for _ in range(100):
            if "held" in got:
                break
            await asyncio.sleep(0.05)
    finally:
        await inbox.stop(grace=0.1)  # "held" is let go unfinished: released
    other = Inbox(client, prefix, lease=1, wake=0.5)
    await client.sadd(other.keys.inbox_consumers(), "gone")
    await client.lpush(other.keys.inbox_hand("gone"), "8#9")
    assert await other.reclaim() == 1  # a consumer whose lease lapsed
    await client.aclose()

    ran = {sha for sha, _ in client.scripts} - {"BRPOPLPUSH"}
    assert len(ran) == 5  # put, take, done, release, reclaim
    slot = key_slot(Keys(prefix).inbox_ready().encode())
    for sha, keys in client.scripts:
        assert keys and {key_slot(key) for key in keys} == {slot}, (sha, keys)


# -- on a three-node cluster ----------------------------------------------------------------------

@pytest.fixture
async def cluster() -> AsyncIterator[RedisCluster]:
    url = os.environ.get("REDIS_CLUSTER_URL")
    if not url:
        missing("no Redis Cluster: REDIS_CLUSTER_URL is not set")
    client = RedisCluster.from_url(url)
    await client.initialize()
    assert len(client.get_primaries()) == 3
    yield client
    await client.aclose()


@pytest.fixture
async def cluster_prefix(cluster: RedisCluster) -> AsyncIterator[str]:
    value = f"shopbot-test:{uuid.uuid4().hex[:10]}"
    yield value
    # Every key of the inbox is in one slot, so on one node: found there, deleted there.
    slot = key_slot(Keys(value).inbox_ready().encode())
    node = cluster.get_node_from_key(Keys(value).inbox_ready())
    while keys := await cluster.execute_command("CLUSTER GETKEYSINSLOT", slot, 1000,
                                                target_nodes=node):
        await cluster.delete(*keys)


async def test_the_inbox_serves_two_processes_through_a_three_node_cluster(
        cluster: RedisCluster, cluster_prefix: str, caplog: pytest.LogCaptureFixture) -> None:
    """Each update handled once, one chat's in order, chats in parallel, across two inboxes
    sharing the cluster; a repeat is not queued; a polled batch is seen through."""
    inboxes = [Inbox(cluster, cluster_prefix, concurrency=8) for _ in range(2)]
    seen: dict[int, list[int]] = defaultdict(list)
    taken: list[int] = []
    everything = asyncio.Event()
    total = 10 * 12

    async def handle(update: dict[str, Any]) -> None:
        chat = update["message"]["chat"]["id"]
        seen[chat].append(int(update["message"]["text"]))
        taken.append(update["update_id"])
        await asyncio.sleep(0.001 * (chat % 3))
        if len(taken) == total:
            everything.set()

    for inbox in inboxes:
        inbox.start(handle)
    try:
        update_id = 0
        for n in range(12):
            for chat in range(1, 11):
                update_id += 1
                batch = "polled" if update_id <= 20 else None
                assert await inboxes[update_id % 2].put(message(update_id, chat, str(n)),
                                                        batch, take=True)
        assert not await inboxes[0].put(message(1, 1, "0"))  # Telegram sent it again
        assert await inboxes[1].wait_batch("polled", 60)
        await asyncio.wait_for(everything.wait(), 60)
        assert sorted(taken) == list(range(1, total + 1))  # each once, none lost
        assert dict(seen) == {chat: list(range(12)) for chat in range(1, 11)}
        assert await inbox_handled(inboxes[0], 1)
        assert await inbox_handled(inboxes[0], total)
        assert await cluster.llen(inboxes[0].keys.inbox_ready()) == 0
    finally:
        for inbox in inboxes:
            await inbox.stop()
    assert "CROSSSLOT" not in caplog.text and "Redis did not answer" not in caplog.text


async def test_on_a_cluster_a_dead_processs_chats_go_back_and_its_sends_are_not_repeated(
        cluster: RedisCluster, cluster_prefix: str) -> None:
    """One process dies while handling an update (after one of its sends); the other takes
    its chat back once its lease lapses, handles the update again knowing that send was
    made, then the chat's next update. A process stopped cleanly gives its chats back at once."""
    dead = Inbox(cluster, cluster_prefix, lease=1, wake=0.5)
    stuck = asyncio.Event()

    async def dies(update: dict[str, Any]) -> None:
        now = handling.get()
        assert now is not None
        await dead.record(now, {"method": "SendMessage", "chat": 7, "result": {"ok": 1}})
        stuck.set()
        await asyncio.Event().wait()  # the process dies here

    dead.start(dies)
    await dead.put(message(1, 7, "first"))
    await dead.put(message(2, 7, "second"))
    await asyncio.wait_for(stuck.wait(), 30)
    for task in [*dead._serving, *dead._tasks]:  # SIGKILL: nothing runs, nothing given back
        task.cancel()
    await asyncio.gather(*dead._serving, *dead._tasks, return_exceptions=True)

    alive = Inbox(cluster, cluster_prefix, lease=1, wake=0.5)
    got: list[tuple[str, list[dict[str, Any]]]] = []
    both = asyncio.Event()

    async def handle(update: dict[str, Any]) -> None:
        now = handling.get()
        assert now is not None
        got.append((update["message"]["text"], now.earlier))
        if len(got) == 2:
            both.set()

    alive.start(handle)
    try:
        await asyncio.wait_for(both.wait(), 60)  # once the dead one's lease lapses (1 s)
        assert got == [("first", [{"method": "SendMessage", "chat": 7, "result": {"ok": 1}}]),
                       ("second", [])]
        assert alive.metrics.registry.get_sample_value("shopbot_updates_again_total") == 1
        assert await inbox_handled(alive, 2)
        await alive.reclaim()  # the dead one, found holding nothing, is forgotten
        assert await cluster.smembers(alive.keys.inbox_consumers()) == {alive.me.encode()}
    finally:
        await alive.stop()

    # A clean stop with a chat in hand: it is given back (released), and the next one takes it.
    holding = Inbox(cluster, cluster_prefix)
    held = asyncio.Event()

    async def holds(update: dict[str, Any]) -> None:
        held.set()
        await asyncio.Event().wait()

    holding.start(holds)
    await holding.put(message(3, 8, "held"), take=True)
    await asyncio.wait_for(held.wait(), 30)
    await holding.stop(grace=0.1)
    assert await cluster.lrange(holding.keys.inbox_ready(), 0, -1) == [b"8#3"]
    after = Inbox(cluster, cluster_prefix)
    again = asyncio.Event()

    async def finishes(update: dict[str, Any]) -> None:
        again.set()

    after.start(finishes)
    try:
        await asyncio.wait_for(again.wait(), 30)
    finally:
        await after.stop()
    assert await after.state(3) == "handled"
