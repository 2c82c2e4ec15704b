"""Reading shoppers: intents, products, sizes, colours and languages, measured honestly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.intent_accuracy import evaluate, load_set
from bot import DEMO_SHOP
from bot.core.shop import load_shop, parse_shop
from bot.core.textproc import fold
from bot.nlu.intents import load_cues
from bot.nlu.understanding import Understanding

DATA = Path(__file__).parent.parent / "data"


@pytest.fixture(scope="module")
def understanding() -> Understanding:
    return Understanding(load_shop(DEMO_SHOP))


# The floor the issue sets (the goal is 95%); the held-out figure is 97.7% today (README).
ACCURACY_FLOOR = 0.90


def test_held_out_accuracy_stays_above_the_floor(understanding: Understanding) -> None:
    report = evaluate(load_set(DATA / "intents_test.jsonl"), understanding)
    assert report.total >= 500
    assert report.accuracy >= ACCURACY_FLOOR, f"accuracy fell to {report.accuracy:.1%}"


def test_the_test_set_covers_every_intent_and_language() -> None:
    rows = load_set(DATA / "intents_test.jsonl")
    cells: dict[tuple[str, str], int] = {}
    for row in rows:
        cells[(row["intent"], row["lang"])] = cells.get((row["intent"], row["lang"]), 0) + 1
    assert len(cells) == 13 * 4 and min(cells.values()) >= 5


def test_no_test_message_is_a_cue() -> None:
    """The set was written apart from the cue lists: none of its messages is one of them."""
    shop = load_shop(DEMO_SHOP)
    cue_texts = {fold(cue.split(" ^")[0]).strip(" *")
                 for by_lang in load_cues().values() for cues in by_lang.values()
                 for cue in cues}
    cue_texts |= {fold(cue.split(" ^")[0]).strip(" *") for values in shop.phrases.values()
                  for cues in values.values().values() for cue in cues}
    messages = {fold(row["text"]).strip(" !?.,~～") for row in
                load_set(DATA / "intents_test.jsonl")}
    assert not (messages & cue_texts) - {""}
    examples = Path(__file__).parent.parent.parent / "bot" / "nlu" / "examples"
    dev = {row["text"] for path in examples.glob("*.jsonl") for row in load_set(path)}
    assert len(dev) > 1000
    assert not dev & {row["text"] for row in load_set(DATA / "intents_test.jsonl")}


@pytest.mark.parametrize(
    ("text", "lang", "intent", "product", "reply_lang"),
    [
        ("Do you have the linen shirt in XL?", "ru", "product_question", "linen-shirt", "en"),
        ("СКИДОЧКУ сделаете??", "en", "discount", None, "ru"),
        ("親，可以免運嗎", "en", "free_shipping", None, "zh-hant"),
        ("亲 包邮吗", "zh-hant", "free_shipping", None, "zh-hans"),
        ("XL?", "ru", "product_question", None, "ru"),
        ("where is my parcel", "en", "order_status", None, "en"),
        ("хочу поговорить с живым человеком", "ru", "human", None, "ru"),
        ("asdkjh qwe", "en", "other", None, "en"),
        ("👍", "ru", "other", None, "ru"),
    ],
)
def test_readings(understanding: Understanding, text: str, lang: str, intent: str,
                  product: str | None, reply_lang: str) -> None:
    reading = understanding.read(text, lang)  # type: ignore[arg-type]
    assert (reading.intent, reading.product, reading.lang) == (intent, product, reply_lang)
    assert 0.0 <= reading.confidence <= 1.0


@pytest.mark.parametrize(
    ("text", "sizes", "colors"),
    [
        ("is the linen shirt available in XL and white?", ("XL",), ("white",)),
        ("а голубое платье на запах в размере M есть", ("M",), ("blue",)),
        ("I'm looking for a dress", (), ()),  # "I'm" is not size M
        ("草编鞋40码有吗", ("40",), ()),
        ("寬褲米色M號", ("M",), ("beige",)),
    ],
)
def test_sizes_and_colours(understanding: Understanding, text: str, sizes: tuple[str, ...],
                           colors: tuple[str, ...]) -> None:
    mention = understanding.read(text, "en").mention
    named = tuple(value for option, value in mention.values if option == "color")
    assert mention.sizes == sizes and named == colors


def test_several_matching_products_link_none_but_list_them(
        understanding: Understanding) -> None:
    reading = understanding.read("do you have trousers?", "en")
    assert reading.product is None
    assert {"wide-trousers", "straight-trousers"} <= {p for p, _ in reading.mention.products}


def test_typos_are_forgiven(understanding: Understanding) -> None:
    assert understanding.read("any discunt for me?", "en").intent == "discount"
    assert understanding.read("wher is my parcle", "en").intent == "order_status"
    assert understanding.read("espadriles size 40", "en").product == "espadrilles"


def test_a_line_read_again_is_not_worked_out_again(understanding: Understanding) -> None:
    """Short lines are read once per shop: the second time is the same (frozen) reading,
    and it is what reading afresh finds, in whichever language it was asked in."""
    first = understanding.read("how much is the classic linen shirt?", "en")
    assert understanding.read("how much is the classic linen shirt?", "en") is first
    assert first == understanding._read("how much is the classic linen shirt?", "en")
    assert understanding.read("你好", "zh-hant").lang == "zh-hant"
    assert understanding.read("你好", "zh-hans").lang == "zh-hans"
    long = "hello, " * 40 + "how much is the linen shirt?"
    assert understanding.read(long, "en") is not understanding.read(long, "en")


def test_owners_add_their_own_phrases_in_the_shop_file() -> None:
    shop = parse_shop("""\
id: wizard-shop
name: Wizard Shop
phrases:
  human:
    en: ["summon the wizard ^2"]
  discount:
    ru: ["волшебн* цен* ^2"]
""")
    understanding = Understanding(shop)
    assert understanding.read("please summon the wizard", "en").intent == "human"
    assert understanding.read("а волшебную цену дадите?", "ru").intent == "discount"
    # Without them the same words are only the reader's guess: no cue of the owner's.
    assert not any("summon" in cue for cue in Understanding(load_shop(DEMO_SHOP)).read(
        "please summon the wizard", "en").cues)


def test_unknown_intent_in_shop_phrases_is_a_clear_problem() -> None:
    from bot.core.shop import ShopFileError

    with pytest.raises(ShopFileError) as caught:
        parse_shop("id: x\nname: X\nphrases:\n  haggle:\n    en: [cheaper]\n")
    assert "unknown intent 'haggle'" in caught.value.lines()[0]


def test_dataset_lines_are_well_formed() -> None:
    examples = Path(__file__).parent.parent.parent / "bot" / "nlu" / "examples"
    for path in [*DATA.glob("intents_*.jsonl"), *examples.glob("*.jsonl")]:
        for line in path.read_text(encoding="utf-8").splitlines():
            row = json.loads(line)
            assert set(row) == {"text", "lang", "intent", "product"}
