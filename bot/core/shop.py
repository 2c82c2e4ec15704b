"""The shop file: what the shop is, when it works, its policy, FAQ and catalogue.

Plain data with validation; nothing here knows about Telegram.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from babel.numbers import get_currency_name
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from bot.core.intents import INTENTS
from bot.core.languages import LANGUAGES, Lang
from bot.core.units import Quantity, quantity

Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=40)]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HOURS = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Localized(BaseModel):
    """A text in each language; a language left out falls back to the shop's default one."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    en: Text | None = None
    ru: Text | None = None
    zh_hans: Text | None = Field(None, alias="zh-hans")
    zh_hant: Text | None = Field(None, alias="zh-hant")

    @model_validator(mode="before")
    @classmethod
    def _plain_string_is_every_language(cls, value: Any) -> Any:
        if isinstance(value, str):
            return dict.fromkeys(LANGUAGES, value)
        return value

    @model_validator(mode="after")
    def _not_empty(self) -> Localized:
        if not any(self.values().values()):
            raise ValueError("needs a text in at least one language (en, ru, zh-hans, zh-hant)")
        return self

    def values(self) -> dict[Lang, str | None]:
        return {"en": self.en, "ru": self.ru, "zh-hans": self.zh_hans, "zh-hant": self.zh_hant}

    def get(self, lang: Lang, fallback: Lang = "en") -> str:
        found = self.values()
        return found.get(lang) or found.get(fallback) or next(v for v in found.values() if v)


