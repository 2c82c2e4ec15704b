"""Assignment in the staff chat (issue 23): a handoff's one card calls the staff on duty and
offers the conversation; /take or the card's button assigns it, the card says who has it,
/pass @colleague hands it on, and a colleague's words in an assigned topic stay notes
unless they take it. /stats gives each person's figures. End to end through the fake Bot
API, on two shops of different trades, with shoppers in the four languages."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from bot.devtools.fake_bot_api import Call, FakeBotAPI, Shopper
from bot.domain.takeover import Person
from handlers.stats_report import summary
from tests import conftest
from tests.conftest import TRADES, FakeClock, Harness, texts_to
from tests.test_staff import STAFF, in_topic, staff_says, topic_of

LANGS = ("en", "ru", "zh-hans", "zh-hant")
OWNER = 5550001

MakeBot = Callable[..., Awaitable[Harness]]


async def staffed(api: FakeBotAPI, make_shopbot: MakeBot, trade: str) -> Harness:
    return await conftest.staffed(api, make_shopbot, trade, OWNER)


def staff_render(bot: Harness, template: str, **context: object) -> str:
    assert bot.app.desk is not None
    return bot.app.texts.render(template, bot.app.desk.lang, **context)


def plain_of(bot: Harness, template: str, **context: object) -> str:
    """What staff read of a staff-chat text: the fake keeps a message's text without tags."""
    from handlers.texts import plain

    return plain(staff_render(bot, template, **context))


def said(bot: Harness, msgid: str, **values: object) -> str:
    """A sentence of the staff chat's, in the staff's language, as the catalogue has it."""
    assert bot.app.desk is not None
    return bot.app.texts._catalogues[bot.app.desk.lang].gettext(msgid) % values


def has_it(bot: Harness, name: str) -> str:
    return said(bot, "%(person)s has this conversation. Colleagues' messages here stay notes; "
                "/take to answer yourself.", person=name)


def buttons(message: dict) -> list[str]:
    markup = message.get("reply_markup") or {}
    return [b["callback_data"] for row in markup.get("inline_keyboard", []) for b in row]


def mentions(message: dict) -> set[str]:
    return {e["url"] for e in message.get("entities", []) if e["type"] == "text_link"}


def to_shopper(api: FakeBotAPI, shopper: Shopper) -> list[str]:
    return [str(c.params.get("text") or "") for c in api.sent_to(shopper.id)]


def copied_to(api: FakeBotAPI, shopper: Shopper) -> list[Call]:
    return [c for c in api.sent_to(shopper.id) if c.method.startswith("copyMessage")]


async def asks_for_a_person(bot: Harness, shopper: Shopper) -> int:
    """The shopper starts and presses *Ask a person*: their topic."""
    await bot.send(shopper, "/start")
    await bot.press(shopper, "person")
    return topic_of(bot.api, shopper)


async def team(bot: Harness, api: FakeBotAPI) -> tuple[Shopper, Shopper]:
    """Olga and Ivan, staff, both on duty (said in the group's General topic)."""
    olga = api.new_shopper(first_name="Olga", username="olga_k", language_code="ru")
    ivan = api.new_shopper(first_name="Ivan", username="ivan_p", language_code="en")
    for person in (olga, ivan):
        await staff_says(bot, person, None, "/duty on")
    return olga, ivan


@pytest.mark.parametrize(("trade", "lang"), [("bike", "en"), ("bike", "zh-hant"),
                                              ("bakery", "ru"), ("bakery", "zh-hans")])
