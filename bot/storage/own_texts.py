"""Texts the owners word in Telegram (/texts, /replies), in Redis: one hash of `<message>
<lang>` → text (`Keys.own_texts`), the quick replies removed (`Keys.own_texts_hidden`), and a
version counted up with every change (`Keys.own_texts_version`).

Every process holds all of them in memory (`Wording`), so rendering a message costs no Redis
round trip. A change is made in one transaction with the version and published on
`Keys.own_texts_changed`; each process listens there and reads the texts again, and reads
them again after a lost connection too, since a change published meanwhile was missed. So an
edit reaches every process at once, and a process that starts reads what is there.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from redis.exceptions import RedisError

from bot.core.languages import LANGUAGES, Lang
from bot.core.overrides import REPLIES
from bot.storage.codec import as_text
from bot.storage.keys import Keys

log = logging.getLogger(__name__)
RETRY_SECONDS = 2.0  # how often a process that lost Redis tries to listen again


@dataclass(frozen=True)
class Wording:
    """The texts worded in Telegram, as of one version."""

    texts: Mapping[str, Mapping[Lang, str]] = field(default_factory=dict)  # message → lang →
    hidden: frozenset[str] = frozenset()  # quick-reply keys removed
    version: int = 0


class OwnTexts:
    def __init__(self, redis: Redis, keys: Keys,
                 apply: Callable[[Wording], None] = lambda wording: None) -> None:
        self.redis = redis
        self.keys = keys
        self._apply = apply  # gives the renderer each new version
        self.wording = Wording()
        # Reads and applies one at a time: a slower read of an older version never lands last.
        self._lock = asyncio.Lock()

    # -- reading -------------------------------------------------------------------------------
    async def load(self) -> Wording:
        """What Redis holds now, read in one transaction."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hgetall(self.keys.own_texts())
            pipe.smembers(self.keys.own_texts_hidden())
            pipe.get(self.keys.own_texts_version())
            raw, hidden, version = await pipe.execute()
        texts: dict[str, dict[Lang, str]] = {}
        for key, value in raw.items():
            message, _, lang = (as_text(key) or "").rpartition(" ")
            if message and lang in LANGUAGES:
                texts.setdefault(message, {})[lang] = as_text(value) or ""  # type: ignore[index]
        return Wording(texts, frozenset(as_text(k) or "" for k in hidden),
                       int(as_text(version) or 0))

    async def refresh(self) -> Wording:
        """Read the texts again and hand them to the renderer when they changed (or when the
        version went back: Redis was emptied)."""
        async with self._lock:
            wording = await self.load()
            if wording.version != self.wording.version:
                self.wording = wording
                self._apply(wording)
            return self.wording

    # -- changing ------------------------------------------------------------------------------
    async def save(self, message: str, lang: Lang, text: str) -> Wording:
        """`message` in `lang` reads `text` from now on (its placeholders checked before); a
        quick reply removed before is back."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self.keys.own_texts(), f"{message} {lang}", text)
            if message.startswith(REPLIES):
                pipe.srem(self.keys.own_texts_hidden(), message.removeprefix(REPLIES))
            self._changed(pipe)
            await pipe.execute()
        return await self.refresh()

    async def reset(self, message: str, lang: Lang) -> Wording:
        """`message` in `lang` reads as the shop file or the template has it again."""
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hdel(self.keys.own_texts(), f"{message} {lang}")
            self._changed(pipe)
            await pipe.execute()
        return await self.refresh()

    async def remove_reply(self, key: str) -> Wording:
        """/reply KEY no longer exists: its texts go, and a bundled one (or the shop file's)
        stays hidden until it is added again."""
        message = f"{REPLIES}{key}"
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hdel(self.keys.own_texts(), *(f"{message} {lang}" for lang in LANGUAGES))
            pipe.sadd(self.keys.own_texts_hidden(), key)
            self._changed(pipe)
            await pipe.execute()
        return await self.refresh()

    def _changed(self, pipe: Pipeline) -> None:
        # Published by the same transaction that makes the change: a process that hears of
        # it reads the change.
        pipe.incr(self.keys.own_texts_version())
        pipe.publish(self.keys.own_texts_changed(), "1")

    # -- following other processes' changes -----------------------------------------------------
    async def follow(self) -> None:
        """Listen for changes until cancelled, reading the texts again at each; run as a
        task by the app. Reads them once subscribed too, so nothing made before is missed."""
        while True:
            pubsub = self.redis.pubsub()
            try:
                await pubsub.subscribe(self.keys.own_texts_changed())
                async for message in pubsub.listen():
                    # A change; or the subscription made, the first time or again after a
                    # reconnection (which redis-py may make by itself): a change published
                    # meanwhile was missed, so the texts are read again either way.
                    if message.get("type") in ("message", "subscribe"):
                        await self.refresh()
            except (RedisError, OSError) as exc:
                log.warning("not hearing of text changes (%s); listening again in %ss",
                            exc, RETRY_SECONDS)
                await asyncio.sleep(RETRY_SECONDS)
            finally:
                try:
                    await pubsub.aclose()
                except (RedisError, OSError):
                    pass