class LocalizedList(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    en: list[Text] = Field(default_factory=list)
    ru: list[Text] = Field(default_factory=list)
    zh_hans: list[Text] = Field(default_factory=list, alias="zh-hans")
    zh_hant: list[Text] = Field(default_factory=list, alias="zh-hant")

    def values(self) -> dict[Lang, list[str]]:
        return {"en": self.en, "ru": self.ru, "zh-hans": self.zh_hans, "zh-hant": self.zh_hant}


class Gift(_Model):
    # The gift's name, also a cue: a message naming it asks for the gift.
    name: Localized
    # Gifts in all; counted down in Redis as they are granted.
    stock: int = Field(ge=0)
    # Gifts one customer may get.
    per_customer: int = Field(1, ge=1)


class Policy(_Model):
    # Whether the shop gives a discount at all; true needs a coupon.
    discounts: bool = False
    # The coupon to give when discounts are allowed.
    coupon: Text | None = None
    # Orders from this amount ship free.
    free_shipping_threshold: Decimal | None = Field(None, gt=0)
    # The usual shipping cost, said when free shipping is refused.
    shipping_cost: Decimal | None = Field(None, ge=0)
    # The small gift the shop can grant once a shopper has been refused.
    gift: Gift | None = None
    # Countries paid orders ship to (two-letter codes, e.g. RU, KZ); left out: anywhere.
    ships_to: list[Annotated[str, Field(pattern=r"^[A-Z]{2}$")]] = Field(default_factory=list)

    @model_validator(mode="after")
    def _coupon_when_discounts(self) -> Policy:
        if self.discounts and not self.coupon:
            raise ValueError("discounts: true needs a coupon to give")
        return self


class Loyalty(_Model):
    """Tags the bot gives customers by itself (staff add their own with /tag)."""

    # Paid orders that tag a customer "regular"; null: never.
    regular_after: int | None = Field(3, ge=1)
    # The paid total (in the shop's currency) that tags one "vip".
    vip_above: Decimal | None = Field(None, gt=0)
    # Where a shopper who rates 4 or 5 stars may leave a review.
    review_url: Text | None = None


class Category(_Model):
    # Unique among categories.
    id: Slug
    # Recognised in messages and listed under /catalog.
    name: Localized


class FaqEntry(_Model):
    # Unique among FAQ entries.
    id: Slug
    # The question, shown with its answer.
    question: Localized
    # The answer, in the reply language.
    answer: Localized
    # Words and phrases that help the entry be found in shoppers' own words.
    keywords: LocalizedList = Field(default_factory=LocalizedList)
    # Other ways shoppers ask it ("how long to Kazan?"): matched by meaning, like the question.
    paraphrases: LocalizedList = Field(default_factory=LocalizedList)


ValueId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


def _price(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise ValueError("price must be a number")
    try:
        return Decimal(str(value).strip())
    except ArithmeticError:
        raise ValueError("price must be a number") from None


class OptionValue(_Model):
    """One value of an option: "250 g", "dark roast", "128 GB". A plain string is a value
    whose id and name are that string in every language."""

    # The value's id, as variants name it.
    id: ValueId
    # How it is written in each language.
    name: Localized
    # Other ways shoppers write it.
    synonyms: LocalizedList = Field(default_factory=LocalizedList)

    @model_validator(mode="before")
    @classmethod
    def _plain(cls, value: Any) -> Any:
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            return {"id": str(value), "name": str(value)}
        if isinstance(value, dict) and "name" not in value and "id" in value:
            return {**value, "name": str(value["id"])}
        return value

    @property
    def quantity(self) -> Quantity | None:
        """The amount it is, when it is one ("250 g" and "0.25 kg" alike)."""
        return next(filter(None, (quantity(text) for text in self.name.values().values()
                                  if text)), None)


class Option(_Model):
    """What a shopper chooses of a product: size, colour, weight, storage... any name."""

    # Unique in the product: size, color, weight, volume, storage, flavour...
    id: Slug
    name: Localized | None = None  # else the shop's `option_names`, else its id
    # The values a shopper chooses from.
    values: list[OptionValue] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_values(self) -> Option:
        problems: list[str] = []
        _unique("values", [v.id for v in self.values], problems)
        if problems:
            raise ValueError(problems[0].split(": ", 1)[1])
        return self

    def value(self, value_id: str) -> OptionValue | None:
        return next((v for v in self.values if v.id == value_id), None)


class Variant(_Model):
    """A combination of option values the shop sells, with its own stock, and maybe its
    own price, SKU and photo. `size` and `color` are the options of older shop files."""

    # One value of every option of the product.
    options: dict[Slug, ValueId] = Field(default_factory=dict)
    # Units in stock of this combination.
    stock: int = Field(ge=0)
    # Its own price (default: the product's).
    price: Decimal | None = Field(None, gt=0)
    # The shop's stock-keeping unit.
    sku: Text | None = None
    # Shown when a shopper has chosen exactly this variant.
    photo: Text | None = None

    @model_validator(mode="before")
    @classmethod
    def _size_and_color(cls, value: Any) -> Any:
        if isinstance(value, dict) and ("size" in value or "color" in value):
            value = dict(value)
            legacy = {name: value.pop(name) for name in ("size", "color") if name in value}
            value["options"] = {**{k: str(v) for k, v in legacy.items() if v is not None},
                                **value.get("options", {})}
        return value

    @field_validator("price", mode="before")
    @classmethod
    def _price_is_number(cls, value: Any) -> Any:
        return _price(value)

    @property
    def size(self) -> str | None:
        return self.options.get("size")

    @property
    def color(self) -> str | None:
        return self.options.get("color")


class Product(_Model):
    # Unique among products.
    id: Slug
    # The id of one of the shop's categories.
    category: Slug
    # The product's name.
    name: Localized
    # What it is, including its honest limits.
    description: Localized | None = None
    # A variant without a price of its own costs this; it may be left out when every
    # variant has one.
    price: Decimal | None = Field(None, gt=0)
    # Units in stock of a product without variants; left out: not counted, always available.
    stock: int | None = Field(None, ge=0)
    # E.g. 100% linen; the card says it when asked.
    material: Localized | None = None
    # Free-form facts; a card shows fit, care, length and origin when asked.
    attributes: dict[Slug, Localized] = Field(default_factory=dict)
    # The product card's photo, e.g. an https URL.
    photo: Text | None = None
    # Other names shoppers use for it.
    synonyms: LocalizedList = Field(default_factory=LocalizedList)
    # What a shopper chooses: any number, any names.
    options: list[Option] = Field(default_factory=list)
    # The combinations the shop sells, each with its own stock.
    variants: list[Variant] = Field(default_factory=list)
    # Delivered without shipping (a gift card, a course): no address is asked for it.
    digital: bool = False
    # Its price in Telegram Stars, for a digital product: paid in Stars when a cart holds
    # only such products.
    stars: int | None = Field(None, ge=1, le=100_000)

    @field_validator("price", mode="before")
    @classmethod
    def _price_is_number(cls, value: Any) -> Any:
        return _price(value)

    @model_validator(mode="after")
    def _stars_for_digital(self) -> Product:
        if self.stars is not None and not self.digital:
            raise ValueError("stars: only a digital product (digital: true) is sold for "
                             "Telegram Stars")
        return self

    @model_validator(mode="after")
    def _variants_fit_options(self) -> Product:
        problems: list[str] = []
        _unique("options", [o.id for o in self.options], problems)
        names = [o.id for o in self.options]
        seen: set[tuple[str, ...]] = set()
        for j, variant in enumerate(self.variants):
            where = f"variants.{j}.options"
            for name, value in variant.options.items():
                option = self.option(name)
                if option is None:
                    problems.append(f"{where}.{name}: the product has no option {name!r}"
                                    f" (options: {', '.join(names) or 'none'})")
                elif option.value(value) is None:
                    problems.append(f"{where}.{name}: {value!r} is not one of its values"
                                    f" ({', '.join(v.id for v in option.values)})")
            missing = [n for n in names if n not in variant.options]
            if missing:
                problems.append(f"{where}: names no value of {', '.join(missing)}")
            combination = tuple(variant.options.get(n, "") for n in names)
            if combination in seen:
                problems.append(f"{where}: the same combination as an earlier variant")
            seen.add(combination)
            if variant.price is None and self.price is None:
                problems.append(f"variants.{j}.price: is required when the product has no"
                                " price")
        if not self.variants and self.price is None:
            problems.append("price: is required")
        if self.variants and self.stock is not None:
            problems.append("stock: a product with variants keeps its stock in each variant")
        if problems:
            raise ValueError("\n".join(problems))
        return self

    def option(self, option_id: str) -> Option | None:
        return next((o for o in self.options if o.id == option_id), None)

    def price_of(self, variant: Variant | None) -> Decimal:
        found = variant.price if variant is not None and variant.price else self.price
        assert found is not None  # validated: a product or each of its variants has a price
        return found

    @property
    def prices(self) -> tuple[Decimal, ...]:
        """Every price it sells at, lowest first."""
        if not self.variants:
            return (self.price_of(None),)
        return tuple(sorted({self.price_of(v) for v in self.variants}))

    @property
    def in_stock(self) -> bool:
        if self.variants:
            return any(v.stock > 0 for v in self.variants)
        return self.stock is None or self.stock > 0


class WorkingHours(_Model):
    """Opening hours per weekday; a day left out is a day off."""

    days: dict[str, tuple[time, time] | None]

    @model_validator(mode="before")
    @classmethod
    def _parse(cls, value: Any) -> Any:
        if isinstance(value, WorkingHours):
            return {"days": value.days}
        if isinstance(value, dict) and set(value) == {"days"} and isinstance(value["days"], dict):
            return value  # already parsed (a dumped model read back)
        if not isinstance(value, dict):
            raise ValueError("working_hours maps mon..sun to \"HH:MM-HH:MM\" or closed")
        days: dict[str, tuple[time, time] | None] = {}
        for day, spec in value.items():
            key = str(day).lower()[:3]
            if key not in WEEKDAYS:
                raise ValueError(f"unknown weekday {day!r} (use mon, tue, wed, thu, fri, sat, sun)")
            if spec in (None, False) or str(spec).strip().lower() in ("closed", "off", "-"):
                days[key] = None
                continue
            match = _HOURS.match(str(spec).replace(" ", ""))
            if not match:
                raise ValueError(f"{day}: {spec!r} is not \"HH:MM-HH:MM\" or closed")
            h1, m1, h2, m2 = (int(g) for g in match.groups())
            start = time(h1, m1)
            end = time.max if (h2, m2) == (24, 0) else time(h2 % 24, m2)
            if end <= start:
                raise ValueError(f"{day}: closing time {spec!r} is not after opening time")
            days[key] = (start, end)
        return {"days": days}

    def hours_on(self, day: datetime) -> tuple[time, time] | None:
        return self.days.get(WEEKDAYS[day.weekday()])

    def is_open(self, now: datetime) -> bool:
        hours = self.hours_on(now)
        return hours is not None and hours[0] <= now.time() < hours[1]

    def next_opening(self, now: datetime) -> datetime | None:
        """When staff are next at work (None when the shop never opens)."""
        for offset in range(8):
            day = (now + timedelta(days=offset)).replace(hour=0, minute=0, second=0, microsecond=0)
            hours = self.hours_on(day)
            if hours is None:
                continue
            opening = day.replace(hour=hours[0].hour, minute=hours[0].minute)
            if opening > now:
                return opening
        return None


class Voice(_Model):
    """What makes the shop's refusals warm, in its own words. Each is optional: without one,
    the bot says something neutral from its catalogues."""

    fair_price: Localized | None = None  # why the price is what it is
    instead_of_discount: Localized | None = None  # what the shop does instead of discounts
    gift_reason: Localized | None = None  # why the small gift is given


class Override(_Model):
    """A message in the shop's own words (`texts:`), in all four languages. Placeholders and
    which messages take which: bot/core/overrides.py."""

    message: str = Field("", exclude=True)  # the key it is under (`Shop._name_overrides`)
    # The message in English.
    en: Text
    # In Russian.
    ru: Text
    # In Simplified Chinese.
    zh_hans: Text = Field(alias="zh-hans")
    # In Traditional Chinese.
    zh_hant: Text = Field(alias="zh-hant")

    @model_validator(mode="before")
    @classmethod
    def _known_and_complete(cls, value: Any) -> Any:
        from bot.core import overrides

        if not isinstance(value, dict):
            raise ValueError(f"give the text in each language: {', '.join(LANGUAGES)}")
        problem = overrides.unknown(str(value.get("message", "")))
        if problem is not None:
            raise ValueError(problem)
        given = set(value) - {"message"}
        missing = [lang for lang in LANGUAGES if lang not in given]
        strange = sorted(str(key) for key in given - set(LANGUAGES))
        if missing or strange:
            said = [f"no {', '.join(missing)}"] if missing else []
            said += [f"{', '.join(strange)} is not a language"] if strange else []
            raise ValueError(f"{'; '.join(said)} (an override is written in all four "
                             f"languages: {', '.join(LANGUAGES)})")
        return value

    @field_validator("en", "ru", "zh_hans", "zh_hant")
    @classmethod
    def _placeholders(cls, text: str, info: Any) -> str:
        from bot.core import overrides

        problem = overrides.problem(info.data.get("message", ""), text)
        if problem is not None:
            raise ValueError(problem)
        return text

    def get(self, lang: Lang) -> str:
        return {"en": self.en, "ru": self.ru, "zh-hans": self.zh_hans,
                "zh-hant": self.zh_hant}[lang]


class Shop(_Model):
    # The shop's identifier; the default Redis prefix is shopbot:<id>.
    id: Slug
    # Used in greetings and farewells.
    name: Localized
    # Fallback for shop texts missing in a language.
    default_language: Literal["en", "ru", "zh-hans", "zh-hant"] = "en"
    # An IANA zone name (Europe/Moscow): hours and time of day are reckoned in it.
    timezone: str = "UTC"
    # An ISO 4217 code (RUB, CNY): prices are shown in it.
    currency: str = "USD"
    # When staff are at work; left out: no hours shown, never "away".
    working_hours: WorkingHours = Field(default_factory=dict, validate_default=True)  # type: ignore[arg-type]
    # Shown by Contacts and hours, and when the bot hands over.
    contacts: Localized | None = None
    # Shown by How to order (default: a generic text).
    order_instructions: Localized | None = None
    # Adds an "Order on our website" button to How to order.
    order_url: Text | None = None
    # Discounts, shipping and a gift: the bargaining ladder.
    policy: Policy = Field(default_factory=Policy)
    # Tags the bot gives by itself, and the review link.
    loyalty: Loyalty = Field(default_factory=Loyalty)
    voice: Voice = Field(default_factory=Voice)  # the shop's own words for holding the price
    texts: dict[str, Override] = Field(default_factory=dict)  # messages in its own words

    @field_validator("texts", mode="before")
    @classmethod
    def _name_overrides(cls, value: Any) -> Any:
        """Each override is told the message it is under, for its checks."""
        if not isinstance(value, dict):
            return value
        return {key: {**text, "message": str(key)} if isinstance(text, dict) else text
                for key, text in value.items()}
    # Colour names that variants of older shop files refer to (color:).
    colors: dict[Slug, Localized] = Field(default_factory=dict)
    # The catalogue's categories.
    categories: list[Category] = Field(default_factory=list)
    # Questions and answers, for the faq intent.
    faq: list[FaqEntry] = Field(default_factory=list)
    # The catalogue.
    products: list[Product] = Field(default_factory=list)
    # The shop's own cues per intent and language, added to bot/nlu/intent_phrases.yaml.
    phrases: dict[str, LocalizedList] = Field(default_factory=dict)
    # Names for options the products leave unnamed, by option id (e.g. size: {en: Sizes,
    # ru: Размеры, ...}); an option with neither is shown by its id.
    option_names: dict[Slug, Localized] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _sizes_and_colours_are_options(cls, data: Any) -> Any:
        """Older shop files give variants a `size` and a `color` (an id under `colors`):
        they become the product's two options, in the order the variants name them. An
        option with no name of its own takes the shop's `option_names` one."""
        if not isinstance(data, dict) or not isinstance(data.get("products"), list):
            return data
        colors = data.get("colors") if isinstance(data.get("colors"), dict) else {}
        products, unknown = [], []
        for i, product in enumerate(data["products"]):
            variants = product.get("variants") if isinstance(product, dict) else None
            if not isinstance(variants, list) or "options" in product or not any(
                    isinstance(v, dict) and ("size" in v or "color" in v) for v in variants):
                products.append(_named(product, data))
                continue
            unknown += [f"products.{i}.variants.{j}.color: unknown colour {v['color']!r}"
                        " (add it under colors)" for j, v in enumerate(variants)
                        if isinstance(v, dict) and v.get("color") is not None
                        and str(v["color"]) not in colors]
            options = []
            for name in ("size", "color"):
                values = list(dict.fromkeys(str(v[name]) for v in variants
                                            if isinstance(v, dict) and v.get(name) is not None))
                if values:
                    options.append({"id": name, "values": [
                        {"id": value, "name": colors.get(value, value)}
                        if name == "color" else value for value in values]})
            products.append(_named({**product, "options": options}, data))
        if unknown:
            raise ValueError("\n".join(unknown))
        return {**data, "products": products}

    @field_validator("phrases")
    @classmethod
    def _known_intents(cls, value: dict[str, LocalizedList]) -> dict[str, LocalizedList]:
        unknown = sorted(set(value) - set(INTENTS))
        if unknown:
            raise ValueError(f"unknown intent {unknown[0]!r} (one of: {', '.join(INTENTS)})")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r} (use a name like Europe/Moscow)"
            ) from None
        return value

    @field_validator("currency")
    @classmethod
    def _known_currency(cls, value: str) -> str:
        code = value.strip().upper()
        if not re.fullmatch(r"[A-Z]{3}", code) or get_currency_name(code, locale="en") == code:
            raise ValueError(
                f"unknown currency {value!r} (use an ISO 4217 code like RUB, USD, CNY)"
            )
        return code

    @model_validator(mode="after")
    def _references(self) -> Shop:
        problems: list[str] = []
        _unique("categories", [c.id for c in self.categories], problems)
        _unique("products", [p.id for p in self.products], problems)
        _unique("faq", [f.id for f in self.faq], problems)
        categories = {c.id for c in self.categories}
        for i, product in enumerate(self.products):
            if product.category not in categories:
                problems.append(
                    f"products.{i}.category: unknown category {product.category!r}"
                )
        if problems:
            raise ValueError("\n".join(problems))
        return self

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def text(self, value: Localized | None, lang: Lang) -> str | None:
        return value.get(lang, self.default_language) if value is not None else None

    def product(self, product_id: str) -> Product | None:
        return next((p for p in self.products if p.id == product_id), None)