async def test_a_handoff_calls_the_staff_on_duty_and_take_assigns_it(
        api: FakeBotAPI, make_shopbot: MakeBot, trade: str, lang: str) -> None:
    bot = await staffed(api, make_shopbot, trade)
    olga, ivan = await team(bot, api)
    ann = api.new_shopper(first_name="Ann", language_code=lang)
    topic = await asks_for_a_person(bot, ann)
    card = in_topic(api, topic)[0]
    # One card: why, who is on duty (called by name, so Telegram tells them), the buttons.
    assert said(bot, "🔔 %(name)s pressed “Ask a person”.", name="Ann") in card["text"]
    comma = "、" if bot.app.desk.lang.startswith("zh") else ", "
    assert said(bot, "Nobody has taken it yet. On duty: %(people)s. Take it with the button "
                "or /take.", people=f"Olga{comma}Ivan") in card["text"]
    assert mentions(card) == {f"tg://user?id={olga.id}", f"tg://user?id={ivan.id}"}
    assert buttons(card) == [f"staff:take:{ann.id}", f"staff:done:{ann.id}"]

    # Ivan takes it with the button: the card says so and its Take button goes.
    await bot.feed(api.callback_update(ivan, f"staff:take:{ann.id}",
                                       message=card))
    card = api.messages[(STAFF, card["message_id"])]
    assert has_it(bot, "Ivan") in card["text"]
    assert buttons(card) == [f"staff:done:{ann.id}"]
    assert in_topic(api, topic)[-1]["text"] == plain_of(
        bot, "staff/assigned", person=Person(ivan.id, "Ivan"), by=Person(ivan.id, "Ivan"),
        previous=None, changed=True)

    # Olga's words stay with the team: she is told once, and Ann gets nothing of them.
    before = len(api.sent_to(ann.id))
    await staff_says(bot, olga, topic, "I can take this one if you like")
    await staff_says(bot, olga, topic, "never mind")
    assert len(api.sent_to(ann.id)) == before
    told = [m["text"] for m in in_topic(api, topic) if m["text"].startswith("📝")]
    assert told == [plain_of(bot, "staff/kept_as_note", person=Person(olga.id, "Olga"),
                             holder=Person(ivan.id, "Ivan"))]
    # Ivan's reach her.
    await staff_says(bot, ivan, topic, "Hello Ann, Ivan here.")
    assert [c.params["from_chat_id"] for c in copied_to(api, ann)] == [STAFF]


@pytest.mark.parametrize("trade", sorted(TRADES))
async def test_pass_hands_a_conversation_on_and_take_takes_it_over(
        api: FakeBotAPI, make_shopbot: MakeBot, trade: str) -> None:
    bot = await staffed(api, make_shopbot, trade)
    olga, ivan = await team(bot, api)
    boris = api.new_shopper(first_name="Борис", language_code="ru")
    topic = await asks_for_a_person(bot, boris)
    await staff_says(bot, ivan, topic, "Good afternoon!")  # the first to answer has it
    card = in_topic(api, topic)[0]
    assert has_it(bot, "Ivan") in api.messages[(STAFF, card["message_id"])]["text"]

    # /pass to someone the bot never saw here: said plainly, nothing changes.
    await staff_says(bot, ivan, topic, "/pass @nobody_here")
    assert in_topic(api, topic)[-1]["text"] == plain_of(bot, "staff/pass_unknown",
                                                       asked="@nobody_here")
    # /pass @olga_k: Olga has it, called by name.
    await staff_says(bot, ivan, topic, "/pass @olga_k")
    passed = in_topic(api, topic)[-1]
    assert passed["text"] == plain_of(bot, "staff/assigned", person=Person(olga.id, "Olga"),
                                      by=Person(ivan.id, "Ivan"), previous=None,
                                      changed=True)
    assert mentions(passed) == {f"tg://user?id={olga.id}"}
    assert has_it(bot, "Olga") in api.messages[(STAFF, card["message_id"])]["text"]
    sent = len(api.sent_to(boris.id))
    await staff_says(bot, ivan, topic, "one more thing")  # Ivan's are notes now
    assert len(api.sent_to(boris.id)) == sent
    await staff_says(bot, olga, topic, "Здравствуйте, Борис!")
    assert len(api.sent_to(boris.id)) == sent + 1

    # Ivan takes it back with /take: it is his again, and the topic says from whom.
    await staff_says(bot, ivan, topic, "/take")
    assert in_topic(api, topic)[-1]["text"] == plain_of(
        bot, "staff/assigned", person=Person(ivan.id, "Ivan"), by=Person(ivan.id, "Ivan"),
        previous=Person(olga.id, "Olga"), changed=True)
    await staff_says(bot, ivan, topic, "Ivan again")
    assert len(api.sent_to(boris.id)) == sent + 2

    # Answering a colleague's message with /pass names them too.
    olgas = next(m for m in in_topic(api, topic) if m.get("from", {}).get("id") == olga.id)
    await bot.feed(api.message_update(ivan, "/pass", chat=STAFF, message_thread_id=topic,
                                      reply_to_message=olgas))
    assert has_it(bot, "Olga") in api.messages[(STAFF, card["message_id"])]["text"]


