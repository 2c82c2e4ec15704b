"""Reading product questions on shops of several trades, end to end: which product a
message is about when the words alone are not enough (the options it names, amounts,
diminutives, a value that is another product's name), what a follow-up keeps from the card
before it, and what the message asks of it (both of two amounts, the price in Cantonese,
whether it is in stock, a request behind a greeting), in the script it is written in."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import opencc
import pytest

from bot import DEMO_SHOP
from handlers.texts import plain
from tests.conftest import Harness, texts_to

TEA = "bot/shops/tea_house.yaml"
PHONES = "bot/shops/phone_corner.yaml"


async def replies(make_shopbot: Callable[..., Awaitable[Harness]], shop: str, lang: str,
                  *messages: str) -> list[str]:
    bot = await make_shopbot(shop_file=shop)
    shopper = bot.api.new_shopper(language_code=lang)
    said = []
    for message in messages:
        calls = await bot.feed(bot.api.message_update(shopper, message))
        said.append(plain("\n".join(texts_to(calls, shopper.id))))
    return said


@pytest.mark.parametrize(("shop", "lang", "message", "meant", "not_meant"), [
    # "oolong" names a tea, but a litre of oolong is the bottled tea's flavour.
    (TEA, "ru", "а литровый улун сколько стоит?", "Чай холодного заваривания", "Улун Те Гуань Инь"),
    (TEA, "zh-hant", "1公升烏龍幾錢", "瓶裝冷泡茶", "安溪鐵觀音 ·"),
    # Two coffees are "coffee in beans"; only one is also "from Yunnan".
    (TEA, "ru", "кофе из юньнани в зернах 250г есть?", "Моносорт из Баошаня", "Фирменная смесь"),
    # A case "for iPhone 15" that is clear: the case, not the phone.
    (PHONES, "ru", "нужен прозрачный чехол на айфон 15", "Силиконовый чехол", "Apple iPhone 15 ·"),
    (PHONES, "en", "clear case for the iphone 15?", "Silicone phone case", "Apple iPhone 15 ·"),
])
async def test_the_product_that_accounts_for_the_whole_message_is_meant(
        make_shopbot: Callable[..., Awaitable[Harness]], shop: str, lang: str, message: str,
        meant: str, not_meant: str) -> None:
    [reply] = await replies(make_shopbot, shop, lang, message)
    assert meant in reply
    assert not_meant not in reply


@pytest.mark.parametrize(("shop", "lang", "message", "meant"), [
    # Only one product is ground for filter: no product need be named.
    (TEA, "ru", "а 500 г молотый для фильтра?", "Моносорт из Баошаня"),
    (TEA, "en", "500 g ground for filter?", "Yunnan Baoshan"),
    # Only the phone case comes in "clear".
    (PHONES, "en", "anything in clear for a Pixel 8a?", "Silicone phone case"),
])
async def test_options_only_one_product_sells_find_it(
        make_shopbot: Callable[..., Awaitable[Harness]], shop: str, lang: str, message: str,
        meant: str) -> None:
    [reply] = await replies(make_shopbot, shop, lang, message)
    assert meant in reply


async def test_the_words_of_an_amount_name_no_product(
        make_shopbot: Callable[..., Awaitable[Harness]]) -> None:
    # The tasting set is "six teas of 10 g": the "г" of "500 г" is not its name.
    [reply] = await replies(make_shopbot, TEA, "ru", "а 500 г молотый для фильтра?")
    assert "Дегустационный набор" not in reply


@pytest.mark.parametrize(("shop", "lang", "message", "meant"), [
    (DEMO_SHOP, "ru", "а рубашечка льняная сколько стоит?", "Льняная рубашка"),
    (TEA, "ru", "а чайничек стеклянный есть?", "Стеклянный чайник"),
    (PHONES, "ru", "зарядочка на 65 ватт есть?", "Сетевое зарядное устройство"),
    (PHONES, "ru", "наушнички сони сколько?", "Sony WH-1000XM5"),
])
async def test_russian_diminutives_name_what_they_are_made_from(
        make_shopbot: Callable[..., Awaitable[Harness]], shop: str, lang: str, message: str,
        meant: str) -> None:
    [reply] = await replies(make_shopbot, shop, lang, message)
    assert meant in reply


@pytest.mark.parametrize(("message", "storage"), [
    ("那我要256G蓝色的", "256GB"), ("好，我买蓝色512GB", "512GB"), ("а серый на 256?", "256")])
async def test_an_amount_right_after_chinese_or_alone_chooses_the_variant(
        make_shopbot: Callable[..., Awaitable[Harness]], message: str, storage: str) -> None:
    lang = "ru" if "серый" in message else "zh-hans"
    opening = "сколько стоит Galaxy S24?" if lang == "ru" else "iPhone 15多少钱"
    _, reply = await replies(make_shopbot, PHONES, lang, opening, message)
    assert storage in reply.replace(" ", "")


@pytest.mark.parametrize(("shop", "lang", "messages", "said"), [
    # The dress was asked in M light blue (sold out); "and in white?" is the M in white.
    (DEMO_SHOP, "en", ("is the classic linen shirt in M light blue?", "and in white?"),
     "M, white"),
    # Pre-Qingming Longjing in 250 g is sold out; "and 100 g?" keeps the harvest.
    (TEA, "en", ("do you have the pre-qingming longjing in 250 grams?", "and 100 g?"),
     "pre-Qingming pick, 100 g is in stock"),
    # Named by its option's name, the option is asked whole: every weight's price.
    (TEA, "en", ("do you have the pre-qingming longjing in 250 grams?",
                 "what do the weights cost?"), "50 g: CN¥"),
])
async def test_a_follow_up_keeps_what_the_card_was_about(
        make_shopbot: Callable[..., Awaitable[Harness]], shop: str, lang: str,
        messages: tuple[str, ...], said: str) -> None:
    *_, reply = await replies(make_shopbot, shop, lang, *messages)
    assert said in reply


BEAUTY = "bot/shops/beauty_shop.yaml"
PETS = "bot/shops/pet_shop.yaml"


@pytest.mark.parametrize("shop", [PHONES, TEA])
async def test_cantonese_that_plain_conversion_calls_simplified_is_answered_in_traditional(
        make_shopbot: Callable[..., Awaitable[Harness]], shop: str) -> None:
    # 台 is what Taiwan and Hong Kong write too; only OpenCC's plain s2t makes it 臺.
    [reply] = await replies(make_shopbot, shop, "zh-hant", "台北可唔可以自取")
    assert opencc.OpenCC("t2s.json").convert(reply) != reply  # written in traditional


@pytest.mark.parametrize(("shop", "lang", "messages", "shown"), [
    (BEAUTY, "ru", ("гель-крем без масел есть?", "сколько стоят 50 и 100 мл?"),
     ("50 мл:", "100 мл:")),
    (TEA, "en", ("how much is the longjing?", "the 50 or 100 g, pre-rain?"),
     ("50 g: CN¥", "100 g: CN¥")),
])
async def test_two_amounts_asked_together_get_both_prices(
        make_shopbot: Callable[..., Awaitable[Harness]], shop: str, lang: str,
        messages: tuple[str, ...], shown: tuple[str, ...]) -> None:
    *_, reply = await replies(make_shopbot, shop, lang, *messages)
    assert all(line in reply for line in shown)


@pytest.mark.parametrize(("shop", "opening", "name", "price"), [
    (PHONES, "Pixel 8a有冇貨", "Pixel 8a", "449"),
    (TEA, "西湖龍井有冇貨", "西湖龍井", "CN¥88"),
])
async def test_a_cantonese_price_question_after_a_card_asks_that_products_price(
        make_shopbot: Callable[..., Awaitable[Harness]], shop: str, opening: str,
        name: str, price: str) -> None:
    _, reply = await replies(make_shopbot, shop, "zh-hant", opening, "幾錢")
    assert name in reply and price in reply


@pytest.mark.parametrize(("shop", "message", "said"), [
    (TEA, "а лунцзин есть в наличии?", "в наличии"),
    (PETS, "is the dog collar in stock?", "in stock"),
    # Products without variants whose stock is not counted are always available.
    ("bot/shops/bookshop.yaml", "Рисовая бумага сюань для каллиграфии есть?", "в наличии"),
    ("bot/shops/bakery_shop.yaml", "do you have gift cards in stock?", "in stock"),
])
async def test_asked_whether_a_product_is_in_stock_the_card_says_so(
        make_shopbot: Callable[..., Awaitable[Harness]], shop: str, message: str,
        said: str) -> None:
    lang = "en" if message.isascii() else "ru"
    *_, reply = await replies(make_shopbot, shop, lang, "👋", message)
    assert said in reply.lower()


@pytest.mark.parametrize(("shop", "lang", "message", "name"), [
    (BEAUTY, "ru", "Здравствуйте, тканевые маски успокаивающие по 5 штук есть?",
     "Тканевые маски"),
    (PETS, "zh-hans", "你好呀，猫砂有没有10升的", "猫砂"),
])
async def test_a_request_behind_a_greeting_is_answered_too(
        make_shopbot: Callable[..., Awaitable[Harness]], shop: str, lang: str, message: str,
        name: str) -> None:
    [reply] = await replies(make_shopbot, shop, lang, message)
    assert name.lower() in reply.lower()


FARM = "bot/shops/farm_shop.yaml"


@pytest.mark.parametrize(("shop", "messages", "said"), [
    (TEA, ("фирменная смесь для эспрессо есть?", "а кило сколько стоит?"), "1 кг"),
    (FARM, ("грецкие орехи жареные есть?", "а кило?"), "1 кг"),
])
async def test_a_bare_russian_unit_noun_is_one_of_it(
        make_shopbot: Callable[..., Awaitable[Harness]], shop: str,
        messages: tuple[str, ...], said: str) -> None:
    *_, reply = await replies(make_shopbot, shop, "ru", *messages)
    assert said in reply.split("\n\n")[0]  # the answer's first lines name the kilo


@pytest.mark.parametrize(("shop", "lang", "message", "not_named"), [
    # "a" of "tray with a high rim" and of "a dozen" is no evidence of the tray.
    (PETS, "en", "what should a 3 month old puppy eat?", "litter tray"),
    (TEA, "ru", "а по чём у вас обычно доставка?", "Дегустационный набор"),
])
async def test_function_words_name_no_product(
        make_shopbot: Callable[..., Awaitable[Harness]], shop: str, lang: str, message: str,
        not_named: str) -> None:
    [reply] = await replies(make_shopbot, shop, lang, message)
    assert not_named.lower() not in reply.lower()


BAKERY = "bot/shops/bakery_shop.yaml"
BIKES = "bot/shops/bike_shop.yaml"


@pytest.mark.parametrize(("shop", "lang", "message", "said"), [
    # An amount's other names ("большая банка", "маленькая бутылка") are words like any
    # value's: the card is of that amount.
    (BAKERY, "ru", "а большая банка ассорти почём?", "600 г"),
    (FARM, "ru", "маленькая бутылка льняного масла есть?", "250 мл"),
    (TEA, "ru", "а пуэр кирпичиком есть?", "100 г"),
])
async def test_an_amount_named_by_its_other_names_is_that_amount(
        make_shopbot: Callable[..., Awaitable[Harness]], shop: str, lang: str, message: str,
        said: str) -> None:
    _, reply = await replies(make_shopbot, shop, lang, "👋", message)
    assert said in reply.split("\n\n")[0]


@pytest.mark.parametrize(("shop", "lang", "message", "sold_out"), [
    # "白吐司" is both the loaf and its plain flavour: "黑糖生吐司" asks for brown sugar only,
    # which is sold out (before, the two flavours cancelled out and the card said the loaf
    # was in stock).
    (BAKERY, "zh-hant", "黑糖生吐司仲有冇？", "黑糖"),
    (BAKERY, "en", "any brown sugar shokupan left?", "brown sugar"),
])
async def test_a_product_s_own_name_does_not_name_one_of_its_values(
        make_shopbot: Callable[..., Awaitable[Harness]], shop: str, lang: str, message: str,
        sold_out: str) -> None:
    _, reply = await replies(make_shopbot, shop, lang, "👋", message)
    first = reply.split("\n")[0].lower()
    assert sold_out in first and any(w in first for w in ("sold out", "售完", "賣完", "缺貨"))


@pytest.mark.parametrize(("shop", "lang", "message", "name"), [
    # A greeting that opens a question about the catalogue: the question is answered.
    (BAKERY, "en", "morning! are there any chocolate croissants left today?", "croissant"),
    (TEA, "ru", "доброе утро! а пуэр кирпичик есть?", "пуэр"),
])
async def test_a_greeting_before_a_catalogue_question_does_not_hide_it(
        make_shopbot: Callable[..., Awaitable[Harness]], shop: str, lang: str, message: str,
        name: str) -> None:
    [reply] = await replies(make_shopbot, shop, lang, message)
    assert name in reply.lower()


@pytest.mark.parametrize("shop", [BIKES, PHONES])
async def test_two_letters_of_a_longer_name_name_nothing(
        make_shopbot: Callable[..., Awaitable[Harness]], shop: str) -> None:
    """"hi" is part of the bike shop's "hi-vis yellow": "hi there" is still a greeting."""
    bot = await make_shopbot(shop_file=shop)
    shopper = bot.api.new_shopper(language_code="en")
    calls = await bot.feed(bot.api.message_update(shopper, "hi there"))
    [greeting] = texts_to(calls, shopper.id)
    assert "welcome" in greeting.lower() and "yellow" not in greeting.lower()


