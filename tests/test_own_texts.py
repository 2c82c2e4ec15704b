"""Texts and quick replies from Telegram (issue 23): an admin words any message the bot sends,
per language, and adds, edits and removes the staff's quick replies, from the bot's private
chat (/texts, /replies), with a preview before saving. A bad placeholder is refused with why;
a change reaches every process at once and survives a restart; `shopbot texts export` gives
the shop file's `texts:` section. End to end through the fake Bot API, for two shops of
different trades whose owners read the bot in the shop's language (Russian, Traditional
Chinese)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.core import overrides
from bot.core.languages import LANGUAGES
from bot.core.shop import ShopFileError, parse_shop
from bot.devtools.fake_bot_api import Call, FakeBotAPI, Shopper
from handlers.__main__ import main as shopbot
from handlers.layer import create_app
from handlers.texts import plain
from tests import conftest
from tests.conftest import (
    TRADES,
    FakeClock,
    Harness,
    last_buttons,
    said_to,
    sent_ids,
    settings_for,
    texts_to,
)
from tests.test_staff import STAFF, staff_says, topic_of

OWNER = 5_550_202
GREETING_RU = "Здравствуйте, {name}! Вы в «{shop}». Чем помочь?"
DELIVERY = {"en": "{name}, we deliver within two days.",
            "ru": "{name}, доставим в течение двух дней.",
            "zh-hans": "{name}，两天内送到。", "zh-hant": "{name}，兩天內送到。"}

MakeBot = Callable[..., Awaitable[Harness]]


@pytest.fixture(params=sorted(TRADES))
def trade(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def staffed(api: FakeBotAPI, make_shopbot: MakeBot, trade: str) -> Harness:
    return await conftest.staffed(api, make_shopbot, trade, OWNER)


class Owner:
    """The shop's owner in the bot's private chat, reading it in the shop's language."""

    def __init__(self, bot: Harness) -> None:
        self.bot, self.api = bot, bot.api
        self.user = Shopper(id=OWNER, first_name="Mira", language_code="en")
        self.lang = bot.app.shop.default_language

    def render(self, template: str, **context: Any) -> str:
        return self.bot.app.texts.render(template, self.lang, **context)

    def label(self, what: str, **context: Any) -> str:
        return plain(self.render("owner_texts/button", what=what, **context))

    async def says(self, text: str) -> list[Call]:
        return await self.bot.feed(self.api.message_update(self.user, text))

    async def presses(self, data: str, message: int) -> list[Call]:
        return await self.bot.feed(self.api.callback_update(self.user, data, message))

    async def opens(self, name: str) -> int:
        """/texts, then Next until the message's button shows, then the message: the id of
        its view."""
        calls = await self.says("/texts")
        for _ in range(20):
            found = [data for _, data in buttons(calls) if data.startswith(f"ot:open:{name}:")]
            if found:
                return sent(await self.presses(found[0], sent(calls)[-1]))[-1]
            [turn] = [data for label, data in buttons(calls) if label == self.label("next")]
            calls = await self.presses(turn, sent(calls)[-1])
        raise AssertionError(f"{name} is not listed")

    async def writes(self, name: str, lang: str, text: str) -> list[Call]:
        """Opens the message, presses its language, sends the text: the preview's calls."""
        view = await self.opens(name) if not name.startswith("canned/") else \
            await self.opens_reply(name.removeprefix("canned/"))
        calls = await self.presses(edit_button(self.api, view, lang), view)
        assert said(calls) == [self.render("owner_texts/ask", name=name, target=lang,
                                           takes=braced(name))]
        return await self.says(text)

    async def opens_reply(self, key: str) -> int:
        calls = await self.says("/replies")
        [data] = [data for _, data in buttons(calls) if data == f"ot:open:canned/{key}::0"]
        return sent(await self.presses(data, sent(calls)[-1]))[-1]

    async def saves(self, calls: list[Call]) -> list[Call]:
        preview = sent(calls)[-1]
        return await self.presses("ot:save:::0", preview)


def braced(name: str) -> list[str]:
    return ["{" + p + "}" for p in overrides.takes(name)]


# What the owner was sent.
sent = partial(sent_ids, chat=OWNER)
said = partial(said_to, chat=OWNER)
buttons = partial(last_buttons, chat=OWNER)


def edit_button(api: FakeBotAPI, view: int, lang: str) -> str:
    markup = api.messages[(OWNER, view)]["reply_markup"]["inline_keyboard"]
    [data] = [b["callback_data"] for row in markup for b in row
              if b["callback_data"].startswith("ot:edit:") and f":{lang}:" in b["callback_data"]]
    return data


def toasts(calls: list[Call]) -> list[str]:
    return [c.params.get("text", "") for c in calls if c.method == "answerCallbackQuery"]


