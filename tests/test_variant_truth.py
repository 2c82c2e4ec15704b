"""Every fact on a product card is true: generated catalogues (any options, values with and
without units, prices per variant, stock), random questions about combinations, and each
claim of the English card checked against the shop file; in every language, each price
shown is one of the product's. No Telegram, no Redis: the catalogue reading, the resolver
and the real templates."""

from __future__ import annotations

import random
import re
from decimal import Decimal
from itertools import product as combinations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot import LOCALES_DIR, TEMPLATES_DIR
from bot.core.languages import LANGUAGES
from bot.core.shop import Product, Shop
from bot.core.textproc import analyse
from bot.domain.variants import Choice, choose
from bot.nlu.catalogue import CatalogueIndex
from handlers.i18n import Formatter, load_catalogues
from handlers.texts import Texts, plain

CATALOGUES = load_catalogues(LOCALES_DIR)
TEXTS = Texts(TEMPLATES_DIR, CATALOGUES, "USD", random.Random(1), "en")
AMOUNTS = {
    "weight": ["100 g", "250 g", "500 g", "1 kg", "2 kg"],
    "volume": ["200 ml", "330 ml", "500 ml", "1 l", "1.5 l"],
    "storage": ["64 GB", "128 GB", "256 GB", "512 GB", "1 TB"],
}
WORDS = {
    "colour": ["crimson", "olive", "slate", "amber", "ivory", "teal"],
    "flavour": ["vanilla", "hazelnut", "caramel", "cardamom", "ginger"],
    "model": ["basic", "plus", "pro", "ultra"],
}
# Ways a shopper writes the same amount.
SPOKEN = {"100 g": "100g", "250 g": "250 grams", "500 g": "half a kilo", "1 kg": "1kg",
          "2 kg": "2 kilos", "200 ml": "200ml", "330 ml": "330 ml", "500 ml": "0.5 l",
          "1 l": "1 litre", "1.5 l": "1,5 l", "64 GB": "64gb", "128 GB": "128 gb",
          "256 GB": "256GB", "512 GB": "512 gigs", "1 TB": "1tb"}
NOT_SOLD = {"weight": "3 kg", "volume": "5 l", "storage": "2 TB"}


@st.composite
def catalogues(draw: st.DrawFn) -> tuple[Shop, Product]:
    kinds = draw(st.lists(st.sampled_from([*AMOUNTS, *WORDS]), min_size=1, max_size=3,
                          unique=True))
    options = []
    for kind in kinds:
        pool = AMOUNTS.get(kind) or WORDS[kind]
        values = draw(st.lists(st.sampled_from(pool), min_size=2, max_size=4, unique=True))
        options.append({"id": kind, "values": values})
    every = list(combinations(*[o["values"] for o in options]))
    sold = draw(st.lists(st.sampled_from(every), min_size=1, max_size=len(every), unique=True))
    base = draw(st.sampled_from([None, 10, 25]))
    variants = []
    for combo in sold:
        price = draw(st.sampled_from([None, 5, 12, 40, 99])) if base else draw(
            st.sampled_from([5, 12, 40, 99]))
        variants.append({"options": dict(zip(kinds, combo, strict=True)),
                         "stock": draw(st.sampled_from([0, 0, 1, 3])),
                         **({"price": price} if price else {})})
    shop = Shop.model_validate({
        "id": "gen", "name": "Generated", "currency": "USD",
        "categories": [{"id": "all", "name": "All"}],
        "products": [{"id": "thing", "category": "all", "name": "Zephyr gadget",
                      **({"price": base} if base else {}), "options": options,
                      "variants": variants}],
    })
    return shop, shop.products[0]


@st.composite
def questions(draw: st.DrawFn, product: Product) -> tuple[str, dict[str, str], list[str]]:
    """A question naming some values (sometimes one it does not come in); the values it
    means and the amounts it asks that are not sold."""
    asked: dict[str, str] = {}
    unknown: list[str] = []
    words = []
    for option in product.options:
        if not draw(st.booleans()):
            continue
        if option.id in NOT_SOLD and draw(st.integers(0, 5)) == 0:
            unknown.append(NOT_SOLD[option.id])
            words.append(NOT_SOLD[option.id])
            continue
        value = draw(st.sampled_from(option.values))
        asked[option.id] = value.id
        words.append(SPOKEN.get(value.id, value.id))
    return f"do you have the zephyr gadget in {' '.join(words)}?", asked, unknown


