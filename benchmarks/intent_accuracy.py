"""Accuracy of the intent detector on a labeled set of shopper messages.

    python benchmarks/intent_accuracy.py [tests/data/intents_test.jsonl] [--misses]

Prints accuracy overall, per intent and per language, product-linking accuracy, and the
confusion matrix. `--misses` lists the messages it got wrong: use it on the development set
(bot/examples/*.jsonl) only; the test set is for measuring, not for tuning.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot import DEMO_SHOP
from bot.intents import INTENTS
from bot.shop import load_shop
from bot.understanding import Understanding

DEFAULT_SET = Path(__file__).resolve().parent.parent / "tests" / "data" / "intents_test.jsonl"


@dataclass
class Report:
    total: int
    correct: int
    per_intent: dict[str, tuple[int, int]]
    per_lang: dict[str, tuple[int, int]]
    confusion: Counter[tuple[str, str]]
    products: tuple[int, int]  # linked right, messages labeled with a product
    languages: int  # messages whose reply language is the one they are written in
    misses: list[tuple[dict, str, str | None, tuple[str, ...]]]

    @property
    def accuracy(self) -> float:
        return self.correct / self.total

    def lang_accuracy(self, lang: str) -> float:
        good, count = self.per_lang[lang]
        return good / count


def load_set(path: Path) -> list[dict]:
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def evaluate(rows: list[dict], understanding: Understanding | None = None) -> Report:
    understanding = understanding or Understanding(load_shop(DEMO_SHOP))
    per_intent: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    per_lang: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    confusion: Counter[tuple[str, str]] = Counter()
    products = [0, 0]
    languages = 0
    misses = []
    correct = 0
    for row in rows:
        result = understanding.read(row["text"], row["lang"])
        good = result.intent == row["intent"]
        correct += good
        for table, key in ((per_intent, row["intent"]), (per_lang, row["lang"])):
            table[key][0] += good
            table[key][1] += 1
        confusion[(row["intent"], result.intent)] += 1
        # Each message is read as if the shopper's Telegram were set to another language.
        other_lang = "en" if row["lang"] != "en" else "ru"
        languages += understanding.read(row["text"], other_lang).lang == row["lang"]
        if row.get("product"):
            products[1] += 1
            products[0] += result.product == row["product"]
        if not good or (row.get("product") and result.product != row["product"]):
            misses.append((row, result.intent, result.product, result.cues))
    return Report(len(rows), correct, {k: (v[0], v[1]) for k, v in per_intent.items()},
                  {k: (v[0], v[1]) for k, v in per_lang.items()}, confusion,
                  (products[0], products[1]), languages, misses)


def print_report(report: Report, show_misses: bool) -> None:
    print(f"messages: {report.total}   accuracy: {report.accuracy:.1%}")
    print("\nper language:")
    for lang, (good, count) in sorted(report.per_lang.items()):
        print(f"  {lang:8} {good / count:6.1%}  ({good}/{count})")
    print("\nper intent:")
    for intent in INTENTS:
        if intent in report.per_intent:
            good, count = report.per_intent[intent]
            print(f"  {intent:17} {good / count:6.1%}  ({good}/{count})")
    good, count = report.products
    if count:
        print(f"\nproduct linking: {good / count:.1%} ({good}/{count} messages naming a product)")
    print(f"reply language: {report.languages / report.total:.1%} of messages answered in the "
          "language they are written in, with the shopper's Telegram set to another one")
    short = {intent: intent[:5] for intent in INTENTS}
    print("\nconfusion (rows: expected, columns: detected):")
    print(" " * 18 + " ".join(f"{short[i]:>5}" for i in INTENTS))
    for expected in INTENTS:
        cells = " ".join(f"{report.confusion.get((expected, got), 0) or '.':>5}"
                         for got in INTENTS)
        print(f"  {expected:16}{cells}")
    if show_misses:
        print("\nmisses:")
        for row, intent, product, cues in report.misses:
            print(f"  [{row['lang']}] {row['intent']} -> {intent}"
                  f" (product {row.get('product')} -> {product}): {row['text']!r}  {list(cues)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", type=Path, default=DEFAULT_SET)
    parser.add_argument("--misses", action="store_true")
    args = parser.parse_args()
    print_report(evaluate(load_set(args.path)), args.misses)


if __name__ == "__main__":
    main()
