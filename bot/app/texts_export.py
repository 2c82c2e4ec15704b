"""`shopbot texts export`: the shop file's `texts:` section holding the texts owners worded in
Telegram (/texts, /replies) over the file's own, to be put in the shop file in place of its
section: the shop then keeps them without Redis, and `shopbot check` passes.

The shop file writes an override in all four languages. A language worded in Telegram wins;
one that was not is the file's own text when the file has one; otherwise the shop's default
language's text (else the first written) is put in its place, with a warning naming it, as
shoppers in that language would otherwise read the template's text, not this one.
"""

from __future__ import annotations

from typing import Any

import yaml

from bot.app.config import Settings
from bot.app.redis_url import connect
from bot.core import overrides
from bot.core.languages import LANGUAGES, Lang
from bot.core.shop import Shop, load_shop
from bot.storage.keys import Keys
from bot.storage.own_texts import OwnTexts, Wording


def merged(shop: Shop, wording: Wording) -> tuple[dict[str, dict[Lang, str]], list[str]]:
    """Every override, the file's and Telegram's, in four languages; and what to tell."""
    out: dict[str, dict[Lang, str]] = {
        name: {lang: text.get(lang) for lang in LANGUAGES} for name, text in shop.texts.items()}
    warnings: list[str] = []
    for name, worded in sorted(wording.texts.items()):
        if not worded:
            continue
        if overrides.unknown(name) is not None:
            warnings.append(f"texts.{name}: the bot has no such message any more: left out")
            continue
        text: dict[Lang, str] = {**out.get(name, {}), **worded}
        missing = [lang for lang in LANGUAGES if lang not in text]
        if missing:
            source = shop.default_language if shop.default_language in worded else next(
                lang for lang in LANGUAGES if lang in worded)
            text.update(dict.fromkeys(missing, worded[source]))
            warnings.append(f"texts.{name}: {', '.join(missing)} not written in Telegram: "
                            f"exported with the {source} text; translate it")
        out[name] = {lang: text[lang] for lang in LANGUAGES}
    for key in sorted(wording.hidden):
        name = f"{overrides.REPLIES}{key}"
        out.pop(name, None)
        if name in overrides.messages():
            warnings.append(f"quick reply {key!r} was removed in Telegram: a shop file cannot "
                            "remove a bundled one, so only Redis keeps it removed")
    return dict(sorted(out.items())), warnings


def as_yaml(texts: dict[str, dict[Lang, str]]) -> str:
    section: dict[str, Any] = {"texts": texts}
    return yaml.safe_dump(section, allow_unicode=True, sort_keys=False, width=1_000_000)


async def export(settings: Settings) -> tuple[str, list[str]]:
    """The `texts:` section as YAML, from the shop file and the Redis the settings name."""
    shop = load_shop(settings.shop_file)
    prefix = settings.redis_prefix or f"shopbot:{shop.id}"
    assert settings.redis_url
    redis = connect(settings.redis_url)
    try:
        wording = await OwnTexts(redis, Keys(prefix)).load()
    finally:
        await redis.aclose()
    texts, warnings = merged(shop, wording)
    return as_yaml(texts), warnings
