"""The shop's own voice (issue 17, point 3).

Generic texts carry no trade: a coffee roaster's refusals never praise linen. What makes a
refusal warm for a shop comes from its file (`voice`), and an owner can word any message a
shopper reads their own way (`texts`), checked like every other part of the shop file.
"""

from __future__ import annotations

import random
import re
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, date, datetime, time
from decimal import Decimal
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po
from markupsafe import Markup

from bot import LOCALES_DIR, TEMPLATES_DIR
from bot.core.languages import CATALOGUE_DIRS, LANGUAGES
from bot.core.shop import Shop, ShopFileError, load_shop, parse_shop
from bot.devtools.fake_bot_api import FakeBotAPI
from bot.domain.aftersale import Return
from bot.domain.cart import Added, CartLine, CartView
from handlers.__main__ import main as shopbot
from handlers.i18n import load_catalogues
from handlers.layer import create_app
from handlers.texts import Texts
from tests.conftest import Harness, settings_for
from tests.test_bargaining import ASKS

MakeBot = Callable[..., Awaitable[Harness]]

# The demo shop's trade (Linen Lane sells linen clothes), as it would show in each language.
# Russian and English are matched as words: "льн" alone is in "обязательно", "лён" in
# "удалён", "шь" in nothing yet but "шьём" is what sewing looks like in a sentence.
TRADE = re.compile(
    r"\blinen\b|\bsew|\bfabric|\bcloth|\bgarment|\bsizes? advice|advice on size"
    r"|\bл[её]н\b|\bльн|\bткан|шь[её]м|\bпошив|\bшв[ыеяо]|\bбирк|\bодежд"
    r"|亚麻|亞麻|面料|布料|做工|车工|車工|衣服|吊牌|尺码帮|幫您挑尺寸",
    re.IGNORECASE,
)

# Clothes talk: colours, a size that fits, wearing. A shop's own options may be sizes and
# colours (the product card names them), but the bot's generic texts assume no such thing.
CLOTHES = re.compile(
    r"\bcolou?rs?\b|\bfits?\b|\bwear|\bsizes?\b"
    r"|цвет|\bноси|размер(?:а|ы|ом|у)?\b"
    r"|颜色|顏色|尺码|尺碼|尺寸|穿",
    re.IGNORECASE,
)
# Generic texts once worded for a clothes shop, held to CLOTHES as well as TRADE.
ONCE_CLOTHES = {"product_unknown", "product_choice", "order_info", "buttons",
                "_return_details", "_orders"}

# Templates another engineer is reworking (product options): not held to this test yet.
OPTION_TEMPLATES = {"product_card", "product_choice", "catalog", "catalog_page",
                    "return_variant", "return_item"}
# Read by staff or the owner, not by shoppers.
NOT_SHOPPERS = {"stats", "stats_labels", "broadcast_list", "broadcast_progress",
                "reload_done", "reload_failed", "business_connection", "business_owner_holds",
                "business_handed_back"}

# A coffee roaster: nothing to do with linen.
COFFEE = """\
id: bean-there
name: {en: Bean There, ru: Зерно и точка, zh-hans: 豆在这里, zh-hant: 豆在這裡}
currency: USD
timezone: UTC
contacts: {en: "hello@bean.example", ru: "hello@bean.example",
           zh-hans: "hello@bean.example", zh-hant: "hello@bean.example"}
policy:
  free_shipping_threshold: 40
  shipping_cost: 5
  gift:
    name: {en: a tasting sample, ru: пробник, zh-hans: 试饮装, zh-hant: 試飲包}
    stock: 10
categories:
  - id: beans
    name: {en: Coffee beans, ru: Кофе в зёрнах, zh-hans: 咖啡豆, zh-hant: 咖啡豆}
faq:
  - id: roast
    question: {en: "When do you roast?", ru: "Когда вы обжариваете?", zh-hans: 什么时候烘焙？,
               zh-hant: 什麼時候烘焙？}
    answer: {en: Every Monday., ru: По понедельникам., zh-hans: 每周一。, zh-hant: 每週一。}
products:
  - id: house-blend
    category: beans
    name: {en: House blend, ru: Домашняя смесь, zh-hans: 招牌拼配, zh-hant: 招牌拼配}
    price: 14
"""