@pytest.mark.parametrize("trade", sorted(TRADES))
async def test_duty_is_said_and_without_anyone_on_duty_everyone_is_offered(
        api: FakeBotAPI, make_shopbot: MakeBot, trade: str) -> None:
    bot = await staffed(api, make_shopbot, trade)
    olga = api.new_shopper(first_name="Olga", username="olga_k")
    await staff_says(bot, olga, None, "/duty on")
    await staff_says(bot, olga, None, "/duty off")
    await staff_says(bot, olga, None, "/duty")
    general = [m["text"] for (chat, _), m in sorted(api.messages.items())
               if chat == STAFF and "message_thread_id" not in m and m["from"]["is_bot"]]
    me = Person(olga.id, "Olga", "olga_k")
    assert general == [
        plain_of(bot, "staff/duty", person=me, on=True, on_duty=[me]),
        plain_of(bot, "staff/duty", person=me, on=False, on_duty=[]),
        plain_of(bot, "staff/duty", person=me, on=None, on_duty=[])]
    chen = api.new_shopper(first_name="Chen", language_code="zh-hans")
    card = in_topic(api, await asks_for_a_person(bot, chen))[0]
    assert said(bot, "Nobody has taken it yet: take it with the button or /take, or just "
                "answer.") in card["text"]
    assert not mentions(card)


@pytest.mark.parametrize("trade", sorted(TRADES))
async def test_stats_give_each_persons_figures(
        api: FakeBotAPI, make_shopbot: MakeBot, clock: FakeClock, trade: str) -> None:
    bot = await staffed(api, make_shopbot, trade)
    olga, ivan = await team(bot, api)
    # Ann: Olga takes her at once, answers 2 minutes after the handoff, hands back at 10.
    ann = api.new_shopper(first_name="Ann", language_code="en")
    topic = await asks_for_a_person(bot, ann)
    await staff_says(bot, olga, topic, "/take")
    clock.advance(minutes=2)
    await staff_says(bot, olga, topic, "Hi Ann!")
    clock.advance(minutes=8)
    calls = await staff_says(bot, olga, topic, "/done")
    ask = next(d for c in calls if c.chat_id == ann.id
               for row in c.params.get("reply_markup", {}).get("inline_keyboard", [])
               for d in [b.get("callback_data", "") for b in row] if d.startswith("hr:"))
    await bot.press(ann, ask.rsplit(":", 1)[0] + ":4")
    # Mei: Ivan answers after 4 minutes; the conversation is still his.
    mei = api.new_shopper(first_name="Mei", language_code="zh-hant")
    mei_topic = await asks_for_a_person(bot, mei)
    clock.advance(minutes=4)
    await staff_says(bot, ivan, mei_topic, "您好！")

    days = await bot.app.followups.stats.days(14)
    figures = summary(days)
    people = figures["week"].people
    assert (people[olga.id].taken, people[olga.id].resolved) == (1, 1)
    # The bot's own waits (a chat's pace) move the test's clock by seconds too.
    assert 120 <= people[olga.id].first_reply < 180
    assert 600 <= people[olga.id].resolution < 660
    assert people[olga.id].help_average == 4
    assert (people[ivan.id].taken, people[ivan.id].resolved) == (1, 0)
    assert 240 <= people[ivan.id].first_reply < 300 and people[ivan.id].help_average is None

    owner = api.new_shopper(first_name="Owner", id=OWNER, language_code="en")
    report = texts_to(await bot.feed(api.message_update(owner, "/stats")), OWNER)[0]
    assert report == bot.app.texts.render(
        "stats", "en", shop=bot.app.shop, **figures,
        team=[(Person(olga.id, "Olga", "olga_k"), people[olga.id]),
              (Person(ivan.id, "Ivan", "ivan_p"), people[ivan.id])])
    assert "🧑‍💼 <b>Olga</b>: 1 conversation taken · 1 handed back" in report
    assert "⭐ 4.0 (1 rating)" in report and "🧑‍💼 <b>Ivan</b>: 1 conversation taken" in report
