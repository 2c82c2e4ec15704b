"""`shopbot demo` in a real browser: headless Chromium, driven by Playwright, clicks through
the page while the real bot answers through the Bot API emulator and real Redis.

Screenshots go to build/screenshots/ (one per test), for a person to look at.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
from aiogram.types import KeyboardButton, ReplyKeyboardMarkup, ReplyKeyboardRemove
from playwright.async_api import Browser, Locator, Page, async_playwright, expect
from redis.asyncio import Redis

from bot import DEMO_SHOP, PROJECT_DIR
from bot.core.shop import load_shop
from bot.devtools.demo import BUSINESS, Demo
from bot.storage.keys import Keys
from handlers.layer import create_app
from tests.conftest import redis_url

pytestmark = pytest.mark.asyncio(loop_scope="module")

SHOP = load_shop(DEMO_SHOP)
GIFT = SHOP.text(SHOP.policy.gift.name, "en")
SHOTS = PROJECT_DIR / "build" / "screenshots"
# What the machine notes say Chromium needs here: no sandbox as root, and no calls home.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
WAIT = 15_000  # ms: the page shows the bot's answer well within this, even on a busy machine


def chromium() -> str:
    path = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(path).exists():
        pytest.fail("the browser tests need Chromium: run them with scripts/test (it installs "
                    "Debian's chromium), or set CHROMIUM to a Chromium binary")
    return path


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def demo() -> AsyncIterator[Demo]:
    prefix = f"shopbot-test:{uuid.uuid4().hex[:10]}"
    async with Demo(port=0, create_app=create_app, redis_url=redis_url(),
                    redis_prefix=prefix) as running:
        yield running
    cleaner = Redis.from_url(redis_url())
    keys = [key async for key in cleaner.scan_iter(match=f"{prefix}:*")]
    keys += [key async for key in cleaner.scan_iter(match=f"arq:*{prefix}*")]
    if keys:
        await cleaner.delete(*keys)
    await cleaner.aclose()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=chromium(),
                                                    args=CHROMIUM_ARGS)
        yield launched
        await launched.close()


@pytest_asyncio.fixture(loop_scope="module")
async def page(demo: Demo, browser: Browser, request: pytest.FixtureRequest,
               ) -> AsyncIterator[Page]:
    async for tab in _page(demo, browser, request, {"width": 1500, "height": 900}):
        yield tab


# A phone's screen; the browser's clock far from the shop's (Moscow), so a time drawn from it
# would show.
PHONE = {"width": 390, "height": 844}


@pytest_asyncio.fixture(loop_scope="module")
async def phone(demo: Demo, browser: Browser, request: pytest.FixtureRequest,
                ) -> AsyncIterator[Page]:
    async for tab in _page(demo, browser, request, PHONE, timezone_id="Pacific/Honolulu"):
        yield tab


@pytest_asyncio.fixture(loop_scope="module")
async def laptop(demo: Demo, browser: Browser, request: pytest.FixtureRequest,
                 ) -> AsyncIterator[Page]:
    async for tab in _page(demo, browser, request, {"width": 1280, "height": 800}):
        yield tab


async def _page(demo: Demo, browser: Browser, request: pytest.FixtureRequest,
                viewport: dict[str, int], **options: str) -> AsyncIterator[Page]:
    # A fresh profile per test: new_context() starts with no cookies or storage.
    context = await browser.new_context(viewport=viewport, **options)  # type: ignore[arg-type]
    tab = await context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    await tab.goto(demo.url)
    await expect(tab.locator("#link-state")).to_have_text("live", timeout=WAIT)
    yield tab
    SHOTS.mkdir(parents=True, exist_ok=True)
    await tab.screenshot(path=SHOTS / f"{request.node.name}.png")
    await context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


async def new_shopper(page: Page, name: str, lang: str = "en") -> None:
    """Add a shopper with the page's form and open their (empty) chat with START."""
    form = page.locator("#new-shopper")
    await form.locator("input[name=name]").fill(name)
    await form.locator("select[name=lang]").select_option(lang)
    await form.locator("button").click()
    await expect(page.locator("#shopper")).to_contain_text(name, timeout=WAIT)
    start = page.locator("#shopper-chat .empty button")
    await start.click()


