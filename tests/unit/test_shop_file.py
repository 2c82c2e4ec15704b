"""The shop file: the demo shop is complete, and every mistake is named with its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import DEMO_SHOP
from bot.core.languages import LANGUAGES
from bot.core.shop import ShopFileError, load_shop, parse_shop

MINIMAL = """\
id: tiny
name: {en: Tiny Shop}
"""


def test_demo_shop_is_complete_in_four_languages() -> None:
    shop = load_shop(DEMO_SHOP)
    assert 10 <= len(shop.products) <= 20
    for value in [shop.name, shop.contacts, shop.order_instructions,
                  *(p.name for p in shop.products), *(p.description for p in shop.products),
                  *(f.question for f in shop.faq), *(f.answer for f in shop.faq),
                  *(c.name for c in shop.categories), *shop.colors.values()]:
        assert value is not None
        assert all(value.values()[lang] for lang in LANGUAGES), value


def test_minimal_shop_gets_defaults() -> None:
    shop = parse_shop(MINIMAL)
    assert shop.currency == "USD" and shop.timezone == "UTC"
    assert shop.text(shop.name, "ru") == "Tiny Shop"  # falls back to the text it has


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (MINIMAL + "currency: XYZ\n", "line 3: currency: unknown currency 'XYZ'"),
        (MINIMAL + "timezone: Mars/Olympus\n", "line 3: timezone: unknown time zone"),
        (MINIMAL + "working_hours:\n  mon: 9-18\n", "line 3: working_hours: mon: '9-18'"),
        (MINIMAL + "policy:\n  gift:\n    name: Pin\n    stock: -1\n",
         "line 6: policy.gift.stock: Input should be greater than or equal to 0"),
        (MINIMAL + "categories: [{id: tops, name: Tops}]\nproducts:\n  - id: tee\n"
         "    category: tops\n    name: Tee\n    price: cheap\n",
         "line 8: products.0.price: price must be a number"),
        (MINIMAL + "categories: [{id: tops, name: Tops}]\nproducts:\n  - id: tee\n"
         "    category: hats\n    name: Tee\n    price: 10\n",
         "line 6: products.0.category: unknown category 'hats'"),
        (MINIMAL + "colour: red\n", "line 3: colour: is not a known field"),
        (MINIMAL + "products:\n  - id: tee\n    name: Tee\n",
         "line 4: products.0.category: is required"),
        ("id: tiny\nname: [unclosed\n", "not valid YAML"),
        ("id: Not A Slug!\nname: x\n", "line 1: id: String should match pattern"),
    ],
)
def test_problems_name_field_and_line(source: str, expected: str) -> None:
    with pytest.raises(ShopFileError) as caught:
        parse_shop(source, "shop.yaml")
    lines = caught.value.lines()
    assert any(expected in line for line in lines), lines
    assert all(line.startswith("shop.yaml: ") for line in lines)


def test_every_problem_is_reported_at_once() -> None:
    source = MINIMAL + "currency: XYZ\ntimezone: Nowhere/City\n"
    with pytest.raises(ShopFileError) as caught:
        parse_shop(source)
    assert len(caught.value.problems) == 2


def test_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(ShopFileError) as caught:
        load_shop(tmp_path / "missing.yaml")
    assert "cannot read the file" in caught.value.lines()[0]
