"""Telegram Business, end to end: a shop's own account connected to the bot, its shoppers
answered through the connection, the owner stepping in and handing back, connections
without reply rights or cut. The real dispatcher polls the fake Bot API over HTTP; two
shops of different trades, shoppers in each of the four languages."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr
from redis.asyncio import Redis

from bot import DEMO_SHOP
from bot.devtools.fake_bot_api import Call, FakeBotAPI, Shopper
from bot.storage.keys import Keys
from handlers.callback_data import HandBackData
from tests.conftest import API_TOKEN, FakeClock, Harness, ShopBackend, run_due
from tests.test_inbox import SECRET, start_shopbot, until
from tests.test_running import free_port

SHOPS = Path(DEMO_SHOP).parent / "shops"
# Two trades, each asked about one of its products in each language.
TRADES = {
    "bike": (SHOPS / "bike_shop.yaml", {
        "en": ("How much is the City bike Nevsky 3?", "Nevsky 3"),
        "ru": ("Сколько стоит городской велосипед «Невский 3»?", "Невский 3"),
        "zh-hans": ("Nevsky 3 城市自行车多少钱？", "Nevsky 3"),
        "zh-hant": ("Nevsky 3 城市單車多少錢？", "Nevsky 3"),
    }),
    "bakery": (SHOPS / "bakery_shop.yaml", {
        "en": ("How much is the strawberry fresh cream cake?", "Strawberry"),
        "ru": ("Сколько стоит клубничный торт со сливками?", "Клубничный торт"),
        "zh-hans": ("大湖草莓鲜奶油蛋糕多少钱？", "草莓"),
        "zh-hant": ("大湖草莓鮮奶油蛋糕多少錢？", "草莓"),
    }),
}
TELEGRAM_LANG = {"en": "en", "ru": "ru", "zh-hans": "zh-hans", "zh-hant": "zh-hant"}
OWNER_ID = 5_000_001
ADMIN_ID = 5_000_002


@pytest.fixture(params=sorted(TRADES))
def trade(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
async def shop_bot(make_shopbot: Callable[..., Awaitable[Harness]], trade: str) -> Harness:
    return await make_shopbot(shop_file=TRADES[trade][0], admin_ids=str(ADMIN_ID))


def owner() -> Shopper:
    return Shopper(id=OWNER_ID, first_name="Mia", language_code="en")


def texts(calls: list[Call]) -> list[str]:
    return [str(c.params.get("text") or c.params.get("caption") or "") for c in calls]


async def connect(bot: Harness, *, can_reply: bool = True, enabled: bool = True,
                  connection_id: str = "bc-1") -> list[Call]:
    return await bot.feed(bot.api.business_connection_update(
        owner(), connection_id=connection_id, can_reply=can_reply, enabled=enabled))


async def writes(bot: Harness, shopper: Shopper, text: str, connection_id: str = "bc-1",
                 **kw: object) -> list[str]:
    """The shopper writes to the shop's business account; what the bot sent back there."""
    since = len(bot.api.business_sent(connection_id, shopper.id))
    await bot.feed(bot.api.business_message_update(connection_id, shopper, text, **kw))
    return texts(bot.api.business_sent(connection_id, shopper.id)[since:])


async def owner_writes(bot: Harness, shopper: Shopper, text: str, **kw: object) -> list[Call]:
    return await bot.feed(bot.api.business_message_update(
        "bc-1", shopper, text, from_owner=True, **kw))


async def test_a_shopper_is_answered_through_the_connection_in_each_language(
        shop_bot: Harness, api: FakeBotAPI, trade: str) -> None:
    told = await connect(shop_bot)
    # The owner and the admins hear the account is connected.
    assert {c.chat_id for c in told if c.method == "sendMessage"} == {OWNER_ID, ADMIN_ID}
    for lang, (question, product) in TRADES[trade][1].items():
        shopper = api.new_shopper(language_code=TELEGRAM_LANG[lang])
        first = await writes(shop_bot, shopper, question)
        assert first and product in "\n".join(first), (lang, first)
        # Nothing went to the shopper's chat with the bot: only through the account.
        assert api.sent_to(shopper.id) == []
        # Every send through the account carried the connection.
        for call in api.business_sent("bc-1", shopper.id):
            assert call.params["business_connection_id"] == "bc-1"