def shop_name(bot: Harness, lang: str) -> str:
    return bot.app.shop.name.values()[lang]  # type: ignore[index,return-value]


async def greeting(bot: Harness, lang: str, name: str = "Ann") -> str:
    shopper = bot.api.new_shopper(language_code=lang, first_name=name)
    [said_first] = (await bot.send(shopper, "/start"))[:1]
    return said_first


# -- editing a message ------------------------------------------------------------------------

async def test_the_owner_edits_the_greeting_in_russian_with_a_preview_and_save(
        api: FakeBotAPI, make_shopbot: MakeBot, trade: str) -> None:
    bot = await staffed(api, make_shopbot, trade)
    owner = Owner(bot)
    before = {lang: await greeting(bot, lang) for lang in LANGUAGES}

    calls = await owner.writes("greeting", "ru", GREETING_RU)
    preview, question = said(calls)
    # The message exactly as a shopper reads it, the owner's own name in {name}.
    assert preview == GREETING_RU.format(name="Mira", shop=shop_name(bot, "ru"))
    assert question == owner.render("owner_texts/preview", name="greeting", target="ru")
    assert [data for _, data in buttons(calls)] == ["ot:save:::0", "ot:again:::0",
                                                    "ot:cancel:::0"]
    # Nothing is saved before Save.
    assert "Чем помочь?" not in await greeting(bot, "ru")

    calls = await owner.saves(calls)
    assert said(calls)[0] == owner.render("owner_texts/saved", name="greeting", target="ru")
    assert await greeting(bot, "ru", "Ира") == GREETING_RU.format(
        name="Ира", shop=shop_name(bot, "ru"))
    # The other languages keep the bot's own greeting, in their language.
    for lang in ("en", "zh-hans", "zh-hant"):
        assert bot.app.texts.own("greeting", lang) == ("template", None)
        again = await greeting(bot, lang)
        assert "Чем помочь?" not in again and shop_name(bot, lang) in again, again
        assert shop_name(bot, lang) in before[lang]

    # Save pressed again: it says so, and nothing more happens.
    preview_id = sent(calls)[0] - 1
    again = await owner.presses("ot:save:::0", preview_id)
    assert toasts(again) == [plain(owner.render("owner_texts/done"))]
    assert not said(again)


async def test_a_bad_placeholder_is_refused_with_why_and_nothing_is_saved(
        api: FakeBotAPI, make_shopbot: MakeBot, trade: str) -> None:
    bot = await staffed(api, make_shopbot, trade)
    owner = Owner(bot)
    calls = await owner.writes("greeting", "en", "Hi {nmae}, glad you came by!")
    [refusal] = said(calls)
    # Why, in the owner's language, with what the message takes, and the text shown back:
    # nothing written is lost.
    assert refusal == owner.render("owner_texts/bad", fault=overrides.fault(
        "greeting", "Hi {nmae}, glad you came by!"), long=False, takes=braced("greeting"),
        text="Hi {nmae}, glad you came by!")
    assert "{nmae}" in refusal and "{name}" in refusal and "{team_away}" in refusal
    assert "<code>Hi {nmae}, glad you came by!</code>" in refusal
    assert not buttons(calls)
    for text, kind in (("Hi {{name}}!", "doubled"), ("Hi {name", "brace"),
                       ("Hi {name!r}", "written"), ("Hi {}", "empty")):
        [refusal] = said(await owner.says(text))
        fault = overrides.fault("greeting", text)
        assert fault is not None and fault.kind == kind
        assert refusal == owner.render("owner_texts/bad", fault=fault, long=False,
                                       takes=braced("greeting"), text=text)
    assert await bot.app.redis.hgetall(bot.app.store.keys.own_texts()) == {}
    assert "glad you came by" not in await greeting(bot, "en")
    # The corrected text, sent next, is previewed.
    calls = await owner.says("Hi {name}, glad you came by!")
    assert said(calls)[0] == "Hi Mira, glad you came by!"
    await owner.saves(calls)
    assert await greeting(bot, "en", "Bo") == "Hi Bo, glad you came by!"


async def test_edit_again_and_cancel_save_nothing(api: FakeBotAPI, make_shopbot: MakeBot,
                                                   trade: str) -> None:
    bot = await staffed(api, make_shopbot, trade)
    owner = Owner(bot)
    calls = await owner.writes("farewell", "en", "Bye {name}!")
    calls = await owner.presses("ot:again:::0", sent(calls)[-1])
    assert said(calls) == [owner.render("owner_texts/ask", name="farewell", target="en",
                                        takes=braced("farewell"))]
    calls = await owner.says("Goodbye {name}, see you at {shop}!")
    preview = sent(calls)[-1]
    calls = await owner.presses("ot:cancel:::0", preview)
    assert said(calls) == [owner.render("owner_texts/cancelled")]
    assert toasts(await owner.presses("ot:save:::0", preview)) == [
        plain(owner.render("owner_texts/done"))]
    assert await bot.app.redis.hgetall(bot.app.store.keys.own_texts()) == {}


