"""Outgoing calls: Telegram's limits kept through Redis ledgers shared by every process, and
429s, 5xx and network failures tried again within bounds."""

from __future__ import annotations

from redis.asyncio import Redis

from bot.app.pacing import Pacer
from bot.devtools.fake_bot_api import FakeBotAPI
from bot.storage.keys import Keys
from tests.conftest import Harness, texts_to


class Time:
    """A clock and a sleep that moves it: waits cost no real time."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def pacer(redis: Redis, prefix: str, time: Time, rate: float = 30) -> Pacer:
    return Pacer(redis, Keys(prefix), rate=rate, clock=time.clock, sleep=time.sleep)


async def sent_at(p: Pacer, time: Time, chat: int, n: int) -> list[float]:
    """When each of `n` messages, all wanting to go at once, actually goes."""
    start, times = time.now, []
    for _ in range(n):
        await p.before_send(chat)
        times.append(round(time.now - start, 3))
    return times


async def test_a_private_chat_gets_a_short_burst_then_one_a_second(redis: Redis,
                                                                  prefix: str) -> None:
    time = Time()
    assert await sent_at(pacer(redis, prefix, time), time, 42, 6) == [0, 0, 0, 1, 2, 3]


async def test_a_group_gets_twenty_a_minute_evenly(redis: Redis, prefix: str) -> None:
    time = Time()
    times = await sent_at(pacer(redis, prefix, time), time, -100123, 25)
    assert times[:3] == [0, 3, 6]
    assert max(sum(1 for t in times if start <= t < start + 60) for start in times) == 20


async def test_two_processes_share_the_ledgers(redis: Redis, prefix: str) -> None:
    time = Time()
    first, second = pacer(redis, prefix, time), pacer(redis, prefix, time)
    start, times = time.now, []
    for p in (first, second) * 3:
        await p.before_send(42)
        times.append(round(time.now - start, 3))
    assert times == [0, 0, 0, 1, 2, 3]


async def test_the_shop_wide_rate_holds_across_chats(redis: Redis, prefix: str) -> None:
    time = Time()
    p = pacer(redis, prefix, time, rate=30)
    start = time.now
    for chat in range(1, 61):  # sixty chats, one message each
        await p.before_send(chat)
    assert round(time.now - start, 3) == 1.0  # 30 at once, then 30 more over a second


async def test_a_429_is_waited_out_and_the_reply_still_arrives(shopbot: Harness,
                                                               api: FakeBotAPI) -> None:
    ann = api.new_shopper(first_name="Ann")
    api.fail("sendMessage", 429, retry_after=3, chat_id=ann.id)
    calls = await shopbot.feed(api.message_update(ann, "hi"))
    assert [c.ok for c in calls if c.method == "sendMessage"] == [False, True]
    assert "Ann" in texts_to(calls, ann.id)[0]


async def test_server_errors_are_retried_a_bounded_number_of_times(shopbot: Harness,
                                                                  api: FakeBotAPI) -> None:
    ann = api.new_shopper(first_name="Ann")
    api.fail("sendMessage", 502, "Bad Gateway", times=2, chat_id=ann.id)
    calls = await shopbot.feed(api.message_update(ann, "hi"))
    assert [c.ok for c in calls if c.method == "sendMessage"] == [False, False, True]
    api.fail("sendMessage", 500, times=None, chat_id=ann.id)  # down for good
    calls = await shopbot.feed(api.message_update(ann, "do you have linen shirts?"))
    tries = [c for c in calls if c.method == "sendMessage" and c.chat_id == ann.id]
    assert len(tries) <= 2 * 4 and not any(c.ok for c in tries)  # reply + apology, 4 tries each


async def test_a_long_429_is_not_waited_inside_a_call(shopbot: Harness,
                                                      api: FakeBotAPI) -> None:
    ann = api.new_shopper(first_name="Ann")
    api.fail("sendMessage", 429, retry_after=300, chat_id=ann.id)
    calls = await shopbot.feed(api.message_update(ann, "hi"))
    sends = [c for c in calls if c.method == "sendMessage"]
    assert [c.ok for c in sends] == [False, True]  # not tried again: the apology follows
    assert sends[0].result["parameters"]["retry_after"] == 300
    assert "something went wrong" in sends[1].params["text"]