def _named(product: Any, data: dict[str, Any]) -> Any:
    """The product with its unnamed options named from the shop's `option_names`."""
    names = data.get("option_names")
    if not isinstance(names, dict) or not isinstance(product, dict) \
            or not isinstance(product.get("options"), list):
        return product
    return {**product, "options": [
        {**o, "name": names[o["id"]]} if isinstance(o, dict) and not o.get("name")
        and o.get("id") in names else o for o in product["options"]]}


def _unique(field: str, ids: list[str], problems: list[str]) -> None:
    seen: set[str] = set()
    for i, value in enumerate(ids):
        if value in seen:
            problems.append(f"{field}.{i}.id: duplicate id {value!r}")
        seen.add(value)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a shop file, where it is and what to do."""

    field: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line else ""
        return f"{where}{self.field or '(top level)'}: {self.message}"


class ShopFileError(Exception):
    def __init__(self, path: Path, problems: list[Problem]) -> None:
        super().__init__(f"{path}: {len(problems)} problem(s)")
        self.path = path
        self.problems = problems

    def lines(self) -> list[str]:
        return [f"{self.path}: {problem}" for problem in self.problems]


def load_shop(path: Path | str) -> Shop:
    """Read and validate a shop file; ShopFileError lists every problem with its line."""
    path = Path(path)
    try:
        source = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ShopFileError(path, [Problem("", f"cannot read the file: {exc.strerror}")]) from None
    except UnicodeDecodeError:
        raise ShopFileError(path, [Problem("", "the file is not UTF-8 text")]) from None
    return parse_shop(source, path)


def parse_shop(source: str, path: Path | str = "<shop>") -> Shop:
    path = Path(path)
    try:
        node = yaml.compose(source, Loader=yaml.SafeLoader)
        data = yaml.safe_load(source)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        reason = getattr(exc, "problem", None) or str(exc)
        raise ShopFileError(path, [Problem("", f"not valid YAML: {reason}", line)]) from None
    if not isinstance(data, dict):
        raise ShopFileError(path, [Problem("", "the shop file must be a mapping of fields")])
    try:
        return Shop.model_validate(data)
    except ValidationError as exc:
        problems = _problems(exc, node)
        raise ShopFileError(path, sorted(problems, key=lambda p: p.line or 0)) from None


def _problems(exc: ValidationError, root: yaml.Node | None) -> list[Problem]:
    problems: list[Problem] = []
    for error in exc.errors(include_url=False):
        loc = [str(part) for part in error["loc"]]
        message = error["msg"].removeprefix("Value error, ")
        if error["type"] == "missing":
            message = "is required"
        elif error["type"] == "extra_forbidden":
            message = "is not a known field (check the spelling)"
        # Cross-reference errors carry their own dotted path, one per line.
        for part in message.split("\n"):
            field, _, text = part.partition(": ")
            if text and re.fullmatch(r"[\w.-]+", field) and "." in field:
                # A path from the top of the file, or from where the error was raised.
                path = field.split(".")
                if path[0] not in Shop.model_fields:
                    path = [p for p in loc if p != "function-after[_references()]"] + path
                problems.append(Problem(".".join(path), text, _line_of(root, path)))
            else:
                problems.append(Problem(".".join(loc), part, _line_of(root, loc)))
    return problems


def _line_of(node: yaml.Node | None, loc: list[str]) -> int | None:
    """The line of the deepest YAML node along a pydantic error location."""
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        child = None
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if str(key.value) == part:
                    child = value
                    line = key.start_mark.line + 1
                    break
        elif isinstance(node, yaml.SequenceNode) and part.isdigit() and int(part) < len(node.value):
            child = node.value[int(part)]
            line = child.start_mark.line + 1
        if child is None:
            break
        node = child
    return line