async def test_the_owner_steps_in_and_hands_back(shop_bot: Harness, api: FakeBotAPI,
                                                 clock: FakeClock) -> None:
    await connect(shop_bot)
    shopper = api.new_shopper(language_code="en")
    assert await writes(shop_bot, shopper, "Hello")
    # The owner answers in person: the bot says nothing more there, and tells the owner how
    # to hand the chat back.
    told = await owner_writes(shop_bot, shopper, "Hi, it's Mia, the owner. How can I help?")
    notice = [c for c in told if c.method == "sendMessage" and c.chat_id == OWNER_ID]
    assert len(notice) == 1 and shopper.first_name in notice[0].params["text"]
    assert await writes(shop_bot, shopper, "Do you deliver on Sundays?") == []
    # A second word from the owner does not tell them again.
    told = await owner_writes(shop_bot, shopper, "Yes, we do!")
    assert not [c for c in told if c.chat_id == OWNER_ID]
    # Meanwhile the shopper writes to the bot's own chat too, and is answered there.
    assert await shop_bot.send(shopper, "Hello")
    # Someone else's press of the button changes nothing.
    await shop_bot.feed(api.callback_update(
        Shopper(id=OWNER_ID + 7, first_name="Eve"), HandBackData(customer=shopper.id).pack()))
    assert await writes(shop_bot, shopper, "Do you deliver on Sundays?") == []
    # The owner's button hands it back: the bot answers again, and the notice says so.
    await shop_bot.feed(api.callback_update(
        owner(), HandBackData(customer=shopper.id).pack(),
        message=notice[0].result["message_id"]))  # type: ignore[index]
    back = shop_bot.app.texts.render("business_handed_back", "en", name=shopper.first_name)
    assert api.messages[(OWNER_ID, notice[0].result["message_id"])]["text"] == back  # type: ignore[index]
    assert await writes(shop_bot, shopper, "Do you deliver on Sundays?")


async def test_the_owner_falling_silent_gives_the_chat_back(
        shop_bot: Harness, api: FakeBotAPI, clock: FakeClock) -> None:
    await connect(shop_bot)
    shopper = api.new_shopper(language_code="ru")
    await writes(shop_bot, shopper, "Здравствуйте")
    await owner_writes(shop_bot, shopper, "Добрый день! Сейчас подскажу.")
    clock.advance(minutes=29)
    assert await writes(shop_bot, shopper, "Есть доставка?") == []
    clock.advance(minutes=2)  # BUSINESS_IDLE_MINUTES (30) since the owner's last word
    assert await writes(shop_bot, shopper, "Есть доставка?")


async def test_the_bots_own_replies_and_telegrams_greeting_are_not_the_owner(
        shop_bot: Harness, api: FakeBotAPI) -> None:
    await connect(shop_bot)
    shopper = api.new_shopper(language_code="zh-hans")
    # The fake echoes what the bot sends there as business messages from the account, as
    # Telegram does: had the bot taken them for the owner's, it would fall quiet.
    assert await writes(shop_bot, shopper, "你好")
    await shop_bot.feed(api.business_message_update(
        "bc-1", shopper, "欢迎光临！", from_owner=True, offline=True))  # Telegram's greeting
    assert await writes(shop_bot, shopper, "可以送货吗？")
    # After Telegram's own greeting, a new shopper is not greeted twice by the bot.
    other = api.new_shopper(language_code="en")
    answer = await writes(shop_bot, other, "Hello")
    assert answer == []
    greeted = await writes(shop_bot, api.new_shopper(language_code="en"),
                           TRADES["bike"][1]["en"][0])
    assert greeted


async def test_without_reply_rights_or_once_disconnected_the_bot_stays_quiet(
        shop_bot: Harness, api: FakeBotAPI) -> None:
    told = await connect(shop_bot, can_reply=False)
    assert any(c.chat_id == ADMIN_ID for c in told)
    shopper = api.new_shopper(language_code="en")
    assert await writes(shop_bot, shopper, "Hello") == []
    assert api.sent_to(shopper.id) == []
    # Rights given: it answers.
    await connect(shop_bot)
    assert await writes(shop_bot, shopper, "Hello again")
    # Disconnected: quiet at once, and the admins are told.
    told = await connect(shop_bot, enabled=False)
    assert any(c.chat_id == ADMIN_ID for c in told)
    assert await writes(shop_bot, shopper, "Anyone there?") == []
    assert api.sent_to(shopper.id) == []


