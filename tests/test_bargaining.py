"""Holding the price politely: the ladder of refusals, shipping with its reason, the gift
fallback, and gift stock that is never oversold — through the fake Bot API and real Redis."""

from __future__ import annotations

import asyncio
import re
import shutil
from html import unescape
from pathlib import Path

import pytest
from redis.asyncio import Redis

from bot import DEMO_SHOP
from bot.core.shop import load_shop
from bot.storage.store import Store
from tests.conftest import Harness

SHOP = load_shop(DEMO_SHOP)
GIFT = SHOP.policy.gift
assert GIFT is not None

ASKS = {
    "en": ("any discount?", "come on, a little cheaper?", "can you ship it for free then?",
           "ok, at least a little gift?"),
    "ru": ("скидочку сделаете?", "ну хоть немного дешевле?", "а доставку бесплатно?",
           "ну хоть подарочек положите?"),
    "zh-hans": ("亲，能便宜点吗", "再便宜一点嘛", "那包邮吧", "那送个小礼物吧"),
    "zh-hant": ("親，可以算便宜一點嗎", "再便宜一點啦", "那可以免運嗎", "那送個小禮物吧"),
}


async def talk(shopbot: Harness, shopper, text: str) -> str:  # type: ignore[no-untyped-def]
    [reply] = await shopbot.send(shopper, text)
    return unescape(reply)


@pytest.mark.parametrize("lang", ["en", "ru", "zh-hans", "zh-hant"])
async def test_the_whole_ladder(shopbot: Harness, redis: Redis, prefix: str,
                                lang: str) -> None:
    shopper = shopbot.api.new_shopper(language_code=lang)
    await shopbot.send(shopper, "/start")
    first, second, shipping, gift_ask = ASKS[lang]
    gift_name = SHOP.text(GIFT.name, lang)
    assert gift_name is not None

    warm = await talk(shopbot, shopper, first)
    firmer = await talk(shopbot, shopper, second)
    assert warm != firmer
    for refusal in (warm, firmer):
        assert gift_name not in refusal
        assert not re.search(r"\d+ ?%", refusal)  # no concession, no number off
    refusal = await talk(shopbot, shopper, shipping)
    assert "350" in refusal and gift_name not in refusal  # what delivery costs
    offer = await talk(shopbot, shopper, gift_ask)
    assert gift_name in offer
    profile = await redis.hgetall(f"{prefix}:customer:{shopper.id}")
    assert profile[b"gifts_promised"] == b"1"


async def test_after_a_refusal_asking_again_for_shipping_gets_the_gift(
        shopbot: Harness) -> None:
    shopper = shopbot.api.new_shopper(language_code="en")
    await shopbot.send(shopper, "/start")
    assert "free" in await talk(shopbot, shopper, "free shipping please?")
    assert SHOP.text(GIFT.name, "en") in await talk(shopbot, shopper, "pleeease free delivery")


async def test_a_direct_first_gift_ask_is_refused_then_granted(shopbot: Harness) -> None:
    shopper = shopbot.api.new_shopper(language_code="en")
    await shopbot.send(shopper, "/start")
    gift_name = SHOP.text(GIFT.name, "en")
    assert gift_name not in await talk(shopbot, shopper, "any free gift with my order?")
    assert gift_name in await talk(shopbot, shopper, "not even a small freebie?")


@pytest.mark.parametrize(("lang", "product", "missing"), [
    ("en", "linen shirt", "RUB1,510"), ("ru", "льняная рубашка", "1\xa0510\xa0₽")])
async def test_free_shipping_threshold_says_how_much_to_add(
        shopbot: Harness, lang: str, product: str, missing: str) -> None:
    shopper = shopbot.api.new_shopper(language_code=lang)
    await shopbot.send(shopper, "/start")
    await shopbot.send(shopper, product)  # 3490 in context; free from 5000
    reply = await talk(shopbot, shopper, ASKS[lang][2])
    assert missing in reply


async def test_a_product_over_the_threshold_already_ships_free(shopbot: Harness) -> None:
    shopper = shopbot.api.new_shopper(language_code="en")
    await shopbot.send(shopper, "/start")
    await shopbot.send(shopper, "tell me about the linen bedding set")  # 8990
    reply = await talk(shopbot, shopper, "free shipping?")
    assert "already free" in reply


async def test_the_gift_is_given_once_per_customer(shopbot: Harness, redis: Redis,
                                                   prefix: str) -> None:
    shopper = shopbot.api.new_shopper(language_code="en")
    await shopbot.send(shopper, "/start")
    await talk(shopbot, shopper, "free shipping?")
    assert "gift" in await talk(shopbot, shopper, "then a gift?")
    again = await talk(shopbot, shopper, "and another gift for my sister?")
    assert "already promised" in again
    assert await redis.hget(f"{prefix}:gift:given", str(shopper.id)) == b"1"
    assert int(await redis.get(f"{prefix}:gift:stock")) == GIFT.stock - 1


async def test_fifty_shoppers_racing_for_the_last_ten_gifts(redis: Redis, prefix: str) -> None:
    store = Store(redis, prefix)
    outcomes = await asyncio.gather(*(store.grant_gift(user, 10, 1) for user in range(50)))
    assert outcomes.count("granted") == 10 and outcomes.count("out") == 40
    assert int(await redis.get(f"{prefix}:gift:stock")) == 0
    assert len(await redis.hgetall(f"{prefix}:gift:given")) == 10


async def test_no_gift_left_gets_a_warm_refusal_that_does_not_mention_gifts(
        make_shopbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    shop_file = tmp_path / "shop.yaml"
    shutil.copy(DEMO_SHOP, shop_file)
    shop_file.write_text(shop_file.read_text().replace("stock: 40", "stock: 0", 1))
    assert load_shop(shop_file).policy.gift.stock == 0  # type: ignore[union-attr]
    shopbot = await make_shopbot(shop_file=shop_file)
    shopper = shopbot.api.new_shopper(language_code="en")
    await shopbot.send(shopper, "/start")
    await talk(shopbot, shopper, "free shipping?")
    reply = await talk(shopbot, shopper, "a small gift then?")
    assert "gift" not in reply.lower() and "scrunchie" not in reply.lower()
    assert "understand" in reply or "Thank you" in reply


async def test_a_shop_that_allows_discounts_gives_its_coupon(
        make_shopbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    shop_file = tmp_path / "shop.yaml"
    shutil.copy(DEMO_SHOP, shop_file)
    shop_file.write_text(shop_file.read_text().replace(
        "discounts: false", "discounts: true").replace("coupon: null", "coupon: LINEN10"))
    shopbot = await make_shopbot(shop_file=shop_file)
    shopper = shopbot.api.new_shopper(language_code="ru")
    await shopbot.send(shopper, "/start")
    assert "LINEN10" in await talk(shopbot, shopper, "скидочку сделаете?")