async def test_every_process_uses_a_saved_text_at_once_and_after_a_restart(
        api: FakeBotAPI, make_shopbot: MakeBot, prefix: str, clock: FakeClock,
        trade: str) -> None:
    bot = await staffed(api, make_shopbot, trade)
    # A second process on the same Redis prefix, started before the change.
    other = create_app(settings_for(api, prefix, shop_file=TRADES[trade], staff_chat_id=STAFF,
                                    admin_ids=str(OWNER)), clock=clock, rng=random.Random(2),
                       sleep=clock.sleep)
    await other.check()
    try:
        owner = Owner(bot)
        await owner.saves(await owner.writes("greeting", "ru", GREETING_RU))
        version = bot.app.own_texts.wording.version  # type: ignore[union-attr]
        for _ in range(100):  # told through Redis, not by the test
            if other.own_texts.wording.version == version:  # type: ignore[union-attr]
                break
            await asyncio.sleep(0.02)
        shopper = api.new_shopper(language_code="ru", first_name="Ира")
        since = len(api.calls)
        await other.handle(api.message_update(shopper, "/start"))
        assert texts_to(api.calls[since:], shopper.id)[0] == GREETING_RU.format(
            name="Ира", shop=shop_name(bot, "ru"))
    finally:
        await other.close()

    await bot.stop()
    restarted = await make_shopbot(shop_file=TRADES[trade], admin_ids=str(OWNER))
    assert await greeting(restarted, "ru", "Ира") == GREETING_RU.format(
        name="Ира", shop=shop_name(bot, "ru"))


async def test_reset_gives_back_the_shop_files_or_the_bots_own_text(
        api: FakeBotAPI, make_shopbot: MakeBot, trade: str) -> None:
    bot = await staffed(api, make_shopbot, trade)
    owner = Owner(bot)
    file_farewell = bot.app.shop.texts.get("farewell")  # the bakery words it in its file
    await owner.saves(await owner.writes("farewell", "ru", "Пока, {name}!"))
    shopper = api.new_shopper(language_code="ru", first_name="Ира")
    await bot.send(shopper, "/start")
    assert await bot.send(shopper, "/bye") == ["Пока, Ира!"]

    view = await owner.opens("farewell")
    reset = [data for _, data in buttons(await owner.presses(
        f"ot:open:farewell::{0}", view)) if data.startswith("ot:reset:farewell:ru:")]
    assert len(reset) == 1
    calls = await owner.presses(reset[0], view)
    assert said(calls)[0] == owner.render("owner_texts/reset", name="farewell", target="ru")
    assert bot.app.texts.own("farewell", "ru")[0] == ("file" if file_farewell else "template")
    [bye] = await bot.send(shopper, "/bye")
    assert bye != "Пока, Ира!"
    if file_farewell is not None:
        assert bye == file_farewell.get("ru").format(name="Ира", shop=shop_name(bot, "ru"))


# -- quick replies ----------------------------------------------------------------------------

