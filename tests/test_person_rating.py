"""Rating a person's help (issue 23), end to end through the fake Bot API: after staff hand a
conversation back, the shopper is asked once, in their language, how the help was; a word
more is taken from their next message, or skipped; 1–2 stars go back to their staff topic;
/stats counts the ratings. Two shops of different trades, the four languages, a business
chat. Every text is the app's own, rendered as the bot renders it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from bot.devtools.fake_bot_api import Call, FakeBotAPI, Shopper
from bot.domain.takeover import Person
from handlers.stats_report import summary
from handlers.texts import plain
from tests import conftest
from tests.conftest import TRADES, FakeClock, Harness, texts_to
from tests.test_staff import in_topic, staff_says, topic_of

LANGS = ("en", "ru", "zh-hans", "zh-hant")
OWNER = 5550001

MakeBot = Callable[..., Awaitable[Harness]]


async def staffed(api: FakeBotAPI, make_shopbot: MakeBot, trade: str) -> Harness:
    return await conftest.staffed(api, make_shopbot, trade, OWNER)


def render(bot: Harness, template: str, lang: str, **context: object) -> str:
    return bot.app.texts.render(template, lang, shop=bot.app.shop, **context)


def staff_render(bot: Harness, template: str, **context: object) -> str:
    assert bot.app.desk is not None
    return bot.app.texts.render(template, bot.app.desk.lang, **context)


def keyboard_of(call: Call) -> list[str]:
    markup = call.params.get("reply_markup") or {}
    return [b.get("callback_data", "") for row in markup.get("inline_keyboard", [])
            for b in row]


async def handed_back(bot: Harness, shopper: Shopper, olga: Shopper) -> list[Call]:
    """The shopper asks for a person, Olga answers, then hands back with /done."""
    await bot.send(shopper, "/start")
    await bot.press(shopper, "person")
    topic = topic_of(bot.api, shopper)
    await staff_says(bot, olga, topic, "Hello! Happy to help.")
    return await staff_says(bot, olga, topic, "/done")


def question_of(calls: list[Call], shopper: Shopper) -> tuple[Call, str]:
    """The message carrying the stars, and its question's id."""
    sent = [c for c in calls if c.chat_id == shopper.id and c.method == "sendMessage"]
    assert len(sent) == 1, sent  # the goodbye and the question are one message
    data = keyboard_of(sent[0])
    ask = data[0].split(":")[1]
    assert data == [f"hr:{ask}:{n}" for n in range(1, 6)]
    return sent[0], ask


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("trade", sorted(TRADES))
async def test_after_done_the_shopper_rates_the_help_and_a_low_one_reaches_staff(
        api: FakeBotAPI, make_shopbot: MakeBot, trade: str, lang: str) -> None:
    bot = await staffed(api, make_shopbot, trade)
    ann = api.new_shopper(first_name="Ann", language_code=lang)
    olga = api.new_shopper(first_name="Olga", language_code="ru")
    calls = await handed_back(bot, ann, olga)
    message, ask = question_of(calls, ann)
    question = render(bot, "rating_ask", lang, name="Ann", help=True)
    assert message.params["text"].endswith(question)  # after the goodbye, in their language
    topic = topic_of(api, ann)

    # Two stars: thanks, "anything to add?" with Skip, and staff are told at once.
    calls = await bot.press(ann, f"hr:{ask}:2")
    assert texts_to(calls, ann.id) == [render(bot, "rating_help", lang, name="Ann", help=True,
                                              stars=2, low=True)]
    thanks = next(c for c in calls if c.chat_id == ann.id and c.method == "sendMessage")
    assert keyboard_of(thanks) == [f"hrs:{ask}"]
    assert in_topic(api, topic)[-1]["text"] == staff_render(
        bot, "staff/help_rated", name="Ann", stars=2, comment=None, low=True)

    # The next message is the word on it: to the topic, and thanked.
    word = {"en": "She never answered my question about delivery",
            "ru": "Так и не ответили про доставку",
            "zh-hans": "关于配送的问题一直没人回答", "zh-hant": "關於配送的問題一直沒人回答"}[lang]
    replies = await bot.send(ann, word)
    assert replies == [render(bot, "rating_comment", lang, name="Ann", help=True, low=True,
                              skipped=False)]
    assert in_topic(api, topic)[-1]["text"] == staff_render(
        bot, "staff/help_rated", name="Ann", stars=2, comment=word, low=True)

    # An old star pressed again: a kind word, nothing changes.
    before = len(in_topic(api, topic))
    calls = await bot.press(ann, f"hr:{ask}:5")
    assert texts_to(calls, ann.id) == [render(bot, "rating_again", lang, name="Ann",
                                              help=True)]
    assert len(in_topic(api, topic)) == before
    today = (await bot.app.followups.stats.days(1))[0]
    assert today.help_ratings == {1: 0, 2: 1, 3: 0, 4: 0, 5: 0}
    assert today.ratings == {1: 0, 2: 0, 3: 0, 4: 0, 5: 0}  # orders' ratings untouched

    # The bot answers as ever afterwards: the word was taken once.
    after = await bot.send(ann, "/start")
    assert after and render(bot, "rating_comment", lang, name="Ann", help=True, low=True,
                            skipped=False) not in after


