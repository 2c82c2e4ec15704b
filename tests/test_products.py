"""Product questions and the shop's FAQ, answered at once and truthfully from the shop file,
through the fake Bot API, in all four languages."""

from __future__ import annotations

import shutil
from html import unescape
from pathlib import Path

import pytest

from bot import DEMO_SHOP
from bot.core.shop import load_shop
from bot.devtools.fake_bot_api import Call
from bot.domain.actions import CategoryPage, OpenProduct
from bot.domain.conversation import PAGE_SIZE
from handlers.callback_data import pack
from tests.conftest import Harness, texts_to

SHOP = load_shop(DEMO_SHOP)


def local(value, lang: str) -> str:  # type: ignore[no-untyped-def]
    return SHOP.text(value, lang)  # type: ignore[arg-type,return-value]


def pick(product_id: str, option_id: str, value_id: str) -> str:
    """The data of the button that picks one value on a card where nothing is picked yet."""
    product = SHOP.product(product_id)
    assert product is not None
    i, option = next((i, o) for i, o in enumerate(product.options) if o.id == option_id)
    j = next(j for j, v in enumerate(option.values) if v.id == value_id)
    return f"o:{product_id}:{i}.{j}"


def data_of(call: Call) -> list[str]:
    return [b.get("callback_data") or b.get("url") for row in
            call.params["reply_markup"]["inline_keyboard"] for b in row]


def last_sent(shopbot: Harness, chat_id: int) -> Call:
    return [c for c in shopbot.api.sent_to(chat_id)
            if c.method in ("sendPhoto", "sendMessage")][-1]


async def ask(shopbot: Harness, lang: str, text: str) -> tuple[str, Call]:
    shopper = shopbot.api.new_shopper(language_code=lang)
    await shopbot.send(shopper, "/start")
    replies = await shopbot.send(shopper, text)
    assert len(replies) == 1, replies
    return unescape(replies[0]), last_sent(shopbot, shopper.id)


@pytest.mark.parametrize(
    ("lang", "text"),
    [("en", "what is the linen shirt made of?"), ("ru", "из чего сшита льняная рубашка?"),
     ("zh-hans", "经典亚麻衬衫是什么面料"), ("zh-hant", "經典亞麻襯衫是什麼材質")],
)
async def test_material_question_gets_a_card_with_the_material_first(
        shopbot: Harness, lang: str, text: str) -> None:
    reply, call = await ask(shopbot, lang, text)
    shirt = SHOP.product("linen-shirt")
    assert shirt is not None
    assert call.method == "sendPhoto" and call.params["photo"] == shirt.photo
    first = reply.split("\n")[0]
    assert local(shirt.material, lang) in first
    assert local(shirt.name, lang) in reply
    buttons = data_of(call)
    assert pick("linen-shirt", "size", "XL") in buttons
    assert pick("linen-shirt", "color", "white") in buttons
    assert "ord:linen-shirt" in buttons and "menu:contacts" in buttons


@pytest.mark.parametrize(
    ("lang", "text", "price"),
    [("en", "how much is the linen scarf?", "RUB1,490"),
     ("ru", "сколько стоит льняной шарф?", "1\xa0490\xa0₽"),
     ("zh-hans", "亚麻围巾多少钱", "RUB1,490"), ("zh-hant", "亞麻圍巾多少錢", "RUB1,490")],
)
async def test_price_in_the_shops_currency_for_the_shoppers_locale(
        shopbot: Harness, lang: str, text: str, price: str) -> None:
    reply, _ = await ask(shopbot, lang, text)
    assert price in reply.split("\n")[0]