async def say(page: Page, pane: str, text: str) -> None:
    box = page.locator(f"#{pane}-form input[name=text]")
    await box.fill(text)
    await box.press("Enter")


def bot_says(page: Page, pane: str, text: str | re.Pattern[str]) -> Locator:
    return page.locator(f"#{pane}-chat .msg.in", has_text=text).last


async def test_the_page_says_it_is_a_simulator_and_the_bot_greets_at_once(page: Page) -> None:
    await expect(page.locator(".banner .sim")).to_contain_text("Simulator")
    await new_shopper(page, "Greta Example")
    greeting = bot_says(page, "shopper", "Greta")
    await expect(greeting).to_contain_text("Linen Lane", timeout=WAIT)
    # The greeting's menu is an inline keyboard, drawn as buttons under the bubble.
    await expect(greeting.locator(".buttons button", has_text="Catalogue")).to_be_visible()


async def test_a_product_question_gets_the_card_with_its_photo(page: Page) -> None:
    await new_shopper(page, "Pavel Asks")
    await expect(bot_says(page, "shopper", "Pavel")).to_be_visible(timeout=WAIT)
    await say(page, "shopper", "do you have the linen shirt in M?")
    card = bot_says(page, "shopper", "Classic linen shirt")
    await expect(card).to_contain_text(re.compile(r"\bM\b.*3,490", re.S), timeout=WAIT)
    # The product name is bold in the template: Telegram HTML rendered, not shown as tags.
    await expect(card.locator("b", has_text="Classic linen shirt")).to_be_visible()
    assert "<b>" not in await card.inner_text()
    photo = card.locator("img.photo")
    await expect(photo).to_be_visible()
    assert await photo.evaluate("img => img.complete && img.naturalWidth > 0")


async def test_an_inline_button_is_pressed_like_in_telegram(page: Page) -> None:
    await new_shopper(page, "Ines Clicks")
    greeting = bot_says(page, "shopper", "Ines")
    await greeting.locator(".buttons button", has_text="Catalogue").click(timeout=WAIT)
    first_category = SHOP.text(SHOP.categories[0].name, "en")
    catalogue = bot_says(page, "shopper", "Catalogue").or_(
        bot_says(page, "shopper", first_category))
    await expect(catalogue.locator(".buttons button").first).to_be_visible(timeout=WAIT)
    await catalogue.locator(".buttons button", has_text=first_category).first.click()
    listing = page.locator("#shopper-chat .msg.in").last
    await expect(listing.locator(".buttons button").first).to_be_visible(timeout=WAIT)


async def test_bargaining_ends_with_the_gift(page: Page, demo: Demo) -> None:
    await new_shopper(page, "Boris Haggles")
    await expect(bot_says(page, "shopper", "Boris")).to_be_visible(timeout=WAIT)
    asks = ("any discount?", "come on, a little cheaper?", "can you ship it for free then?")
    for number, ask in enumerate(asks, start=1):
        await say(page, "shopper", ask)
        replies = page.locator("#shopper-chat .msg.in")
        await expect(replies).to_have_count(1 + number, timeout=WAIT)
    await expect(page.locator("#shopper-chat")).not_to_contain_text(GIFT)
    await say(page, "shopper", "ok, at least a little gift?")
    await expect(bot_says(page, "shopper", GIFT)).to_be_visible(timeout=WAIT)