PETS_FOOD = [
    # "big bag" is the kitten food's 1.5 kg but the dog food's 12 kg and the cat food's
    # 10 kg: each product's own word for its amount counts, not another's.
    (PETS, "en", "how much is the big bag of dry cat food?", "10 kg"),
    (PETS, "ru", "большой мешок корма для собак сколько стоит?", "12 кг"),
    (FARM, "en", "how much is the big jar of linden honey?", "1 kg"),
]


@pytest.mark.parametrize(("shop", "lang", "message", "said"), PETS_FOOD)
async def test_each_product_s_own_words_for_its_amounts_count(
        make_shopbot: Callable[..., Awaitable[Harness]], shop: str, lang: str, message: str,
        said: str) -> None:
    _, reply = await replies(make_shopbot, shop, lang, "👋", message)
    assert said in reply.split("\n\n")[0]


@pytest.mark.parametrize(("messages", "said"), [
    # "29 inch" is the 29" value, not the 700c whose synonyms say "28 inch".
    (("Hi, I need an inner tube for 29 inch wheels, presta valve",), '29"'),
    # After the tyres, "29吋" is one of the tyres' sizes ("29 × 2.25"), not the 29" tube.
    (("有冇外胎？", "29吋的多少錢"), "外胎"),
])
async def test_an_amount_of_an_option_is_read_as_that_amount(
        make_shopbot: Callable[..., Awaitable[Harness]], messages: tuple[str, ...],
        said: str) -> None:
    lang = "zh-hant" if any("吋" in m or "胎" in m for m in messages) else "en"
    *_, reply = await replies(make_shopbot, BIKES, lang, "👋", *messages)
    assert said in reply.split("\n\n")[0]