VOICE = {
    "fair_price": {
        "en": "We roast every batch to order, so it reaches you fresh.",
        "ru": "Мы обжариваем каждую партию под заказ, поэтому кофе приходит свежим.",
        "zh-hans": "每一批咖啡豆都是接单后现烘的，到您手里依然新鲜。",
        "zh-hant": "每一批咖啡豆都是接單後現烘的，送到您手上依然新鮮。",
    },
    "instead_of_discount": {
        "en": "Instead of discounts, every order comes with our roaster's brewing notes.",
        "ru": "Вместо скидок к каждому заказу мы прикладываем советы нашего обжарщика.",
        "zh-hans": "我们不打折，但每一单都附上烘焙师写的冲煮建议。",
        "zh-hant": "我們不打折，但每一筆訂單都附上烘焙師寫的沖煮建議。",
    },
    "gift_reason": {
        "en": "Tasting something new is how our regulars found their favourite.",
        "ru": "Так наши постоянные покупатели и находят свой любимый сорт.",
        "zh-hans": "很多老顾客就是这样找到自己最爱的豆子的。",
        "zh-hant": "很多老顧客就是這樣找到自己最愛的豆子的。",
    },
}


def coffee_shop(tmp_path: Path, extra: str = "", *, gifts: int = 10) -> Path:
    path = tmp_path / "shop.yaml"
    path.write_text(COFFEE.replace("stock: 10", f"stock: {gifts}") + extra, encoding="utf-8")
    return path


def voice_yaml() -> str:
    lines = ["voice:"]
    for field, texts in VOICE.items():
        lines.append(f"  {field}:")
        lines += [f"    {lang}: \"{text}\"" for lang, text in texts.items()]
    return "\n".join(lines) + "\n"


def trade_words(text: str) -> list[str]:
    return TRADE.findall(unescape(text))


def clothes_words(text: str) -> list[str]:
    return CLOTHES.findall(unescape(text))


async def talk(bot: Harness, shopper: Any, text: str) -> str:
    [reply] = await bot.send(shopper, text)
    return unescape(reply)


# -- (a) no generic text names a trade ------------------------------------------------------

def shopper_templates() -> Iterator[tuple[str, Path]]:
    for path in sorted(TEMPLATES_DIR.rglob("*.j2")):
        name = path.relative_to(TEMPLATES_DIR).with_suffix("").as_posix()
        if name in OPTION_TEMPLATES or name in NOT_SHOPPERS or name.startswith(
                ("staff/", "compose/", "away/", "owner_texts/")):
            continue
        yield name, path


@pytest.mark.parametrize("lang", LANGUAGES)
def test_no_shopper_text_in_the_catalogues_names_a_trade(lang: str) -> None:
    """Every phrase of every shopper-facing template, in every language: `pick` chooses one
    phrasing at random, so the catalogue is where all of them can be read."""
    msgids = {message for _, path in shopper_templates()
              for _, message, _, _ in extract_from_file("jinja2", path)}
    path = LOCALES_DIR / CATALOGUE_DIRS[lang] / "LC_MESSAGES" / "messages.po"  # type: ignore[index]
    with path.open("rb") as po:
        catalog = read_po(po)
    found = {}
    for message in msgids:
        msgid = message[0] if isinstance(message, tuple) else message
        entry = catalog.get(msgid)
        strings = [entry.string] if entry is not None and isinstance(entry.string, str) \
            else list(entry.string) if entry is not None else []
        for text in [msgid, *strings]:
            if trade_words(text):
                found[msgid[:60]] = trade_words(text)
    assert not found, f"{lang}: {found}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_texts_once_worded_for_clothes_assume_no_sizes_or_colours(lang: str) -> None:
    """"Which colour or size?", "the size does not fit": a tea house or a bookshop sells
    neither. Every phrasing of those templates, in the catalogue of each language."""
    path = LOCALES_DIR / CATALOGUE_DIRS[lang] / "LC_MESSAGES" / "messages.po"  # type: ignore[index]
    with path.open("rb") as po:
        catalog = read_po(po)
    found, read = {}, 0
    for name in sorted(ONCE_CLOTHES):
        for _, message, _, _ in extract_from_file("jinja2", TEMPLATES_DIR / f"{name}.j2"):
            msgid = message[0] if isinstance(message, tuple) else message
            entry = catalog.get(msgid)
            assert entry is not None and entry.string, (lang, msgid)
            strings = [entry.string] if isinstance(entry.string, str) else list(entry.string)
            for text in [msgid, *strings]:
                read += 1
                if clothes_words(text):
                    found[msgid[:60]] = clothes_words(text)
    assert not found, f"{lang}: {found}"
    assert read > 50