async def test_a_connection_the_bot_never_heard_of_is_asked_of_telegram(
        shop_bot: Harness, api: FakeBotAPI) -> None:
    api.business_connection_update(owner(), connection_id="bc-old")  # made before, not seen
    shopper = api.new_shopper(language_code="en")
    assert await writes(shop_bot, shopper, "Hello", connection_id="bc-old")
    assert any(c.method == "getBusinessConnection" for c in api.calls)


async def test_business_only_shoppers_get_no_promotions_until_they_consent_in_the_bot(
        shop_bot: Harness, api: FakeBotAPI) -> None:
    await connect(shop_bot)
    shopper = api.new_shopper(language_code="en")
    await writes(shop_bot, shopper, "Hello")
    store = shop_bot.app.store
    assert (await store.flags(shopper.id))["promotions"] == "0"
    # /start in the business chat greets, but is no consent to promotions.
    await writes(shop_bot, shopper, "/start")
    assert (await store.flags(shopper.id))["promotions"] == "0"
    # In the bot's own chat it is.
    await shop_bot.send(shopper, "/start")
    assert (await store.flags(shopper.id))["promotions"] == "1"


@contextlib.asynccontextmanager
async def backend_of(bot: Harness) -> AsyncIterator[ShopBackend]:
    """The shop's backend calling this bot's HTTP API over a real connection."""
    web_app = web.Application()
    bot.app.settings.shop_api_token = SecretStr(API_TOKEN)
    bot.app.api_routes(web_app)
    async with TestClient(TestServer(web_app, host="127.0.0.1")) as client:
        yield ShopBackend(client)


async def paid(bot: Harness, backend: ShopBackend, shopper: Shopper, order_id: str) -> None:
    items = [{"product": bot.app.shop.products[0].id, "quantity": 1, "price": 1000}]
    await backend.event(order_id, "created", customer_id=shopper.id, items=items)
    await backend.event(order_id, "paid", customer_id=shopper.id)


async def test_order_news_reaches_the_chat_the_customer_last_wrote_in(
        shop_bot: Harness, api: FakeBotAPI) -> None:
    await connect(shop_bot)
    shopper = api.new_shopper(language_code="en")
    await writes(shop_bot, shopper, "Hello")
    async with backend_of(shop_bot) as backend:
        await paid(shop_bot, backend, shopper, "B1")
        assert "B1" in texts(api.business_sent("bc-1", shopper.id))[-1]
        assert api.sent_to(shopper.id) == []
        # Written to the bot's own chat since: the next news goes there.
        await shop_bot.send(shopper, "Hello")
        before = len(api.business_sent("bc-1", shopper.id))
        await paid(shop_bot, backend, shopper, "B2")
        assert len(api.business_sent("bc-1", shopper.id)) == before
        assert "B2" in texts(api.sent_to(shopper.id))[-1]
        # Back in the business chat, then the account disconnected: the news goes to the
        # chat with the bot they have.
        await writes(shop_bot, shopper, "Hi again")
        await connect(shop_bot, enabled=False)
        await paid(shop_bot, backend, shopper, "B3")
        assert not any("B3" in t for t in texts(api.business_sent("bc-1", shopper.id)))
        assert "B3" in texts(api.sent_to(shopper.id))[-1]


async def test_a_business_only_customer_refused_in_the_bot_chat_is_not_marked_blocked(
        make_shopbot: Callable[..., Awaitable[Harness]], api: FakeBotAPI, trade: str) -> None:
    bot = await make_shopbot(shop_file=TRADES[trade][0], business_followups="false")
    await connect(bot)
    shopper = api.new_shopper(language_code="en")
    await writes(bot, shopper, "Hello")
    api.block(shopper.id)  # never started the bot: Telegram refuses the bot's chat
    async with backend_of(bot) as backend:
        await paid(bot, backend, shopper, "C1")  # BUSINESS_FOLLOWUPS=false: the bot's chat
    assert not any("C1" in t for t in texts(api.business_sent("bc-1", shopper.id)))
    assert (await bot.app.store.flags(shopper.id))["blocked"] != "1"


