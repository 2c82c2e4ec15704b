"""Greeting and farewell, end to end: the bot polls the fake Bot API over HTTP."""

from __future__ import annotations

import re

import pytest
from redis.asyncio import Redis

from tests.conftest import FakeClock, Harness

SHOP = {"en": "Linen Lane", "ru": "Льняной переулок", "zh-hans": "亚麻小巷", "zh-hant": "亞麻小巷"}
HELLO = {
    "morning": {"en": "Good morning", "ru": "Доброе утро", "zh-hans": "早上好", "zh-hant": "早安"},
    "afternoon": {"en": "Good afternoon", "ru": "Добрый день", "zh-hans": "下午好",
                  "zh-hant": "午安"},
    "evening": {"en": "Good evening", "ru": "Добрый вечер", "zh-hans": "晚上好",
                "zh-hant": "晚上好"},
}
# Every phrasing of "welcome back" in each language carries one of these.
WELCOME_BACK = {"en": r"(?i)welcome back|see you again", "ru": r"С возвращением|снова видеть",
                "zh-hans": r"欢迎回到|又在", "zh-hant": r"歡迎回到|又在"}
TEAM_AWAY = {"en": "Our team is away", "ru": "сотрудников нет", "zh-hans": "客服同事",
             "zh-hant": "客服人員"}
LANGS = ["en", "ru", "zh-hans", "zh-hant"]


@pytest.mark.parametrize("lang", LANGS)
async def test_start_greets_with_the_shop_name_in_the_shoppers_language(
    shopbot: Harness, lang: str
) -> None:
    shopper = shopbot.api.new_shopper(first_name="Mia", language_code=lang)
    [text] = await shopbot.send(shopper, "/start")
    assert SHOP[lang] in text
    assert HELLO["morning"][lang] in text
    assert "Mia" in text
    assert not re.search(WELCOME_BACK[lang], text)
    call = shopbot.api.sent_to(shopper.id)[-1]
    assert call.params["parse_mode"] == "HTML"
    buttons = [b["callback_data"] for row in call.params["reply_markup"]["inline_keyboard"]
               for b in row]
    assert buttons == ["cat", "menu:order", "menu:contacts", "menu:language"]


@pytest.mark.parametrize(("code", "lang"), [("zh-cn", "zh-hans"), ("zh-tw", "zh-hant"),
                                            ("zh-hk", "zh-hant"), ("de", "en")])
async def test_telegram_language_picks_the_catalogue(shopbot: Harness, code: str,
                                                     lang: str) -> None:
    [text] = await shopbot.send(shopbot.api.new_shopper(language_code=code), "/start")
    assert SHOP[lang] in text and HELLO["morning"][lang] in text


@pytest.mark.parametrize(("hour", "part"), [(6, "morning"), (11, "morning"), (12, "afternoon"),
                                            (17, "afternoon"), (18, "evening"), (23, "evening")])
@pytest.mark.parametrize("lang", LANGS)
async def test_greeting_fits_the_time_of_day_in_the_shops_zone(
    shopbot: Harness, clock: FakeClock, hour: int, part: str, lang: str
) -> None:
    clock.local(hour=hour, minute=30)
    [text] = await shopbot.send(shopbot.api.new_shopper(language_code=lang), "/start")
    assert HELLO[part][lang] in text


@pytest.mark.parametrize("lang", LANGS)
async def test_returning_customer_is_welcomed_back_by_name(
    shopbot: Harness, clock: FakeClock, redis: Redis, prefix: str, lang: str
) -> None:
    shopper = shopbot.api.new_shopper(first_name="Olga", language_code=lang)
    await shopbot.send(shopper, "/start")
    clock.advance(hours=7)  # past the 6-hour quiet period: a new visit
    hello = {"en": "hello", "ru": "привет", "zh-hans": "你好呀", "zh-hant": "哈囉"}[lang]
    [text] = await shopbot.send(shopper, hello)
    assert re.search(WELCOME_BACK[lang], text) and "Olga" in text
    profile = await redis.hgetall(f"{prefix}:customer:{shopper.id}")
    assert profile[b"visits"] == b"2"
    assert profile[b"first_name"] == b"Olga"


async def test_no_second_greeting_within_the_quiet_period(
    shopbot: Harness, clock: FakeClock
) -> None:
    shopper = shopbot.api.new_shopper(language_code="en")
    first, *_ = await shopbot.send(shopper, "do you sell linen?")  # greeting comes first
    replies = await shopbot.send(shopper, "hello?")
    assert len(replies) == 1 and "Linen Lane" not in replies[0]
    clock.advance(hours=5, minutes=59)
    replies = await shopbot.send(shopper, "something else")
    assert not any("Linen Lane" in text for text in replies)
    assert "Linen Lane" in first


async def test_first_message_is_greeted_at_once(shopbot: Harness) -> None:
    shopper = shopbot.api.new_shopper(language_code="ru", first_name="Ира")
    replies = await shopbot.send(shopper, "добрый день")
    assert len(replies) == 1
    assert "Льняной переулок" in replies[0] and "Ира" in replies[0]


