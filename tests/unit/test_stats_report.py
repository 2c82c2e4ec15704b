"""The owner's statistics report and chart, from hand-made days (no Redis needed)."""

from __future__ import annotations

import random
import struct
import warnings
from datetime import date, timedelta

import pytest

from bot import DEMO_SHOP, LOCALES_DIR, TEMPLATES_DIR
from bot.core.shop import load_shop
from bot.domain.stats import Day
from handlers.i18n import load_catalogues
from handlers.stats_report import chart, chart_labels, summary
from handlers.texts import Texts, plain

# Run again by scripts/test with the machine's clock moved (a year ahead, 29 February).
pytestmark = pytest.mark.dates

SHOP = load_shop(DEMO_SHOP)
TODAY = date(2026, 11, 23)
ENGLISH = {"conversations": "Conversations", "handoffs": "Handed over to the team",
           "answered_by_bot": "Answered by the bot", "title": "Conversations by day"}
CHINESE = {"conversations": "对话", "handoffs": "转交团队", "answered_by_bot": "机器人回答",
           "title": "每日对话"}


@pytest.fixture(scope="module")
def texts() -> Texts:
    return Texts(TEMPLATES_DIR, load_catalogues(LOCALES_DIR), SHOP.currency, random.Random(1),
                 SHOP.default_language)


def days(count: int) -> list[Day]:
    """`count` days up to TODAY, oldest first; day i has i conversations."""
    first = TODAY - timedelta(days=count - 1)
    return [Day(first + timedelta(days=i), conversations=i, handoffs=i // 3, followups=1)
            for i in range(count)]


def today(**fields: object) -> Day:
    return Day(TODAY, **fields)  # type: ignore[arg-type]


def report(texts: Texts, given: list[Day], lang: str = "en") -> str:
    return plain(texts.render("stats", lang, shop=SHOP, **summary(given)))  # type: ignore[arg-type]


def png_size(png: bytes) -> tuple[int, int]:
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    return struct.unpack(">II", png[16:24])


def test_summary_merges_the_last_seven_and_the_seven_before() -> None:
    given = days(14)  # conversations 0..13
    result = summary(given)
    assert result["today"] is given[-1]
    week, before = result["week"], result["previous_week"]
    assert week is not None and before is not None
    assert week.conversations == sum(range(7, 14))
    assert week.followups == 7
    assert week.day == given[7].day
    assert before.conversations == sum(range(7))
    assert before.day == given[0].day


def test_summary_without_two_weeks_has_no_previous_week() -> None:
    given = days(10)
    result = summary(given)
    assert result["previous_week"] is None
    assert result["week"] is not None
    assert result["week"].conversations == sum(range(3, 10))
    assert summary(days(1))["week"].conversations == 0  # type: ignore[union-attr]


def test_summary_needs_days() -> None:
    with pytest.raises(ValueError):
        summary([])


def test_report_shows_the_figures_an_owner_reads(texts: Texts) -> None:
    day = today(conversations=4, handoffs=1, followups=3, broadcasts=2, broadcast_messages=250,
                ratings={1: 0, 2: 0, 3: 0, 4: 1, 5: 1}, replies=[60.0, 300.0, 170.0])
    text = report(texts, [day])
    assert "Today, 23 November" in text
    assert "Linen Lane" in text
    assert "Conversations: 4" in text
    assert "Answered without a person: 75%" in text
    assert "Handed over to the team: 1" in text
    assert "First reply from the team (median): 3 min" in text  # 170 s
    assert "Satisfaction: 4.5 (2 ratings)" in text
    assert "1★ 0 · 2★ 0 · 3★ 0 · 4★ 1 · 5★ 1" in text
    assert "Follow-ups sent: 3" in text
    assert "Broadcasts sent: 2 (250 messages)" in text
    assert "The 7 days before" not in text  # only one day known


def test_report_says_dash_where_there_is_nothing_to_measure(texts: Texts) -> None:
    text = report(texts, [today()])
    assert "Answered without a person: —" in text
    assert "First reply from the team (median): —" in text
    assert "Satisfaction: —" in text
    assert "★" not in text
    assert "Broadcasts sent: 0\n" in text


def test_report_compares_the_week_with_the_week_before(texts: Texts) -> None:
    given = [Day(TODAY - timedelta(days=13 - i), conversations=2 if i < 7 else 3)
             for i in range(14)]
    text = report(texts, given)
    assert "Last 7 days, 17 November – 23 November" in text
    assert "Conversations: 21" in text
    assert "The 7 days before: 14 (+50%)" in text


@pytest.mark.parametrize("lang", ["en", "ru", "zh-hans", "zh-hant"])
def test_report_renders_in_every_language(texts: Texts, lang: str) -> None:
    text = report(texts, days(14), lang)
    assert str(sum(range(7, 14))) in text
    assert "<b>" not in text and "&" not in text  # plain() took the HTML away


def test_chart_is_a_png_of_the_expected_size() -> None:
    png = chart(days(14), ENGLISH)
    assert png_size(png) == (900, 500)
    assert 10_000 < len(png) < 500_000


def test_chart_draws_days_without_conversations_and_a_single_day() -> None:
    assert png_size(chart([today()], ENGLISH)) == (900, 500)
    assert png_size(chart(days(30), ENGLISH)) == (900, 500)


def test_chart_with_chinese_labels_never_shows_empty_boxes() -> None:
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*[Gg]lyph.*missing")
        png = chart(days(7), CHINESE, fallback_labels=ENGLISH)
    assert png_size(png) == (900, 500)


def test_chart_with_chinese_labels_and_no_fallback_still_draws() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # without a Chinese font the glyphs are missing
        assert png_size(chart(days(7), CHINESE)) == (900, 500)


def test_chart_labels_come_from_the_templates(texts: Texts) -> None:
    assert chart_labels(texts, "en") == ENGLISH
    assert set(chart_labels(texts, "zh-hant")) == set(ENGLISH)