async def test_the_delivery_check_comes_through_the_account_and_the_birthday_does_not(
        shop_bot: Harness, api: FakeBotAPI, clock: FakeClock) -> None:
    await connect(shop_bot)
    shopper = api.new_shopper(language_code="ru")
    await writes(shop_bot, shopper, "Здравствуйте")
    await shop_bot.send(shopper, "/start")  # consents to promotions in the bot's chat
    await writes(shop_bot, shopper, "Ещё вопрос")  # and writes to the account last
    async with backend_of(shop_bot) as backend:
        await paid(shop_bot, backend, shopper, "D1")
        await backend.event("D1", "shipped", tracking="T1", carrier="Post")
        await backend.event("D1", "delivered")
        since = len(api.business_sent("bc-1", shopper.id))
        await run_due(shop_bot.app)
        check = api.business_sent("bc-1", shopper.id)[since:]
        assert len(check) == 1 and check[0].params.get("reply_markup")
        # A birthday greeting is a promotion: only in the bot's own chat.
        bot_chat = len(api.sent_to(shopper.id))
        day = clock().astimezone(shop_bot.app.shop.tz) + timedelta(days=2)
        items = [{"product": shop_bot.app.shop.products[0].id, "quantity": 1, "price": 1000}]
        await backend.event("D2", "created", customer_id=shopper.id, items=items,
                            birthday=day.strftime("2000-%m-%d"))  # 2000: 29 February too
        business = len(api.business_sent("bc-1", shopper.id))
        await run_due(shop_bot.app)
        assert len(api.business_sent("bc-1", shopper.id)) == business
        assert len(api.sent_to(shopper.id)) == bot_chat + 1


async def test_with_replies_off_the_account_is_recorded_and_left_to_its_owner(
        make_shopbot: Callable[..., Awaitable[Harness]], api: FakeBotAPI, trade: str) -> None:
    bot = await make_shopbot(shop_file=TRADES[trade][0], business_replies="false",
                             admin_ids=str(ADMIN_ID))
    told = await connect(bot)
    lang = bot.app.shop.default_language
    notice = bot.app.texts.render("business_connection", lang, change="muted", name="Mia")
    assert [c.params["text"] for c in told if c.chat_id == ADMIN_ID] == [notice]
    shopper = api.new_shopper(language_code="en")
    assert await writes(bot, shopper, "Hello") == []
    told = await owner_writes(bot, shopper, "Hi, Mia here")
    assert not [c for c in told if c.chat_id == OWNER_ID]  # no "I stepped back": it never spoke


ASKS = {  # a discount, then a gift, then goodbye
    "en": ("any discount?", "ok, at least a little gift?", "thanks, bye!"),
    "ru": ("скидочку сделаете?", "ну хоть подарочек положите?", "спасибо, до свидания!"),
    "zh-hans": ("亲，能便宜点吗", "那送个小礼物吧", "谢谢，再见！"),
    "zh-hant": ("親，可以算便宜一點嗎", "那送個小禮物吧", "謝謝，再見！"),
}


@pytest.mark.parametrize("lang", sorted(ASKS))
async def test_bargaining_and_farewell_in_the_owners_voice(
        shop_bot: Harness, api: FakeBotAPI, lang: str) -> None:
    await connect(shop_bot)
    shop = shop_bot.app.shop
    gift = shop.policy.gift
    assert gift is not None
    gift_name = shop.text(gift.name, lang)
    shopper = api.new_shopper(language_code=TELEGRAM_LANG[lang])
    discount, gift_ask, bye = ASKS[lang]
    refusal = "\n".join(await writes(shop_bot, shopper, discount))
    assert refusal and gift_name not in refusal and "%" not in refusal
    offer = "\n".join(await writes(shop_bot, shopper, gift_ask))
    assert gift_name in offer
    farewell = await writes(shop_bot, shopper, bye)
    assert len(farewell) == 1
    assert api.sent_to(shopper.id) == []  # all of it through the account


async def test_a_button_under_an_answer_works_there(shop_bot: Harness, api: FakeBotAPI,
                                                   trade: str) -> None:
    await connect(shop_bot)
    shopper = api.new_shopper(language_code="en")
    question, _ = TRADES[trade][1]["en"]
    await writes(shop_bot, shopper, question)
    card = api.business_sent("bc-1", shopper.id)[-1]
    keyboard = card.params["reply_markup"]["inline_keyboard"]
    data = keyboard[0][0]["callback_data"]
    before = len(api.business_sent("bc-1", shopper.id))
    calls = await shop_bot.feed(api.business_callback_update("bc-1", shopper, data))
    assert any(c.method == "answerCallbackQuery" for c in calls)
    answered = [c for c in calls if c.params.get("business_connection_id") == "bc-1"
                and c.method.startswith(("send", "edit"))]
    assert answered or len(api.business_sent("bc-1", shopper.id)) > before
    assert api.sent_to(shopper.id) == []