async def test_a_handover_to_staff_and_their_reply_in_the_shoppers_chat(page: Page) -> None:
    await new_shopper(page, "Hana Needs")
    await expect(bot_says(page, "shopper", "Hana")).to_be_visible(timeout=WAIT)
    await say(page, "shopper", "I want to talk to a person")
    await expect(bot_says(page, "shopper", "colleague")).to_be_visible(timeout=WAIT)
    # The staff pane opens the customer's new topic, headed by the card.
    topic = page.locator("#topics button.current")
    await expect(topic).to_contain_text("Hana Needs", timeout=WAIT)
    await expect(page.locator("#staff-chat")).to_contain_text("I want to talk to a person",
                                                              timeout=WAIT)
    # One card carries why and the buttons, under the bubble: Sam takes the conversation.
    card = page.locator("#staff-chat .msg.in", has_text="Last messages").last
    await expect(card).to_contain_text("asks to talk to a person")
    await card.locator(".buttons button", has_text="I'll take it").click()
    await expect(card).to_contain_text(re.compile(r"Sam.* has this conversation"), timeout=WAIT)
    await expect(card.locator(".buttons button", has_text="I'll take it")).to_have_count(0)
    await say(page, "staff", "Hello Hana, Sam here. How can I help?")
    reply = bot_says(page, "shopper", "Sam here")
    await expect(reply).to_be_visible(timeout=WAIT)
    # A note stays with the staff.
    await say(page, "staff", "! she may want the dress")
    await expect(page.locator("#staff-chat")).to_contain_text("she may want the dress")
    await page.wait_for_timeout(500)
    await expect(page.locator("#shopper-chat")).not_to_contain_text("she may want the dress")
    # The shopper answers; it reaches the topic.
    await say(page, "shopper", "Is the wrap dress lined?")
    await expect(page.locator("#staff-chat .msg.in", has_text="wrap dress lined")).to_be_visible(
        timeout=WAIT)
    await page.locator("#staff-chat .buttons button", has_text="Done").last.click()
    await expect(page.locator("#shopper-chat .msg.in").last).not_to_contain_text(
        "Sam here", timeout=WAIT)


async def test_a_shopper_writes_to_the_shops_own_account_and_the_bot_answers_there(
        page: Page, demo: Demo) -> None:
    # At start the owner's Telegram account was connected to the bot (Telegram Business).
    await expect(bot_says(page, "owner", "business account is connected")).to_be_visible(
        timeout=WAIT)
    await new_shopper(page, "Bea Business")
    await expect(bot_says(page, "shopper", "Bea")).to_be_visible(timeout=WAIT)
    in_bot_chat = await page.locator("#shopper-chat .msg").count()
    await expect(page.locator("#business-chat .empty")).to_contain_text("Bea Business")
    await say(page, "business", "do you have the linen shirt in M?")
    await expect(page.locator("#business-chat .msg.out")).to_contain_text("linen shirt in M")
    card = bot_says(page, "business", "Classic linen shirt")
    await expect(card).to_contain_text(re.compile(r"\bM\b.*3,490", re.S), timeout=WAIT)
    await expect(card.locator(".sender")).to_contain_text("sent by the bot")
    # The answer went through the connection, into the shop's account's chat: the shopper's
    # chat with the bot (same chat id) shows neither the question nor the answer.
    await expect(page.locator("#shopper-chat")).not_to_contain_text("linen shirt")
    await expect(page.locator("#shopper-chat .msg")).to_have_count(in_bot_chat)
    shopper = int(await page.locator("#shopper").input_value())
    sent = demo.api.business_sent(BUSINESS, shopper)
    assert any("Classic linen shirt" in str(c.params.get("text") or c.params.get("caption"))
               for c in sent)
    assert not any("Classic linen shirt" in str(c.params.get("text") or c.params.get("caption"))
                   for c in demo.api.sent_to(shopper))
    # A button under the bot's answer there is pressed there too, and answered there.
    pressable = page.locator("#business-chat .msg.in").filter(
        has=page.locator(".buttons button:not(.url)")).last
    await expect(pressable).to_be_visible(timeout=WAIT)
    def answers() -> list[str]:  # sends and edits in the shop's account's chat
        return [c.method for c in demo.api.calls if c.business_connection_id == BUSINESS
                and c.chat_id == shopper and c.ok and c.method != "sendChatAction"]

    before = len(answers())
    await pressable.locator(".buttons button:not(.url)").first.click()
    for _ in range(150):
        if len(answers()) > before:
            break
        await asyncio.sleep(0.1)
    else:
        pytest.fail("the press in the shop's account was not answered there")
    await expect(page.locator(".toast.error")).to_have_count(0)
    # Olivia steps in in person: her message is in the chat, and the bot tells her it waits.
    await page.locator("#business-writer").select_option("owner")
    await say(page, "business", "Hello Bea, Olivia here!")
    in_person = page.locator("#business-chat .msg.in", has_text="Olivia here")
    await expect(in_person).to_be_visible(timeout=WAIT)
    await expect(in_person.locator(".via")).to_have_count(0)
    holds = bot_says(page, "owner", "Bea")
    await expect(holds).to_contain_text("stepped back", timeout=WAIT)
    await expect(holds.locator(".buttons button", has_text="Hand the chat back")).to_be_visible()
    await expect(page.locator("#shopper-chat .msg")).to_have_count(in_bot_chat)