@pytest.mark.parametrize(
    ("lang", "text", "attribute"),
    [("en", "does the linen blouse run small?", "fit"),
     ("en", "how do I wash the linen blouse?", "care"),
     ("en", "what is the length of the linen blouse?", "length"),
     ("ru", "льняная блузка маломерит?", "fit"),
     ("ru", "как стирать льняную блузку?", "care"),
     ("ru", "какая длина у льняной блузки?", "length"),
     ("zh-hans", "短袖亚麻上衣偏小吗", "fit"),
     ("zh-hans", "短袖亚麻上衣怎么洗", "care"),
     ("zh-hans", "短袖亚麻上衣衣长多少", "length"),
     ("zh-hant", "短袖亞麻上衣會偏小嗎", "fit"),
     ("zh-hant", "短袖亞麻上衣怎麼洗", "care"),
     ("zh-hant", "短袖亞麻上衣長度多少", "length")],
)
async def test_free_form_attributes_are_answered_from_the_shop_file(
        shopbot: Harness, lang: str, text: str, attribute: str) -> None:
    reply, _ = await ask(shopbot, lang, text)
    blouse = SHOP.product("linen-blouse")
    assert blouse is not None
    assert local(blouse.attributes[attribute], lang) in reply


async def test_what_the_catalogue_does_not_say_is_not_invented(shopbot: Harness) -> None:
    reply, call = await ask(shopbot, "en", "where is the short-sleeve linen blouse made?")
    assert "does not say" in reply and "ask a person" in reply
    assert "menu:contacts" in data_of(call)


@pytest.mark.parametrize("lang", ["en", "ru", "zh-hans", "zh-hant"])
async def test_a_sold_out_size_says_so_and_offers_what_is_in_stock(
        shopbot: Harness, lang: str) -> None:
    text = {"en": "is the linen blouse available in M?", "ru": "льняная блузка в M есть?",
            "zh-hans": "短袖亚麻上衣有M码吗", "zh-hant": "短袖亞麻上衣有M號嗎"}[lang]
    reply, call = await ask(shopbot, lang, text)
    first, second, *_ = reply.split("\n")
    comma = "、" if lang.startswith("zh") else ", "
    assert "M" in first and comma.join(["XS", "S", "L", "XL"]) in second
    assert "p:linen-shirt" in data_of(call)  # an in-stock alternative, same category


async def test_an_in_stock_colour_is_confirmed(shopbot: Harness) -> None:
    reply, _ = await ask(shopbot, "en", "do you have the linen shirt in white?")
    first = reply.split("\n")[0]
    assert "white" in first and "sold out" not in first


async def test_a_sold_out_product_suggests_alternatives(shopbot: Harness) -> None:
    reply, call = await ask(shopbot, "en", "tell me about the shirt dress with belt")
    assert "sold out" in reply
    alternatives = [d for d in data_of(call) if d.startswith("p:")]
    assert alternatives and set(alternatives) <= {"p:wrap-dress", "p:linen-sundress"}


@pytest.mark.parametrize(("lang", "text"), [("en", "do you have trousers?"),
                                            ("ru", "брюки есть?"), ("zh-hans", "有裤子吗"),
                                            ("zh-hant", "有褲子嗎")])
async def test_several_matches_get_a_short_list(shopbot: Harness, lang: str,
                                                text: str) -> None:
    reply, call = await ask(shopbot, lang, text)
    assert {"p:wide-trousers", "p:straight-trousers"} <= set(data_of(call))
    wide = SHOP.product("wide-trousers")
    assert wide is not None and local(wide.name, lang) in reply


@pytest.mark.parametrize(("lang", "text"), [
    ("en", "do you have umbrellas in stock?"), ("ru", "есть зонты в наличии?"),
    ("zh-hans", "有雨伞现货吗"), ("zh-hant", "有雨傘現貨嗎")])
async def test_no_match_asks_back_and_offers_catalogue_and_person(
        shopbot: Harness, lang: str, text: str) -> None:
    _, call = await ask(shopbot, lang, text)
    assert call.method == "sendMessage"
    assert data_of(call) == ["cat", "menu:contacts"]


@pytest.mark.parametrize(
    ("lang", "text", "faq"),
    [("en", "how long does delivery to Kazan take?", "delivery"),
     ("ru", "как можно оплатить заказ?", "payment"),
     ("zh-hans", "支持七天无理由退货吗", "returns"),
     ("zh-hant", "請問可以自取嗎", "pickup")],
)
async def test_faq_questions_are_answered_from_the_shop_file(
        shopbot: Harness, lang: str, text: str, faq: str) -> None:
    reply, _ = await ask(shopbot, lang, text)
    entry = next(f for f in SHOP.faq if f.id == faq)
    assert local(entry.answer, lang) in reply


