"""The away mode (issue 23), end to end through the fake Bot API: an owner sets it with /away
in the private chat; a shopper handed to a person is told, in their language, that the team
is on holiday until a day (once per conversation, and no more once that day has come), or,
in the "nobody answers" mode, that the team is busy once no one answered in time. Wrong
answers are refused with the mode unchanged; another process and a restarted bot follow the
mode at once. Two shops of different trades; every text is the app's own, rendered as the
bot renders it."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from bot import LOCALES_DIR, TEMPLATES_DIR
from bot.core import overrides
from bot.core.shop import load_shop
from bot.devtools.fake_bot_api import FakeBotAPI, Shopper
from bot.domain.away import read_date
from bot.domain.orders import OrderEventIn
from handlers.i18n import load_catalogues
from handlers.layer import create_app
from handlers.texts import Texts
from tests import conftest
from tests.conftest import TRADES, FakeClock, Harness, queued, run_due, settings_for, texts_to
from tests.test_staff import STAFF, in_topic, staff_says, topic_of

LANGS = ("en", "ru", "zh-hans", "zh-hant")
OWNER = 5550001

MakeBot = Callable[..., Awaitable[Harness]]


async def staffed(api: FakeBotAPI, make_shopbot: MakeBot, trade: str) -> Harness:
    return await conftest.staffed(api, make_shopbot, trade, OWNER)


def owner_of(api: FakeBotAPI) -> Shopper:
    return api.new_shopper(first_name="Owner", id=OWNER, language_code="en")


def render(bot: Harness, template: str, lang: str, **context: object) -> str:
    return bot.app.texts.render(template, lang, shop=bot.app.shop, **context)


def staff_render(bot: Harness, template: str, **context: object) -> str:
    assert bot.app.desk is not None
    return bot.app.texts.render(template, bot.app.desk.lang, **context)


def owners(bot: Harness) -> str:
    """The owner's language: they never wrote as a shopper, so the shop's."""
    return bot.app.shop.default_language


def local_day(bot: Harness, day: date) -> datetime:
    return datetime.combine(day, datetime.min.time(), tzinfo=bot.app.shop.tz)


def mode_text(bot: Harness, template: str, mode: str, back: datetime | None = None,
              minutes: int = 0) -> str:
    return render(bot, template, owners(bot), mode=mode, back=back, minutes=minutes)


async def owner_says(bot: Harness, owner: Shopper, text: str) -> list[str]:
    return await bot.send(owner, text)


async def set_holiday(bot: Harness, owner: Shopper, answer: str) -> list[str]:
    await owner_says(bot, owner, "/away")
    await bot.press(owner, "away:holiday")
    return await owner_says(bot, owner, answer)


async def set_unanswered(bot: Harness, owner: Shopper, minutes: str) -> list[str]:
    await owner_says(bot, owner, "/away")
    await bot.press(owner, "away:unanswered")
    return await owner_says(bot, owner, minutes)


async def ask_person(bot: Harness, shopper: Shopper) -> str:
    """The shopper presses "Ask a person": what the bot says to that (one message)."""
    calls = await bot.press(shopper, "person")
    said = texts_to(calls, shopper.id)
    assert len(said) == 1, said
    return said[0]


# -- holiday ------------------------------------------------------------------------------------

@pytest.mark.parametrize("trade", sorted(TRADES))
async def test_a_holiday_is_told_once_per_conversation_in_each_language_and_ends_by_itself(
        api: FakeBotAPI, make_shopbot: MakeBot, clock: FakeClock, trade: str) -> None:
    bot = await staffed(api, make_shopbot, trade)
    owner = owner_of(api)
    # The menu says the mode is off; the owner picks a holiday and is asked for the day.
    menu = await owner_says(bot, owner, "/away")
    assert menu == [mode_text(bot, "away/menu", "off")]
    calls = await bot.press(owner, "away:holiday")
    assert texts_to(calls, OWNER) == [render(bot, "away/ask_date", owners(bot), wrong=None)]
    back = local_day(bot, date(2027, 1, 3))
    assert await owner_says(bot, owner, "3 January") == [
        mode_text(bot, "away/set", "holiday", back)]

    shoppers = []
    for n, lang in enumerate(LANGS):
        shopper = api.new_shopper(first_name=f"Ann{n}", language_code=lang)
        shoppers.append((shopper, lang))
        await bot.send(shopper, "/start")
        said = await ask_person(bot, shopper)
        holiday = render(bot, "away_holiday", lang, name=f"Ann{n}", back=back)
        assert said.endswith(holiday), said  # after the handoff's words, in their language
        # No promise of minutes, nor of "back tomorrow": the handoff's hint gives way.
        assert "minute" not in said and "分钟" not in said and "минут" not in said
        # Staff get the topic, its card, and a word that the bot goes on answering.
        topic = in_topic(api, topic_of(api, shopper))
        assert topic[-1]["text"] == staff_render(bot, "staff/away_holiday", name=f"Ann{n}",
                                                 back=back)
        # The bot keeps helping: the shopper's next message is answered, not held for staff.
        assert await bot.send(shopper, "/start")

    # Once per conversation: asking again says nothing more of the holiday.
    ann, lang = shoppers[0]
    again = await ask_person(bot, ann)
    assert render(bot, "away_holiday", lang, name="Ann0", back=back) not in again
    # Staff who write in the topic take the conversation over, as ever.
    olga = api.new_shopper(first_name="Olga", language_code="ru")
    calls = await staff_says(bot, olga, topic_of(api, ann), "Hello from the shop!")
    assert [c.method for c in calls if c.chat_id == ann.id] == ["copyMessage"]
    assert bot.app.desk is not None and await bot.app.desk.holds(ann.id)
    await staff_says(bot, olga, topic_of(api, ann), "/done")

    # The day comes: the mode is over by itself, and a handoff is as ever (held by a person).
    clock.now = local_day(bot, date(2027, 1, 3)).replace(hour=12)
    boris = api.new_shopper(first_name="Boris", language_code="ru")
    await bot.send(boris, "/start")
    said = await ask_person(bot, boris)
    assert render(bot, "away_holiday", "ru", name="Boris", back=back) not in said
    assert bot.app.desk is not None and await bot.app.desk.holds(boris.id)
    assert await owner_says(bot, owner, "/away") == [mode_text(bot, "away/menu", "off")]


@pytest.mark.parametrize("trade", sorted(TRADES))
async def test_a_low_rating_on_holiday_tells_the_shopper_and_staff(
        api: FakeBotAPI, make_shopbot: MakeBot, trade: str) -> None:
    """A low rating after delivery hands over too: on holiday, staff hear why the bot goes
    on answering, as for any handoff."""
    bot = await staffed(api, make_shopbot, trade)
    await set_holiday(bot, owner_of(api), "3 January")
    back = local_day(bot, date(2027, 1, 3))
    ann = api.new_shopper(first_name="Ann", language_code="zh-hant")
    await bot.send(ann, "/start")
    product = bot.app.shop.products[0]
    await bot.app.orders.report(OrderEventIn.model_validate({
        "order_id": "1045", "event": "created", "customer_id": ann.id,
        "items": [{"product": product.id, "quantity": 1}]}))
    said = texts_to(await bot.press(ann, "rate:1045:2"), ann.id)
    assert said[-1].endswith(render(bot, "away_holiday", "zh-hant", name="Ann", back=back))
    topic = in_topic(api, topic_of(api, ann))
    assert topic[-1]["text"] == staff_render(bot, "staff/away_holiday", name="Ann", back=back)


async def test_a_new_conversation_is_told_again_and_the_text_path_too(
        api: FakeBotAPI, make_shopbot: MakeBot, clock: FakeClock) -> None:
    bot = await staffed(api, make_shopbot, "bike")
    await set_holiday(bot, owner_of(api), "2027-01-03")
    back = local_day(bot, date(2027, 1, 3))
    ann = api.new_shopper(first_name="Ann", language_code="en")
    holiday = render(bot, "away_holiday", "en", name="Ann", back=back)
    said = await bot.send(ann, "I want to talk to a person")
    assert said[-1].endswith(holiday), said
    clock.advance(days=2)  # a new visit is a new conversation: told again
    said = await bot.send(ann, "I want to talk to a person")
    assert said[-1].endswith(holiday), said


@pytest.mark.parametrize("lang", LANGS)
async def test_at_night_on_holiday_the_greeting_and_contacts_say_the_holiday(
        api: FakeBotAPI, make_shopbot: MakeBot, clock: FakeClock, lang: str) -> None:
    clock.local(hour=22)  # Monday night: without the holiday, "back tomorrow at 11:00"
    bot = await staffed(api, make_shopbot, "bike")
    ann = api.new_shopper(first_name="Ann", language_code=lang)
    assert "11:00" in (await bot.send(ann, "/start"))[0]  # "back tomorrow at 11:00"
    await set_holiday(bot, owner_of(api), "3.1.2027")
    holiday = render(bot, "_offline", lang,
                     offline={"holiday": local_day(bot, date(2027, 1, 3))})
    bob = api.new_shopper(first_name="Bob", language_code=lang)
    greeting = (await bot.send(bob, "/start"))[0]
    assert holiday in greeting and "11:00" not in greeting, greeting
    calls = await bot.press(bob, "menu:contacts")
    (contacts,) = texts_to(calls, bob.id)
    assert contacts.endswith(holiday), contacts


# -- nobody answers in N minutes ---------------------------------------------------------------

@pytest.mark.parametrize("trade", sorted(TRADES))
async def test_nobody_answering_in_time_brings_one_busy_message_and_a_word_to_staff(
        api: FakeBotAPI, make_shopbot: MakeBot, clock: FakeClock, trade: str) -> None:
    clock.local(day=24, hour=12)  # a Tuesday: both shops are open (Moscow, Taipei)
    bot = await staffed(api, make_shopbot, trade)
    owner = owner_of(api)
    assert await set_unanswered(bot, owner, "10") == [
        mode_text(bot, "away/set", "unanswered", minutes=10)]
    olga = api.new_shopper(first_name="Olga", language_code="ru")

    # Ann waits: nobody answers her for 10 minutes.
    ann = api.new_shopper(first_name="Ann", language_code="zh-hans")
    await bot.send(ann, "/start")
    said = await ask_person(bot, ann)
    assert "away" not in said  # the handoff itself is as ever
    assert bot.app.desk is not None
    since = (await bot.app.desk.takeovers.get(ann.id)).since
    assert since is not None
    (due,) = (await queued(bot.app)).values()  # 10 minutes after the handoff
    assert abs(due - (since + timedelta(minutes=10))) < timedelta(milliseconds=1)
    # Bob is answered in time; Chen is handed back with /done before the time.
    bob = api.new_shopper(first_name="Bob", language_code="en")
    await bot.send(bob, "/start")
    await ask_person(bot, bob)
    clock.advance(minutes=3)
    await staff_says(bot, olga, topic_of(api, bob), "Hi Bob, looking into it")
    chen = api.new_shopper(first_name="Chen", language_code="zh-hant")
    await bot.send(chen, "/start")
    await ask_person(bot, chen)
    await staff_says(bot, olga, topic_of(api, chen), "/done")
    # Dana gets a quick reply (/reply wait): an answer too.
    dana = api.new_shopper(first_name="Dana", language_code="ru")
    await bot.send(dana, "/start")
    await ask_person(bot, dana)
    await staff_says(bot, olga, topic_of(api, dana), "/reply wait")
    before = {s.id: len(api.sent_to(s.id)) for s in (ann, bob, chen, dana)}

    await run_due(bot.app)
    busy = render(bot, "away_unanswered", "zh-hans", name="Ann")
    assert [c.params["text"] for c in api.sent_to(ann.id)[before[ann.id]:]] == [busy]
    assert in_topic(api, topic_of(api, ann))[-1]["text"] == staff_render(
        bot, "staff/away_unanswered", name="Ann", minutes=10)
    assert len(api.sent_to(bob.id)) == before[bob.id]  # answered in time: nothing
    assert len(api.sent_to(chen.id)) == before[chen.id]  # back with the bot: nothing
    assert len(api.sent_to(dana.id)) == before[dana.id]  # a quick reply answered her
    # Once: the job does not run again, nor send again if it is retried (a worker died).
    await run_due(bot.app)
    assert bot.app.followups.away is not None
    assert not await bot.app.followups.away.unanswered(ann.id, since.timestamp())
    assert len(api.sent_to(ann.id)) == before[ann.id] + 1


async def test_the_minutes_count_from_the_opening_when_the_shop_is_closed(
        api: FakeBotAPI, make_shopbot: MakeBot, clock: FakeClock) -> None:
    clock.local(hour=22)  # Monday evening: the bike shop opens at 11:00 on Tuesday
    bot = await staffed(api, make_shopbot, "bike")
    await set_unanswered(bot, owner_of(api), "15")
    ann = api.new_shopper(first_name="Ann", language_code="en")
    said = await bot.send(ann, "I want to talk to a person")
    assert "11:00" in said[-1]  # the working-hours hint still applies
    due = list((await queued(bot.app)).values())
    opening = clock().astimezone(bot.app.shop.tz).replace(day=24, hour=11, minute=15,
                                                          second=0, microsecond=0)
    assert due == [opening]


# -- wrong answers, other processes, restarts ---------------------------------------------------

@pytest.mark.parametrize("trade", sorted(TRADES))
async def test_a_wrong_date_or_number_is_refused_and_nothing_changes(
        api: FakeBotAPI, make_shopbot: MakeBot, trade: str) -> None:
    bot = await staffed(api, make_shopbot, trade)
    owner = owner_of(api)
    lang = owners(bot)
    await owner_says(bot, owner, "/away")
    await bot.press(owner, "away:holiday")
    assert await owner_says(bot, owner, "next-ish") == [
        render(bot, "away/ask_date", lang, wrong="unreadable")]
    assert await owner_says(bot, owner, "2020-01-03") == [
        render(bot, "away/ask_date", lang, wrong="past")]
    assert await owner_says(bot, owner, "23.11") == [  # today is not after today
        render(bot, "away/ask_date", lang, wrong="past")]
    assert (await bot.app.assistant.away.mode()).kind == "off"  # type: ignore[union-attr]
    # Still asked: the next answer is taken, nothing lost.
    back = local_day(bot, date(2026, 12, 1))
    assert await owner_says(bot, owner, "1.12") == [mode_text(bot, "away/set", "holiday",
                                                              back)]
    await bot.press(owner, "away:unanswered")
    for wrong in ("0", "1441", "ten", "-5"):
        assert await owner_says(bot, owner, wrong) == [
            render(bot, "away/ask_minutes", lang, wrong=True)]
    # "Keep it as it is": the question goes, the holiday stands.
    calls = await bot.press(owner, "away:keep")
    assert texts_to(calls, OWNER) == [mode_text(bot, "away/menu", "holiday", back)]
    # Off is off.
    calls = await bot.press(owner, "away:off")
    assert texts_to(calls, OWNER) == [mode_text(bot, "away/set", "off")]


async def test_only_owners_set_it(api: FakeBotAPI, make_shopbot: MakeBot) -> None:
    bot = await staffed(api, make_shopbot, "bike")
    ann = api.new_shopper(first_name="Ann", language_code="en")
    said = await bot.send(ann, "/away")
    assert said and render(bot, "away/menu", "en", mode="off", back=None,
                           minutes=0) not in said
    assert (await bot.app.assistant.away.mode()).kind == "off"  # type: ignore[union-attr]


async def test_another_process_follows_at_once_and_a_restart_keeps_it(
        api: FakeBotAPI, make_shopbot: MakeBot, prefix: str, clock: FakeClock) -> None:
    bot = await staffed(api, make_shopbot, "bakery")
    other = create_app(settings_for(api, prefix, shop_file=TRADES["bakery"],
                                    staff_chat_id=STAFF), clock=clock, rng=random.Random(2),
                       sleep=clock.sleep)
    try:
        assert (await other.assistant.away.mode()).kind == "off"  # type: ignore[union-attr]
        await set_holiday(bot, owner_of(api), "2027年1月3日")
        # The other process, already running, hands over with the holiday's words.
        other.assistant.staff_available = True
        customer = await other.store.identify(77, first_name="Mei", last_name=None,
                                              username=None, telegram_language="zh-hant",
                                              now=clock())
        replies = await other.assistant.message(customer, "我想找真人客服")
        assert [r.template for r in replies][-1] == "away_holiday"
    finally:
        await other.close()

    await bot.stop()  # a restart: the mode is still there
    again = await make_shopbot(shop_file=TRADES["bakery"], staff_chat_id=STAFF,
                               admin_ids=str(OWNER))
    back = local_day(again, date(2027, 1, 3))
    assert await owner_says(again, owner_of(api), "/away") == [
        mode_text(again, "away/menu", "holiday", back)]
    ann = api.new_shopper(first_name="Ann", language_code="ru")
    await again.send(ann, "/start")
    assert (await ask_person(again, ann)).endswith(
        render(again, "away_holiday", "ru", name="Ann", back=back))


def test_dates_an_owner_may_type() -> None:
    today = date(2026, 12, 7)
    for text in ("3 January", "2027-01-03", "03.01", "3.1.2027", "3/1", "January 3, 2027",
                 "Jan 3rd", "3 января", "3 янв.", "1月3日", "2027年1月3日", "１月３日"):
        assert read_date(text, today) == date(2027, 1, 3), text
    assert read_date("6 Dec", today) == date(2026, 12, 6)  # a slip: refused as past
    for text in ("hello", "31.02", "13/13", ""):
        assert read_date(text, today) is None, text


async def test_a_check_falling_after_closing_time_waits_for_the_opening(
        api: FakeBotAPI, make_shopbot: MakeBot, clock: FakeClock) -> None:
    clock.local(hour=19, minute=55)  # Monday: the bike shop closes at 20:00
    bot = await staffed(api, make_shopbot, "bike")
    await set_unanswered(bot, owner_of(api), "10")
    ann = api.new_shopper(first_name="Ann", language_code="en")
    await bot.send(ann, "I want to talk to a person")
    sent = len(api.sent_to(ann.id))
    await run_due(bot.app)  # 20:05: closed, so nothing yet
    assert len(api.sent_to(ann.id)) == sent
    (due,) = (await queued(bot.app)).values()
    assert due.astimezone(bot.app.shop.tz).strftime("%a %H:%M") == "Tue 11:10"
    await run_due(bot.app)
    assert [c.params["text"] for c in api.sent_to(ann.id)[sent:]] == [
        render(bot, "away_unanswered", "en", name="Ann")]


def test_the_holiday_message_takes_its_day_as_a_placeholder(tmp_path: Path) -> None:
    assert "back_on" in overrides.takes("away_holiday")
    assert overrides.problem("away_unanswered", "Back on {back_on}") is not None
    own = tmp_path / "shop.yaml"
    own.write_text(TRADES["bike"].read_text() + """
texts:
  away_holiday:
    en: "Gone riding until {back_on}, {name}!"
    ru: "Мы в отпуске до {back_on}, {name}!"
    zh-hans: "亲，{name}，我们休假到{back_on}。"
    zh-hant: "親，{name}，我們休假到{back_on}。"
""")
    shop = load_shop(own)
    texts = Texts(TEMPLATES_DIR, load_catalogues(LOCALES_DIR), shop.currency, shop=shop)
    back = datetime(2027, 1, 3, tzinfo=shop.tz)
    said = {lang: texts.render("away_holiday", lang, shop=shop, name="<Ann>", back=back)
            for lang in LANGS}
    assert said == {"en": "Gone riding until 3 January, &lt;Ann&gt;!",
                    "ru": "Мы в отпуске до 3 января, &lt;Ann&gt;!",
                    "zh-hans": "亲，&lt;Ann&gt;，我们休假到1月3日。",
                    "zh-hant": "親，&lt;Ann&gt;，我們休假到1月3日。"}
