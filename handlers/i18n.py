"""Gettext catalogues and Babel formatting for the shopper's language."""

from __future__ import annotations

import gettext
import io
import logging
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from babel import Locale
from babel.dates import format_skeleton, format_time, get_day_names
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency

from bot.core.languages import BABEL_LOCALES, CATALOGUE_DIRS, LANGUAGES, Lang

log = logging.getLogger(__name__)
DOMAIN = "messages"


def load_catalogues(locales_dir: Path) -> dict[Lang, gettext.NullTranslations]:
    """Compile every `.po` in memory with Babel.

    Compiling at start-up means a fresh clone, an edited `.po` or a forgotten `make compile`
    can never leave the bot running on stale or missing `.mo` files.
    """
    catalogues: dict[Lang, gettext.NullTranslations] = {}
    for lang in LANGUAGES:
        po_path = locales_dir / CATALOGUE_DIRS[lang] / "LC_MESSAGES" / f"{DOMAIN}.po"
        if not po_path.exists():
            log.warning("no catalogue for %s at %s: its texts fall back to English", lang, po_path)
            catalogues[lang] = gettext.NullTranslations()
            continue
        with po_path.open("rb") as po:
            catalog = read_po(po, locale=CATALOGUE_DIRS[lang])
        buffer = io.BytesIO()
        write_mo(buffer, catalog, use_fuzzy=False)
        buffer.seek(0)
        catalogues[lang] = gettext.GNUTranslations(buffer)
    return catalogues


class Formatter:
    """Prices, dates and times as a shopper of one language expects them."""

    def __init__(self, lang: Lang, currency: str) -> None:
        self.locale = Locale.parse(BABEL_LOCALES[lang])
        self.currency = currency

    def money(self, amount: Decimal | int | float) -> str:
        value = Decimal(str(amount))
        whole = value == value.to_integral_value()
        return format_currency(
            value, self.currency, locale=self.locale,
            format_type="standard", currency_digits=not whole,
            **({"format": self._whole_format()} if whole else {}),
        )

    def _whole_format(self) -> str:
        # Prices like 3490 read better without ",00"; keep the locale's own pattern otherwise.
        pattern = self.locale.currency_formats["standard"].pattern
        return pattern.replace(".00", "").replace(",00", "")

    def time(self, moment: datetime) -> str:
        return format_time(moment, "short", locale=self.locale)

    def day(self, moment: datetime) -> str:
        """Day and month, as in a sentence: '24 November', '24 ноября', '11月24日'."""
        return format_skeleton("MMMMd", moment, locale=self.locale)

    def weekday(self, index: int) -> str:
        """Weekday name for Monday=0 .. Sunday=6, standing alone (as in a timetable)."""
        return get_day_names("wide", context="stand-alone", locale=self.locale)[index]