async def test_several_shoppers_each_in_their_language(page: Page) -> None:
    await new_shopper(page, "Li Hua", "zh-hans")
    await expect(bot_says(page, "shopper", "亚麻小巷")).to_be_visible(timeout=WAIT)
    await new_shopper(page, "Ivan Petrov", "ru")
    await expect(bot_says(page, "shopper", "Льняной переулок")).to_be_visible(timeout=WAIT)
    await expect(page.locator("#shopper-chat")).not_to_contain_text("亚麻小巷")
    # Back to Li: her chat again, nothing of Ivan's.
    options = page.locator("#shopper option", has_text="Li Hua")
    await page.locator("#shopper").select_option(await options.get_attribute("value"))
    await expect(bot_says(page, "shopper", "亚麻小巷")).to_be_visible()
    await expect(page.locator("#shopper-chat")).not_to_contain_text("Льняной")
    # Telegram's language switched in the picker: the bot follows with the next message.
    await page.locator("#shopper-lang").select_option("zh-hant")
    await expect(page.locator("#shopper option", has_text="Li Hua")).to_contain_text("zh-hant",
                                                                                     timeout=WAIT)
    await say(page, "shopper", "/start")
    await expect(bot_says(page, "shopper", "亞麻小巷")).to_be_visible(timeout=WAIT)


async def test_the_owner_broadcasts_and_shoppers_receive_it(page: Page) -> None:
    await new_shopper(page, "Rita Reads")
    await expect(bot_says(page, "shopper", "Rita")).to_be_visible(timeout=WAIT)
    await page.locator("#owner-pane .quick button", has_text="/broadcast").first.click()
    await expect(bot_says(page, "owner", "Send the promotion")).to_be_visible(timeout=WAIT)
    await say(page, "owner", "New linen is in!")
    menu = bot_says(page, "owner", "It reaches")
    await expect(menu).to_be_visible(timeout=WAIT)
    await menu.locator(".buttons button", has_text="now").click()
    await confirm_if_asked(page, bot_says(page, "shopper", "New linen is in!"))
    promo = bot_says(page, "shopper", "New linen is in!")
    await expect(promo).to_be_visible(timeout=WAIT)
    await expect(promo.locator(".buttons button", has_text="No more promotions")).to_be_visible()
    # The owner's progress message is edited in place until the final report.
    await expect(bot_says(page, "owner", "is finished")).to_be_visible(timeout=WAIT)


async def confirm_if_asked(page: Page, sent: Locator) -> None:
    """Where the bot asks the owner to confirm a broadcast before it goes: yes."""
    confirm = page.locator("#owner-chat .msg.in").last.locator(".buttons button",
                                                               has_text="Yes, send")
    await expect(confirm.or_(sent).first).to_be_visible(timeout=WAIT)
    if await confirm.count():
        await confirm.click()


async def test_the_owner_words_the_greeting_from_the_page(page: Page) -> None:
    """An owner's first day starts in the demo: /texts, a message, a language, a preview
    (the birthday greeting: on the list's first page)."""
    await page.locator("#owner-pane .quick button", has_text="/texts").click()
    await page.locator("#owner-chat .msg.in .buttons button", has_text="birthday").last.click()
    await bot_says(page, "owner", "{name}").locator(
        ".buttons button", has_text="English").click()
    await say(page, "owner", "Hi {name}, lovely to see you at {shop}!")
    await expect(bot_says(page, "owner", "Hi Olivia, lovely to see you at")).to_be_visible(
        timeout=WAIT)
    await page.locator("#owner-chat .msg.in .buttons button", has_text="Cancel").last.click()
    for command in ("/replies", "/away"):
        before = await page.locator("#owner-chat .msg.in").count()
        await page.locator("#owner-pane .quick button", has_text=command).click()
        await expect(page.locator("#owner-chat .msg.in")).to_have_count(before + 1,
                                                                      timeout=WAIT)


