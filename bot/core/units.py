"""Quantities with units, as shops write their option values ("250 g", "0,5 л", "1斤",
"128 GB") and as shoppers write them ("250g", "250 grams", "четверть кило", "半斤").

Each quantity is reduced to an amount of a base unit per dimension (grams, millilitres,
millimetres, gigabytes), so "0.25 kg", "250 g" and "半斤" are equal. A written unit may
be read in two dimensions ("128g": grams or gigabytes); the caller keeps the reading that
fits the product. Hand-written rather than a units library: the work is reading the four
languages' spellings (Russian cases, Chinese numerals, "полкило"), which no such library
does, and the table of units a shop sells by is short.

Pure functions over folded text (lower case, Chinese in simplified characters).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache


@dataclass(frozen=True)
class Quantity:
    dimension: str  # mass, volume, length, data
    amount: Decimal  # in the dimension's base unit: g, ml, mm, GB

    def same(self, other: Quantity) -> bool:
        if self.dimension != other.dimension:
            return False
        larger = max(abs(self.amount), abs(other.amount)) or Decimal(1)
        return abs(self.amount - other.amount) <= larger * Decimal("0.001")


# unit as written -> (dimension, base units per unit). Russian forms are stems: "грамм"
# also reads "граммов", "грамма". Chinese units are whole characters.
_UNITS: dict[str, tuple[tuple[str, str], ...]] = {}


def _add(dimension: str, factor: str, *spellings: str) -> None:
    for spelling in spellings:
        _UNITS[spelling] = (*_UNITS.get(spelling, ()), (dimension, factor))


_add("mass", "0.001", "mg", "мг", "миллиграмм", "毫克")
_add("mass", "1", "g", "gr", "gram", "grams", "gramme", "grammes", "г", "гр", "грамм", "克",
     "公克")
_add("mass", "1000", "kg", "kgs", "kilo", "kilos", "kilogram", "kilograms", "kilogramme",
     "кг", "кило", "килограмм", "公斤", "千克")
_add("mass", "500", "斤", "市斤")
_add("mass", "50", "两")
_add("mass", "453.592", "lb", "lbs", "pound", "pounds", "фунт", "磅")
_add("mass", "28.3495", "oz", "ounce", "ounces", "унция", "унции", "унций", "盎司")
_add("volume", "1", "ml", "milliliter", "milliliters", "millilitre", "millilitres", "мл",
     "миллилитр", "毫升")
_add("volume", "10", "cl", "centiliter", "centilitre")
_add("volume", "1000", "l", "liter", "liters", "litre", "litres", "ltr", "л", "литр", "升",
     "公升")
_add("length", "1", "mm", "millimeter", "millimeters", "millimetre", "мм", "миллиметр", "毫米")
_add("length", "10", "cm", "centimeter", "centimeters", "centimetre", "см", "сантиметр",
     "厘米", "公分")
_add("length", "1000", "m", "meter", "meters", "metre", "metres", "м", "метр", "米")
_add("length", "25.4", "inch", "inches", '"', "дюйм", "英寸", "吋", "寸")
_add("data", "0.001", "mb", "мб", "мегабайт")
_add("data", "1", "gb", "gig", "gigs", "gigabyte", "gigabytes", "гб", "гиг", "гига",
     "гигабайт", "g")
_add("data", "1000", "tb", "terabyte", "terabytes", "тб", "тера", "терабайт")

# Words that name a dimension rather than an amount ("what do the weights cost?", "各種重量",
# "какой объём?"): they name the option whose values are amounts of it. Folded text:
# lower case, simplified Chinese.
DIMENSION_WORDS: dict[str, re.Pattern[str]] = {
    "mass": re.compile(r"\bweights?\b|(?<![а-я])вес(?:а|ом|у)?(?![а-я])|重量|净重|多重"),
    "volume": re.compile(r"\bvolumes?\b|\bsizes? of the bottle|(?<![а-я])объ[её]м[а-я]*|容量|容积"),
    "length": re.compile(r"\blengths?\b|(?<![а-я])длин[а-я]*|长度|多长"),
    "data": re.compile(r"\bstorage\b|\bmemory\b|(?<![а-я])памят[а-я]*|内存|容量"),
}

# Russian case endings after a stem above: "граммов", "литра", "гигов", "килограммах".
_RU_ENDINGS = ("", "а", "ов", "ах", "ам", "ы", "е", "у", "ом")

_NUMBER_WORDS = {
    "a": "1", "an": "1", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5",
    "half": "0.5", "quarter": "0.25",
    "один": "1", "одна": "1", "одну": "1", "два": "2", "две": "2", "три": "3", "четыре": "4",
    "пять": "5", "полтора": "1.5", "полторы": "1.5", "половина": "0.5", "половину": "0.5",
    "пол": "0.5", "четверть": "0.25",
}
_CN_DIGITS = {"零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7,
              "八": 8, "九": 9}

_CN_UNITS = "|".join(sorted((u for u in _UNITS if re.match(r"[\u4e00-\u9fff]", u)),
                            key=len, reverse=True))
_WORD_UNITS = "|".join(sorted((re.escape(u) for u in _UNITS
                               if not re.match(r"[\u4e00-\u9fff]", u)), key=len, reverse=True))
# A number, then (maybe after a space or a hyphen) a unit that ends a word. Chinese may
# come right before the number ("蓝色512gb").
_DIGITS = re.compile(
    rf"(?<![a-zа-я0-9_.,])(\d+(?:[.,]\d+)?|\d*[.,]\d+)\s*-?\s*((?:{_WORD_UNITS})[а-я]*|{_CN_UNITS})"
    rf"(?![a-z])")
# A number, "and"/"or", then a number with its unit: the first number is in that unit too.
_LISTED = re.compile(
    rf"(?<![a-zа-я0-9_.,])(\d+(?:[.,]\d+)?)\s*(?:и|или|and|or|/|和|或|或者|还是|還是)\s*"
    rf"\d+(?:[.,]\d+)?\s*-?\s*((?:{_WORD_UNITS})[а-я]*|{_CN_UNITS})(?![a-z])")
# A number word, then a unit word: "half a kilo", "два литра", "полтора кило".
_SPELT = re.compile(
    rf"(?<![\w])({'|'.join(sorted(_NUMBER_WORDS, key=len, reverse=True))})"
    rf"(?:\s+(?:a|an|of|of a))?\s*-?\s*((?:{_WORD_UNITS})[а-я]*)(?![a-z])")
# "полкило", "поллитра", "пол-литра" as one word.
_HALF_WORD = re.compile(r"(?<![а-я])пол-?\s?(кило|литр[а-я]*|килограмм[а-я]*)")
# Russian says one unit as an adjective: "литровый улун", "пол-литровую", "килограммовый".
_RU_ADJECTIVE = re.compile(r"(?<![а-я])(пол-?|полу)?(литров|килограммов|граммов)"
                           r"(?:ый|ая|ое|ые|ую|ого|ой|ых|ым|ом)(?![а-я])")
# Chinese numerals before a Chinese unit: 半斤, 一斤, 两斤, 二两, 半公斤, 一升.
_CN = re.compile(rf"([零一二两三四五六七八九十半]+|\d+(?:\.\d+)?)(?:个)?({_CN_UNITS})")
# A bare Russian unit noun for one of it: "а кило жареных?", "литр есть?" ("a kilo" and
# "один литр" are read with their number word).
_BARE = re.compile(r"(?<![а-я0-9.,])(кило|килограмм|литр)(?:а|ов)?(?![а-я])")


@dataclass(frozen=True)
class Written:
    """A quantity as a message writes it, with every way it may be read."""

    text: str
    readings: tuple[Quantity, ...]


def quantities(folded: str) -> tuple[Written, ...]:
    """Every quantity written in a message, in order."""
    return _quantities(folded)


@lru_cache(maxsize=4096)
def _quantities(folded: str) -> tuple[Written, ...]:
    found: list[tuple[int, Written]] = []
    taken: list[tuple[int, int]] = []

    def keep(start: int, end: int, readings: tuple[Quantity, ...]) -> None:
        if readings and not any(s < end and start < e for s, e in taken):
            taken.append((start, end))
            found.append((start, Written(folded[start:end].strip(), readings)))

    for match in _HALF_WORD.finditer(folded):
        keep(match.start(), match.end(), _readings(Decimal("0.5"), match.group(1)))
    for match in _RU_ADJECTIVE.finditer(folded):
        unit = {"литров": "литр", "килограммов": "кг", "граммов": "г"}[match.group(2)]
        keep(match.start(), match.end(),
             _readings(Decimal("0.5") if match.group(1) else Decimal(1), unit))
    for match in _CN.finditer(folded):
        number = _chinese_number(match.group(1))
        if number is not None:
            keep(match.start(), match.end(), _readings(number, match.group(2)))
    for match in _LISTED.finditer(folded):
        # "50 и 100 мл", "250 or 500 g": the first number takes the unit that follows.
        keep(match.start(1), match.end(1), _readings(_decimal(match.group(1)), match.group(2)))
    for match in _DIGITS.finditer(folded):
        keep(match.start(), match.end(),
             _readings(_decimal(match.group(1)), match.group(2)))
    for match in _SPELT.finditer(folded):
        keep(match.start(), match.end(),
             _readings(Decimal(_NUMBER_WORDS[match.group(1)]), match.group(2)))
    for match in _BARE.finditer(folded):
        if not re.search(r"\d\s*$", folded[:match.start()]):  # "2 кило" is read above
            keep(match.start(), match.end(), _readings(Decimal(1), match.group(1)))
    return tuple(written for _, written in sorted(found, key=lambda item: item[0]))


def quantity(value: str) -> Quantity | None:
    """The quantity an option value is, when it is exactly one ("250 g", "1斤", "0,5 л");
    None for anything else ("dark roast", "M")."""
    from bot.core.textproc import fold

    folded = fold(value).strip()
    found = _quantities(folded)
    if len(found) != 1:
        return None
    # The whole value is the quantity: nothing but it (and spaces) is written.
    rest = _DIGITS.sub("", _CN.sub("", _HALF_WORD.sub("", _SPELT.sub("", _RU_ADJECTIVE.sub(
        "", folded))))).strip()
    if rest:
        return None
    # "128 g" in a shop file is grams: of a unit read two ways, the first reading.
    return found[0].readings[0]


def _readings(number: Decimal | None, unit: str) -> tuple[Quantity, ...]:
    if number is None:
        return ()
    for ending in _RU_ENDINGS:
        if ending and not unit.endswith(ending):
            continue
        base = unit[: len(unit) - len(ending)] if ending else unit
        if base in _UNITS:
            return tuple(Quantity(dimension, number * Decimal(factor))
                         for dimension, factor in _UNITS[base])
    return ()


def _decimal(text: str) -> Decimal | None:
    try:
        return Decimal(text.replace(",", "."))
    except InvalidOperation:
        return None


def _chinese_number(text: str) -> Decimal | None:
    if text[0].isdigit():
        return _decimal(text)
    if text == "半":
        return Decimal("0.5")
    half = text.endswith("半") and len(text) > 1
    text = text.removesuffix("半") if half else text
    if text == "十":
        value = 10
    elif "十" in text:
        tens, _, ones = text.partition("十")
        value = _CN_DIGITS.get(tens, 1) * 10 + (_CN_DIGITS.get(ones, 0) if ones else 0)
    elif all(c in _CN_DIGITS for c in text):
        value = int("".join(str(_CN_DIGITS[c]) for c in text))
    else:
        return None
    return Decimal(value) + (Decimal("0.5") if half else 0)
