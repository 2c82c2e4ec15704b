"""The composer's Send now and Schedule ask first: the count again, Yes or Back. Only Yes
makes the broadcast, once; afterwards the draft's buttons, old copies included, only say it
went. End to end through the fake Bot API, for two shops of different trades, whose owners
read the composer in the shop's own language (Russian, Traditional Chinese)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from functools import partial
from typing import Any

import pytest
from babel.numbers import format_decimal

from bot.core.languages import BABEL_LOCALES
from bot.devtools.fake_bot_api import Call, FakeBotAPI, Shopper
from handlers.texts import plain
from tests.conftest import (
    TRADES,
    FakeClock,
    Harness,
    last_buttons,
    queued,
    run_due,
    said_to,
    sent_ids,
)

OWNER = 5_550_101
PROMO = "Spring sale: 10% off"


@pytest.fixture(params=sorted(TRADES))
async def bot(request: pytest.FixtureRequest,
              make_shopbot: Callable[..., Awaitable[Harness]]) -> Harness:
    return await make_shopbot(shop_file=TRADES[request.param], admin_ids=str(OWNER))


class Owner:
    """The shop's owner at the composer, reading it in the shop's language."""

    def __init__(self, bot: Harness) -> None:
        self.bot, self.api = bot, bot.api
        self.user = Shopper(id=OWNER, first_name="Owner", language_code="en")
        self.lang = bot.app.shop.default_language

    def render(self, template: str, **context: Any) -> str:
        return self.bot.app.texts.render(template, self.lang, **context)

    def label(self, macro: str, **context: Any) -> str:
        return self.bot.app.texts.label(macro, self.lang, **context)

    def number(self, count: int) -> str:
        return format_decimal(count, locale=BABEL_LOCALES[self.lang])

    def menu(self, segment: dict[str, Any], count: int) -> str:
        """The draft of PROMO, in the shop's language, reaching `count` customers."""
        draft = {"variants": {self.lang: {"text": PROMO, "photo": None}},
                 "default": self.lang, "button": None, "segment": segment}
        return self.render("compose/menu", data=draft, count=count, shown=self.number(count))

    async def says(self, text: str) -> list[Call]:
        return await self.bot.feed(self.api.message_update(self.user, text))

    async def presses(self, data: str, message: int) -> list[Call]:
        return await self.bot.feed(self.api.callback_update(self.user, data, message))

    async def draft(self) -> int:
        """/broadcast and the promotion's text: the menu's message id."""
        await self.says("/broadcast")
        return sent(await self.says(PROMO))[-1]

    async def broadcasts(self) -> list[Any]:
        return await self.bot.app.followups.sender.broadcasts.recent()


# What the owner was sent.
sent = partial(sent_ids, chat=OWNER)
said = partial(said_to, chat=OWNER)
buttons = partial(last_buttons, chat=OWNER)


def toasts(calls: list[Call]) -> list[str]:
    return [c.params.get("text", "") for c in calls if c.method == "answerCallbackQuery"]


def dropped(calls: list[Call]) -> list[int]:
    """The owner's messages whose keyboard went."""
    return [c.params["message_id"] for c in calls
            if c.method == "editMessageReplyMarkup" and c.chat_id == OWNER
            and not c.params.get("reply_markup")]


async def customers(bot: Harness, *langs: str) -> list[Shopper]:
    made = []
    for lang in langs:
        shopper = bot.api.new_shopper(language_code=lang)
        await bot.send(shopper, "/start")
        made.append(shopper)
    return made


def promos(api: FakeBotAPI, shopper: Shopper) -> list[str]:
    return [c.params["text"] for c in api.calls if c.method == "sendMessage"
            and c.chat_id == shopper.id and c.ok and PROMO in c.params.get("text", "")]


async def test_send_now_asks_with_the_count_and_only_yes_sends_once(bot: Harness) -> None:
    shoppers = await customers(bot, "en", "ru", "zh-hant")
    owner = Owner(bot)
    menu = await owner.draft()

    calls = await owner.presses("bc:now", menu)
    assert said(calls) == [owner.render("compose/confirm", count=3, shown=owner.number(3),
                                        at=None)]
    assert buttons(calls) == [(owner.label("compose_yes", count=owner.number(3), num=3),
                               "bc:yes"),
                              (owner.label("compose_back"), "bc:back")]
    assert dropped(calls) == [menu]  # the draft is locked while the owner confirms
    assert await owner.broadcasts() == []  # asking made nothing
    [confirmation] = sent(calls)

    calls = await owner.presses("bc:yes", confirmation)
    [made] = await owner.broadcasts()
    assert made.total == 3 and made.owner_chat == OWNER
    assert dropped(calls) == [confirmation]
    assert len(sent(calls)) == 1  # the progress message, and nothing else

    # Pressed again (a double tap), or an old copy of the draft's menu: a toast, nothing made.
    notice = plain(owner.render("compose/already_sent"))
    for data, message in (("bc:yes", confirmation), ("bc:now", menu),
                          ("bc:everyone", menu), ("bc:lang:en", menu)):
        calls = await owner.presses(data, message)
        assert toasts(calls) == [notice]
        assert not sent(calls) and not dropped(calls)
    assert len(await owner.broadcasts()) == 1

    await run_due(bot.app)
    assert all(len(promos(bot.api, shopper)) == 1 for shopper in shoppers)


