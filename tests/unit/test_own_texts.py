"""Texts worded in Telegram, without Telegram or Redis: which text a message is rendered
from (Telegram's, the shop file's, the template's), a quick reply added in some languages,
the buttons of /texts fitting Telegram's 64 bytes, `shopbot texts export`'s merge, and the
store with an in-process Redis."""

from __future__ import annotations

import asyncio
from pathlib import Path

from fakeredis import FakeAsyncRedis

from bot import DEMO_SHOP, LOCALES_DIR, TEMPLATES_DIR
from bot.app.texts_export import merged
from bot.core import overrides
from bot.core.languages import LANGUAGES
from bot.core.shop import load_shop
from bot.storage.keys import Keys
from bot.storage.own_texts import OwnTexts, Wording
from handlers.callback_data import OwnTextData
from handlers.i18n import load_catalogues
from handlers.texts import Texts

BAKERY = Path(DEMO_SHOP).parent / "shops" / "bakery_shop.yaml"  # words `farewell` itself


def texts_for_bakery() -> Texts:
    shop = load_shop(BAKERY)
    return Texts(TEMPLATES_DIR, load_catalogues(LOCALES_DIR), shop.currency,
                 default_lang=shop.default_language, shop=shop)


def test_telegram_goes_before_the_shop_file_and_the_template_per_language() -> None:
    texts = texts_for_bakery()
    shop = load_shop(BAKERY)
    texts.use_own(Wording({"farewell": {"ru": "Пока, {name}!"},
                           "greeting": {"en": "Hi {name}!"}}, frozenset(), 1))
    assert texts.render("farewell", "ru", shop=shop, name="Ира") == "Пока, Ира!"
    file_text = shop.texts["farewell"].get("en").format(name="Ann", shop="Osmanthus Bakehouse")
    assert texts.render("farewell", "en", shop=shop, name="Ann") == file_text
    assert texts.own("farewell", "en")[0] == "file"
    assert texts.render("greeting", "en", shop=shop, name="Ann") == "Hi Ann!"
    assert texts.own("greeting", "ru") == ("template", None)


def test_a_quick_reply_added_in_one_language_is_sent_in_the_shops_language() -> None:
    texts = texts_for_bakery()  # its default language: zh-hant
    texts.use_own(Wording({"canned/delivery": {"zh-hant": "{name}，兩天內送到。",
                                               "en": "{name}, within two days."}},
                          frozenset({"wait"}), 2))
    assert texts.render("canned/delivery", "ru", name="Ира") == "Ира，兩天內送到。"
    assert texts.render("canned/delivery", "en", name="Ann") == "Ann, within two days."
    assert texts.own("canned/delivery", "ru") == ("other", "{name}，兩天內送到。")
    assert texts.canned_keys() == ["delivery", "order_number", "sorry", "thanks"]


def test_a_new_quick_reply_takes_the_name_the_shop_and_its_contacts() -> None:
    assert overrides.takes("canned/delivery") == ("name", "shop", "contacts")
    assert overrides.unknown("canned/delivery") is None
    assert overrides.unknown("canned/Not A Key") is not None
    assert "unknown placeholder {order}" in (overrides.problem("canned/delivery", "{order}")
                                             or "")


def test_every_button_of_texts_fits_in_64_bytes() -> None:
    longest = max([*overrides.messages(), "canned/" + "k" * 24], key=len)
    for what in ("open", "edit", "reset", "remove"):
        data = OwnTextData(what=what, message=longest, lang="zh-hant", page=999).pack()
        assert len(data.encode()) <= 64, data
        assert OwnTextData.unpack(data).message == longest


def test_export_merges_telegrams_texts_into_the_files_and_fills_every_language() -> None:
    shop = load_shop(BAKERY)
    wording = Wording({"farewell": {"en": "Bye {name}!"},
                       "greeting": {"ru": "Привет, {name}!"}}, frozenset({"wait"}), 3)
    texts, warnings = merged(shop, wording)
    assert texts["farewell"]["en"] == "Bye {name}!"
    assert texts["farewell"]["ru"] == shop.texts["farewell"].get("ru")  # the file's own
    assert texts["greeting"] == dict.fromkeys(LANGUAGES, "Привет, {name}!")
    assert warnings == [
        "texts.greeting: en, zh-hans, zh-hant not written in Telegram: exported with the ru "
        "text; translate it",
        "quick reply 'wait' was removed in Telegram: a shop file cannot remove a bundled one, "
        "so only Redis keeps it removed"]


async def test_the_store_counts_changes_and_a_follower_hears_them() -> None:
    """Two processes on one Redis (an in-process one here): a change made by one is read by
    the other, which listens; reset and removal count as changes too."""
    redis = FakeAsyncRedis()
    applied: list[Wording] = []
    one, other = OwnTexts(redis, Keys("t")), OwnTexts(redis, Keys("t"), applied.append)
    listening = asyncio.create_task(other.follow())
    try:
        await asyncio.sleep(0.05)
        assert (await one.save("greeting", "ru", "Привет!")).version == 1
        await one.save("canned/delivery", "en", "Soon, {name}.")
        await one.reset("greeting", "ru")
        await one.remove_reply("wait")
        for _ in range(100):
            if other.wording.version == 4:
                break
            await asyncio.sleep(0.01)
        assert other.wording == Wording({"canned/delivery": {"en": "Soon, {name}."}},
                                        frozenset({"wait"}), 4)
        assert applied[-1] == other.wording
        # Added again, a removed reply is back.
        await one.save("canned/wait", "ru", "Минутку!")
        assert (await one.load()).hidden == frozenset()
    finally:
        listening.cancel()
        await asyncio.gather(listening, return_exceptions=True)
