"""What a shopper asked of one product's options, resolved against its variants.

This is the one place the facts of a reply about stock, prices and options come from: the
product card renders a `Choice` and says nothing it does not hold. Plain data over the
shop file; nothing here knows about Telegram.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal

from bot.core.shop import Localized, Option, OptionValue, Product, Variant
from bot.core.units import DIMENSION_WORDS
from bot.nlu.catalogue import Mention, phrase_stems

MAX_PRICE_LINES = 8


@dataclass(frozen=True)
class Line:
    """Option values (in option order) and what they come to: a price, or being in stock."""

    names: tuple[Localized, ...]
    price: Decimal | None = None


@dataclass(frozen=True)
class Row:
    """One option on the card: its values, each with whether it can be had with the rest of
    what was asked."""

    option: Option
    values: tuple[tuple[OptionValue, bool], ...]


@dataclass(frozen=True)
class Choice:
    product: Product
    asked: dict[str, str] = field(default_factory=dict)  # option id -> value id
    unknown: tuple[str, ...] = ()  # asked, as written, but not a value it comes in
    unknown_of: tuple[str, ...] = ()  # the options those would have been values of

    @property
    def matching(self) -> tuple[Variant, ...]:
        """The variants with every value asked."""
        return tuple(v for v in self.product.variants
                     if all(v.options.get(o) == value for o, value in self.asked.items()))

    @property
    def exact(self) -> Variant | None:
        """The one variant meant, when the values asked single it out."""
        matching = self.matching
        return matching[0] if self.asked and len(matching) == 1 else None

    @property
    def available(self) -> bool | None:
        """Whether what was asked can be had; None when nothing particular was asked."""
        if self.unknown:
            return False
        if not self.asked:
            return None
        return any(v.stock > 0 for v in self.matching)

    @property
    def asked_names(self) -> tuple[Localized, ...]:
        return tuple(self._value(o, v).name for o, v in self._in_order(self.asked))

    @property
    def close(self) -> tuple[Line, ...]:
        """When what was asked cannot be had: what can, nearest first. Variants that keep
        all but one of the values asked, then those that keep any; named by the options
        asked and the ones that differ."""
        if self.available is not False or not self.product.variants:
            return ()
        asked = self.asked
        in_stock = [v for v in self.product.variants if v.stock > 0]
        # Named by what was asked: the values kept, the ones that differ, and the option of
        # a value it does not come in ("3 kg": its weights).
        named = set(asked) | set(self.unknown_of)
        if not named:
            named = {o.id for o in self.product.options if len(o.values) > 1}

        def kept(variant: Variant) -> int:
            return sum(variant.options.get(o) == value for o, value in asked.items())

        # All of what was asked can be kept when only an unknown value failed it; otherwise
        # all but one at the most.
        most = min(max((kept(v) for v in in_stock), default=0),
                   len(asked) if self.unknown else max(len(asked) - 1, 0))
        lines: list[Line] = []
        for keep in range(most, -1, -1):
            for variant in in_stock:
                line = Line(self._names(variant, named))
                if kept(variant) == keep and line.names and line not in lines:
                    lines.append(line)
            if lines:
                break
        return tuple(lines[:4])

    @property
    def prices(self) -> tuple[Line, ...]:
        """Prices per variant when they differ ("250 g: 12, 1 kg: 40"), by the one option
        that sets the price when there is one; empty when there is one price."""
        variants = self.matching if self.asked else self.product.variants
        if len({self.product.price_of(v) for v in variants}) <= 1:
            return ()
        for option in self.product.options:
            if option.id in self.asked:
                continue
            by_value: dict[str, set[Decimal]] = {}
            for v in variants:
                by_value.setdefault(v.options[option.id], set()).add(self.product.price_of(v))
            if all(len(prices) == 1 for prices in by_value.values()):
                return tuple(Line((value.name,), next(iter(by_value[value.id])))
                             for value in option.values if value.id in by_value)
        lines = [Line(self._names(v, set(v.options) - set(self.asked)),
                      self.product.price_of(v)) for v in variants]
        return tuple(lines[:MAX_PRICE_LINES])

    @property
    def price(self) -> Decimal | None:
        """The one price of what was asked (of the product when nothing was), if one."""
        if not self.product.variants:
            return self.product.price_of(None)
        variants = self.matching if self.asked else self.product.variants
        found = {self.product.price_of(v) for v in variants}
        return next(iter(found)) if len(found) == 1 else None

    @property
    def lowest(self) -> Decimal:
        return self.product.prices[0]

    @property
    def rows(self) -> tuple[Row, ...]:
        """Each option with its values, and whether each can be had with the other values
        asked."""
        rows = []
        for option in self.product.options:
            others = {o: v for o, v in self.asked.items() if o != option.id}
            values = tuple(
                (value, any(v.stock > 0 for v in self.product.variants
                            if v.options.get(option.id) == value.id
                            and all(v.options.get(o) == x for o, x in others.items())))
                for value in option.values)
            rows.append(Row(option, values))
        return tuple(rows)

    @property
    def stock(self) -> int | None:
        """Units in stock of the exact variant, or of a product without variants."""
        if not self.product.variants:
            return self.product.stock
        exact = self.exact
        return exact.stock if exact is not None else None

    def _in_order(self, values: dict[str, str]) -> list[tuple[str, str]]:
        return [(o.id, values[o.id]) for o in self.product.options if o.id in values]

    def _value(self, option_id: str, value_id: str) -> OptionValue:
        option = self.product.option(option_id)
        value = option.value(value_id) if option else None
        assert value is not None  # asked values are the product's own (see choose)
        return value

    def _names(self, variant: Variant, options: set[str]) -> tuple[Localized, ...]:
        return tuple(self._value(o, v).name
                     for o, v in self._in_order(variant.options) if o in options)


def choose(product: Product, mention: Mention | None = None,
           selection: dict[str, str] | None = None,
           context: dict[str, str] | None = None) -> Choice:
    """What the message (or a pressed button's `selection`) asks of this product; `context`
    is what the conversation already chose of it ("linden", then "and the 250 g jar?": the
    linden in 250 g), kept for every option the message says nothing of."""
    asked: dict[str, str] = dict(selection or {})
    unknown: list[str] = []
    unknown_of: list[str] = []
    amounts: dict[str, set[str]] = {}
    if mention is not None:
        # An option the message names an amount of ("29 inch", "the 500 ml bottle") is read
        # by that amount, not by a word of another value's names ("28 inch" of 700c).
        measured_here = {found[0] for written in mention.quantities
                         if (found := _by_quantity(product, written.readings)) is not None}
        # This product's own words for its values, by option: values are found over the
        # whole catalogue, where one product's "big bag" may be another's 1.5 kg.
        named_here = {o.id: _named_here(o, mention) for o in product.options}
        for option_id, value_id in mention.values:
            option = product.option(option_id)
            if option is None or option.value(value_id) is None or option_id in measured_here:
                continue
            here = named_here[option_id]
            asked.setdefault(option_id, value_id if len(here) != 1 else next(iter(here)))
        # The product's own name is no evidence of a value: "linen" in "the linen shirt"
        # is not its colour "natural linen".
        own = frozenset().union(*(phrase_stems(t)[0] for t in product.name.values().values()
                                  if t))
        for option in product.options:
            if option.id not in asked and option.id not in measured_here:
                found = _by_words(option, mention, own)
                if found is not None:
                    asked[option.id] = found
        named_sizes: dict[str, set[str]] = {}
        for size in mention.sizes:
            for option in product.options:
                value = next((v for v in option.values if v.id.lower() == size.lower()), None)
                if value is not None:
                    asked.setdefault(option.id, value.id)
                    named_sizes.setdefault(option.id, set()).add(value.id)
                    break
            else:
                if product.option("size") is not None:
                    unknown.append(size)
                    unknown_of.append("size")
        for written in mention.quantities:
            found = _by_quantity(product, written.readings)
            measured = [o for q in written.readings if (o := _measured(product, q.dimension))]
            if found is not None:
                amounts.setdefault(found[0], set()).add(found[1])
            elif measured:
                unknown.append(written.text)
                unknown_of.append(measured[0].id)
        for option_id, named in amounts.items():
            if len(named) == 1:
                asked.setdefault(option_id, next(iter(named)))
        # Two values of one option ("50 or 100 ml?", "S码和M码分别多少钱"): both, so the card
        # lists each.
        several = {o for o, named in amounts.items() if len(named) > 1}
        several |= {o for o, named in named_sizes.items() if len(named) > 1}
        several |= {o for o, named in named_here.items() if len(named) > 1}
        for option_id in several:
            if selection is None or option_id not in selection:
                asked.pop(option_id, None)
        # A bare number for an option of amounts: "and 256 in violet?" after a phone's card.
        numbers = {word for word in mention.stems if word.isdigit()} - {
            part for written in mention.quantities
            for part in re.findall(r"\d+", written.text)}
        for option in product.options:
            if option.id in asked or option.id in unknown_of or not numbers:
                continue
            named = [v.id for v in option.values if v.quantity is not None
                     and _leading_number(v) in numbers]
            if len(named) == 1:
                asked[option.id] = named[0]
    if context and mention is not None:
        # An option named by its name ("what do the weights cost?", "other colours?") asks
        # about all its values, whatever was chosen before.
        touched = set(asked) | set(unknown_of) | set(amounts) | several | {
            option.id for option in product.options if _names_option(option, mention)}
        for option_id, value_id in context.items():
            option = product.option(option_id)
            if option_id not in touched and option is not None \
                    and option.value(value_id) is not None:
                asked[option_id] = value_id
    return Choice(product, asked, tuple(dict.fromkeys(unknown)),
                  tuple(dict.fromkeys(unknown_of)))


def _names_option(option: Option, mention: Mention) -> bool:
    """The message names the option itself: by its name, or, for an option of amounts, by
    the word for what they measure ("weights", "各种重量", "объём")."""
    dimensions = {v.quantity.dimension for v in option.values if v.quantity is not None}
    if any(DIMENSION_WORDS[d].search(mention.folded) for d in dimensions
           if d in DIMENSION_WORDS):
        return True
    if option.name is None:
        return False
    for text in option.name.values().values():
        stems, cjk = phrase_stems(text) if text else (frozenset(), "")
        if (stems and stems <= mention.stems) or (len(cjk) >= 2 and cjk in mention.cjk):
            return True
    return False


def _leading_number(value: OptionValue) -> str:
    text = value.name.get("en")
    digits = ""
    for char in text:
        if not char.isdigit():
            break
        digits += char
    return digits


def _named_here(option: Option, mention: Mention) -> set[str]:
    """The values of this product's option whose own names or synonyms the message writes
    whole (an amount's by its word names: "big bag", "大包")."""
    named = set()
    for value in option.values:
        texts = [] if value.quantity is not None else [
            t for t in value.name.values().values() if t]
        texts += [t for values in value.synonyms.values().values() for t in values]
        # Not "S" or "XL": sizes have their own rules.
        for text in (t for t in texts if not (t.isascii() and len(t) <= 2)):
            stems, cjk = phrase_stems(text)
            if (stems and stems <= mention.stems and not (cjk and cjk not in mention.cjk)) \
                    or (cjk and not stems and cjk in mention.cjk):
                named.add(value.id)
                break
    return named


def _by_words(option: Option, mention: Mention, own: frozenset[str]) -> str | None:
    """The value of this option the message names: all of a name's words ("onyx black"),
    else the one value that some of its words point to ("black", when no other value of
    the option has that word); in Chinese, a name written in the message."""
    whole: list[str] = []
    partial: dict[str, int] = {}
    for value in option.values:
        if value.quantity is not None or len(value.id) <= 2 or value.id.isdigit():
            continue  # amounts, and sizes ("M", "42"), have their own careful rules
        texts = [t for t in value.name.values().values() if t]
        texts += [t for values in value.synonyms.values().values() for t in values]
        for text in texts:
            stems, cjk = phrase_stems(text)
            if (stems and stems <= mention.stems) or (cjk and cjk in mention.cjk):
                whole.append(value.id)
            elif stems & (mention.stems - own):
                partial[value.id] = max(partial.get(value.id, 0),
                                        len(stems & (mention.stems - own)))
    if whole:
        return whole[0] if len(set(whole)) == 1 else None
    if len(partial) == 1:
        return next(iter(partial))
    return None


def _measured(product: Product, dimension: str) -> Option | None:
    return next((o for o in product.options
                 if any((v.quantity and v.quantity.dimension == dimension) for v in o.values)),
                None)


def _by_quantity(product: Product, readings: tuple) -> tuple[str, str] | None:
    for reading in readings:
        for option in product.options:
            for value in option.values:
                if value.quantity is not None and value.quantity.same(reading):
                    return option.id, value.id
    return None