def rendering_contexts(shop: Shop) -> Iterator[dict[str, Any]]:
    """Values every shopper-facing template is rendered with, in each of their branches."""
    product = shop.products[0]
    back = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    item = {"name": product.name, "raw": None, "quantity": 2, "size": None, "color": None}
    order = {"id": "1045", "status": "shipped", "items": [item], "total": 28,
             "carrier": "DHL", "tracking": "XX1", "tracking_url": None,
             "expected": date(2026, 11, 27), "shipped": back, "delivered": back}
    line = CartLine(product, product.variants[0] if product.variants else None,
                    dict(product.variants[0].options) if product.variants else {}, 2)
    view = CartView((line,), line.total, Decimal(5), Decimal(40), None)
    base = {
        "view": view, "line": line, "added": None, "short": [line], "piece": "line",
        "items": "…", "lines": (line,), "bot": "bean_there_bot",
        "shop": shop, "name": "Ann", "product": product, "policy": shop.policy,
        "gift": shop.policy.gift.name if shop.policy.gift else None, "level": 1,
        "asked": "discount", "cost": Decimal(5), "threshold": Decimal(40),
        "missing": Decimal(26), "already_free": False, "part": "morning", "returning": True,
        "again": False, "offline": {"back": back, "hours": 3, "minutes": None, "today": True,
                                    "tomorrow": False},
        "hours": [(0, (time(9), time(18))), (6, None)], "timezone": "UTC", "intent": "faq",
        "reason": "complaint", "with_staff": True, "event": "paid", "bound": False,
        "order": order, "orders": [order], "more": 1, "item": item, "entry": shop.faq[0],
        "request": Return(id="R1", customer=1, order="1045", item=0, reason="damaged",
                          resolution="exchange", wanted="a bigger one", status="approved"),
        # Rating a person's help (rating_ask, rating_again with `help`; rating_help,
        # rating_comment).
        "help": False, "stars": 2, "low": True, "skipped": False,
        # The away mode (away_holiday's day back; handoff's `away` once told).
        "back": back,
    }
    yield base
    yield {**base, "level": 2, "again": True, "offline": None, "with_staff": False,
           "event": "shipped", "reason": "return_request", "intent": "discount"}
    yield {**base, "added": Added("added", line, view), "piece": "description",
           "view": CartView((), Decimal(0), None, None, None)}
    yield {**base, "added": Added("no_more", line, view, 0), "piece": "free_delivery"}
    yield {**base, "asked": "gift", "part": "evening", "returning": False,
           "event": "cancelled", "bound": True, "already_free": True}
    yield {**base, "help": True, "stars": 5, "low": False}
    yield {**base, "help": True, "skipped": True}
    yield {**base, "away": {"told": False, "back": back}, "offline": {"holiday": back}}
    yield {**base, "away": {"told": True, "back": back}, "shop": shop.model_copy(
        update={"contacts": None})}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_shopper_template_renders_without_a_trade(lang: str) -> None:
    shop = parse_shop(COFFEE)
    texts = Texts(TEMPLATES_DIR, load_catalogues(LOCALES_DIR), shop.currency)
    # Every phrasing at once, instead of one chosen at random.
    texts.env.globals["pick"] = lambda *phrasings: Markup("\n").join(phrasings)
    rendered = 0
    for name, _ in shopper_templates():
        if name.rsplit("/", 1)[-1].startswith("_") or name == "buttons":
            continue
        for context in rendering_contexts(shop):
            text = texts.render(name, lang, **context)
            assert not trade_words(text), (name, text)
            if name in ONCE_CLOTHES:
                assert not clothes_words(text), (name, text)
            rendered += 1
    assert rendered > 100


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_bargaining_with_a_coffee_roaster_never_mentions_linen(
        make_shopbot: MakeBot, tmp_path: Path, lang: str) -> None:
    bot = await make_shopbot(shop_file=coffee_shop(tmp_path))
    first, second, shipping, gift = ASKS[lang]
    said: list[str] = []
    shopper = bot.api.new_shopper(language_code=lang)
    await bot.send(shopper, "/start")
    for ask in (first, second, shipping, gift):
        said.append(await talk(bot, shopper, ask))
    direct = bot.api.new_shopper(language_code=lang)  # a gift asked for first is refused
    await bot.send(direct, "/start")
    said.append(await talk(bot, direct, gift))
    assert len(set(said)) == 5
    for text in said:
        assert not trade_words(text), text
    assert "试饮装" in said[3] or "試飲包" in said[3] or "пробник" in said[3] \
        or "tasting sample" in said[3]


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_no_gift_left_refusal_names_no_trade(make_shopbot: MakeBot, tmp_path: Path,
                                                   lang: str) -> None:
    bot = await make_shopbot(shop_file=coffee_shop(tmp_path, gifts=0))
    shopper = bot.api.new_shopper(language_code=lang)
    await bot.send(shopper, "/start")
    await talk(bot, shopper, ASKS[lang][2])
    reply = await talk(bot, shopper, ASKS[lang][3])
    assert not trade_words(reply), reply
    assert not any(word in reply for word in ("gift", "подар", "礼", "禮", "试饮", "試飲"))


