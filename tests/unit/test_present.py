"""Replies become messages (handlers/present.py): consecutive replies that can be one
message are one, and the shopper reads the same texts in the same order, with the same
buttons. No Bot API: the replies are rendered, not sent."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import timedelta

import pytest
from fakeredis import FakeAsyncRedis

from bot import DEMO_SHOP, LOCALES_DIR, TEMPLATES_DIR
from bot.core.shop import load_shop
from bot.domain.conversation import Assistant
from bot.domain.replies import Reply
from bot.nlu.understanding import Understanding
from bot.storage.store import Customer, Store
from handlers.i18n import load_catalogues
from handlers.present import TEXT_LIMIT, Rendered, _joined, keyboard, rendered
from handlers.texts import Texts
from tests.conftest import FakeClock

Rules = tuple[Assistant, Customer, Callable[[], Texts]]


@pytest.fixture
async def rules() -> Rules:
    """The demo shop's rules, a customer, and its texts: each the same phrasings (`pick`)."""
    shop = load_shop(DEMO_SHOP)
    clock = FakeClock()
    store = Store(FakeAsyncRedis(), "unit", clock=clock)
    assistant = Assistant(shop, store, Understanding(shop), clock,
                          quiet_period=timedelta(hours=6))
    customer = await store.identify(1, first_name="Ann", last_name=None, username=None,
                                     telegram_language="en", now=clock())
    catalogues = load_catalogues(LOCALES_DIR)
    return assistant, customer, lambda: Texts(TEMPLATES_DIR, catalogues, shop.currency,
                                              random.Random(1), "en", shop)


def one_by_one(replies: list[Reply], texts: Texts) -> list[Rendered]:
    """What each reply would be as a message of its own."""
    return [Rendered(texts.render(r.template, "en", **r.context), keyboard(r, texts, "en"),
                     r.photo) for r in replies]


async def test_a_greeting_and_an_answer_without_buttons_are_one_message(
        rules: Rules) -> None:
    assistant, customer, texts = rules
    replies = [assistant.greeting(customer), assistant.farewell(customer)]
    greeting, farewell = one_by_one(replies, texts())
    assert greeting.markup is not None and farewell.markup is None
    [message] = rendered(replies, texts(), "en")
    assert message.text == f"{greeting.text}\n\n{farewell.text}"
    assert message.markup == greeting.markup  # the menu, now under both texts


async def test_a_keyboard_both_carry_is_shown_once(
        rules: Rules) -> None:
    assistant, customer, texts = rules
    replies = [assistant.greeting(customer), await assistant.not_understood(customer)]
    greeting, asked = one_by_one(replies, texts())
    assert greeting.markup == asked.markup
    [message] = rendered(replies, texts(), "en")
    assert message == Rendered(f"{greeting.text}\n\n{asked.text}", asked.markup)


async def test_different_keyboards_or_a_photo_stay_apart(
        rules: Rules) -> None:
    assistant, customer, texts = rules
    shirt = next(p for p in assistant.shop.products if p.photo)
    card = assistant.product_card(customer, shirt.id)
    for replies in ([assistant.greeting(customer), assistant.team_will_help(customer, "human")],
                    [assistant.greeting(customer), card],
                    [card, assistant.farewell(customer)]):
        assert rendered(replies, texts(), "en") == one_by_one(replies, texts())


def test_a_text_over_telegrams_limit_stays_two_messages() -> None:
    # Telegram counts UTF-16 code units: an emoji is two.
    assert _joined(Rendered("😀" * 2000), Rendered("y" * (TEXT_LIMIT - 4002))) \
        == Rendered("😀" * 2000 + "\n\n" + "y" * (TEXT_LIMIT - 4002))
    assert _joined(Rendered("😀" * 2000), Rendered("y" * (TEXT_LIMIT - 4001))) is None
    # Markup is not read: a tag counts for nothing, an entity for one character.
    assert _joined(Rendered("<b>" + "x" * 4000 + "</b>"), Rendered("&amp;" * 94)) is not None


async def test_a_keyboard_is_made_once_per_language_and_shop(rules: Rules) -> None:
    """The same buttons in the same language give the keyboard made the first time; another
    language, other buttons or a reloaded shop (its prices, its fallbacks) make their own."""
    assistant, customer, make_texts = rules
    texts = make_texts()
    shirt = next(p for p in assistant.shop.products if p.photo)
    card = assistant.product_card(customer, shirt.id)
    made = keyboard(card, texts, "en")
    assert made is not None
    assert keyboard(assistant.product_card(customer, shirt.id), texts, "en") is made
    assert made == keyboard(card, make_texts(), "en")  # what a fresh Texts makes
    assert keyboard(card, texts, "ru") not in (None, made)
    other = next(p for p in assistant.shop.products if p.id != shirt.id)
    assert keyboard(assistant.product_card(customer, other.id), texts, "en") != made
    texts.use_shop(assistant.shop.currency, "en", assistant.shop)
    again = keyboard(card, texts, "en")
    assert again == made and again is not made
