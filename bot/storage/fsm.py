"""aiogram's FSM storage, answering a held shopper's state from what their chat's load read.

aiogram asks for the conversation's FSM state before any handler runs, a round trip of its
own on every update. For a shopper whose chat is held (bot/storage/chat.py), the state was
read in the same round trip as the rest of their state (`ChatStates.load(fsm=...)`), so it
is answered from there. Everything else, and every write, goes to the storage underneath;
a write also updates what the held state answers, so a handler that sets a state and reads
it back sees its own write.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import (
    DEFAULT_DESTINY,
    BaseStorage,
    KeyBuilder,
    StateType,
    StorageKey,
)

from bot.storage.chat import ChatState, holding


class HeldStateStorage(BaseStorage):
    def __init__(self, storage: BaseStorage, key_builder: KeyBuilder | None) -> None:
        """`key_builder`: the one `storage` names its Redis keys with; None for a storage
        that keeps no keys in Redis (aiogram's MemoryStorage), whose reads cost nothing."""
        self.storage = storage
        self.key_builder = key_builder

    def state_key(self, bot_id: int, user_id: int) -> str | None:
        """The Redis key of the FSM state of a shopper's private chat with the bot."""
        if self.key_builder is None:
            return None
        return self.key_builder.build(StorageKey(bot_id=bot_id, chat_id=user_id,
                                                 user_id=user_id), "state")

    @staticmethod
    def _held(key: StorageKey) -> ChatState | None:
        if key.chat_id != key.user_id or key.destiny != DEFAULT_DESTINY \
                or key.thread_id is not None or key.business_connection_id is not None:
            return None
        state = holding(key.user_id)
        return state if state is not None and state.fsm_loaded else None

    async def get_state(self, key: StorageKey) -> str | None:
        held = self._held(key)
        if held is not None:
            return held.fsm_state
        return await self.storage.get_state(key)

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        await self.storage.set_state(key, state)
        held = self._held(key)
        if held is not None:
            held.fsm_state = state.state if isinstance(state, State) else state

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        return await self.storage.get_data(key)

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        await self.storage.set_data(key, data)

    async def close(self) -> None:
        await self.storage.close()