# -- (b) the shop's voice -----------------------------------------------------------------

@pytest.mark.parametrize("lang", LANGUAGES)
async def test_refusals_speak_in_the_shops_own_words(make_shopbot: MakeBot, tmp_path: Path,
                                                     lang: str) -> None:
    bot = await make_shopbot(shop_file=coffee_shop(tmp_path, voice_yaml()))
    first, second, shipping, gift = ASKS[lang]
    shopper = bot.api.new_shopper(language_code=lang)
    await bot.send(shopper, "/start")
    warm = await talk(bot, shopper, first)
    firmer = await talk(bot, shopper, second)
    assert VOICE["fair_price"][lang] in warm
    assert VOICE["instead_of_discount"][lang] in firmer
    assert not re.search(r"\d+ ?%", warm + firmer)  # still no concession
    await talk(bot, shopper, shipping)
    offer = await talk(bot, shopper, gift)
    assert VOICE["gift_reason"][lang] in offer
    direct = bot.api.new_shopper(language_code=lang)
    await bot.send(direct, "/start")
    assert VOICE["instead_of_discount"][lang] in await talk(bot, direct, gift)


async def test_no_gift_left_speaks_in_the_shops_own_words(make_shopbot: MakeBot,
                                                          tmp_path: Path) -> None:
    bot = await make_shopbot(shop_file=coffee_shop(tmp_path, voice_yaml(), gifts=0))
    shopper = bot.api.new_shopper(language_code="ru")
    await bot.send(shopper, "/start")
    await talk(bot, shopper, ASKS["ru"][2])
    assert VOICE["instead_of_discount"]["ru"] in await talk(bot, shopper, ASKS["ru"][3])


def test_voice_is_optional_per_field_and_a_plain_string_is_every_language() -> None:
    shop = parse_shop(COFFEE + "voice:\n  fair_price: Roasted to order.\n")
    assert shop.voice.fair_price is not None
    assert all(text == "Roasted to order." for text in shop.voice.fair_price.values().values())
    assert shop.voice.instead_of_discount is None and shop.voice.gift_reason is None
    assert parse_shop(COFFEE).voice.fair_price is None
    with pytest.raises(ShopFileError) as caught:
        parse_shop(COFFEE + "voice:\n  fair_prise: x\n", "shop.yaml")
    assert any("line 27: voice.fair_prise: is not a known field" in line
               for line in caught.value.lines()), caught.value.lines()


# -- (c) the owner's own words for any message --------------------------------------------

OVERRIDES = """\
texts:
  greeting:
    en: "Hi {name}! This is {shop}: what may we brew for you?"
    ru: "Здравствуйте, {name}! Это {shop}: что вам сварить?"
    zh-hans: "{name}，您好！这里是{shop}，想喝点什么？"
    zh-hant: "{name}，您好！這裡是{shop}，想喝點什麼？"
  discount_refusal:
    en: "Our prices stay as they are, {name}: {product} is roasted fresh for you."
    ru: "Цены у нас не меняются, {name}: {product} обжарим свежим специально для вас."
    zh-hans: "{name}，价格不变哦：{product}都是为您新鲜烘焙的。"
    zh-hant: "{name}，價格不變喔：{product}都是為您新鮮烘焙的。"
"""

EXPECTED_GREETING = {
    "en": "Hi {name}! This is Bean There: what may we brew for you?",
    "ru": "Здравствуйте, {name}! Это Зерно и точка: что вам сварить?",
    "zh-hans": "{name}，您好！这里是豆在这里，想喝点什么？",
    "zh-hant": "{name}，您好！這裡是豆在這裡，想喝點什麼？",
}