@pytest.mark.parametrize("trade", sorted(TRADES))
async def test_a_good_rating_can_skip_the_word_and_stats_count_the_ratings(
        api: FakeBotAPI, make_shopbot: MakeBot, trade: str) -> None:
    bot = await staffed(api, make_shopbot, trade)
    olga = api.new_shopper(first_name="Olga", language_code="ru")
    asks = []
    for name, lang in (("Ann", "en"), ("Boris", "ru"), ("Chen", "zh-hans")):
        shopper = api.new_shopper(first_name=name, language_code=lang)
        asks.append((shopper, lang, question_of(await handed_back(bot, shopper, olga),
                                                shopper)[1]))
    (ann, _, ann_ask), (boris, _, boris_ask), (chen, chen_lang, chen_ask) = asks
    topic = topic_of(api, ann)
    before = len(in_topic(api, topic))

    # Five stars: thanks, and nothing for staff until there is a word.
    calls = await bot.press(ann, f"hr:{ann_ask}:5")
    assert texts_to(calls, ann.id) == [render(bot, "rating_help", "en", name="Ann", help=True,
                                              stars=5, low=False)]
    assert len(in_topic(api, topic)) == before
    # Skip: its toast, the button goes, and the next message is an ordinary one again.
    calls = await bot.press(ann, f"hrs:{ann_ask}")
    toast = next(c for c in calls if c.method == "answerCallbackQuery")
    assert toast.params.get("text") == plain(render(bot, "rating_comment", "en", name="Ann",
                                                    help=True, low=False, skipped=True))
    assert any(c.method == "editMessageReplyMarkup" for c in calls)
    replies = await bot.send(ann, "Hello again")
    assert replies and render(bot, "rating_comment", "en", name="Ann", help=True, low=False,
                              skipped=False) not in replies  # not a word on the rating
    assert len(in_topic(api, topic)) == before
    # A Skip pressed again only stops its spinner.
    calls = await bot.press(ann, f"hrs:{ann_ask}")
    assert not texts_to(calls, ann.id)

    # A good rating's word reaches staff too, without a call to follow up.
    await bot.press(boris, f"hr:{boris_ask}:4")
    await bot.send(boris, "Спасибо, всё отлично!")
    assert in_topic(api, topic_of(api, boris))[-1]["text"] == staff_render(
        bot, "staff/help_rated", name="Boris", stars=4, comment="Спасибо, всё отлично!",
        low=False)
    # One star, in Chinese.
    calls = await bot.press(chen, f"hr:{chen_ask}:1")
    assert texts_to(calls, chen.id) == [render(bot, "rating_help", chen_lang, name="Chen",
                                               help=True, stars=1, low=True)]

    # /stats: three ratings of the team's help, averaging (5 + 4 + 1) / 3.
    days = await bot.app.followups.stats.days(14)
    assert days[-1].help_rated == 3 and days[-1].help_average == pytest.approx(10 / 3)
    owner = api.new_shopper(first_name="Owner", id=OWNER, language_code="en")
    calls = await bot.feed(api.message_update(owner, "/stats"))
    report = texts_to(calls, OWNER)[0]
    # Olga helped all three: the team's lines name her, with the same three ratings.
    figures = summary(days)
    olgas = figures["week"].people[olga.id]
    assert (olgas.taken, olgas.resolved, olgas.help_rated) == (3, 3, 3)
    expected = bot.app.texts.render("stats", "en", shop=bot.app.shop, **figures,
                                    team=[(Person(olga.id, "Olga"), olgas)])
    assert report == expected
    assert "3.3" in report and "Olga" in report


