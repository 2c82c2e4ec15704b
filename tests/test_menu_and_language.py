"""/language, the menu buttons, and buttons the bot never made."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from tests.conftest import Harness, texts_to


def buttons(call) -> list[dict]:  # type: ignore[no-untyped-def]
    return [b for row in call.params["reply_markup"]["inline_keyboard"] for b in row]


async def test_language_choice_is_kept_in_redis_and_wins_over_telegram(
    shopbot: Harness, redis: Redis, prefix: str
) -> None:
    shopper = shopbot.api.new_shopper(language_code="en", first_name="Ann")
    [prompt] = await shopbot.send(shopper, "/language")
    assert "language" in prompt.lower()
    offered = buttons(shopbot.api.sent_to(shopper.id)[-1])
    assert [b["text"] for b in offered] == ["English", "Русский", "简体中文", "繁體中文"]
    assert [b["callback_data"] for b in offered] == ["lang:en", "lang:ru", "lang:zh-hans",
                                                     "lang:zh-hant"]

    calls = await shopbot.press(shopper, "lang:ru")
    assert any(c.method == "answerCallbackQuery" for c in calls)
    [confirmation] = texts_to(calls, shopper.id)
    assert "русском" in confirmation
    assert await redis.hget(f"{prefix}:customer:{shopper.id}", "language") == b"ru"

    [greeting] = await shopbot.send(shopper, "/start")
    assert "Льняной переулок" in greeting


@pytest.mark.parametrize(("lang", "expected"), [("zh-hans", "简体中文"), ("zh-hant", "繁體中文"),
                                                ("en", "English")])
async def test_each_language_can_be_chosen(shopbot: Harness, lang: str, expected: str) -> None:
    shopper = shopbot.api.new_shopper(language_code="ru")
    [confirmation] = texts_to(await shopbot.press(shopper, f"lang:{lang}"), shopper.id)
    assert expected in confirmation


async def test_contacts_button_shows_hours_and_contacts(shopbot: Harness) -> None:
    shopper = shopbot.api.new_shopper(language_code="ru")
    await shopbot.send(shopper, "/start")
    [text] = texts_to(await shopbot.press(shopper, "menu:contacts"), shopper.id)
    assert "понедельник: 10:00–19:00" in text.lower()
    assert "воскресенье" in text.lower() and "Льняной переулок" in text


async def test_order_button_gives_instructions_and_the_shop_link(shopbot: Harness) -> None:
    shopper = shopbot.api.new_shopper(language_code="en")
    calls = await shopbot.press(shopper, "menu:order")
    [text] = texts_to(calls, shopper.id)
    assert "size" in text.lower()
    sent = [c for c in calls if c.method == "sendMessage"][-1]
    assert buttons(sent)[0]["url"] == "https://linen-lane.example/order"


async def test_language_button_in_the_menu_offers_the_choice(shopbot: Harness) -> None:
    shopper = shopbot.api.new_shopper(language_code="zh-hant")
    calls = await shopbot.press(shopper, "menu:language")
    sent = [c for c in calls if c.method == "sendMessage"][-1]
    assert len(buttons(sent)) == 4


@pytest.mark.parametrize("data", ["lang:de", "menu:nothing", "x" * 64, "💥", "lang:", ":"])
async def test_callback_data_the_bot_never_made_gets_a_polite_answer(
    shopbot: Harness, data: str
) -> None:
    shopper = shopbot.api.new_shopper(language_code="en")
    calls = await shopbot.press(shopper, data)
    answers = [c for c in calls if c.method == "answerCallbackQuery"]
    assert len(answers) == 1 and "no longer active" in answers[0].params["text"]
    assert not texts_to(calls, shopper.id)


async def test_command_menu_is_published_in_each_language(shopbot: Harness) -> None:
    await shopbot.send(shopbot.api.new_shopper(), "/start")  # the bot is up by now
    published = {c.params.get("language_code"): c.params["commands"]
                 for c in shopbot.api.calls if c.method == "setMyCommands"}
    assert set(published) == {None, "ru", "zh"}
    assert [c["command"] for c in published["ru"]] == [
        "start", "catalog", "language", "bye", "stop", "mydata", "forget"]
    assert published["ru"][2]["description"] == "Сменить язык"
    assert all(c["description"] for commands in published.values() for c in commands)