@pytest.mark.parametrize("lang", LANGUAGES)
async def test_an_override_replaces_the_message_in_each_language(
        make_shopbot: MakeBot, tmp_path: Path, lang: str) -> None:
    bot = await make_shopbot(shop_file=coffee_shop(tmp_path, OVERRIDES))
    shopper = bot.api.new_shopper(language_code=lang, first_name="<b>Ann</b> & Co")
    [greeting] = await bot.send(shopper, "/start")
    # The name is the shopper's own: escaped for Telegram's HTML, shown as they wrote it.
    assert greeting == EXPECTED_GREETING[lang].format(name="&lt;b&gt;Ann&lt;/b&gt; &amp; Co")
    await bot.send(shopper, {"en": "house blend", "ru": "домашняя смесь",
                             "zh-hans": "招牌拼配", "zh-hant": "招牌拼配"}[lang])
    refusal = await talk(bot, shopper, ASKS[lang][0])
    product = parse_shop(COFFEE).products[0].name.values()[lang]  # type: ignore[index]
    assert product in refusal and "<b>Ann</b> & Co" in refusal
    # Not overridden: the bot's own words, with the shop's name.
    shop_name = parse_shop(COFFEE).name.values()[lang]  # type: ignore[index]
    assert shop_name and shop_name in await talk(bot, shopper, "/bye")


async def test_overrides_follow_the_shop_file_when_it_is_reloaded(
        make_shopbot: MakeBot, tmp_path: Path) -> None:
    path = coffee_shop(tmp_path, OVERRIDES)
    bot = await make_shopbot(shop_file=path)
    shopper = bot.api.new_shopper(language_code="en", first_name="Ann")
    assert await bot.send(shopper, "/start") == [EXPECTED_GREETING["en"].format(name="Ann")]
    path.write_text(COFFEE + OVERRIDES.replace("Hi {name}!", "Welcome, {name}!"),
                    encoding="utf-8")
    bot.app.reload_shop()
    [again] = await bot.send(shopper, "/start")
    assert again.startswith("Welcome, Ann! This is Bean There")
    path.write_text(COFFEE, encoding="utf-8")
    bot.app.reload_shop()
    [own] = await bot.send(shopper, "/start")
    assert "Bean There" in own and "brew" not in own


def test_override_placeholders_are_filled_and_escaped() -> None:
    shop = parse_shop(COFFEE + """\
texts:
  order_unknown:
    en: "No order {number} here, {name}. Write to {contacts} & we will look."
    ru: "Заказа {number} нет, {name}."
    zh-hans: "没有订单{number}。"
    zh-hant: "沒有訂單{number}。"
  handoff:
    en: "A colleague is on the way. {team_away}"
    ru: "Коллега уже идёт. {team_away}"
    zh-hans: "同事马上来。{team_away}"
    zh-hant: "同事馬上來。{team_away}"
  gift_offer:
    en: "{{{gift}}} comes with your order!"
    ru: "{gift} приедет с заказом!"
    zh-hans: "{gift}会随单寄出！"
    zh-hant: "{gift}會隨單寄出！"
""")
    texts = Texts(TEMPLATES_DIR, load_catalogues(LOCALES_DIR), shop.currency, shop=shop)
    text = texts.render("order_unknown", "en", shop=shop, name="Ann", asked="<#1045>")
    assert text == ("No order &lt;#1045&gt; here, Ann. Write to hello@bean.example &amp; "
                    "we will look.")
    back = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    away = texts.render("handoff", "en", shop=shop, name="Ann", reason="human",
                        offline={"back": back, "hours": 3, "minutes": None, "today": True,
                                 "tomorrow": False})
    assert away.startswith("A colleague is on the way. Our team is away right now")
    here = texts.render("handoff", "en", shop=shop, name="Ann", reason="human", offline=None)
    assert here == "A colleague is on the way."
    gift = texts.render("gift_offer", "en", shop=shop, name="Ann",
                        gift=shop.policy.gift.name)  # type: ignore[union-attr]
    assert gift == "{a tasting sample} comes with your order!"


# -- (d) shopbot check ----------------------------------------------------------------------

BAD_OVERRIDES = """\
texts:
  greetng:
    en: Hello!
    ru: Привет!
    zh-hans: 你好！
    zh-hant: 你好！
  farewell:
    en: "Bye {name}, from {shop} and {nmae}!"
    ru: "Пока, {name}!"
    zh-hans: "再见！"
    zh-hant: "再見！"
  coupon:
    en: "Use {coupon}."
    ru: "Код: {coupon}."
  flood_notice:
    en: "Slow down, {name}!"
    ru: "Помедленнее!"
    zh-hans: "慢一点！"
    zh-hant: "慢一點！"
"""


