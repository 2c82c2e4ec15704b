"""How well the bot reads shoppers, on messages nobody tuned on: each example shop's
held-out set (tests/data/heldout/, written before any tuning and never used for it) and the
demo's. The figures are benchmarks/intent_accuracy.py --all's; the README records them.

The goal is 0.95 everywhere, with CI failing below 0.90. Every shop reads 0.90 of its
intents right, but not every language of every shop yet (docs/understanding.md, "Quality
and speed"), so the per-language floor sits just under today's figures: it stops a change
from making the reading worse, and is raised as it gets better."""

from __future__ import annotations

import pytest

from benchmarks.intent_accuracy import Report, evaluate_all

SHOP_INTENT_FLOOR = 0.90  # per shop, all languages; today 0.913 to 0.979
INTENT_FLOOR = 0.85  # per shop and language; today 0.860 to 0.992
FAQ_FLOOR = 0.70  # per shop; today 0.75 (pet shop) to 1.00
PRODUCT_FLOOR = 0.93  # per shop; today 0.955 to 1.00


@pytest.fixture(scope="module")
def reports() -> dict[str, dict[str, Report]]:
    return evaluate_all()


def test_every_shop_has_a_held_out_set(reports: dict[str, dict[str, Report]]) -> None:
    assert {"linen-lane", "tea-house", "phone-corner", "bamboo-courtyard", "pet-shop",
            "beauty-shop", "nutrition-shop", "farm-shop", "bike-shop", "bakery-shop",
            "flower-shop", "toy-shop"} <= set(reports)
    for shop, by_lang in reports.items():
        assert all(report.total >= 40 for report in by_lang.values()), shop


def test_intents_are_read_right_in_every_language_of_every_shop(
        reports: dict[str, dict[str, Report]]) -> None:
    low = {(shop, lang): round(report.accuracy, 3) for shop, by_lang in reports.items()
           for lang, report in by_lang.items() if report.accuracy < INTENT_FLOOR}
    assert not low


def test_every_shop_reads_nine_intents_in_ten_right(
        reports: dict[str, dict[str, Report]]) -> None:
    low = {shop: round(sum(r.correct for r in by_lang.values())
                       / sum(r.total for r in by_lang.values()), 3)
           for shop, by_lang in reports.items()}
    assert not {shop: share for shop, share in low.items() if share < SHOP_INTENT_FLOOR}


def test_faq_questions_find_their_answer_in_every_shop(
        reports: dict[str, dict[str, Report]]) -> None:
    for shop, by_lang in reports.items():
        good = sum(r.faq[0] for r in by_lang.values())
        count = sum(r.faq[1] for r in by_lang.values())
        assert not count or good / count >= FAQ_FLOOR, (shop, good, count)


def test_products_are_linked_in_every_shop(reports: dict[str, dict[str, Report]]) -> None:
    for shop, by_lang in reports.items():
        good = sum(r.products[0] for r in by_lang.values())
        count = sum(r.products[1] for r in by_lang.values())
        assert good / count >= PRODUCT_FLOOR, (shop, good, count)