@pytest.mark.parametrize(("lang", "first", "then", "take"), [
    ("en", "tell me about the linen shirt", "and in light blue, size M?", "ok I'll take it"),
    ("ru", "расскажите про льняную рубашку", "а в голубом, размер M?", "беру"),
    ("zh-hans", "经典亚麻衬衫", "那浅蓝色M码呢", "拍了"),
    ("zh-hant", "經典亞麻襯衫", "那淺藍色M號呢", "我要了")])
async def test_follow_up_refers_to_the_product_just_discussed(
        shopbot: Harness, lang: str, first: str, then: str, take: str) -> None:
    shirt = SHOP.product("linen-shirt")
    assert shirt is not None
    shopper = shopbot.api.new_shopper(language_code=lang)
    await shopbot.send(shopper, "/start")
    await shopbot.send(shopper, first)
    [reply] = await shopbot.send(shopper, then)
    # Light blue in M is sold out: said first, about the shirt just discussed.
    assert "M" in reply.split("\n")[0] and local(shirt.name, lang) in unescape(reply)
    # Its buttons keep what was asked: pressing M drops it, pressing L replaces it.
    buttons = data_of(last_sent(shopbot, shopper.id))
    assert "o:linen-shirt:1.1" in buttons and "o:linen-shirt:0.3,1.1" in buttons
    [reply] = await shopbot.send(shopper, take)
    assert local(shirt.name, lang) in unescape(reply).split("\n")[0]  # named in the order


async def test_a_question_right_after_a_card_is_about_that_product(shopbot: Harness) -> None:
    shopper = shopbot.api.new_shopper(language_code="en")
    await shopbot.send(shopper, "/start")
    await shopbot.send(shopper, "tell me about the linen blouse")
    [reply] = await shopbot.send(shopper, "how long is it?")
    blouse = SHOP.product("linen-blouse")
    assert blouse is not None
    assert local(blouse.attributes["length"], "en") in reply.split("\n")[0]


async def test_buttons_on_a_card_work(shopbot: Harness) -> None:
    shopper = shopbot.api.new_shopper(language_code="ru")
    await shopbot.send(shopper, "/start")
    await shopbot.send(shopper, "льняная рубашка")
    calls = await shopbot.press(shopper, pick("linen-shirt", "size", "XXL"))
    [reply] = texts_to(calls, shopper.id)
    assert "XXL" in reply.split("\n")[0]
    calls = await shopbot.press(shopper, "sz:linen-shirt:XXL")  # a card sent before options
    [reply] = texts_to(calls, shopper.id)
    assert "XXL" in reply.split("\n")[0]
    calls = await shopbot.press(shopper, "ord:linen-shirt")
    [reply] = texts_to(calls, shopper.id)
    assert local(SHOP.order_instructions, "ru") in unescape(reply)


async def test_a_photo_that_cannot_be_sent_falls_back_to_text(shopbot: Harness) -> None:
    shopbot.api.fail("sendPhoto", error_code=400,
                     description="Bad Request: wrong file identifier/HTTP URL specified")
    reply, call = await ask(shopbot, "en", "how much is the linen scarf?")
    assert call.method == "sendMessage" and "Linen scarf" in reply


@pytest.mark.parametrize("data", ["p:umbrella", "sz:linen-shirt:XXXXL", "cl:linen-shirt:pink",
                                  "o:linen-shirt:9.0", "o:linen-shirt:0.99", "o:linen-shirt:x",
                                  "cat:shirts:99", "cat:hats:0", "ord:nothing", "p:",
                                  "sz:linen-shirt", "cat:shirts:-1"])
async def test_forged_catalogue_buttons_get_a_polite_answer(shopbot: Harness,
                                                           data: str) -> None:
    shopper = shopbot.api.new_shopper(language_code="en")
    calls = await shopbot.press(shopper, data)
    answers = [c for c in calls if c.method == "answerCallbackQuery"]
    assert len(answers) == 1 and "no longer active" in answers[0].params["text"]
    assert not texts_to(calls, shopper.id)


