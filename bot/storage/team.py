"""The staff the bot has seen at work in the staff chat, and who is on duty, in Redis
(`Keys.staff_people`, `Keys.staff_usernames`, `Keys.on_duty`).

Telegram gives a bot no way to look a member up by @username: the staff chat's members are
remembered as they act there (a message, a button), so /pass @username and the card's
"with Olga" can name them."""

from __future__ import annotations

import json
from dataclasses import dataclass

from bot.storage.store import Store, as_text


@dataclass(frozen=True)
class Person:
    id: int
    name: str
    username: str | None = None


class TeamRecords:
    def __init__(self, store: Store) -> None:
        self.redis = store.redis
        self.keys = store.keys
        # What this process wrote last per person: a staff member's every message would
        # otherwise rewrite the same record.
        self._known: dict[int, Person] = {}

    async def seen(self, person: Person) -> None:
        if self._known.get(person.id) == person:
            return
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self.keys.staff_people(), str(person.id),
                      json.dumps({"name": person.name, "username": person.username}))
            if person.username:
                pipe.hset(self.keys.staff_usernames(), person.username.lower(), person.id)
            await pipe.execute()
        self._known[person.id] = person

    async def people(self, ids: list[int]) -> dict[int, Person]:
        """Those of `ids` the bot has seen; the others are left out."""
        if not ids:
            return {}
        raw = await self.redis.hmget(self.keys.staff_people(), [str(i) for i in ids])
        found = {}
        for person_id, record in zip(ids, raw, strict=True):
            text = as_text(record)
            if text:
                data = json.loads(text)
                found[person_id] = Person(person_id, data.get("name") or str(person_id),
                                          data.get("username"))
        return found

    async def person(self, person_id: int) -> Person | None:
        return (await self.people([person_id])).get(person_id)

    async def by_username(self, username: str) -> Person | None:
        raw = as_text(await self.redis.hget(self.keys.staff_usernames(),
                                            username.lstrip("@").lower()))
        return await self.person(int(raw)) if raw else None

    async def set_duty(self, person_id: int, on: bool) -> bool:
        """On or off duty; whether that changed anything."""
        if on:
            return bool(await self.redis.sadd(self.keys.on_duty(), str(person_id)))
        return bool(await self.redis.srem(self.keys.on_duty(), str(person_id)))

    async def on_duty(self) -> list[Person]:
        ids = sorted(int(raw) for raw in await self.redis.smembers(self.keys.on_duty()))
        people = await self.people(ids)
        return [people.get(i, Person(i, str(i))) for i in ids]