async def test_with_a_staff_chat_both_sides_show_in_the_customers_topic(
        api: FakeBotAPI, make_shopbot: Callable[..., Awaitable[Harness]], trade: str) -> None:
    staff = -1001234567890
    api.forum(staff)
    bot = await make_shopbot(shop_file=TRADES[trade][0], staff_chat_id=staff)
    await connect(bot)
    shopper = api.new_shopper(language_code="en", first_name="Lena")
    await writes(bot, shopper, "Hello")
    await owner_writes(bot, shopper, "Hi Lena, Mia here <b>the owner</b>")
    assert await writes(bot, shopper, "Great, do you have it in blue?") == []
    topic_posts = [str(c.params.get("text")) for c in api.calls
                   if c.chat_id == staff and c.method == "sendMessage" and c.ok]
    said = "\n".join(topic_posts)
    assert "Hi Lena, Mia here &lt;b&gt;the owner&lt;/b&gt;" in said  # escaped, as written
    assert "do you have it in blue?" in said


async def test_edits_and_deletions_get_no_answer(shop_bot: Harness, api: FakeBotAPI) -> None:
    await connect(shop_bot)
    shopper = api.new_shopper(language_code="en")
    update = api.business_message_update("bc-1", shopper, "Hello")
    await shop_bot.feed(update)
    answered = len(api.business_sent("bc-1", shopper.id))
    assert answered
    message_id = update["business_message"]["message_id"]
    await shop_bot.feed(api.edited_business_message_update(
        "bc-1", shopper, "Hello there", message_id=message_id))
    await shop_bot.feed(api.deleted_business_messages_update("bc-1", shopper, [message_id]))
    await shop_bot.feed(api.edited_business_message_update(
        "bc-1", shopper, "Hi, Mia here", message_id=message_id, from_owner=True))
    assert len(api.business_sent("bc-1", shopper.id)) == answered
    # And the chat goes on.
    assert await writes(shop_bot, shopper, "thanks, bye!")


async def test_through_the_webhook_a_repeated_business_update_is_answered_once(
        api: FakeBotAPI, redis: Redis, prefix: str, tmp_path: Path) -> None:
    port = free_port()
    bot = await start_shopbot(api, prefix, port, tmp_path)
    url = f"http://127.0.0.1:{port}/hook"
    try:
        shopper = api.new_shopper(first_name="Ann")
        connected = api.business_connection_update(owner())
        update = api.business_message_update("bc-1", shopper, "hello")
        async with aiohttp.ClientSession() as http:
            for body in (connected, update, update):  # Telegram retries a lost 200
                async with http.post(url, json=body, headers={
                        "X-Telegram-Bot-Api-Secret-Token": SECRET}) as response:
                    assert response.status == 200

        async def all_handled() -> bool:
            return await redis.get(Keys(prefix).inbox_seen(update["update_id"])) == b"2" \
                and not await redis.exists(Keys(prefix).inbox_queue(shopper.id))
        await until(all_handled, 60, "the business update handled, nothing of its chat queued")
        greetings = [c for c in api.business_sent("bc-1", shopper.id)
                     if "Ann" in c.params.get("text", "")]
        assert len(greetings) == 1 and api.sent_to(shopper.id) == []
    finally:
        bot.terminate()
        assert await bot.wait() == 0
    assert "Traceback" not in (tmp_path / "shopbot.log").read_text()