@pytest.mark.parametrize(("shop", "lang", "messages", "prices"), [
    # After one weight's card, "each weight" asks for all of them (of the harvest named).
    (TEA, "zh-hant", ("西湖龍井明前250公克有嗎", "雨前的各種重量分別多少錢"),
     ("¥88", "¥158", "¥368")),
    (FARM, "ru", ("липовый мёд 500 г есть?", "а какой вес ещё бывает и почём?"),
     ("250 г", "1 кг")),
    # Two sizes named: the card gives the price of each, not only the one discussed.
    (PETS, "zh-hans", ("亲 反光项圈S码蓝色有吗", "那M码蓝色呢", "S码和M码分别多少钱"),
     ("490", "590")),
])
async def test_a_question_about_an_option_as_such_lists_its_values(
        make_shopbot: Callable[..., Awaitable[Harness]], shop: str, lang: str,
        messages: tuple[str, ...], prices: tuple[str, ...]) -> None:
    *_, reply = await replies(make_shopbot, shop, lang, "👋", *messages)
    assert all(price in reply for price in prices), reply


NUTRITION = "bot/shops/nutrition_shop.yaml"


@pytest.mark.parametrize(("shop", "lang", "messages", "said"), [
    # "bottle" and "bag" alone are not "big bottle" or "small bag": the amount written
    # decides.
    (FARM, "en", ("do you have the flaxseed oil in 1 litre?", "how much is the 500 ml bottle"),
     "500 ml"),
    (PETS, "en", ("do you have the adult dog food with lamb in 3kg?",
                  "how much is the 12 kg bag of lamb?"), "12 kg"),
    # 磅 is a pound.
    (NUTRITION, "zh-hans", ("乳清蛋白巧克力味2磅有货吗", "那5磅的呢"), "5磅"),
])
async def test_a_follow_up_naming_an_amount_gets_that_amount(
        make_shopbot: Callable[..., Awaitable[Harness]], shop: str, lang: str,
        messages: tuple[str, ...], said: str) -> None:
    *_, reply = await replies(make_shopbot, shop, lang, "👋", *messages)
    assert said in reply.split("\n\n")[0]


