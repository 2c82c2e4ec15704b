"""What the catalogue says about a product beyond its variants (see bot/domain/variants.py): the
attribute a shopper asked about, the product meant, alternatives in stock. Plain data, no
Telegram."""

from __future__ import annotations

import re

from bot.core.shop import Localized, Product, Shop
from bot.domain.variants import Choice
from bot.nlu.catalogue import Mention

# What a question asks about, by words in any of the four languages (text already folded:
# lower case, simplified Chinese). Matching is on purpose loose: it only picks which fact
# to put first; everything else on the card still shows.
_ASKS: dict[str, re.Pattern[str]] = {
    "price": re.compile(r"price|cost|how much|цен|стоит|стоят|почем|скольк|多少钱|价|几块|多钱|"
                        r"几钱|几多钱|几蚊|几银"),
    # Whether it can be had at all ("льняное масло есть в наличии?"): said when no option
    # was named, as the options' own lines say which values are sold out.
    "stock": re.compile(r"in stock|available|do you have|got any|налич|(?<![а-я])есть(?![а-я])|"
                        r"有货|有没有货|现货|还有|有冇|仲有|有無"),
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


def asked_about(folded: str) -> list[str]:
    return [name for name, pattern in _ASKS.items() if pattern.search(folded)]


def attribute(product: Product, name: str) -> Localized | None:
    """A product's fact by name: material, or one of its free-form attributes."""
    if name == "material":
        return product.material
    return product.attributes.get(name)


def alternatives(shop: Shop, product: Product, choice: Choice | None = None,
                 limit: int = 3) -> list[Product]:
    """In-stock products of the same category, first those that come in the values asked
    (the same option and value: "dark roast", "white") when they can be had."""
    same = [p for p in shop.products if p.category == product.category and p.id != product.id
            and p.in_stock]
    asked = choice.asked if choice is not None else {}
    fitting = [p for p in same if asked and any(
        v.stock > 0 and all(v.options.get(o) == value for o, value in asked.items())
        for v in p.variants)]
    return (fitting + [p for p in same if p not in fitting])[:limit]


def pick_product(shop: Shop, mention: Mention, last: str | None,
                 follow_up: bool = False) -> Product | None:
    """The product meant: the one named, else the one just discussed when the message
    only adds an option ("and in blue?", "the 250 g one?"), or is a follow-up ("I'll take
    it")."""
    if mention.product:
        return shop.product(mention.product)
    if not mention.named and last and (follow_up or mention.options):
        # "and 500 g ground for filter?" stays with the product just discussed, unless
        # another one alone sells what was named and this one does not.
        product = shop.product(last)
        if mention.suggested and mention.fit(last) < mention.fit(mention.suggested) \
                and not _numbers_fit(product, mention):
            return shop.product(mention.suggested)
        return product
    if mention.suggested and not mention.named:
        return shop.product(mention.suggested)
    return None


_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")


def _numbers_fit(product: Product | None, mention: Mention) -> bool:
    """The amount named is written in one of this product's values, though not as an
    amount ("29吋" after the tyres, whose sizes are "29 × 2.25"): it may well be meant."""
    if product is None or not mention.quantities:
        return False
    numbers = {n.replace(",", ".") for w in mention.quantities for n in _NUMBER.findall(w.text)}
    return any(n.replace(",", ".") in numbers
               for option in product.options for value in option.values
               for text in [value.id, *(t for t in value.name.values().values() if t)]
               for n in _NUMBER.findall(text))