async def test_staff_take_a_business_chat_over_and_answer_through_the_account(
        api: FakeBotAPI, make_shopbot: Callable[..., Awaitable[Harness]], trade: str) -> None:
    from tests.test_staff import STAFF, staff_says, topic_of

    api.forum(STAFF)
    bot = await make_shopbot(shop_file=TRADES[trade][0], staff_chat_id=STAFF)
    await connect(bot)
    shopper = api.new_shopper(language_code="en", first_name="Lena")
    olga = api.new_shopper(first_name="Olga", language_code="ru")
    handoff = await writes(bot, shopper, "I want to talk to a person")
    assert handoff and api.sent_to(shopper.id) == []
    topic = topic_of(api, shopper)
    # The shopper's next message reaches the topic as words (nothing is copied out of a
    # business chat), and the bot stays quiet.
    assert await writes(bot, shopper, "My order came <b>damaged</b>") == []
    posts = "\n".join(str(c.params.get("text")) for c in api.calls
                      if c.chat_id == STAFF and c.method == "sendMessage" and c.ok)
    assert "My order came &lt;b&gt;damaged&lt;/b&gt;" in posts
    # Staff answer in the topic: the shopper reads it from the shop's account.
    await staff_says(bot, olga, topic, "So sorry! We will send a new one today.")
    assert texts(api.business_sent("bc-1", shopper.id))[-1] == \
        "So sorry! We will send a new one today."
    # A photo cannot go there: staff are told.
    staff_lang = bot.app.shop.default_language

    def told_staff(calls: list[Call], template: str) -> bool:
        notice = bot.app.texts.render(template, staff_lang)
        return any(c.chat_id == STAFF and c.params.get("text") == notice for c in calls)

    calls = await staff_says(bot, olga, topic, photo=api.photo())
    assert told_staff(calls, "staff/business_text_only")
    # /done: the bot says goodbye there, and answers again.
    before = len(api.business_sent("bc-1", shopper.id))
    await staff_says(bot, olga, topic, "/done")
    assert len(api.business_sent("bc-1", shopper.id)) == before + 1
    assert await writes(bot, shopper, "Thanks!")
    assert api.sent_to(shopper.id) == []
    # Disconnected: a staff answer cannot go, and staff are told.
    await writes(bot, shopper, "I want to talk to a person")
    await connect(bot, enabled=False)
    calls = await staff_says(bot, olga, topic_of(api, shopper), "Still there?")
    assert told_staff(calls, "staff/business_unreachable")
    assert not any("Still there?" in t for t in texts(api.business_sent("bc-1", shopper.id)))


async def test_a_failure_gets_the_apology_through_the_account(
        shop_bot: Harness, api: FakeBotAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    await connect(shop_bot)
    shopper = api.new_shopper(language_code="zh-hant")

    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(shop_bot.app.assistant, "message", broken)
    apology = shop_bot.app.texts.render("error", "zh-hant")
    assert await writes(shop_bot, shopper, "有貨嗎？") == [apology]
    assert api.sent_to(shopper.id) == []


async def test_where_is_my_order_and_a_return_with_photos_in_the_business_chat(
        api: FakeBotAPI, make_shopbot: Callable[..., Awaitable[Harness]], trade: str) -> None:
    from tests.test_staff import STAFF, in_topic, topic_of

    api.forum(STAFF)
    bot = await make_shopbot(shop_file=TRADES[trade][0], staff_chat_id=STAFF)
    await connect(bot)
    shopper = api.new_shopper(language_code="en", first_name="Lena")
    await writes(bot, shopper, "Hello")
    async with backend_of(bot) as backend:
        await paid(bot, backend, shopper, "R7")
        assert "R7" in "\n".join(await writes(bot, shopper, "where is my order?"))
        await backend.event("R7", "shipped", tracking="T1", carrier="Post")
        await backend.event("R7", "delivered")
    await run_due(bot.app)  # the delivery check, through the account

    async def press(data: str) -> str:
        since = len(api.business_sent("bc-1", shopper.id))
        await bot.feed(api.business_callback_update("bc-1", shopper, data))
        return "\n".join(texts(api.business_sent("bc-1", shopper.id)[since:]))

    assert await press("fu:bad:R7")  # which item
    assert await press("ret:i:0")  # the reason
    assert await press("ret:r:damaged")  # photos, please
    assert await writes(bot, shopper, "", photo=api.photo())  # received
    assert await press("ret:p")  # refund or exchange
    assert await press("ret:x:refund")  # the summary
    assert "R1" in await press("ret:s")
    assert api.sent_to(shopper.id) == []
    # Staff get the request; the photo, which cannot be copied out of the business chat, is
    # pointed to.
    shown = [m.get("text", "") for m in in_topic(api, topic_of(api, shopper))]
    pointer = bot.app.texts.render("staff/business_photos", bot.app.shop.default_language,
                                   photos=1)
    assert pointer in shown