@pytest.mark.parametrize(("shop", "lang", "messages", "said"), [
    # "20" is the kids' bike's wheel, though the folding bike is called "Компакт 20".
    (BIKES, "ru", ("Привет, детский велик 16 дюймов синий есть?", "а 20 дюймов синий?",
                   "сыну 6 лет, рост 118, какой размер лучше?", "подарочек будет?",
                   "ладно, беру 20 синий"), "Воробей"),
    # "256" is the iPhone's storage just discussed, not another product's number.
    (PHONES, "en", ("do you have the iphone 15?", "ok I'll take the 256 in black"), "iPhone 15"),
])
async def test_a_bare_number_of_the_product_discussed_keeps_it(
        make_shopbot: Callable[..., Awaitable[Harness]], shop: str, lang: str,
        messages: tuple[str, ...], said: str) -> None:
    *_, reply = await replies(make_shopbot, shop, lang, "👋", *messages)
    assert said in reply.split("\n")[0]


FLOWERS = "bot/shops/flower_shop.yaml"
TOYS = "bot/shops/toy_shop.yaml"


@pytest.mark.parametrize(("lang", "message", "said"), [
    # A size's word names ("medium", "маленький", "中束") name it, as "M" or "S" would.
    ("en", "do you have a medium peony bouquet in pink?", "M (10 stems)"),
    ("ru", "маленький букет пионов белый есть?", "S (5 стеблей)"),
    ("zh-hans", "牡丹花束中束粉色有吗", "M（10枝）"),
])
async def test_a_size_named_by_its_word_names_is_that_size(
        make_shopbot: Callable[..., Awaitable[Harness]], lang: str, message: str,
        said: str) -> None:
    _, reply = await replies(make_shopbot, FLOWERS, lang, "👋", message)
    assert said in reply.split("\n\n")[0]


@pytest.mark.parametrize(("shop", "messages", "meant", "not_meant"), [
    # "stock" is a shopper's word, not a typo of the rainbow "stacker".
    (TOYS, ("hey, how much is the balance bike?", "is the blue one in stock?"),
     "balance bike", "rainbow"),
    (TEA, ("do you have the house blend?", "is the dark roast in stock?"),
     "House espresso blend", "Tasting set"),
])
async def test_a_shopper_s_word_is_no_typo_of_a_product_name(
        make_shopbot: Callable[..., Awaitable[Harness]], shop: str, messages: tuple[str, ...],
        meant: str, not_meant: str) -> None:
    *_, reply = await replies(make_shopbot, shop, "en", "👋", *messages)
    assert meant.lower() in reply.lower() and not_meant.lower() not in reply.lower()
