"""The unit of work per held chat (bot/storage/chat.py): read in one round trip, written
back in one MULTI, and leaving Redis exactly as the store's own writes leave it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiogram.fsm.storage.base import DefaultKeyBuilder, StorageKey
from aiogram.fsm.storage.redis import RedisStorage
from fakeredis import FakeAsyncRedis

from bot.storage.chat import ChatState, ChatStates, hold
from bot.storage.fsm import HeldStateStorage
from bot.storage.store import Store

NOW = datetime(2026, 11, 23, 8, tzinfo=UTC)


@pytest.fixture
def store() -> Store:
    return Store(FakeAsyncRedis(), "unit")


async def _customer(store: Store, user_id: int) -> None:
    await store.identify(user_id, first_name="Ann", last_name=None, username=None,
                         telegram_language="en", now=NOW)


async def _hashes(store: Store, user_id: int) -> tuple[dict[Any, Any], dict[Any, Any], float]:
    customer = await store.redis.hgetall(store.keys.customer(user_id))
    customer.pop(b"id")
    return (customer, await store.redis.hgetall(store.keys.conversation(user_id)),
            await store.redis.zscore(store.keys.customers(), str(user_id)))


async def test_it_loads_what_the_store_reads(store: Store) -> None:
    await _customer(store, 1)
    await store.open_conversation(1, NOW)
    await store.discuss(1, "bike", {"size": "M"})
    await store.refused(1, "discount")
    await store.misunderstood(1)
    await store.grant_gift(1, 5, 1)
    await store.redis.hset(store.keys.handoff(1), "staff", "1")

    state = await ChatStates(store).load(1)
    assert state.customer == await store.customer(1)
    assert state.conversation == await store.conversation(1)
    assert state.refusals == await store.bargaining(1)
    assert state.gifts_given == 1 and state.with_staff


async def test_a_shopper_never_seen_loads_empty(store: Store) -> None:
    state = await ChatStates(store).load(2)
    assert state.customer is None and state.conversation is None
    assert state.refusals == {"discount": 0, "shipping": 0, "gift": 0}
    assert not state.with_staff and state.gifts_given == 0 and not state.changed


async def test_load_is_one_round_trip_and_save_one_multi(store: Store,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    await _customer(store, 3)
    pipelines: list[bool] = []
    opened = store.redis.pipeline

    def pipeline(transaction: bool = True, **kwargs: Any) -> Any:
        pipelines.append(transaction)
        return opened(transaction=transaction, **kwargs)

    async def no_single_commands(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"a command outside the pipeline: {args}")

    monkeypatch.setattr(store.redis, "pipeline", pipeline)
    monkeypatch.setattr(store.redis, "execute_command", no_single_commands)
    states = ChatStates(store)
    state = await states.load(3)
    state.open_conversation(NOW)
    state.count_visit()
    state.seen(NOW)
    await states.save(state)
    await states.save(state)  # nothing changed since: nothing is sent
    assert pipelines == [True, True]


async def test_its_writes_are_the_stores_writes(store: Store) -> None:
    """The same update, once through the store's methods and once through a ChatState,
    leaves the same hashes and the same score in `customers`."""
    later = NOW + timedelta(minutes=3)
    for user_id in (10, 11):
        await _customer(store, user_id)
        await store.open_conversation(user_id, NOW - timedelta(days=2))
        await store.refused(user_id, "gift")
        await store.misunderstood(user_id)

    await store.close_conversation(10, NOW)
    await store.open_conversation(10, later)
    await store.count_visit(10)
    await store.note_message(10, later)
    await store.refused(10, "discount")
    await store.refused(10, "discount")
    await store.misunderstood(10)
    await store.understood(10)
    await store.misunderstood(10)
    await store.discuss(10, "bike", {"colour": "red"})
    await store.set_language(10, "ru")
    await store.seen(10, later)

    states = ChatStates(store)
    state = await states.load(11)
    state.close_conversation(NOW)
    state.open_conversation(later)
    assert state.count_visit() == 1
    state.note_message(later)
    state.refused("discount")
    state.refused("discount")
    assert state.misunderstood() == 1
    state.understood()
    assert state.misunderstood() == 1
    state.discuss("bike", {"colour": "red"})
    state.set_language("ru")
    state.seen(later)
    await states.save(state)

    assert await _hashes(store, 11) == await _hashes(store, 10)
    assert state.refusals == await store.bargaining(10)
    assert state.conversation == await store.conversation(10)
    again = await states.load(11)
    assert (again.customer, again.conversation) == (state.customer, state.conversation)


def test_a_count_after_a_set_adds_to_it_and_a_set_after_a_count_replaces_it() -> None:
    state = ChatState(1, None, None, {"discount": 0, "shipping": 0, "gift": 0}, 0, False)
    state.misunderstood()
    state.understood()
    assert state._conversation_set == {"misunderstood": 0} and not state._conversation_add
    state.misunderstood()
    assert state._conversation_set == {"misunderstood": 1}


async def test_aiogram_reads_a_held_shoppers_fsm_state_from_the_load(store: Store) -> None:
    """aiogram's FSM read of a held chat is answered from the load; a write goes to Redis
    and is what the next read answers; other chats' reads still go to Redis."""
    builder = DefaultKeyBuilder(prefix=store.keys.fsm(), with_destiny=True)
    fsm = HeldStateStorage(RedisStorage(store.redis, key_builder=builder), builder)
    mine, other = StorageKey(bot_id=42, chat_id=1, user_id=1), \
        StorageKey(bot_id=42, chat_id=2, user_id=2)
    await fsm.set_state(mine, "Asking:size")
    await fsm.set_state(other, "Asking:colour")
    state = await ChatStates(store).load(1, fsm=fsm.state_key(42, 1))
    await store.redis.set(builder.build(mine, "state"), "changed behind its back")
    with hold(state):
        assert await fsm.get_state(mine) == "Asking:size"  # what the load read
        assert await fsm.get_state(other) == "Asking:colour"
        await fsm.set_state(mine, None)
        assert await fsm.get_state(mine) is None
    assert await store.redis.get(builder.build(mine, "state")) is None
    assert await fsm.get_state(mine) is None  # not held: Redis answers