def test_check_rejects_bad_overrides_with_their_lines(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture) -> None:
    path = coffee_shop(tmp_path, BAD_OVERRIDES)
    start = COFFEE.count("\n") + 1  # the line of `texts:`
    assert shopbot(["check", str(path)]) == 1
    out = capsys.readouterr().out
    lines = out.strip().splitlines()
    assert all(line.startswith(f"{path}: line ") for line in lines), out
    unknown, placeholder, missing, not_given = lines
    assert f"line {start + 1}: texts.greetng: unknown message 'greetng'" in unknown
    assert "greeting" in unknown  # what the owner probably meant
    assert f"line {start + 7}: texts.farewell.en: unknown placeholder {{nmae}}" in placeholder
    assert "{name}" in placeholder and "{shop}" in placeholder  # what it takes
    assert f"line {start + 11}: texts.coupon: " in missing
    assert "zh-hans" in missing and "zh-hant" in missing and "four languages" in missing
    # flood_notice is sent before the bot knows who wrote: it names nobody.
    assert f"line {start + 15}: texts.flood_notice.en: unknown placeholder {{name}}" \
        in not_given
    assert "Traceback" not in out


@pytest.mark.parametrize(("text", "expected"), [
    ("Hi {{name}}!", "single braces"),
    ("Hi {name!r}", "{name!r}"),
    ("Hi {name:>9}", "{name:>9}"),
    ("Hi {}", "{}"),
    ("Hi {name", "brace"),
    ("Hi name}", "brace"),
    ("Hi {0}", "{0}"),
])
def test_check_explains_a_badly_written_placeholder(text: str, expected: str) -> None:
    source = COFFEE + "texts:\n  farewell:\n" + "".join(
        f"    {lang}: \"{text}\"\n" for lang in LANGUAGES)
    with pytest.raises(ShopFileError) as caught:
        parse_shop(source, "shop.yaml")
    lines = caught.value.lines()
    assert len(lines) == 4 and all(expected in line for line in lines), lines
    assert f"line {COFFEE.count(chr(10)) + 3}: texts.farewell.en:" in lines[0]


@pytest.mark.parametrize("source", [
    "texts:\n  farewell: Bye!\n",  # a plain string is not four languages
    "texts:\n  farewell: {en: a, ru: b, zh_hans: c, zh-hant: d}\n",
    "texts:\n  staff/handoff: {en: a, ru: b, zh-hans: c, zh-hant: d}\n",  # not for shoppers
    "texts:\n  _offline: {en: a, ru: b, zh-hans: c, zh-hant: d}\n",  # a piece, not a message
])
def test_other_bad_overrides_are_refused(source: str) -> None:
    with pytest.raises(ShopFileError) as caught:
        parse_shop(COFFEE + source, "shop.yaml")
    assert any(f"line {COFFEE.count(chr(10)) + 2}: texts." in line
               for line in caught.value.lines()), caught.value.lines()


def test_subfolder_messages_can_be_overridden() -> None:
    shop = parse_shop(COFFEE + "texts:\n  canned/thanks:\n" + "".join(
        f"    {lang}: \"Thanks, {{name}}! — {{shop}}\"\n" for lang in LANGUAGES))
    texts = Texts(TEMPLATES_DIR, load_catalogues(LOCALES_DIR), shop.currency, shop=shop)
    assert texts.render("canned/thanks", "ru", shop=shop, name="Ира") == \
        "Thanks, Ира! — Зерно и точка"


def test_the_bot_refuses_to_start_with_a_bad_override(api: FakeBotAPI, prefix: str,
                                                      tmp_path: Path) -> None:
    path = coffee_shop(tmp_path, BAD_OVERRIDES)
    with pytest.raises(ShopFileError) as caught:
        create_app(settings_for(api, prefix, shop_file=path), rng=random.Random(1))
    assert len(caught.value.problems) == 4
    with pytest.raises(ShopFileError):
        load_shop(path)


def test_the_demo_shop_and_a_shop_without_texts_still_load() -> None:
    from bot import DEMO_SHOP

    assert load_shop(DEMO_SHOP).texts == {}
    assert parse_shop(COFFEE).texts == {}
