"""The shop's rules in process: the conversation over an in-memory Redis (fakeredis, the
store's twin), rendered with the shop's templates, on shops of two trades. No Redis server,
no Bot API: these run in seconds (scripts/test --fast)."""

from __future__ import annotations

from datetime import timedelta
from itertools import count

import pytest
from fakeredis import FakeAsyncRedis

from bot import LOCALES_DIR, TEMPLATES_DIR
from bot.core.shop import load_shop
from bot.domain.conversation import Assistant
from bot.domain.replies import Reply
from bot.nlu.understanding import Understanding
from bot.storage.store import Customer, Store
from handlers.i18n import load_catalogues
from handlers.texts import Texts, plain
from tests.conftest import FakeClock

BIKES = "bot/shops/bike_shop.yaml"
BAKERY = "bot/shops/bakery_shop.yaml"
_ids = count(1)


class Shopper:
    """One shopper talking to the rules of one shop: what they write, what they read."""

    def __init__(self, shop_file: str, lang: str) -> None:
        shop = load_shop(shop_file)
        self.clock = FakeClock()
        self.store = Store(FakeAsyncRedis(), "unit", clock=self.clock)
        self.assistant = Assistant(shop, self.store, Understanding(shop), self.clock,
                                   quiet_period=timedelta(hours=12))
        self.texts = Texts(TEMPLATES_DIR, load_catalogues(LOCALES_DIR), shop.currency, None,
                           shop.default_language, shop)
        self.lang = lang
        self.customer: Customer | None = None

    async def says(self, text: str) -> list[str]:
        if self.customer is None:
            self.customer = await self.store.identify(
                next(_ids), first_name="Ann", last_name=None, username=None,
                telegram_language=self.lang, now=self.clock())
        return self.read(await self.assistant.message(self.customer, text))

    def read(self, replies: list[Reply]) -> list[str]:
        return [plain(self.texts.render(r.template, r.lang or self.lang, **r.context))
                for r in replies]


@pytest.mark.parametrize(("shop", "lang", "asks", "price"), [
    (BIKES, "en", "how much is the front light?", "400 lm"),
    (BAKERY, "zh-hant", "鳳梨酥幾錢？", "6入：$360"),
])
async def test_a_product_question_gets_the_card_with_its_prices(
        shop: str, lang: str, asks: str, price: str) -> None:
    shopper = Shopper(shop, lang)
    *_, card = await shopper.says(asks)
    assert price in card


@pytest.mark.parametrize(("shop", "lang", "discount", "again", "gift"), [
    (BIKES, "ru", "скидочку сделаете?", "ну хоть подарок какой-нибудь?", "светоотраж"),
    (BAKERY, "en", "any discount?", "ok, any little freebie then?", "mini butter cookies"),
])
async def test_the_price_holds_and_the_gift_comes_once_refused(
        shop: str, lang: str, discount: str, again: str, gift: str) -> None:
    shopper = Shopper(shop, lang)
    *_, refusal = await shopper.says(discount)
    assert gift.lower() not in refusal.lower()
    [offer] = await shopper.says(again)
    assert gift.lower() in offer.lower()
    [already] = await shopper.says(again)  # one a customer
    assert gift.lower() in already.lower() and already != offer


@pytest.mark.parametrize(("shop", "lang", "first", "then", "kept"), [
    # A follow-up keeps the product just discussed, in the conversation's state.
    (BIKES, "en", "do you have the kids bike?", "and the 24 inch one?", "kids-bike"),
    (BAKERY, "ru", "чизкейк баскский есть?", "а 6 дюймов?", "basque-cheesecake"),
])
async def test_a_follow_up_is_about_the_product_just_discussed(
        shop: str, lang: str, first: str, then: str, kept: str) -> None:
    shopper = Shopper(shop, lang)
    await shopper.says(first)
    await shopper.says(then)
    assert shopper.customer is not None
    conversation = await shopper.store.conversation(shopper.customer.id)
    assert conversation is not None and conversation.product == kept
