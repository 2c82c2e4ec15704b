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

from bot.languages import LANGUAGES, Lang

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
    name: Localized
    stock: int = Field(ge=0)
    per_customer: int = Field(1, ge=1)


class Policy(_Model):
    discounts: bool = False
    coupon: Text | None = None
    free_shipping_threshold: Decimal | None = Field(None, gt=0)
    shipping_cost: Decimal | None = Field(None, ge=0)
    gift: Gift | None = None

    @model_validator(mode="after")
    def _coupon_when_discounts(self) -> Policy:
        if self.discounts and not self.coupon:
            raise ValueError("discounts: true needs a coupon to give")
        return self


class Loyalty(_Model):
    """Tags the bot gives customers by itself (staff add their own with /tag)."""

    regular_after: int | None = Field(3, ge=1)  # paid orders that make a customer "regular"
    vip_above: Decimal | None = Field(None, gt=0)  # total paid that makes one "vip"
    review_url: Text | None = None  # where a happy customer may leave a review


class Category(_Model):
    id: Slug
    name: Localized


class FaqEntry(_Model):
    id: Slug
    question: Localized
    answer: Localized
    keywords: LocalizedList = Field(default_factory=LocalizedList)


class Variant(_Model):
    size: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)] | None = None
    color: Slug | None = None
    stock: int = Field(ge=0)


class Product(_Model):
    id: Slug
    category: Slug
    name: Localized
    description: Localized | None = None
    price: Decimal = Field(gt=0)
    material: Localized | None = None
    attributes: dict[Slug, Localized] = Field(default_factory=dict)
    photo: Text | None = None
    synonyms: LocalizedList = Field(default_factory=LocalizedList)
    variants: list[Variant] = Field(default_factory=list)

    @field_validator("price", mode="before")
    @classmethod
    def _price_is_number(cls, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
            raise ValueError("price must be a number")
        try:
            return Decimal(str(value).strip())
        except ArithmeticError:
            raise ValueError("price must be a number") from None

    @property
    def in_stock(self) -> bool:
        return any(v.stock > 0 for v in self.variants) if self.variants else True


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


class Shop(_Model):
    id: Slug
    name: Localized
    default_language: Literal["en", "ru", "zh-hans", "zh-hant"] = "en"
    timezone: str = "UTC"
    currency: str = "USD"
    working_hours: WorkingHours = Field(default_factory=dict, validate_default=True)  # type: ignore[arg-type]
    contacts: Localized | None = None
    order_instructions: Localized | None = None
    order_url: Text | None = None
    policy: Policy = Field(default_factory=Policy)
    loyalty: Loyalty = Field(default_factory=Loyalty)
    voice: Voice = Field(default_factory=Voice)  # the shop's own words for holding the price
    colors: dict[Slug, Localized] = Field(default_factory=dict)
    categories: list[Category] = Field(default_factory=list)
    faq: list[FaqEntry] = Field(default_factory=list)
    products: list[Product] = Field(default_factory=list)
    # The shop's own cues per intent and language, added to bot/intent_phrases.yaml.
    phrases: dict[str, LocalizedList] = Field(default_factory=dict)

    @field_validator("phrases")
    @classmethod
    def _known_intents(cls, value: dict[str, LocalizedList]) -> dict[str, LocalizedList]:
        from bot.intents import INTENTS

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
            for j, variant in enumerate(product.variants):
                if variant.color is not None and variant.color not in self.colors:
                    problems.append(
                        f"products.{i}.variants.{j}.color: unknown colour {variant.color!r}"
                        " (add it under colors)"
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
                problems.append(Problem(field, text, _line_of(root, field.split("."))))
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