async def test_quick_replies_are_added_edited_and_removed_and_reply_uses_them(
        api: FakeBotAPI, make_shopbot: MakeBot, trade: str) -> None:
    bot = await staffed(api, make_shopbot, trade)
    owner = Owner(bot)
    default = bot.app.shop.default_language
    calls = await owner.says("/replies")
    assert [data for _, data in buttons(calls)] == [
        *(f"ot:open:canned/{key}::0" for key in ("order_number", "sorry", "thanks", "wait")),
        "ot:add:::0"]

    calls = await owner.presses("ot:add:::0", sent(calls)[-1])
    assert said(calls) == [owner.render("owner_texts/ask_key", wrong=False, taken=None)]
    assert said(await owner.says("delivery time")) == [
        owner.render("owner_texts/ask_key", wrong=True, taken=None)]
    assert said(await owner.says("wait")) == [
        owner.render("owner_texts/ask_key", wrong=True, taken="wait")]
    calls = await owner.says("Delivery")
    # Its text is asked in the owner's language first.
    assert said(calls) == [owner.render("owner_texts/ask", name="canned/delivery",
                                        target=default, takes=braced("canned/delivery"))]
    calls = await owner.says(DELIVERY[default])
    assert said(calls)[0] == DELIVERY[default].format(name="Mira")
    await owner.saves(calls)

    # Staff send it with /reply, to a shopper writing in a language it has no text in: the
    # shop's language's text.
    olga = api.new_shopper(first_name="Olga", language_code="ru")
    ann = api.new_shopper(first_name="Ann", language_code="en")
    await bot.send(ann, "/start")
    await bot.press(ann, "person")
    topic = topic_of(api, ann)
    calls = await staff_says(bot, olga, topic, "/reply delivery")
    assert texts_to(calls, ann.id) == [DELIVERY[default].format(name="Ann")]

    # Worded in English too: Ann gets that.
    await owner.saves(await owner.writes("canned/delivery", "en", DELIVERY["en"]))
    calls = await staff_says(bot, olga, topic, "/reply delivery")
    assert texts_to(calls, ann.id) == [DELIVERY["en"].format(name="Ann")]

    # A bundled one removed: /reply no longer sends it, and lists what there is.
    view = await owner.opens_reply("wait")
    calls = await owner.presses("ot:remove:canned/wait::0", view)
    assert said(calls) == [owner.render("owner_texts/remove", key="wait")]  # asked first
    assert "wait" in bot.app.texts.canned_keys()
    assert [data for _, data in buttons(calls)] == ["ot:drop:canned/wait::0", "ot:replies:::0"]
    calls = await owner.presses("ot:drop:canned/wait::0", sent(calls)[-1])
    assert said(calls) == [owner.render("owner_texts/removed", key="wait")]
    calls = await staff_says(bot, olga, topic, "/reply wait")
    assert texts_to(calls, ann.id) == []
    keys = ["delivery", "order_number", "sorry", "thanks"]
    assert bot.app.desk.canned_keys() == keys  # type: ignore[union-attr]
    listed = bot.app.texts.render("staff/canned_keys", bot.app.desk.lang,  # type: ignore[union-attr]
                                  key="wait", keys=keys)
    assert listed in [c.params["text"] for c in calls if c.chat_id == STAFF]
    calls = await owner.says("/replies")
    assert "ot:open:canned/wait::0" not in [data for _, data in buttons(calls)]


# -- the shop file ------------------------------------------------------------------------------

def test_the_shop_file_takes_a_quick_reply_of_its_own_and_refuses_a_bad_key() -> None:
    source = TRADES["bike"].read_text(encoding="utf-8")
    added = "\ntexts:\n  canned/delivery:\n" + "".join(
        f"    {lang}: \"{text}\"\n" for lang, text in DELIVERY.items())
    assert "canned/delivery" in parse_shop(source + added).texts
    with pytest.raises(ShopFileError) as caught:
        parse_shop(source + added.replace("canned/delivery", "canned/Bad Key"))
    assert "unknown message 'canned/Bad Key'" in "\n".join(caught.value.lines())
    with pytest.raises(ShopFileError) as caught:
        parse_shop(source + added.replace("{name}", "{order}"))
    assert "unknown placeholder {order}" in "\n".join(caught.value.lines())


async def test_export_gives_a_texts_section_the_shop_file_takes(
        api: FakeBotAPI, make_shopbot: MakeBot, prefix: str, trade: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    bot = await staffed(api, make_shopbot, trade)
    owner = Owner(bot)
    await owner.saves(await owner.writes("greeting", "ru", GREETING_RU))
    await owner.saves(await owner.writes("farewell", "en", "Bye {name}!"))
    calls = await owner.says("/replies")
    await owner.presses("ot:add:::0", sent(calls)[-1])
    await owner.says("delivery")
    await owner.saves(await owner.says(DELIVERY[bot.app.shop.default_language]))

    out = tmp_path / "texts.yaml"
    for name, value in (("SHOP_FILE", str(TRADES[trade])), ("REDIS_PREFIX", prefix)):
        monkeypatch.setenv(name, value)
    assert await asyncio.to_thread(shopbot, ["texts", "export", "--out", str(out)]) == 0
    warnings = capsys.readouterr().err
    exported = yaml.safe_load(out.read_text(encoding="utf-8"))["texts"]
    assert exported["greeting"]["ru"] == GREETING_RU
    assert exported["canned/delivery"] == {
        lang: DELIVERY[bot.app.shop.default_language] for lang in LANGUAGES}
    assert "texts.greeting: en, zh-hans, zh-hant not written in Telegram" in warnings
    file_farewell = bot.app.shop.texts.get("farewell")
    assert exported["farewell"]["en"] == "Bye {name}!"
    if file_farewell is not None:  # the file's own words for the languages not edited
        assert exported["farewell"]["ru"] == file_farewell.get("ru")
        assert "texts.farewell" not in warnings

    # Put in the shop file in place of its own texts: it passes the shop file's checks.
    data = yaml.safe_load(TRADES[trade].read_text(encoding="utf-8"))
    data["texts"] = exported
    shop = parse_shop(yaml.safe_dump(data, allow_unicode=True))
    assert shop.texts["greeting"].get("ru") == GREETING_RU
    assert "canned/delivery" in shop.texts