def price_text(amount: Decimal, lang: str = "en") -> str:
    return Formatter(lang, "USD").money(amount)  # type: ignore[arg-type]


def check_english(card: str, choice: Choice) -> None:
    """Each claim the English card makes, against the product's variants."""
    product = choice.product
    lines = [line.strip() for line in plain(card).split("\n") if line.strip()]
    names = {value.name.get("en"): (option.id, value.id) for option in product.options
             for value in option.values}
    first = lines[0]
    if "is in stock" in first or first.startswith("Yes, we have it in"):
        assert choice.asked and not choice.unknown
        assert any(v.stock > 0 for v in choice.matching), card
    if "is sold out" in first:
        assert not any(v.stock > 0 for v in choice.matching), card
    if "does not come in" in first:
        assert choice.unknown
    for line in lines:
        if line.startswith("In stock: "):
            for group in line.removeprefix("In stock: ").rstrip(".").split("; "):
                wanted = dict(names[n] for n in _split(group, names))
                assert any(v.stock > 0 and all(v.options.get(o) == x for o, x in wanted.items())
                           for v in product.variants), (group, card)
        if " costs " in line and line.startswith("Zephyr gadget in "):
            shown = Decimal(re.findall(r"US\$([\d,.]*\d)", line)[0].replace(",", ""))
            assert {product.price_of(v) for v in choice.matching} == {shown}, card
        row = re.match(r"^([\w ]+): (.+)$", line)
        if row and row.group(1).lower() in {o.id for o in product.options}:
            option = product.option(row.group(1).lower())
            assert option is not None
            others = {o: x for o, x in choice.asked.items() if o != option.id}
            for item in _split(row.group(2), names, keep_suffix=True):
                name, sold_out = item.removesuffix(" (sold out)"), item.endswith("(sold out)")
                value_id = names[name][1]
                can = any(v.stock > 0 and v.options[option.id] == value_id
                          and all(v.options.get(o) == x for o, x in others.items())
                          for v in product.variants)
                assert can != sold_out, (line, card)
        price_line = re.match(r"^(.+): US\$([\d,.]*\d)$", line)
        if price_line and not row:
            wanted = dict(names[n] for n in _split(price_line.group(1), names))
            shown = Decimal(price_line.group(2).replace(",", ""))
            assert {product.price_of(v) for v in product.variants
                    if all(v.options.get(o) == x for o, x in wanted.items())
                    and all(v.options.get(o) == x for o, x in choice.asked.items())} == {shown}


def _split(text: str, names: dict[str, tuple[str, str]], keep_suffix: bool = False) -> list[str]:
    """Value names in a ", "-joined list (a value's name holds no comma but "1,5 l" does
    not occur in English)."""
    parts = [p.strip() for p in text.split(", ")]
    for part in parts:
        assert part.removesuffix(" (sold out)") in names, (part, text)
    return parts if keep_suffix else [p.removesuffix(" (sold out)") for p in parts]


@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_every_claim_on_a_card_is_true(data: st.DataObject) -> None:
    shop, product = data.draw(catalogues())
    text, meant, unknown = data.draw(questions(product))
    mention = CatalogueIndex(shop).find(analyse(text))
    choice = choose(product, mention)
    assert choice.asked == meant, text  # the values written are the values read
    assert set(choice.unknown) == {u.lower() for u in unknown}
    TEXTS.use_shop(shop.currency, "en")
    for lang in LANGUAGES:
        card = plain(TEXTS.render("product_card", lang, shop=shop, product=product,
                                  choice=choice, asked=["price"], missing=[], alternatives=[],
                                  name="Ann"))
        if lang == "en":
            check_english(card, choice)
        # Every amount of money on the card is one of the product's prices.
        prices = {price_text(p, lang) for p in product.prices}
        shown = re.findall(r"US\$[\d,.]*\d|\d[\d\s\xa0,.]*\xa0?\$", card)
        assert {m.strip() for m in shown} <= prices, (lang, card)
