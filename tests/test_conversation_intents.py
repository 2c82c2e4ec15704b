"""The detector drives the replies: language of the message, honest hand-over, classify."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.conftest import Harness
from tests.test_running import shopbot_cmd, shopbot_env


async def test_reply_follows_the_language_the_message_is_written_in(shopbot: Harness) -> None:
    shopper = shopbot.api.new_shopper(language_code="ru", first_name="Ivan")
    await shopbot.send(shopper, "/start")
    [reply] = await shopbot.send(shopper, "bye, thanks that's all")
    assert "Linen Lane" in reply  # English, though Telegram says Russian
    [reply] = await shopbot.send(shopper, "親，先這樣，掰掰")
    assert "亞麻小巷" in reply  # traditional characters -> Traditional Chinese


async def test_sizes_alone_do_not_switch_the_language(shopbot: Harness) -> None:
    shopper = shopbot.api.new_shopper(language_code="ru")
    await shopbot.send(shopper, "/start")
    [reply] = await shopbot.send(shopper, "XL?")
    assert re.search("[а-я]", reply)


@pytest.mark.parametrize(
    ("text", "lang", "expected"),
    [
        ("can I talk to a real person please?", "en", "glad to talk to you"),
        ("хочу вернуть платье, не подошло", "ru", "вернуть или обменять"),
        ("我要转人工", "zh-hans", "同事很乐意"),
        ("收到的衣服破了一個洞", "zh-hant", "抱歉"),
    ],
)
async def test_recognised_requests_are_confirmed_and_handed_to_the_team(
    shopbot: Harness, text: str, lang: str, expected: str
) -> None:
    shopper = shopbot.api.new_shopper(language_code=lang)
    await shopbot.send(shopper, "/start")
    [reply] = await shopbot.send(shopper, text)
    assert expected in reply
    assert "+7" in reply  # the shop's contacts from the shop file
    markup = shopbot.api.sent_to(shopper.id)[-1].params["reply_markup"]
    assert markup["inline_keyboard"][0][0]["callback_data"] == "menu:contacts"


async def test_wanting_to_buy_gets_the_order_instructions(shopbot: Harness) -> None:
    shopper = shopbot.api.new_shopper(language_code="en")
    await shopbot.send(shopper, "/start")
    [reply] = await shopbot.send(shopper, "how do I order the linen shirt?")
    markup = shopbot.api.sent_to(shopper.id)[-1].params["reply_markup"]
    assert markup["inline_keyboard"][0][0]["url"] == "https://linen-lane.example/order"
    assert "size" in reply.lower()


async def test_unclear_messages_ask_back_rather_than_guess(shopbot: Harness) -> None:
    shopper = shopbot.api.new_shopper(language_code="en")
    await shopbot.send(shopper, "/start")
    [reply] = await shopbot.send(shopper, "qwerty zxcv")
    assert "understood" in reply or "tell me a little more" in reply or "catch" in reply
    assert "Contacts" in reply


# -- shopbot classify ---------------------------------------------------------------------

async def test_classify_one_text(tmp_path: Path) -> None:
    code, out, _ = await shopbot_cmd("classify", "亲，这件亚麻衬衫有XL吗", env=shopbot_env(),
                                     cwd=tmp_path)
    assert code == 0
    result = json.loads(out)
    assert result == {"intent": "product_question", "confidence": result["confidence"],
                      "product": "linen-shirt", "lang": "zh-hans"}
    assert 0 < result["confidence"] <= 1


async def test_classify_json_lines_keeps_going_past_bad_lines(tmp_path: Path) -> None:
    import asyncio
    import sys

    lines = [
        {"text": "скидочку можно?", "lang": "en"},
        "this is not json",
        {"text": "包邮吗亲", "lang": "zh-hant"},
        {"lang": "ru"},
        {"text": "where is my order #123", "lang": "ru"},
    ]
    stdin = "\n".join(x if isinstance(x, str) else json.dumps(x, ensure_ascii=False)
                      for x in lines) + "\n"
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "handlers", "classify", env=shopbot_env(), cwd=tmp_path,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    out, err = await process.communicate(stdin.encode())
    results = [json.loads(line) for line in out.decode().splitlines()]
    assert process.returncode == 1  # some lines were bad
    assert [r.get("intent") for r in results] == ["discount", None, "free_shipping", None,
                                                  "order_status"]
    assert [r.get("lang") for r in results] == ["ru", None, "zh-hans", None, "en"]
    assert "line 2" in results[1]["error"] and "line 4" in results[3]["error"]
    assert "Traceback" not in err.decode()


async def test_classify_with_a_shop_file_and_its_phrases(tmp_path: Path) -> None:
    shop = tmp_path / "shop.yaml"
    shop.write_text("id: owl\nname: Owl\nphrases:\n  human:\n    en: ['summon the owl ^2']\n")
    code, out, _ = await shopbot_cmd("classify", "--shop", str(shop), "--explain",
                                     "please summon the owl", env=shopbot_env(), cwd=tmp_path)
    assert code == 0
    result = json.loads(out)
    assert result["intent"] == "human" and "human:summon the owl" in result["cues"]
