"""The four languages the bot speaks, and how Telegram's language codes map onto them."""

from __future__ import annotations

from typing import Literal

Lang = Literal["en", "ru", "zh-hans", "zh-hant"]
LANGUAGES: tuple[Lang, ...] = ("en", "ru", "zh-hans", "zh-hant")
DEFAULT_LANG: Lang = "en"

# gettext catalogue folder and Babel locale for each language.
CATALOGUE_DIRS: dict[Lang, str] = {
    "en": "en", "ru": "ru", "zh-hans": "zh_Hans", "zh-hant": "zh_Hant"
}
BABEL_LOCALES: dict[Lang, str] = {
    "en": "en_GB",
    "ru": "ru_RU",
    "zh-hans": "zh_Hans_CN",
    "zh-hant": "zh_Hant_TW",
}

_TRADITIONAL = {"hant", "tw", "hk", "mo"}
_SIMPLIFIED = {"hans", "cn", "sg", "my"}


def from_telegram(code: str | None) -> Lang:
    """Map Telegram's `language_code` (an IETF tag such as `zh-hant`, `ru`, `en-US`) to ours."""
    if not code:
        return DEFAULT_LANG
    parts = code.strip().lower().replace("_", "-").split("-")
    if parts[0] == "ru":
        return "ru"
    if parts[0] == "zh":
        rest = set(parts[1:])
        if rest & _TRADITIONAL:
            return "zh-hant"
        return "zh-hans"
    if parts[0] == "en":
        return "en"
    return DEFAULT_LANG


def parse(code: str | None) -> Lang | None:
    """One of our own codes, or None when it is not one."""
    if code in LANGUAGES:
        return code  # type: ignore[return-value]
    return None