async def test_the_owner_reads_stats_with_the_chart(page: Page) -> None:
    await page.locator("#owner-pane .quick button", has_text="/stats").click()
    chart = page.locator("#owner-chat .msg.in img.photo").last
    await expect(chart).to_be_visible(timeout=WAIT)
    assert await chart.evaluate("img => img.complete && img.naturalWidth > 300")
    await page.locator("#owner-pane .quick button", has_text="/reload").click()
    await expect(bot_says(page, "owner", "products")).to_be_visible(timeout=WAIT)


async def test_orders_from_the_backend_panel_reach_the_shopper(page: Page) -> None:
    await new_shopper(page, "Olga Orders")
    await expect(bot_says(page, "shopper", "Olga")).to_be_visible(timeout=WAIT)
    await page.locator(".backend summary").click()
    for event in ("created", "paid", "shipped"):
        await page.locator(f"#order-form button[data-event={event}]").click()
        await expect(page.locator(".toast", has_text=event)).to_be_visible(timeout=WAIT)
    shipped = bot_says(page, "shopper", "D")
    await expect(shipped.locator(".buttons button", has_text="Track")).to_be_visible(
        timeout=WAIT)
    await page.locator("#order-form button[data-event=delivered]").click()
    check = page.locator("#shopper-chat .msg.in").filter(
        has=page.locator(".buttons button", has_text="all good")).last
    await expect(check).to_be_visible(timeout=30_000)  # the worker polls its queue
    await check.locator(".buttons button", has_text="all good").click()
    stars = bot_says(page, "shopper", re.compile(".")).locator(".buttons button",
                                                               has_text="⭐⭐⭐⭐⭐")
    await expect(stars).to_be_visible(timeout=WAIT)


async def check_out_the_shirt(page: Page, name: str) -> Locator:
    """A new shopper asks for the shirt, picks M and white on its card, orders it and checks
    out: the invoice card in the chat."""
    await new_shopper(page, name)
    await expect(bot_says(page, "shopper", name.split()[0])).to_be_visible(timeout=WAIT)
    await say(page, "shopper", "do you have the linen shirt?")
    cards = page.locator("#shopper-chat .msg.in").filter(
        has=page.locator(".buttons button", has_text="Order this"))
    # Each choice on the card comes back as the card with that choice ticked.
    await cards.last.get_by_role("button", name="M", exact=True).click(timeout=WAIT)
    await expect(cards.last.get_by_role("button", name="✓ M")).to_be_visible(timeout=WAIT)
    await cards.last.get_by_role("button", name="white", exact=True).click()
    await expect(cards.last.get_by_role("button", name="✓ white")).to_be_visible(timeout=WAIT)
    await expect(cards.last.get_by_role("button", name="✓ M")).to_be_visible()
    await cards.last.locator(".buttons button", has_text="Order this").click()
    cart = bot_says(page, "shopper", "Your cart")
    await expect(cart).to_contain_text("Classic linen shirt (M, white)", timeout=WAIT)
    await cart.locator(".buttons button", has_text="Check out").click()
    invoice = page.locator("#shopper-chat .msg.in .invoice").last
    await expect(invoice).to_contain_text("3,490.00 RUB", timeout=WAIT)
    return invoice


async def open_the_pay_sheet(page: Page, invoice: Locator) -> Locator:
    await invoice.locator("button.pay").click()
    # Telegram's pay sheet, simulated: the bot prices the delivery to the demo address.
    sheet = page.locator("#pay-sheet")
    await expect(sheet).to_contain_text("Simulated payment — no money moves")
    await expect(page.locator("#pay-country")).to_have_value("RU")
    await expect(sheet.locator(".sheet-delivery")).to_contain_text("350.00 RUB", timeout=WAIT)
    await expect(sheet.locator(".sheet-total")).to_contain_text("3,840.00 RUB")
    return sheet