async def test_the_greeting_and_the_first_answer_go_as_one_message(shopbot: Harness) -> None:
    shopper = shopbot.api.new_shopper(language_code="en", first_name="Dan")
    [text] = await shopbot.send(shopper, "hi, any discount?")
    greeting, refusal = text.split("\n\n")  # a blank line between them, as two bubbles read
    assert "Linen Lane" in greeting and "Dan" in greeting
    assert "Linen Lane" not in refusal and "price" in refusal.lower()
    [call] = [c for c in shopbot.api.sent_to(shopper.id) if c.method == "sendMessage"]
    # The greeting's menu: the refusal has no buttons of its own.
    buttons = [b["callback_data"] for row in call.params["reply_markup"]["inline_keyboard"]
               for b in row]
    assert buttons == ["cat", "menu:order", "menu:contacts", "menu:language"]


async def test_an_answer_with_a_photo_still_follows_the_greeting(shopbot: Harness) -> None:
    shopper = shopbot.api.new_shopper(language_code="en")
    greeting, card = await shopbot.send(shopper, "do you have the classic linen shirt?")
    assert "Linen Lane" in greeting and "Classic linen shirt" in card
    assert [c.method for c in shopbot.api.sent_to(shopper.id)] == ["sendMessage", "sendPhoto"]


@pytest.mark.parametrize(
    ("hour", "weekday_shift", "expected"),
    [
        (7, 0, "will be back in 3 hours, at 10:00"),
        (9, 0, "will be back in 1 hour, at 10:00"),
        (9, 5, "will be back in 2 hours, at 11:00"),  # Saturday opens at 11
        (21, 0, "will be back tomorrow at 10:00"),
        (12, 6, "will be back tomorrow at 10:00"),  # Sunday: closed all day
    ],
)
async def test_out_of_hours_greeting_says_when_staff_are_back(
    shopbot: Harness, clock: FakeClock, hour: int, weekday_shift: int, expected: str
) -> None:
    clock.local(hour=hour, minute=0)
    clock.advance(days=weekday_shift)
    [text] = await shopbot.send(shopbot.api.new_shopper(language_code="en"), "/start")
    assert expected in text


async def test_out_of_hours_minutes_and_far_dates(shopbot: Harness, clock: FakeClock) -> None:
    clock.local(hour=9, minute=35)
    [text] = await shopbot.send(shopbot.api.new_shopper(language_code="ru"), "/start")
    assert "через 25 минут" in text
    clock.local(hour=20, minute=0)
    clock.advance(days=5)  # Saturday evening: back on Monday 30 November
    [text] = await shopbot.send(shopbot.api.new_shopper(language_code="ru"), "/start")
    assert "30 ноября" in text and "10:00" in text


async def test_no_offline_notice_in_working_hours(shopbot: Harness) -> None:
    for lang in LANGS:
        [text] = await shopbot.send(shopbot.api.new_shopper(language_code=lang), "/start")
        assert TEAM_AWAY[lang] not in text


@pytest.mark.parametrize(
    ("lang", "text"),
    [("en", "bye"), ("en", "Thanks, that's all!"), ("en", "/bye"), ("ru", "Спасибо, это всё"),
     ("ru", "до свидания!!"), ("zh-hans", "谢谢，再见"), ("zh-hant", "掰掰～")],
)
async def test_farewell_is_warm_and_names_the_shop(
    shopbot: Harness, redis: Redis, prefix: str, lang: str, text: str
) -> None:
    shopper = shopbot.api.new_shopper(first_name="Sam", language_code=lang)
    await shopbot.send(shopper, "/start")
    [reply] = await shopbot.send(shopper, text)
    assert SHOP[lang] in reply and "Sam" in reply
    assert HELLO["morning"][lang] not in reply
    conversation = await redis.hgetall(f"{prefix}:conv:{shopper.id}")
    assert conversation[b"closed"] == b"1"


async def test_after_a_farewell_the_next_message_is_greeted_again(shopbot: Harness) -> None:
    shopper = shopbot.api.new_shopper(language_code="en")
    await shopbot.send(shopper, "/start")
    await shopbot.send(shopper, "bye")
    [text, *_] = await shopbot.send(shopper, "hi again")
    assert "Linen Lane" in text and re.search(WELCOME_BACK["en"], text)


async def test_greetings_are_worded_differently(shopbot: Harness) -> None:
    seen = set()
    for _ in range(12):
        [text] = await shopbot.send(shopbot.api.new_shopper(first_name="Kim"), "/start")
        seen.add(text)
    assert len(seen) >= 3


async def test_names_from_users_are_escaped(shopbot: Harness) -> None:
    shopper = shopbot.api.new_shopper(first_name="<b>&", language_code="en")
    [text] = await shopbot.send(shopper, "/start")
    assert "&lt;b&gt;&amp;" in text
    assert "<b>&" not in text
