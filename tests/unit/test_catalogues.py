"""Every text a shopper can see exists in all four languages, and formats as they expect."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from bot import DEMO_SHOP, LOCALES_DIR, PROJECT_DIR, TEMPLATES_DIR
from bot.core.languages import CATALOGUE_DIRS, LANGUAGES, from_telegram
from bot.core.shop import load_shop, parse_shop
from handlers.i18n import Formatter, load_catalogues
from handlers.texts import Texts


def source_messages() -> set[str | tuple[str, ...]]:
    """What the code and templates ask to translate, extracted as `make extract` does."""
    method_map = [("bot/**.py", "python"), ("handlers/**.py", "python"),
                  ("templates/**.j2", "jinja2")]
    found = extract_from_dir(str(PROJECT_DIR), method_map=method_map)
    return {message for _, _, message, _, _ in found}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_message_is_translated(lang: str) -> None:
    path = LOCALES_DIR / CATALOGUE_DIRS[lang] / "LC_MESSAGES" / "messages.po"  # type: ignore[index]
    with path.open("rb") as po:
        catalog = read_po(po)
    missing = []
    for message in source_messages():
        msgid = message[0] if isinstance(message, tuple) else message
        entry = catalog.get(msgid)
        strings = entry.string if entry is not None else None
        values = list(strings) if isinstance(strings, tuple | list) else [strings]
        if entry is None or entry.fuzzy or not all(values):
            missing.append(msgid)
        elif isinstance(message, tuple):
            assert len(values) == catalog.num_plurals, msgid
    assert not missing, f"{lang}: untranslated: {missing}"
    assert len(source_messages()) > 30  # the extraction itself found the templates


@pytest.mark.parametrize(
    ("code", "lang"),
    [("en", "en"), ("en-US", "en"), ("ru", "ru"), ("RU", "ru"), ("zh-hans", "zh-hans"),
     ("zh-cn", "zh-hans"), ("zh-sg", "zh-hans"), ("zh", "zh-hans"), ("zh-hant", "zh-hant"),
     ("zh-tw", "zh-hant"), ("zh-hk", "zh-hant"), ("zh-mo", "zh-hant"), ("de", "en"),
     ("uk", "en"), (None, "en"), ("", "en")],
)
def test_telegram_language_codes(code: str | None, lang: str) -> None:
    assert from_telegram(code) == lang


@pytest.mark.parametrize(
    ("lang", "expected"),
    [("en", "RUB3,490"), ("ru", "3\xa0490\xa0₽"), ("zh-hans", "RUB3,490"),
     ("zh-hant", "RUB3,490")],
)
def test_prices_follow_the_shoppers_locale(lang: str, expected: str) -> None:
    assert Formatter(lang, "RUB").money(3490) == expected  # type: ignore[arg-type]


def test_prices_keep_kopecks_when_there_are_some() -> None:
    assert Formatter("ru", "RUB").money(Decimal("99.50")) == "99,50\xa0₽"
    assert Formatter("en", "USD").money(Decimal("12.5")) == "US$12.50"


def test_dates_follow_the_shoppers_locale() -> None:
    moment = datetime(2026, 11, 27, 10, 0, tzinfo=ZoneInfo("Europe/Moscow"))
    assert Formatter("ru", "RUB").day(moment) == "27 ноября"
    assert Formatter("en", "RUB").day(moment) == "27 November"
    assert Formatter("zh-hans", "RUB").day(moment) == "11月27日"


@pytest.mark.parametrize(("hours", "phrase"),
                         [(1, "через 1 час"), (3, "через 3 часа"), (5, "через 5 часов"),
                          (11, "через 11 часов"), (21, "через 21 час")])
def test_russian_plurals(hours: int, phrase: str) -> None:
    texts = Texts(TEMPLATES_DIR, load_catalogues(LOCALES_DIR), "RUB")
    back = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Europe/Moscow"))
    offline = {"back": back, "hours": hours, "minutes": None, "today": True, "tomorrow": False}
    text = texts.render("greeting", "ru", shop=load_shop(DEMO_SHOP), name="Анна", part="morning",
                        returning=False, again=False, offline=offline)
    assert phrase in text


def test_values_from_users_are_escaped_but_translations_keep_their_markup() -> None:
    texts = Texts(TEMPLATES_DIR, load_catalogues(LOCALES_DIR), "RUB")
    shop = parse_shop("id: tiny\nname: <i>Shop</i>\n")
    text = texts.render("farewell", "en", shop=shop, name="<b>&", part="morning")
    assert "&lt;b&gt;&amp;" in text and "<b>" not in text
    assert "&lt;i&gt;Shop&lt;/i&gt;" in text