async def test_a_shopper_pays_in_the_chat_on_the_simulated_sheet(page: Page) -> None:
    invoice = await check_out_the_shirt(page, "Paula Pays")
    sheet = await open_the_pay_sheet(page, invoice)
    await sheet.locator(".sheet-pay").click()
    await expect(sheet).to_be_hidden(timeout=WAIT)
    received = bot_says(page, "shopper", "received the payment")
    await expect(received).to_contain_text("#TG-", timeout=WAIT)
    await expect(page.locator("#shopper-chat .service", has_text="paid 3,840.00 RUB")
                 ).to_be_visible()
    await expect(invoice.locator("button.pay")).to_have_text("✓ Paid")
    # Staff see the paid order in the customer's topic, and the bot tells the owner.
    await expect(page.locator("#topics button.current")).to_contain_text("Paula Pays",
                                                                         timeout=WAIT)
    await expect(page.locator("#staff-chat .msg.in", has_text="paid order")).to_contain_text(
        "Classic linen shirt", timeout=WAIT)
    await expect(page.locator("#owner-chat .msg.in", has_text="paid order")).to_contain_text(
        "Classic linen shirt", timeout=WAIT)


async def test_a_payment_the_bot_refuses_says_why_on_the_sheet(page: Page, demo: Demo) -> None:
    invoice = await check_out_the_shirt(page, "Rob Refused")
    sheet = await open_the_pay_sheet(page, invoice)
    # The checkout expires while the sheet is open: the pre-checkout query is refused.
    shopper = int(await page.locator("#shopper").input_value())
    payload = next(p for p, i in demo.api.invoices.items() if i["chat_id"] == shopper)
    redis = Redis.from_url(redis_url())
    assert await redis.delete(Keys(demo.redis_prefix or "").checkout(payload)) == 1
    await redis.aclose()
    await sheet.locator(".sheet-pay").click()
    await expect(sheet.locator(".sheet-status.error")).to_contain_text("out of date",
                                                                       timeout=WAIT)
    await expect(sheet.locator(".sheet-pay")).to_be_disabled()
    await sheet.locator(".sheet-cancel").click()
    await expect(sheet).to_be_hidden()
    await expect(page.locator("#shopper-chat")).not_to_contain_text("received the payment")
    await expect(invoice.locator("button.pay")).to_contain_text("Pay 3,490.00 RUB")


async def test_edits_deletions_and_reply_keyboards_show_live(page: Page, demo: Demo) -> None:
    await new_shopper(page, "Eva Watches")
    await expect(bot_says(page, "shopper", "Eva")).to_be_visible(timeout=WAIT)
    chat = int(await page.locator("#shopper").input_value())
    assert demo.app is not None
    bot = demo.app.bot
    keyboard = ReplyKeyboardMarkup(keyboard=[[KeyboardButton(text="Sizes"),
                                              KeyboardButton(text="Delivery")]])
    sent = await bot.send_message(chat, "Pick one:", reply_markup=keyboard)
    await page.locator("#shopper-keyboard button", has_text="Delivery").click(timeout=WAIT)
    await expect(page.locator("#shopper-chat .msg.out", has_text="Delivery")).to_be_visible()
    await bot.edit_message_text("Pick a <i>topic</i>:", chat_id=chat,
                                message_id=sent.message_id)
    edited = bot_says(page, "shopper", "Pick a topic")
    await expect(edited.locator("i")).to_have_text("topic", timeout=WAIT)
    await expect(edited.locator(".meta")).to_contain_text("edited")
    await bot.delete_message(chat, sent.message_id)
    await expect(bot_says(page, "shopper", "Pick a topic")).to_have_count(0, timeout=WAIT)
    await bot.send_message(chat, "Done.", reply_markup=ReplyKeyboardRemove())
    await expect(page.locator("#shopper-keyboard")).to_be_hidden(timeout=WAIT)