@pytest.mark.parametrize("lang", ["en", "ru", "zh-hans", "zh-hant"])
async def test_catalog_browses_categories_and_products(shopbot: Harness, lang: str) -> None:
    shopper = shopbot.api.new_shopper(language_code=lang)
    await shopbot.send(shopper, "/catalog")
    categories = data_of(last_sent(shopbot, shopper.id))
    assert categories == [f"cat:{c.id}:0" for c in SHOP.categories]
    calls = await shopbot.press(shopper, "cat:shirts:0")
    [reply] = texts_to(calls, shopper.id)
    assert local(SHOP.categories[0].name, lang) in unescape(reply)
    products = data_of(last_sent(shopbot, shopper.id))
    assert products[:3] == ["p:linen-shirt", "p:linen-blouse", "p:linen-overshirt"]
    assert products[-1] == "cat"


async def test_catalogue_pages(shopbot_rules) -> None:  # type: ignore[no-untyped-def]
    assistant, customer = shopbot_rules
    shop = assistant.shop
    assistant.shop = shop.model_copy(update={"products": [
        shop.products[0].model_copy(update={"id": f"shirt-{i}"}) for i in range(14)]})
    first = assistant.category_page(customer, "shirts", 0)
    assert [b.data for row in first.buttons for b in row][:PAGE_SIZE] == [
        OpenProduct(f"shirt-{i}") for i in range(PAGE_SIZE)]
    assert first.buttons[-2][-1].data == CategoryPage("shirts", 1)
    last = assistant.category_page(customer, "shirts", 2)
    assert [b.data for b in last.buttons[-2]] == [CategoryPage("shirts", 1)]
    assert assistant.category_page(customer, "shirts", 3) is None


async def test_every_button_fits_in_64_bytes(shopbot_rules) -> None:  # type: ignore[no-untyped-def]
    assistant, customer = shopbot_rules
    for product in assistant.shop.products:
        card = assistant.product_card(customer, product.id)
        for row in card.buttons:
            for button in row:
                assert button.url or (
                    button.data is not None and 1 <= len(pack(button.data).encode()) <= 64)


# -- reloading the shop file -----------------------------------------------------------------

async def test_reload_by_an_admin_refuses_a_broken_file_and_keeps_serving(
        make_shopbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    shop_file = tmp_path / "shop.yaml"
    shutil.copy(DEMO_SHOP, shop_file)
    shopbot = await make_shopbot(shop_file=shop_file, admin_ids=[42])
    owner = shopbot.api.new_shopper(id=42, language_code="en")
    shop_file.write_text(shop_file.read_text().replace("currency: RUB", "currency: RUBLES"))
    [reply] = await shopbot.send(owner, "/reload")
    reply = unescape(reply)
    assert "not reloaded" in reply and "currency: unknown currency 'RUBLES'" in reply
    reply, _ = await ask(shopbot, "en", "how much is the linen scarf?")
    assert "RUB1,490" in reply  # the old catalogue is still in service

    shop_file.write_text(shop_file.read_text().replace("currency: RUBLES", "currency: RUB")
                         .replace("price: 1490", "price: 1590"))
    [reply] = await shopbot.send(owner, "/reload")
    assert "reloaded" in reply and "15 products" in reply
    reply, _ = await ask(shopbot, "en", "how much is the linen scarf?")
    assert "RUB1,590" in reply


async def test_reload_is_for_admins_only(make_shopbot) -> None:  # type: ignore[no-untyped-def]
    shopbot = await make_shopbot(admin_ids=[42])
    stranger = shopbot.api.new_shopper(language_code="en")
    replies = await shopbot.send(stranger, "/reload")
    assert not any("reloaded" in text for text in replies)


async def test_sighup_reload_reports_a_broken_file_to_the_admins(
        make_shopbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    shop_file = tmp_path / "shop.yaml"
    shutil.copy(DEMO_SHOP, shop_file)
    shopbot = await make_shopbot(shop_file=shop_file, admin_ids=[42, 43])
    shop_file.write_text("id: broken\nname: [\n")
    await shopbot.app.reload_on_signal()
    for admin in (42, 43):
        [call] = shopbot.api.sent_to(admin)
        assert "not valid YAML" in call.params["text"]
    assert shopbot.app.shop.id == "linen-lane"
