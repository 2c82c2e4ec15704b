"""How well the bot reads shoppers' messages, on labeled sets it never learned from.

    python benchmarks/intent_accuracy.py [SET] [--shop SHOP_FILE] [--misses]
    python benchmarks/intent_accuracy.py --all

One set: accuracy overall, per intent and per language, FAQ retrieval, product linking and
the confusion matrix (SET defaults to tests/data/intents_test.jsonl, read with the demo
shop). `--all`: every shop's held-out set (tests/data/heldout/<shop id>.jsonl with
bot/shops/*.yaml) and the demo's set, as one table per shop and language. `--misses` lists
what was read wrong: never tune on a held-out set; it is for measuring.
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
from bot.core.shop import load_shop
from bot.nlu.intents import INTENTS
from bot.nlu.understanding import Understanding

DEFAULT_SET = Path(__file__).resolve().parent.parent / "tests" / "data" / "intents_test.jsonl"


@dataclass
class Report:
    total: int
    correct: int
    per_intent: dict[str, tuple[int, int]]
    per_lang: dict[str, tuple[int, int]]
    confusion: Counter[tuple[str, str]]
    products: tuple[int, int]  # linked right, messages labeled with a product
    faq: tuple[int, int]  # FAQ questions answered with their entry, FAQ questions labeled
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
    faq = [0, 0]
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
        if row.get("faq"):
            found = understanding.faq(result)
            faq[1] += 1
            faq[0] += bool(found and found.sure and found.entry.id == row["faq"])
        if not good or (row.get("product") and result.product != row["product"]):
            misses.append((row, result.intent, result.product, result.cues))
    return Report(len(rows), correct, {k: (v[0], v[1]) for k, v in per_intent.items()},
                  {k: (v[0], v[1]) for k, v in per_lang.items()}, confusion,
                  (products[0], products[1]), (faq[0], faq[1]), languages, misses)


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
    good, count = report.faq
    if count:
        print(f"FAQ retrieval: {good / count:.1%} ({good}/{count} FAQ questions)")
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


HELDOUT = Path(__file__).resolve().parent.parent / "tests" / "data" / "heldout"


def every_shop() -> dict[str, tuple[Path, Path]]:
    """Shop id -> (its shop file, its held-out set): the demo's set and each example
    shop's."""
    shops = {"linen-lane": (DEMO_SHOP, DEFAULT_SET)}
    for path in sorted((Path(DEMO_SHOP).parent / "shops").glob("*.yaml")):
        shop = load_shop(path)
        if (HELDOUT / f"{shop.id}.jsonl").exists():
            shops[shop.id] = (path, HELDOUT / f"{shop.id}.jsonl")
    return shops


def share(pair: tuple[int, int]) -> float | None:
    return pair[0] / pair[1] if pair[1] else None


def table(reports: dict[str, dict[str, Report]]) -> str:
    """Per shop and language: intent accuracy, FAQ retrieval, product linking."""
    lines = [f"{'shop':<18} {'lang':<8} {'messages':>8} {'intent':>7} {'faq':>7} "
             f"{'products':>8}"]
    for shop_id, by_lang in reports.items():
        for lang, report in by_lang.items():
            cells = [share((report.correct, report.total)), share(report.faq),
                     share(report.products)]
            shown = [f"{c:.1%}" if c is not None else "-" for c in cells]
            lines.append(f"{shop_id:<18} {lang:<8} {report.total:>8} {shown[0]:>7} "
                         f"{shown[1]:>7} {shown[2]:>8}")
    return "\n".join(lines)


def evaluate_all() -> dict[str, dict[str, Report]]:
    reports: dict[str, dict[str, Report]] = {}
    for shop_id, (shop_file, set_path) in every_shop().items():
        understanding = Understanding(load_shop(shop_file))
        rows = load_set(set_path)
        reports[shop_id] = {lang: evaluate([r for r in rows if r["lang"] == lang],
                                           understanding)
                            for lang in ("en", "ru", "zh-hans", "zh-hant")}
    return reports


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", type=Path, default=DEFAULT_SET)
    parser.add_argument("--shop", type=Path, default=DEMO_SHOP)
    parser.add_argument("--all", action="store_true")
    parser.add_argument("--misses", action="store_true")
    args = parser.parse_args()
    if args.all:
        reports = evaluate_all()
        print(table(reports))
        if args.misses:
            for by_lang in reports.values():
                for report in by_lang.values():
                    print_report(report, True)
        return
    print_report(evaluate(load_set(args.path), Understanding(load_shop(args.shop))),
                 args.misses)


if __name__ == "__main__":
    main()