async def test_bad_input_on_the_page_gets_a_clear_message(page: Page) -> None:
    await page.locator("#new-shopper button").click()
    await expect(page.locator(".toast.error")).to_contain_text("needs a name", timeout=WAIT)
    await new_shopper(page, "<b>Zed</b> Tester")
    # A name is shown as typed, never as markup.
    await expect(bot_says(page, "shopper", "<b>Zed</b>")).to_be_visible(timeout=WAIT)
    await page.locator(".backend summary").click()
    await page.locator("#order-form button[data-event=paid]").click()
    await expect(page.locator(".toast.error", has_text="Create an order first")).to_be_visible(
        timeout=WAIT)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_shopbot_demo_runs_on_localhost_without_a_token(tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in ("BOT_TOKEN", "REDIS_URL", "WEBHOOK_URL")}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "handlers", "demo", "--port", str(port), cwd=tmp_path, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), 60)
        assert f"http://127.0.0.1:{port}/" in line.decode()
        assert "simulator" in (await process.stdout.readline()).decode()
        async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{port}/") as r:
            assert r.status == 200 and "Simulator" in await r.text()
    finally:
        process.terminate()
        _, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0
    assert b"NOTHING SURVIVES A RESTART" in err and b"Traceback" not in err


async def test_shopbot_demo_refuses_a_broken_shop_file(tmp_path: Path) -> None:
    broken = tmp_path / "shop.yaml"
    broken.write_text("id: broken\nname: {en: Broken}\nproducts: 12\n", encoding="utf-8")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "handlers", "demo", "--shop", str(broken), "--port", "0",
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 2
    assert b"shop.yaml" in err and b"Traceback" not in err


# -- phone width and a laptop's ------------------------------------------------------------


async def fits_the_width(page: Page) -> None:
    """Nothing sticks out sideways: the page never scrolls horizontally."""
    sizes = await page.evaluate(
        "[document.scrollingElement.scrollWidth, window.innerWidth]")
    assert sizes[0] <= sizes[1], f"the page is {sizes[0]} px wide in a {sizes[1]} px window"


async def buttons_are_under_the_bubble(message: Locator) -> None:
    """As in Telegram: the inline keyboard is a block of its own, attached below the bubble."""
    bubble = await message.locator(".bubble").bounding_box()
    buttons = await message.locator(".buttons").bounding_box()
    assert bubble is not None and buttons is not None
    assert buttons["y"] >= bubble["y"] + bubble["height"] - 0.5, (bubble, buttons)
    assert await message.locator(".bubble .buttons").count() == 0


async def tab(page: Page, pane: str) -> None:
    await page.locator(f"#tab-{pane}").click()
    await expect(page.locator(f"#tab-{pane}")).to_have_attribute("aria-selected", "true")
    await expect(page.locator(f"#{pane}-pane")).to_be_visible()
    for other in {"shopper", "business", "staff", "owner"} - {pane}:
        await expect(page.locator(f"#{other}-pane")).to_be_hidden()
    await expect(page.locator(f"#tab-{pane}")).not_to_have_class(re.compile(r"\bunread\b"))
    await fits_the_width(page)


