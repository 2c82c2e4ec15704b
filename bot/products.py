"""What the catalogue says about a product: prices, stock per size and colour, the
attribute a shopper asked about, alternatives in stock. Plain data, no Telegram."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

from bot.catalogue import Mention
from bot.shop import Localized, Product, Shop

# What a question asks about, by words in any of the four languages (text already folded:
# lower case, simplified Chinese). Matching is on purpose loose: it only picks which fact
# to put first; everything else on the card still shows.
_ASKS: dict[str, re.Pattern[str]] = {
    "price": re.compile(r"price|cost|how much|цен|стоит|стоят|почем|скольк|多少钱|价|几块|多钱"),
    "material": re.compile(r"material|fabric|made (?:of|from)|composition|материал|ткан|"
                           r"состав|из чего|材质|面料|料子|成分|什么做"),
    "fit": re.compile(r"\bfit|runs? (?:small|large|big)|true to size|маломер|большемер|"
                      r"сядет|偏大|偏小|合身|正码"),
    "care": re.compile(r"wash|care|iron|dry|стир|уход|глад|洗|保养|熨"),
    "length": re.compile(r"length|how long (?:is|are)|длин|长度|多长|衣长"),
    "origin": re.compile(r"made in|where .* made|origin|country|где сшит|производ|产地|"
                         r"哪里产|哪里做|哪产"),
}
# Facts a product may or may not carry; when one is asked about and missing, the bot says
# the catalogue does not tell and offers a person instead of inventing it.
ATTRIBUTES = frozenset({"material", "fit", "care", "length", "origin"})


@dataclass(frozen=True)
class Stock:
    """What is in stock for a product, and for the size and colour asked about."""

    sizes: tuple[tuple[str, bool], ...]  # (size, any in stock), in catalogue order
    colors: tuple[tuple[str, bool], ...]  # (colour id, any in stock)
    asked_size: str | None
    asked_color: str | None
    asked_available: bool | None  # None when nothing specific was asked

    @property
    def any(self) -> bool:
        return any(ok for _, ok in self.sizes) or any(ok for _, ok in self.colors) or (
            not self.sizes and not self.colors)


def stock(product: Product, size: str | None = None, color: str | None = None) -> Stock:
    sizes: dict[str, bool] = {}
    colors: dict[str, bool] = {}
    for variant in product.variants:
        if variant.size:
            sizes[variant.size] = sizes.get(variant.size, False) or variant.stock > 0
        if variant.color:
            colors[variant.color] = colors.get(variant.color, False) or variant.stock > 0
    known_size = next((s for s in sizes if size and s.lower() == size.lower()), None)
    asked_available: bool | None = None
    if size or color:
        matching = [v for v in product.variants
                    if (size is None or (v.size or "").lower() == size.lower())
                    and (color is None or v.color == color)]
        asked_available = any(v.stock > 0 for v in matching)
    return Stock(tuple(sizes.items()), tuple(colors.items()), known_size or size,
                 color, asked_available)


def asked_about(folded: str) -> list[str]:
    return [name for name, pattern in _ASKS.items() if pattern.search(folded)]


def attribute(product: Product, name: str) -> Localized | None:
    """A product's fact by name: material, or one of its free-form attributes."""
    if name == "material":
        return product.material
    return product.attributes.get(name)


def alternatives(shop: Shop, product: Product, size: str | None = None,
                 color: str | None = None, limit: int = 3) -> list[Product]:
    """In-stock products of the same category, in the size/colour asked when possible."""
    same = [p for p in shop.products if p.category == product.category and p.id != product.id]
    fitting = [p for p in same if stock(p, size, color).asked_available]
    rest = [p for p in same if p not in fitting and stock(p).any and p.in_stock]
    return (fitting + rest)[:limit]


def lowest_price(products: list[Product]) -> Decimal | None:
    return min((p.price for p in products), default=None)


def pick_product(shop: Shop, mention: Mention, last: str | None,
                 follow_up: bool = False) -> Product | None:
    """The product meant: the one named, else the one just discussed when the message
    only adds a size or colour ("and in blue?"), or is a follow-up ("I'll take it")."""
    if mention.product:
        return shop.product(mention.product)
    if not mention.named and last and (follow_up or mention.sizes or mention.colors):
        return shop.product(last)
    return None
