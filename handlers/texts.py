"""Everything a shopper reads is rendered here, from Jinja2 templates and gettext catalogues.

Templates call `_()` / `ngettext()` for every phrase, so Babel extracts them, and `pick()`
to choose one of several phrasings at random, so the bot does not sound like a machine.
Values are escaped for Telegram's HTML parse mode (autoescape); translations may hold tags.
A message the shop file words its own way (`texts:`) is rendered from that instead: see
bot/core/overrides.py; and one an owner worded in Telegram (/texts, /replies), kept in Redis
(bot/storage/own_texts.py), goes before both, in the languages it was worded in.
"""

from __future__ import annotations

import gettext
import random
import re
from collections.abc import Callable, Hashable, Mapping
from html import unescape
from pathlib import Path
from typing import Any, TypeVar

from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context
from jinja2.runtime import Context
from markupsafe import Markup, escape

from bot.core import overrides
from bot.core.languages import LANGUAGES, Lang
from bot.core.shop import Localized, Shop
from bot.storage.own_texts import Wording
from handlers.i18n import Formatter

_BLANK_LINES = re.compile(r"\n\s*\n\s*\n+")
_TAGS = re.compile(r"<[^>]+>")
# Things made from these texts and kept (`Texts.kept`): enough for every keyboard of a big
# catalogue in four languages; past it the oldest goes, so ids no other reply shares (an
# order's buttons) cannot grow it without end.
KEPT = 4096
T = TypeVar("T")