async def test_at_phone_width_each_pane_is_a_tab_and_works(phone: Page) -> None:
    page = phone
    await expect(page.locator(".tabs")).to_be_visible()
    await expect(page.locator("#shopper-pane")).to_be_visible()
    await expect(page.locator("#staff-pane")).to_be_hidden()
    box = await page.locator("#shopper-pane").bounding_box()
    assert box is not None and box["width"] >= PHONE["width"] - 2  # the whole width, not a strip
    await expect(page.locator("#clock")).to_have_text("Shop time (Europe/Moscow)")
    await fits_the_width(page)
    await new_shopper(page, "Mia Mobile")
    greeting = bot_says(page, "shopper", "Mia")
    await expect(greeting.locator(".buttons button", has_text="Catalogue")).to_be_visible(
        timeout=WAIT)
    await buttons_are_under_the_bubble(greeting)
    await fits_the_width(page)
    # The card's time and the bubble's are read to the minute: not across a minute's turn.
    if (second := datetime.now(UTC).second) > 50:
        await asyncio.sleep(61 - second)
    await say(page, "shopper", "I want to talk to a person")
    await expect(bot_says(page, "shopper", "colleague")).to_be_visible(timeout=WAIT)
    # The handover lands in the staff pane, out of sight: its tab shows a dot.
    await expect(page.locator("#tab-staff")).to_have_class(re.compile(r"\bunread\b"),
                                                           timeout=WAIT)
    await tab(page, "staff")
    await expect(page.locator("#topics button.current")).to_contain_text("Mia Mobile")
    card = page.locator("#staff-chat .msg.in", has_text="Last messages").last
    await expect(card).to_be_visible(timeout=WAIT)
    # One clock: the shopper's bubble and the staff card tell the same moment alike, in the
    # shop's time zone (the browser's, Honolulu, is 13 hours off).
    asked = page.locator("#shopper-chat .msg.out", has_text="I want to talk to a person")
    time = (await asked.locator(".meta").text_content() or "").strip()
    assert re.fullmatch(r"\d{2}:\d{2}", time), time
    await expect(card).to_contain_text(f"{time} 👤 I want to talk to a person")
    await buttons_are_under_the_bubble(card)  # I'll take it, Done
    await say(page, "staff", "Hello Mia, Sam here.")
    await expect(page.locator("#tab-shopper")).to_have_class(re.compile(r"\bunread\b"),
                                                             timeout=WAIT)
    await tab(page, "shopper")
    reply = bot_says(page, "shopper", "Sam here")
    await expect(reply).to_be_visible(timeout=WAIT)
    # The shop's clock, not the browser's: now in Moscow, give or take the minute's turn.
    shown = (await reply.locator(".meta").text_content() or "").strip()
    now = datetime.now(SHOP.tz)
    assert shown in {f"{t:%H:%M}" for t in (now, now - timedelta(minutes=1))}, shown
    # The shop's account: its composer works.
    await tab(page, "business")
    await say(page, "business", "hello from the phone")
    await expect(page.locator("#business-chat .msg.out")).to_contain_text(
        "hello from the phone", timeout=WAIT)
    # The owner: the quick buttons work.
    await tab(page, "owner")
    await page.locator("#owner-pane .quick button", has_text="/reload").click()
    await expect(bot_says(page, "owner", "products")).to_be_visible(timeout=WAIT)
    await fits_the_width(page)


async def test_at_phone_width_the_pay_sheet_and_the_backend_drawer_fit(phone: Page) -> None:
    page = phone
    invoice = await check_out_the_shirt(page, "Pia Phone")
    await fits_the_width(page)
    sheet = await open_the_pay_sheet(page, invoice)
    box = await sheet.locator(".sheet").bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    await expect(sheet.locator(".sheet-pay")).to_be_in_viewport()
    await sheet.locator(".sheet-cancel").click()
    await expect(sheet).to_be_hidden()
    await page.locator(".backend summary").click()
    await page.locator("#order-form button[data-event=created]").click()
    await expect(page.locator(".toast", has_text="created")).to_be_visible(timeout=WAIT)
    await expect(page.locator("#shopper-form input[name=text]")).to_be_in_viewport()
    await fits_the_width(page)


async def test_at_laptop_width_the_panes_stay_side_by_side(laptop: Page) -> None:
    page = laptop
    await expect(page.locator(".tabs")).to_be_hidden()
    boxes = [await page.locator(f"#{pane}-pane").bounding_box()
             for pane in ("shopper", "business", "staff", "owner")]
    assert all(b is not None and b["width"] > 250 for b in boxes), boxes
    assert len({round(b["y"]) for b in boxes if b}) == 1  # one row of four columns
    await fits_the_width(page)
    await new_shopper(page, "Lars Laptop")
    greeting = bot_says(page, "shopper", "Lars")
    await expect(greeting.locator(".buttons button").first).to_be_visible(timeout=WAIT)
    await buttons_are_under_the_bubble(greeting)
    await fits_the_width(page)
