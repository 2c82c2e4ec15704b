"""Flood control: over the limit, one polite notice, then silence until calm; an album counts
once; admins and staff are never throttled. Through the fake Bot API and real Redis."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from redis.asyncio import Redis

from bot.devtools.fake_bot_api import FakeBotAPI
from tests.conftest import FakeClock, Harness

STAFF = -1001234567890
OWNER = 5550001
NOTICE = "That is a lot of messages at once"

Make = Callable[..., Awaitable[Harness]]


async def test_a_flood_gets_one_notice_then_silence_until_calm(
        make_shopbot: Make, api: FakeBotAPI, clock: FakeClock, redis: Redis) -> None:
    bot = await make_shopbot(flood_messages=3, flood_seconds=10)
    ann = api.new_shopper(first_name="Ann")
    for text in ("hi", "do you have linen shirts?", "and dresses?"):
        replies = await bot.send(ann, text)
        assert replies and not any(NOTICE in r for r in replies)
        clock.advance(seconds=1)
    assert [NOTICE in r for r in await bot.send(ann, "hello??")] == [True]
    assert await redis.exists(f"{bot.app.store.prefix}:flood_notice:{ann.id}")
    for text in ("hello???", "anyone", "discount?"):
        assert await bot.send(ann, text) == []  # ignored, and no second notice
        clock.advance(seconds=2)
    clock.advance(seconds=11)  # calm
    replies = await bot.send(ann, "do you have the linen shirt in M?")
    assert replies and "shirt" in replies[0].lower()


async def test_the_notice_speaks_the_shoppers_language(
        make_shopbot: Make, api: FakeBotAPI) -> None:
    bot = await make_shopbot(flood_messages=1, flood_seconds=30)
    ivan = api.new_shopper(first_name="Иван", language_code="ru")
    await bot.send(ivan, "привет")
    notice = await bot.send(ivan, "есть скидки?")
    assert len(notice) == 1 and "сообщений" in notice[0] and NOTICE not in notice[0]


async def test_an_album_counts_once(make_shopbot: Make, api: FakeBotAPI) -> None:
    bot = await make_shopbot(flood_messages=2, flood_seconds=60)
    ann = api.new_shopper(first_name="Ann")
    await bot.send(ann, "hi")
    for _ in range(6):  # six photos of one album
        calls = await bot.feed(api.message_update(ann, None, photo=api.photo(),
                                                  media_group_id="album-1"))
        assert not any(NOTICE in str(c.params.get("text")) for c in calls)
    # "hi" and the album make two: the next message is the one over the limit.
    assert [NOTICE in r for r in await bot.send(ann, "what size is this?")] == [True]


async def test_admins_and_staff_are_never_throttled(make_shopbot: Make,
                                                    api: FakeBotAPI) -> None:
    api.forum(STAFF)
    sam = api.new_shopper(first_name="Sam")
    api.set_chat_member(STAFF, sam, "member")
    bot = await make_shopbot(flood_messages=1, flood_seconds=60, admin_ids=[OWNER],
                             staff_chat_id=STAFF)
    owner = api.new_shopper(first_name="Olivia", id=OWNER)
    for person in (owner, sam):
        for text in ("hi", "catalogue", "delivery?", "thanks"):
            replies = await bot.send(person, text)
            assert replies and not any(NOTICE in r for r in replies)