class Texts:
    def __init__(
        self,
        templates_dir: Path,
        catalogues: Mapping[Lang, gettext.NullTranslations],
        currency: str,
        rng: random.Random | None = None,
        default_lang: Lang = "en",
        shop: Shop | None = None,
    ) -> None:
        self._catalogues = catalogues
        self._rng = rng or random.Random()
        self.env = Environment(
            loader=FileSystemLoader(templates_dir),
            # Compiled once per process, as the catalogues are read once: both ship with the
            # code, and a reload of the shop file brings its `texts:`, never new templates.
            # Jinja2's default would stat the file at every render to see if it changed.
            auto_reload=False,
            autoescape=True,
            trim_blocks=True,
            lstrip_blocks=True,
            undefined=StrictUndefined,
            keep_trailing_newline=False,
        )
        self.env.globals.update(_=self._gettext, gettext=self._gettext, ngettext=self._ngettext,
                                pick=self._pick)
        self._formatters = {lang: Formatter(lang, currency) for lang in LANGUAGES}
        self.env.filters.update({name: self._formatting(name)
                                 for name in ("money", "time", "day", "weekday")})
        self._default_lang = default_lang
        self.env.filters["local"] = self._local
        self._buttons: dict[Lang, Any] = {}
        self._shop = shop  # its `texts:` override the templates
        self._kept: dict[Hashable, Any] = {}
        self._own = Wording()  # worded in Telegram: the latest version this process read
        self._templates = frozenset(name.removesuffix(".j2") for name in self.env.list_templates()
                                    if name.endswith(".j2"))

    def use_own(self, wording: Wording) -> None:
        """The texts worded in Telegram, as of their latest version."""
        self._own = wording
        self._kept.clear()

    def own(self, message: str, lang: Lang) -> tuple[str, str | None]:
        """Where `message`'s text in `lang` comes from, and the owner's text when there is
        one: `edited` (in Telegram), `file` (the shop file's texts:), `other` (a quick reply
        added in Telegram without this language: the shop's language's text, else the
        first written), `template`, or `none` (a quick reply with no text at all)."""
        worded = self._own.texts.get(message) or {}
        if lang in worded:
            return "edited", worded[lang]
        override = self._shop.texts.get(message) if self._shop is not None else None
        if override is not None:
            return "file", override.get(lang)
        if message in self._templates:
            return "template", None
        for other in (self._default_lang, *LANGUAGES):
            if other in worded:
                return "other", worded[other]
        return "none", None

    def canned_keys(self) -> list[str]:
        """The quick replies staff can send now (/reply KEY): the bundled ones, the shop
        file's and those added in Telegram, less those removed."""
        prefix = overrides.REPLIES
        found = {name for name in self._templates if name.startswith(prefix)}
        found |= {name for name in (self._shop.texts if self._shop is not None else ())
                  if name.startswith(prefix)}
        found |= {name for name, worded in self._own.texts.items()
                  if name.startswith(prefix) and worded}
        return sorted(key for name in found
                      if (key := name.removeprefix(prefix)) not in self._own.hidden)

    def fill(self, text: str, lang: Lang, /, **context: Any) -> str:
        """An owner's text as a message with it reads: placeholders filled from `context`
        (a preview's sample values), escaped for Telegram."""
        return _BLANK_LINES.sub("\n\n", str(self._override(text, lang, context))).strip()

    def use_shop(self, currency: str, default_lang: Lang, shop: Shop | None = None) -> None:
        """Prices, fallbacks and the owner's own texts of a reloaded shop file."""
        self._formatters = {lang: Formatter(lang, currency) for lang in LANGUAGES}
        self._default_lang = default_lang
        self._shop = shop
        self._kept.clear()  # made with the old shop's prices and fallbacks

    def kept(self, key: Hashable, make: Callable[[], T]) -> T:
        """What `make()` returns, made once for `key` while this shop's texts last: for
        what is made the same way again and again from texts that do not pick at random
        (a keyboard: its labels, its packed buttons). Whoever takes it must not change it."""
        if key in self._kept:
            return self._kept[key]  # type: ignore[no-any-return]
        if len(self._kept) >= KEPT:
            del self._kept[next(iter(self._kept))]
        made = self._kept[key] = make()
        return made

    def render(self, template: str, lang: Lang, /, **context: Any) -> str:
        """A whole message: `templates/<template>.j2` in the shopper's language, or the text
        an owner worded in Telegram, or the shop file's own text for it."""
        # A dictionary lookup or two: no message waits on Redis for the owner's texts.
        if template in self._own.texts or template not in self._templates:
            own = self.own(template, lang)[1]
        else:
            override = self._shop.texts.get(template) if self._shop is not None else None
            own = override.get(lang) if override is not None else None
        if own is not None:
            text: str = self._override(own, lang, context)
        else:
            text = self.env.get_template(f"{template}.j2").render(lang=lang, **context)
        return _BLANK_LINES.sub("\n\n", text).strip()

    def _override(self, text: str, lang: Lang, context: dict[str, Any]) -> Markup:
        def local(value: Localized | None) -> str:
            return value.get(lang, self._default_lang) if value is not None else ""

        def away() -> Markup:
            return Markup(self.env.get_template("_offline.j2").render(lang=lang, **context)
                          ).strip()

        source = overrides.Source(context, context.get("shop") or self._shop, local,
                                  self._formatters[lang].money, away,
                                  day=self._formatters[lang].day)
        return overrides.fill(text, source)

    def label(self, macro: str, lang: Lang, /, **context: Any) -> str:
        """A button label: the macro `macro` of `templates/buttons.j2`."""
        module = self._buttons.get(lang)
        if module is None:  # built once per language: building it is most of a label's cost
            module = self._buttons[lang] = self.env.get_template("buttons.j2").make_module(
                {"lang": lang})
        # Telegram shows button text as it is: "&amp;" would be read literally.
        return plain(str(getattr(module, macro)(**context))).strip()

    # -- what templates call -------------------------------------------------
    def _catalogue(self, context: Context) -> gettext.NullTranslations:
        return self._catalogues[context["lang"]]

    @pass_context
    def _gettext(self, context: Context, message: str, **values: Any) -> Markup:
        # The translation is trusted markup; the values put into it are not.
        translated = Markup(self._catalogue(context).gettext(message))
        return translated % {k: _escape(v) for k, v in values.items()} if values else translated

    @pass_context
    def _ngettext(
        self, context: Context, singular: str, plural: str, num: int, **values: Any
    ) -> Markup:
        translated = Markup(self._catalogue(context).ngettext(singular, plural, num))
        return translated % {"num": num, **{k: _escape(v) for k, v in values.items()}}

    def _pick(self, *phrasings: Any) -> Any:
        return self._rng.choice(phrasings)

    @pass_context
    def _local(self, context: Context, value: Localized | None) -> str:
        """A shop-file text in the language being rendered (else the shop's default)."""
        return value.get(context["lang"], self._default_lang) if value is not None else ""

    def _formatting(self, method: str) -> Any:
        """A filter that formats with the shopper's locale (`money`, `time`, `day`, `weekday`)."""

        @pass_context
        def apply(context: Context, value: Any) -> str:
            return getattr(self._formatters[context["lang"]], method)(value)

        return apply


def plain(html: str) -> str:
    """What a reader sees of a Telegram HTML text: tags dropped, entities decoded."""
    return unescape(_TAGS.sub("", html))


def _escape(value: Any) -> Any:
    return value if isinstance(value, int | float) else escape(value)