async def test_the_confirmation_repeats_the_count_the_menu_shows(bot: Harness) -> None:
    await customers(bot, "en", "en", "ru")
    owner = Owner(bot)
    menu = await owner.draft()
    calls = await owner.presses("bc:only:ru", menu)
    [menu] = sent(calls)
    assert said(calls) == [owner.menu({"languages": ["ru"]}, 1)]
    calls = await owner.presses("bc:now", menu)
    assert said(calls) == [owner.render("compose/confirm", count=1, shown=owner.number(1),
                                        at=None)]
    [confirmation] = sent(calls)
    await owner.presses("bc:yes", confirmation)
    [made] = await owner.broadcasts()
    assert made.total == 1


async def test_back_to_the_draft_and_a_changed_draft_void_the_confirmation(
        bot: Harness) -> None:
    await customers(bot, "en", "ru")
    owner = Owner(bot)
    first = await owner.draft()
    [second] = sent(await owner.presses("bc:active:30", first))

    # Back: the draft again, with its buttons; that confirmation's Yes is spent.
    calls = await owner.presses("bc:now", second)
    [confirmation] = sent(calls)
    calls = await owner.presses("bc:back", confirmation)
    assert dropped(calls) == [confirmation]
    [third] = sent(calls)
    assert said(calls) == [owner.menu({"active_days": 30}, 2)]
    assert ("bc:now", "bc:later") == tuple(data for _, data in buttons(calls)[-3:-1])
    stale = plain(owner.render("stale_button"))
    calls = await owner.presses("bc:yes", confirmation)
    assert toasts(calls) == [stale] and not sent(calls)

    # Asked again, then the draft changes from an older menu still on screen: the question
    # asked before no longer stands.
    [confirmation] = sent(await owner.presses("bc:now", third))
    await owner.presses("bc:everyone", first)
    calls = await owner.presses("bc:yes", confirmation)
    assert toasts(calls) == [stale] and not sent(calls)
    assert await owner.broadcasts() == []


async def test_schedule_asks_with_the_count_and_the_time(bot: Harness,
                                                         clock: FakeClock) -> None:
    await customers(bot, "en", "zh-hant")
    owner = Owner(bot)
    menu = await owner.draft()
    calls = await owner.presses("bc:later", menu)
    assert dropped(calls) == [menu]
    assert buttons(calls) == [(owner.label("compose_back"), "bc:back")]
    # A time it cannot read is asked again; that question's Back shows the draft again.
    calls = await owner.says("soon")
    assert said(calls) == [owner.render("compose/ask_time", wrong=True)]
    calls = await owner.presses("bc:back", sent(calls)[0])
    assert said(calls) == [owner.menu({}, 2)]
    [menu] = sent(calls)
    await owner.presses("bc:later", menu)
    calls = await owner.says("9:00")  # passed today in both shops' zones: tomorrow
    tz = bot.app.shop.tz
    at = datetime.combine(clock().astimezone(tz).date() + timedelta(days=1),
                          datetime.min.time().replace(hour=9), tzinfo=tz)
    assert said(calls) == [owner.render("compose/confirm", count=2, shown=owner.number(2),
                                        at=at)]
    assert await owner.broadcasts() == [] and not await queued(bot.app)
    [confirmation] = sent(calls)

    await owner.presses("bc:yes", confirmation)
    [made] = await owner.broadcasts()
    assert made.status == "scheduled" and made.at == at.timestamp()
    jobs = {job: due for job, due in (await queued(bot.app)).items()
            if job.startswith("broadcast:")}
    assert set(jobs.values()) == {at}
    calls = await owner.presses("bc:later", menu)
    assert toasts(calls) == [plain(owner.render("compose/already_sent"))]
    assert len(await owner.broadcasts()) == 1


async def test_a_confirmation_pressed_after_its_time_asks_for_a_new_one(
        bot: Harness, clock: FakeClock) -> None:
    await customers(bot, "en")
    owner = Owner(bot)
    menu = await owner.draft()
    await owner.presses("bc:later", menu)
    [confirmation] = sent(await owner.says("9:00"))
    clock.advance(days=2)  # the owner comes back after the time asked for
    calls = await owner.presses("bc:yes", confirmation)
    assert said(calls) == [owner.render("compose/ask_time", wrong=True)]
    assert await owner.broadcasts() == []