async def test_no_question_when_the_bot_already_had_the_conversation(
        api: FakeBotAPI, make_shopbot: MakeBot, clock: FakeClock) -> None:
    bot = await staffed(api, make_shopbot, "bike")
    ann = api.new_shopper(first_name="Ann")
    olga = api.new_shopper(first_name="Olga", language_code="ru")
    question_of(await handed_back(bot, ann, olga), ann)
    calls = await staff_says(bot, olga, topic_of(api, ann), "/done")  # again: nothing to ask
    assert not texts_to(calls, ann.id)
    # Back to the bot by itself (idle): the shopper is not asked either.
    bob = api.new_shopper(first_name="Bob")
    await bot.send(bob, "/start")
    await bot.press(bob, "person")
    clock.advance(hours=2)
    assert bot.app.desk is not None
    await bot.app.desk.sweep()
    assert not any(keyboard_of(c) and keyboard_of(c)[0].startswith("hr:")
                   for c in api.sent_to(bob.id))


async def test_an_unknown_question_is_a_stale_button_and_a_late_word_an_ordinary_message(
        api: FakeBotAPI, make_shopbot: MakeBot, clock: FakeClock) -> None:
    bot = await staffed(api, make_shopbot, "bakery")
    ann = api.new_shopper(first_name="Ann", language_code="ru")
    olga = api.new_shopper(first_name="Olga", language_code="ru")
    _, ask = question_of(await handed_back(bot, ann, olga), ann)
    calls = await bot.press(ann, "hr:00000000deadbeef:5")  # forged, or long gone
    answer = next(c for c in calls if c.method == "answerCallbackQuery")
    assert answer.params.get("text") and not texts_to(calls, ann.id)
    assert (await bot.app.followups.stats.days(1))[0].help_rated == 0
    await bot.press(ann, f"hr:{ask}:3")
    topic = topic_of(api, ann)
    before = len(in_topic(api, topic))
    # The conversation has gone quiet (a new one starts): the word is no longer awaited.
    clock.advance(seconds=bot.app.assistant.quiet_period.total_seconds() + 60)
    replies = await bot.send(ann, "Здравствуйте")
    assert replies and render(bot, "rating_comment", "ru", name="Ann", help=True, low=False,
                              skipped=False) not in replies
    assert len(in_topic(api, topic)) == before


async def test_in_a_business_chat_the_question_and_the_word_go_through_the_account(
        api: FakeBotAPI, make_shopbot: MakeBot) -> None:
    from tests.test_business import connect, writes

    bot = await staffed(api, make_shopbot, "bakery")
    await connect(bot)
    lena = api.new_shopper(first_name="Lena", language_code="zh-hant")
    olga = api.new_shopper(first_name="Olga", language_code="ru")
    assert await writes(bot, lena, "我想跟真人說話")
    topic = topic_of(api, lena)
    await staff_says(bot, olga, topic, "您好！")
    await staff_says(bot, olga, topic, "/done")
    last = api.business_sent("bc-1", lena.id)[-1]
    data = keyboard_of(last)
    ask = data[0].split(":")[1]
    assert data == [f"hr:{ask}:{n}" for n in range(1, 6)]
    assert last.params["text"].endswith(render(bot, "rating_ask", "zh-hant", name="Lena",
                                                help=True))
    since = len(api.business_sent("bc-1", lena.id))
    await bot.feed(api.business_callback_update("bc-1", lena, f"hr:{ask}:1"))
    thanks = [str(c.params.get("text")) for c in api.business_sent("bc-1", lena.id)[since:]]
    assert thanks == [render(bot, "rating_help", "zh-hant", name="Lena", help=True, stars=1,
                             low=True)]
    assert await writes(bot, lena, "等了太久") == [
        render(bot, "rating_comment", "zh-hant", name="Lena", help=True, low=True,
               skipped=False)]
    assert in_topic(api, topic)[-1]["text"] == staff_render(
        bot, "staff/help_rated", name="Lena", stars=1, comment="等了太久", low=True)
    assert api.sent_to(lena.id) == []  # nothing in the chat with the bot
