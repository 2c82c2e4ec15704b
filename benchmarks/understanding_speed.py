"""Speed and memory of reading a message (intent + product linking) with a big catalogue.

    python benchmarks/understanding_speed.py [--products 5000]

Generates a catalogue of N products named in all four languages, then reads every message
of the held-out set through it, timing each call (after one warm-up pass, and cold: the
first pass, where the stemmer's cache is empty). Prints median, p99 and max per message,
and the memory the catalogue's index takes (tracemalloc).
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.intent_accuracy import DEFAULT_SET, load_set
from bot import DEMO_SHOP
from bot.core.shop import Shop, load_shop
from bot.nlu.reader import IntentModel, shared_model
from bot.nlu.understanding import Understanding

ADJECTIVES = [("light", "лёгкий", "轻薄", "輕薄"), ("classic", "классический", "经典", "經典"),
              ("summer", "летний", "夏季", "夏季"), ("soft", "мягкий", "柔软", "柔軟"),
              ("oversized", "оверсайз", "宽松", "寬鬆"), ("cropped", "укороченный", "短款", "短款"),
              ("striped", "полосатый", "条纹", "條紋"), ("warm", "тёплый", "保暖", "保暖")]
MATERIALS = [("linen", "льняной", "亚麻", "亞麻"), ("cotton", "хлопковый", "纯棉", "純棉"),
             ("wool", "шерстяной", "羊毛", "羊毛"), ("silk", "шёлковый", "真丝", "真絲"),
             ("denim", "джинсовый", "牛仔", "牛仔")]
ITEMS = [("shirt", "рубашка", "衬衫", "襯衫"), ("dress", "платье", "连衣裙", "洋裝"),
         ("trousers", "брюки", "长裤", "長褲"), ("jacket", "куртка", "夹克", "夾克"),
         ("skirt", "юбка", "半身裙", "半身裙"), ("scarf", "шарф", "围巾", "圍巾"),
         ("hat", "шляпа", "帽子", "帽子"), ("sweater", "свитер", "毛衣", "毛衣"),
         ("shorts", "шорты", "短裤", "短褲"), ("coat", "пальто", "大衣", "大衣")]
LANGS = ("en", "ru", "zh-hans", "zh-hant")


def catalogue(count: int, seed: int = 7) -> Shop:
    rng = random.Random(seed)
    demo = load_shop(DEMO_SHOP).model_dump(by_alias=True)
    products = []
    for number in range(count):
        adjective, material, item = rng.choice(ADJECTIVES), rng.choice(MATERIALS), rng.choice(ITEMS)
        model = f"{rng.choice('ABCDEFGHJKLMNPRSTVWXZ')}{number}"
        name = {lang: (f"{adjective[i]} {material[i]} {item[i]} {model}" if i < 2
                       else f"{adjective[i]}{material[i]}{item[i]}{model}")
                for i, lang in enumerate(LANGS)}
        products.append({
            "id": f"p{number}", "category": rng.choice(demo["categories"])["id"],
            "name": name, "price": rng.randint(5, 900) * 10,
            "synonyms": {lang: [f"{item[i]} {model}"] for i, lang in enumerate(LANGS)},
            "variants": [{"size": size, "color": rng.choice(list(demo["colors"])),
                          "stock": rng.randint(0, 5)} for size in ("S", "M", "L")],
        })
    demo["products"] = products
    return Shop.model_validate(demo)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--products", type=int, default=5000)
    args = parser.parse_args()
    shop = catalogue(args.products)
    rows = load_set(DEFAULT_SET)

    shared_model()  # learned once per process, whatever the shop: measured apart
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    started = time.perf_counter()
    understanding = Understanding(shop)
    built = time.perf_counter() - started
    after = tracemalloc.take_snapshot()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    retained = sum(stat.size_diff for stat in after.compare_to(before, "filename"))

    def timed_pass() -> list[float]:
        """CPU time of each reading (this thread's), so a busy machine does not count."""
        timings = []
        for row in rows:
            start = time.thread_time_ns()
            understanding.read(row["text"], row["lang"])
            timings.append((time.thread_time_ns() - start) / 1e6)
        return timings

    cold = timed_pass()
    warm = [t for _ in range(5) for t in timed_pass()]
    started = time.process_time()
    IntentModel.from_folder()
    learned = time.process_time() - started
    print(f"intent reader: learned in {learned:.2f} s of CPU")
    print(f"catalogue: {args.products} products in 4 languages; built in {built:.2f} s")
    print(f"memory: {retained / 2**20:.1f} MiB retained by the reader "
          f"(peak {peak / 2**20:.1f} MiB while building)")
    for label, values in (("cold (first pass)", cold), ("warm (5 passes)", warm)):
        print(f"{label:18} messages {len(values):5}  CPU median {statistics.median(values):.3f} ms"
              f"  p99 {percentile(values, 0.99):.3f} ms  max {max(values):.3f} ms")


if __name__ == "__main__":
    main()
