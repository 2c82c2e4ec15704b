"""`shopbot demo`: the real bot, served by a Bot API emulator, in a chat page on localhost.

The bot is built by `create_app` and run by `App.run()`, exactly as `shopbot run` does; the
only difference is its settings: `TELEGRAM_API_SERVER` points at the emulator of
`bot/devtools/fake_bot_api.py` (the same one the tests use), which runs in this process. The page
(`templates/demo/`) shows the emulator's chats and turns clicks into the updates Telegram
would send: shoppers' messages, button presses, staff replies in the forum, the owner's
commands. The owner's own Telegram account is connected to the bot with Telegram Business
(`BUSINESS`), so a shopper can also write to the shop's account and be answered there by the
bot, as the shop; those chats share the shopper's chat id and are told apart by their
`business_connection_id`. Nothing leaves the machine.

Paying in the chat is on: the bot gets a made-up payment provider token
(`DEMO_PROVIDER_TOKEN`), so its cart and Telegram invoices work. The page draws an invoice
as a card with "Pay", which opens a pay sheet marked as simulated; the sheet's shipping
address goes to the bot as Telegram's shipping query, "Pay" as the pre-checkout query and,
if the bot accepts, the successful payment (the emulator's `pay()`), each pushed once the
one before was answered. No money moves and no payment provider is asked.

Every time on the page is the shop's: the server formats each message's time in the shop's
time zone as the bot's own texts do (the staff card's "Last messages"), never the browser's
clock. At phone width the page shows one pane at a time, with tabs to switch.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import secrets
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from html import escape
from pathlib import Path
from typing import Any

import aiohttp
from aiogram.types import MessageEntity
from aiogram.utils.text_decorations import HtmlDecoration
from aiohttp import web
from babel.dates import format_time
from babel.numbers import format_decimal, get_currency_precision
from jinja2 import Environment, FileSystemLoader, select_autoescape

from bot import DEMO_SHOP, TEMPLATES_DIR
from bot.app.config import Settings
from bot.app.runtime import App
from bot.core.languages import BABEL_LOCALES, LANGUAGES
from bot.core.shop import Shop, load_shop
from bot.devtools.fake_bot_api import FakeBotAPI, Shopper, UploadedFile

log = logging.getLogger(__name__)
JSON = dict[str, Any]
PAGE_DIR = TEMPLATES_DIR / "demo"
STAFF_CHAT = -1001000000042
ORDER_EVENTS = ("created", "paid", "shipped", "delivered", "cancelled")
BUSINESS = "demo-business"  # the owner's account, connected to the bot at start
# A made-up provider token: it turns the bot's cart and invoices on; the emulator takes it
# and the pay sheet simulates the rest. Nothing reaches a payment provider.
DEMO_PROVIDER_TOKEN = "demo:TEST:simulated"
# The shipping address the pay sheet fills in (the shopper may change the country).
DEMO_ADDRESS: JSON = {"country_code": "RU", "state": "", "city": "Moscow",
                      "street_line1": "1 Demo Street, apt. 2", "street_line2": "",
                      "post_code": "101000"}
ANSWER_WAIT = 15.0  # seconds the demo waits for the bot to answer a payment query


class _SafeHtml(HtmlDecoration):
    """Telegram entities back to HTML for the page; links only to the web or Telegram."""

    def link(self, value: str, link: str) -> str:
        if not link.startswith(("https://", "http://", "tg://")):
            return value
        return f'<a href="{escape(link)}" target="_blank" rel="noopener noreferrer">{value}</a>'


_HTML = _SafeHtml()


def _html(text: str | None, entities: list[JSON] | None) -> str | None:
    if text is None:
        return None
    parsed = [MessageEntity(**e) for e in entities or []]
    return _HTML.unparse(text, parsed)


def _money(amount: int, currency: str) -> str:
    """An amount in the currency's smallest unit, as the pay sheet shows it: "3,840.00 RUB"."""
    if currency == "XTR":
        return f"{amount} ⭐"
    digits = get_currency_precision(currency)
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return f"{format_decimal(amount / 10 ** digits, format=pattern, locale='en')} {currency}"


def _free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def _placeholder(title: str, note: str) -> bytes:
    """An SVG standing in for a photo the simulator cannot fetch (it never goes online)."""
    return f"""<svg xmlns="http://www.w3.org/2000/svg" width="480" height="320">
<rect width="480" height="320" fill="#e9e2d3"/>
<path d="M160 90 l40 -25 h80 l40 25 l35 45 l-30 20 l-25 -25 v120 h-120 v-120 l-25 25
 l-30 -20 z" fill="#f7f3ea" stroke="#b9ab8c" stroke-width="3"/>
<text x="240" y="290" font-family="sans-serif" font-size="16" text-anchor="middle"
 fill="#5a4e36">{escape(title)}</text>
<text x="240" y="310" font-family="sans-serif" font-size="11" text-anchor="middle"
 fill="#8a7c5e">{escape(note)}</text></svg>""".encode()


@dataclass
class _Person:
    user: Shopper
    role: str  # "shopper", "staff" or "owner"

    def as_json(self) -> JSON:
        u = self.user
        name = " ".join(filter(None, (u.first_name, u.last_name)))
        return {"id": u.id, "name": name, "username": u.username, "lang": u.language_code,
                "role": self.role}


class Demo:
    """The emulator, the bot and the page, started and stopped together."""

    def __init__(self, shop_file: Path | None = None, *, create_app: Callable[..., App],
                 host: str = "127.0.0.1", port: int = 8800, redis_url: str | None = None,
                 redis_prefix: str | None = None) -> None:
        self.create_app = create_app  # settings -> App: the factory with the Telegram layer
        self.shop_file = shop_file or DEMO_SHOP
        self.host, self.port = host, port
        self.redis_url, self.redis_prefix = redis_url, redis_prefix
        self.shop: Shop = load_shop(self.shop_file)  # a bad file fails here, before any server
        username = "".join(c for c in self.shop.id if c.isalnum() or c == "_")[:24] or "shop"
        self.api = FakeBotAPI("424242:DEMO-shopbot-simulator", f"{username}_demo_bot")
        self.api.bot_user["first_name"] = self.shop.text(self.shop.name,
                                                         self.shop.default_language)
        self.people: dict[int, _Person] = {}
        self._ids = itertools.count(1)
        self._orders = itertools.count(1001)
        self._last_order: dict[int, str] = {}  # shopper -> the order the backend panel acts on
        self._sockets: dict[web.WebSocketResponse, asyncio.Queue[str]] = {}
        self._keyboards: dict[str, list[list[str]] | None] = {}  # chat id -> reply keyboard
        # (shopper, invoice payload) -> the updates of the payment the pay sheet has begun
        self._paying: dict[tuple[int, str], list[JSON]] = {}
        self._notes: list[JSON] = []  # the demo's own lines in the owner's pane
        self._runner: web.AppRunner | None = None
        self._bot_task: asyncio.Task[None] | None = None
        self.app: App | None = None
        self.api_port = 0
        self.api_token = secrets.token_urlsafe(24)
        self._page = Environment(loader=FileSystemLoader(PAGE_DIR),
                                 autoescape=select_autoescape(["html"]))
        lang = self.shop.default_language
        self.owner = self._add(Shopper(100, "Olivia", "(owner)", "shop_owner", lang), "owner")
        self.staff = self._add(Shopper(200, "Sam", "(staff)", "sam_at_the_shop", lang), "staff")

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> str:
        await self.api.start()
        title = f"{self.api.bot_user['first_name']} · staff"
        self.api.forum(STAFF_CHAT, title)
        self.api.set_chat_member(STAFF_CHAT, self.staff.user.as_user(), "administrator")
        self.api.listeners.append(self._on_change)
        self.api_port = _free_port("127.0.0.1")
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            bot_token=self.api.token, telegram_api_server=self.api.url,
            shop_file=self.shop_file, redis_url=self.redis_url, webhook_url=None,
            redis_prefix=self.redis_prefix or f"shopbot-demo:{self.shop.id}",
            admin_ids=[self.owner.user.id], staff_chat_id=STAFF_CHAT,
            shop_api_token=self.api_token, host="127.0.0.1", port=self.api_port,
            # A demo shows the delivery check at once, whatever the hour.
            followup_delay_hours=0, followup_hours="00:00-23:59", in_process_worker=True,
            payment_provider_token=DEMO_PROVIDER_TOKEN,  # the cart on; the page pays
        )
        self.app = self.create_app(settings)
        self._bot_task = asyncio.create_task(self.app.run())
        # Serving starts once the bot polls: by then its start-up checks have passed.
        polling = asyncio.create_task(
            self.api.wait_for(lambda c: c.method == "getUpdates", timeout=120))
        await asyncio.wait({polling, self._bot_task}, return_when=asyncio.FIRST_COMPLETED)
        if self._bot_task.done():
            polling.cancel()
            self._bot_task.result()  # raises what stopped the bot, e.g. a StartupError
            raise DemoError("the bot stopped before it began polling")
        polling.result()
        self.api.push_update(self.api.business_connection_update(
            self.owner.user, connection_id=BUSINESS))
        for name, lang in (("Anna", "en"), ("Дмитрий", "ru")):
            self.add_shopper(name, lang)
        web_app = web.Application(client_max_size=1024 * 1024)
        web_app.add_routes([
            web.get("/", self._index), web.get("/ws", self._ws),
            web.get("/file/{file_id}", self._file),
            web.static("/static", PAGE_DIR / "static"),
        ])
        self._runner = web.AppRunner(web_app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        if self.port == 0:
            self.port = self._runner.addresses[0][1]
        return self.url

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    async def wait(self) -> None:
        """Until the bot stops (it raises if it could not start)."""
        assert self._bot_task is not None
        # Shielded: an interrupted wait leaves the bot to stop() and its clean shutdown.
        await asyncio.shield(self._bot_task)

    async def stop(self) -> None:
        for ws in list(self._sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()
        if self._bot_task is not None and self.app is not None:
            # Stopping the bot (rather than cancelling it) ends the long poll in flight
            # before the session closes, so the terminal shows no "Server disconnected".
            self.app.stop()
            done, _ = await asyncio.wait({self._bot_task}, timeout=10)
            if not done:
                self._bot_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._bot_task
        await self.api.stop()

    async def __aenter__(self) -> Demo:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- people ----------------------------------------------------------------------------

    def _add(self, user: Shopper, role: str) -> _Person:
        person = self.people[user.id] = _Person(user, role)
        self.api.users[user.id] = user.as_user()
        return person

    def add_shopper(self, name: str, lang: str) -> _Person:
        name = " ".join(name.split())[:64]
        if not name:
            raise DemoError("A shopper needs a name.")
        if lang not in LANGUAGES:
            raise DemoError(f"Telegram language {lang!r}: pick one of {', '.join(LANGUAGES)}.")
        n = next(self._ids)
        first, _, last = name.partition(" ")
        user = Shopper(700_000_000 + n, first, last or None, f"shopper{n}", lang)
        person = self._add(user, "shopper")
        self._publish({"type": "people", "people": self._people()})
        return person

    def _people(self) -> list[JSON]:
        return [p.as_json() for p in self.people.values()]

    def _person(self, user_id: Any) -> _Person:
        person = self.people.get(user_id) if isinstance(user_id, int) else None
        if person is None:
            raise DemoError("There is no such person in this demo.")
        return person

    # -- what the page asks for ------------------------------------------------------------

    async def act(self, request: JSON) -> JSON | None:
        """One action from the page; a DemoError's text is shown to whoever clicked."""
        kind = request.get("do")
        if kind == "shopper":
            person = self.add_shopper(str(request.get("name") or ""), str(request.get("lang")))
            return {"type": "added", "person": person.as_json()}
        if kind == "language":
            person = self._person(request.get("user"))
            if request.get("lang") not in LANGUAGES:
                raise DemoError("Pick en, ru, zh-hans or zh-hant.")
            person.user.language_code = str(request["lang"])
            self.api.users[person.user.id] = person.user.as_user()
            self._publish({"type": "people", "people": self._people()})
            return None
        business = bool(request.get("business"))
        if kind == "send":
            (self._business_send if business else self._send)(request)
            return None
        if kind == "edit":
            (self._business_edit if business else self._edit)(request)
            return None
        if kind == "press":
            (self._business_press if business else self._press)(request)
            return None
        if kind == "order":
            await self._order(request)
            return None
        if kind == "quote":
            return await self._quote(request)
        if kind == "pay":
            return await self._pay(request)
        if kind == "block":
            person = self._person(request.get("user"))
            blocked = bool(request.get("blocked"))
            self.api.push_update(self.api.my_chat_member_update(
                person.user, "kicked" if blocked else "member",
                "member" if blocked else "kicked"))
            self._publish({"type": "blocked", "user": person.user.id, "blocked": blocked})
            return None
        raise DemoError(f"Unknown action {kind!r}.")

    def _sender(self, request: JSON) -> tuple[_Person, int, int | None]:
        person = self._person(request.get("user"))
        if person.role == "staff":
            thread = request.get("thread")
            return person, STAFF_CHAT, thread if isinstance(thread, int) else None
        return person, person.user.id, None

    def _send(self, request: JSON) -> None:
        person, chat, thread = self._sender(request)
        extra: JSON = {"message_thread_id": thread} if thread else {}
        if request.get("photo"):
            caption = str(request.get("text") or "").strip() or None
            update = self.api.message_update(person.user, None, chat=chat, photo=self._photo(),
                                             caption=caption, **extra)
        else:
            text = self._text(request, "Type a message first.")
            update = self.api.message_update(person.user, text, chat=chat, **extra)
        self.api.push_update(update)

    def _edit(self, request: JSON) -> None:
        person, chat, _ = self._sender(request)
        message = self.api.messages.get((chat, request.get("message_id")))
        if message is None or message.get("from", {}).get("id") != person.user.id:
            raise DemoError("Only your own messages can be edited.")
        text = str(request.get("text") or "")
        if not text.strip():
            raise DemoError("An edited message cannot be empty.")
        extra = ({"message_thread_id": message["message_thread_id"]}
                 if "message_thread_id" in message else {})
        update = self.api.edited_message_update(person.user, text, chat=chat,
                                                message_id=message["message_id"], **extra)
        self.api.push_update(update)

    def _press(self, request: JSON) -> None:
        person, chat, _ = self._sender(request)
        message = self.api.messages.get((chat, request.get("message_id")))
        data = request.get("data")
        if message is None or not isinstance(data, str):
            raise DemoError("That message is gone.")
        buttons = (message.get("reply_markup") or {}).get("inline_keyboard", [])
        if data not in {b.get("callback_data") for row in buttons for b in row}:
            raise DemoError("That button is no longer there.")
        self.api.push_update(self.api.callback_update(person.user, data, message))

    # -- the shop's own account (Telegram Business) -----------------------------------------

    def _business_writer(self, request: JSON) -> tuple[_Person, bool]:
        """The shopper whose chat with the shop's account this is, and whether the owner
        writes there in person (`user` is the owner, `chat` the shopper) rather than them."""
        person = self._person(request.get("user"))
        if person.role == "owner":
            shopper = self._person(request.get("chat"))
            if shopper.role != "shopper":
                raise DemoError("The owner writes in the shop's account to a shopper.")
            return shopper, True
        if person.role != "shopper":
            raise DemoError("Only shoppers write to the shop's account.")
        return person, False

    def _business_send(self, request: JSON) -> None:
        shopper, from_owner = self._business_writer(request)
        if request.get("photo"):
            caption = str(request.get("text") or "").strip() or None
            update = self.api.business_message_update(
                BUSINESS, shopper.user, None, from_owner=from_owner, photo=self._photo(),
                caption=caption)
        else:
            text = self._text(request, "Type a message first.")
            update = self.api.business_message_update(BUSINESS, shopper.user, text,
                                                       from_owner=from_owner)
        self.api.push_update(update)

    def _business_edit(self, request: JSON) -> None:
        shopper, from_owner = self._business_writer(request)
        writer = self.owner if from_owner else shopper
        message = self.api.business_messages.get(
            (BUSINESS, shopper.user.id, request.get("message_id")))
        if message is None or message.get("from", {}).get("id") != writer.user.id \
                or "sender_business_bot" in message:
            raise DemoError("Only your own messages can be edited.")
        text = self._text(request, "An edited message cannot be empty.")
        self.api.push_update(self.api.edited_business_message_update(
            BUSINESS, shopper.user, text, message_id=message["message_id"],
            from_owner=from_owner))

    def _business_press(self, request: JSON) -> None:
        shopper, from_owner = self._business_writer(request)
        if from_owner:
            raise DemoError("Only the shopper presses the bot's buttons in this chat.")
        message = self.api.business_messages.get(
            (BUSINESS, shopper.user.id, request.get("message_id")))
        data = request.get("data")
        if message is None or not isinstance(data, str):
            raise DemoError("That message is gone.")
        buttons = (message.get("reply_markup") or {}).get("inline_keyboard", [])
        if data not in {b.get("callback_data") for row in buttons for b in row}:
            raise DemoError("That button is no longer there.")
        self.api.push_update(self.api.business_callback_update(
            BUSINESS, shopper.user, data, message["message_id"]))

    @staticmethod
    def _text(request: JSON, empty: str) -> str:
        text = str(request.get("text") or "")
        if not text.strip():
            raise DemoError(empty)
        if len(text.encode("utf-16-le")) // 2 > 4096:
            raise DemoError("Telegram takes at most 4096 characters in one message.")
        return text

    def _photo(self) -> list[JSON]:
        photo = self.api.photo()
        svg = _placeholder("A shopper's photo", "sent from the demo page")
        self.api.uploads[photo[-1]["file_id"]] = UploadedFile("photo.svg", "image/svg+xml", svg)
        return photo

    async def _order(self, request: JSON) -> None:
        """What the shop's backend would post to the bot's HTTP API, over real HTTP."""
        person = self._person(request.get("user"))
        event = request.get("event")
        if event not in ORDER_EVENTS:
            raise DemoError(f"An order event is one of {', '.join(ORDER_EVENTS)}.")
        order_id = str(request.get("order") or "").strip()
        if not order_id and event == "created":
            order_id = f"D{next(self._orders)}"
        order_id = order_id or self._last_order.get(person.user.id, "")
        if not order_id:
            raise DemoError("Create an order first (or type its number).")
        self._last_order[person.user.id] = order_id
        body: JSON = {"order_id": order_id, "event": event, "customer_id": person.user.id}
        if event == "created":
            product = self.shop.products[0]
            body.update(items=[{"product": product.id, "quantity": 1}],
                        total=float(product.price) if product.price is not None else None,
                        expected=(date.today() + timedelta(days=3)).isoformat())
        if event == "shipped":
            body.update(carrier="Demo Post", tracking=f"DP{secrets.randbelow(10**9):09d}",
                        tracking_url="https://tracking.example/")
        body["at"] = datetime.now(UTC).isoformat()
        url = f"http://127.0.0.1:{self.api_port}/api/orders"
        headers = {"Authorization": f"Bearer {self.api_token}"}
        async with aiohttp.ClientSession() as http, http.post(url, json=body,
                                                              headers=headers) as response:
            answer = await response.json(content_type=None)
        if response.status >= 400:
            raise DemoError(f"The shop API said: {answer.get('error') or answer}")
        self._publish({"type": "order", "user": person.user.id, "order": order_id,
                       "event": event})

    # -- paying an invoice (Telegram's pay sheet, simulated) ---------------------------------

    def _invoice_of(self, request: JSON) -> tuple[_Person, JSON]:
        person = self._person(request.get("user"))
        message_id = request.get("message_id")
        for invoice in self.api.invoices.values():
            if (invoice.get("chat_id"), invoice.get("message_id")) == (person.user.id,
                                                                       message_id):
                if self._paid(invoice["payload"]):
                    raise DemoError("This invoice is paid already.")
                return person, invoice
        raise DemoError("That invoice is gone.")

    def _paid(self, payload: str) -> bool:
        return any(p["delivered"] and p["successful_payment"]["invoice_payload"] == payload
                   for p in self.api.payments.values())

    async def _answered(self, answers: dict[str, JSON], query_id: str, what: str) -> JSON:
        """The bot's answer to a query just pushed, once it came."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + ANSWER_WAIT
        while query_id not in answers:
            if loop.time() > deadline:
                raise DemoError(f"The bot did not answer the {what} query in time; "
                                "Telegram would call the payment off.")
            await asyncio.sleep(0.05)
        return answers[query_id]

    async def _quote(self, request: JSON) -> JSON:
        """The pay sheet opens (or its country changes): the payment begins with the
        shipping address, and the bot prices the delivery (Telegram's shipping query)."""
        person, invoice = self._invoice_of(request)
        country = str(request.get("country") or "RU").strip().upper()
        if len(country) != 2 or not country.isalpha():
            raise DemoError("A country is its two-letter code, such as RU or DE.")
        address = {**DEMO_ADDRESS, "country_code": country}
        updates = self.api.pay(person.user, invoice["payload"], address=address)
        self._paying[(person.user.id, invoice["payload"])] = updates
        currency = invoice["currency"]
        quote: JSON = {"type": "quote", "message_id": invoice["message_id"],
                       "title": invoice["title"], "description": invoice["description"],
                       "items": _money(invoice["total_amount"], currency),
                       "total": _money(invoice["total_amount"], currency),
                       "address": address if invoice["need_shipping_address"] else None,
                       "delivery": None, "error": None}
        if "shipping_query" not in updates[0]:
            return quote
        self.api.push_update(updates[0])
        answer = await self._answered(self.api.shipping_answers,
                                      updates[0]["shipping_query"]["id"], "shipping")
        if not answer["ok"]:
            self._paying.pop((person.user.id, invoice["payload"]), None)
            return {**quote, "error": answer["error_message"]}
        option = answer["shipping_options"][0]  # the one pay() picks
        cost = sum(p["amount"] for p in option["prices"])
        return {**quote, "delivery": {"title": option["title"], "price": _money(cost, currency)},
                "total": _money(invoice["total_amount"] + cost, currency)}

    async def _pay(self, request: JSON) -> JSON:
        """"Pay" on the sheet: the pre-checkout query, then, if the bot agreed, the
        payment, each pushed when the one before was handled."""
        person, invoice = self._invoice_of(request)
        updates = self._paying.pop((person.user.id, invoice["payload"]), None)
        if updates is None:
            raise DemoError("Open the pay sheet again: this payment was not begun.")
        check, payment = updates[-2], updates[-1]
        self.api.push_update(check)
        answer = await self._answered(self.api.pre_checkout_answers,
                                      check["pre_checkout_query"]["id"], "pre-checkout")
        if not answer["ok"]:
            return {"type": "pay_refused", "message_id": invoice["message_id"],
                    "error": answer["error_message"]}
        since = len(self.api.calls)
        self.api.push_update(payment)
        # Handled once the bot has told the shopper (or given up waiting: it is pushed).
        with contextlib.suppress(AssertionError):
            await self.api.wait_for(lambda c: c.method == "sendMessage"
                                    and c.chat_id == person.user.id, timeout=ANSWER_WAIT,
                                    since=since)
        self._publish({"type": "edit", "message": self.render(self.api.messages[
            (person.user.id, invoice["message_id"])])})
        return {"type": "paid", "message_id": invoice["message_id"]}

    def clock(self, stamp: int) -> str:
        """A moment as the page shows it: the shop's time zone, in the words the bot's own
        texts use (the staff card's "Last messages"), so every time on the page agrees."""
        moment = datetime.fromtimestamp(stamp, UTC).astimezone(self.shop.tz)
        return format_time(moment, "short", locale=BABEL_LOCALES[self.staff_lang])

    @property
    def staff_lang(self) -> str:
        # The staff desk writes in the shop's default language (no STAFF_LANGUAGE here).
        return self.shop.default_language

    def _note(self, text: str) -> None:
        """A line of the demo's own (not the bot's) in the owner's pane."""
        now = int(datetime.now(UTC).timestamp())
        note = {"chat": self.owner.user.id, "id": 10**9 + len(self._notes),
                "date": now, "time": self.clock(now), "service": text, "note": True}
        self._notes.append(note)
        self._publish({"type": "message", "message": note})

    # -- the page --------------------------------------------------------------------------

    async def _index(self, request: web.Request) -> web.Response:
        page = self._page.get_template("page.html").render(
            shop=self.api.bot_user["first_name"], bot=self.api.bot_user["username"],
            languages=LANGUAGES, events=ORDER_EVENTS, timezone=self.shop.timezone)
        return web.Response(text=page, content_type="text/html")

    async def _file(self, request: web.Request) -> web.Response:
        file_id = request.match_info["file_id"]
        upload = self.api.uploads.get(file_id) or self.api.uploads.get(file_id.removesuffix("-m"))
        if upload is not None:
            return web.Response(body=upload.data, content_type=_image_type(upload))
        remote = self.api.remote_files.get(file_id.removesuffix("-m"))
        if remote is not None:
            name = remote.rsplit("/", 1)[-1] or remote
            body = _placeholder(name, "Telegram shows the photo at this link; "
                                      "the simulator stays offline")
        else:
            body = _placeholder("A photo", "from Telegram's servers, not kept by the simulator")
        return web.Response(body=body, content_type="image/svg+xml")

    async def _ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=30)
        await ws.prepare(request)
        queue: asyncio.Queue[str] = asyncio.Queue()
        queue.put_nowait(json.dumps(self._snapshot(), ensure_ascii=False))
        self._sockets[ws] = queue
        writer = asyncio.create_task(self._write(ws, queue))
        try:
            async for frame in ws:
                if frame.type != aiohttp.WSMsgType.TEXT:
                    continue
                try:
                    data = json.loads(frame.data)
                    if not isinstance(data, dict):
                        raise DemoError("Bad request from the page.")
                    answer = await self.act(data)
                except DemoError as exc:
                    answer = {"type": "error", "text": str(exc)}
                except (ValueError, aiohttp.ClientError) as exc:
                    log.warning("demo action failed: %r", exc)
                    answer = {"type": "error", "text": "That did not work; see the terminal."}
                if answer is not None:
                    queue.put_nowait(json.dumps(answer, ensure_ascii=False))
        finally:
            self._sockets.pop(ws, None)
            writer.cancel()
        return ws

    @staticmethod
    async def _write(ws: web.WebSocketResponse, queue: asyncio.Queue[str]) -> None:
        # One writer per page keeps events in the order they happened.
        while not ws.closed:
            data = await queue.get()
            with contextlib.suppress(ConnectionError, RuntimeError):
                await ws.send_str(data)

    def _snapshot(self) -> JSON:
        stored = [*self.api.messages.values(), *self.api.business_messages.values()]
        messages = [self.render(m) for m in sorted(stored,
                                                   key=lambda m: (m["date"], m["message_id"]))]
        return {"type": "hello", "people": self._people(), "staff_chat": STAFF_CHAT,
                "bot": self.api.bot_user, "topics": self._topics(),
                "messages": [m for m in messages if m is not None] + self._notes,
                "keyboards": self._keyboards, "commands": self._commands()}

    def _topics(self) -> list[JSON]:
        topics = self.api.topics.get(STAFF_CHAT, {})
        return [{"id": t["message_thread_id"], "name": t["name"], "closed": t["is_closed"]}
                for t in topics.values()]

    def _commands(self) -> dict[str, list[JSON]]:
        menus = {}
        for (scope, code), commands in self.api.commands.items():
            if json.loads(scope).get("type") == "default":
                menus[code or "default"] = commands
        return menus

    def render(self, m: JSON) -> JSON | None:
        """A message as the page draws it; None for what a chat does not show."""
        chat = m["chat"]["id"]
        sender = m.get("from") or {}
        by_bot = m.get("sender_business_bot") or {}
        out: JSON = {
            "chat": chat, "id": m["message_id"], "date": m["date"],
            "time": self.clock(m["date"]),  # the shop's clock, never the browser's
            # A chat of the shop's own account: the same chat id as the shopper's chat with
            # the bot, its own message ids.
            "business": m.get("business_connection_id"),
            "thread": m.get("message_thread_id") if m.get("is_topic_message") else None,
            "from_bot": self.api.bot_user["id"] in (sender.get("id"), by_bot.get("id")),
            "via": by_bot.get("username"),
            "sender": " ".join(filter(None, (sender.get("first_name"),
                                             sender.get("last_name")))),
            "sender_id": sender.get("id"), "edited": "edit_date" in m,
            "html": _html(m.get("text"), m.get("entities")),
            "caption": _html(m.get("caption"), m.get("caption_entities")),
        }
        if "forum_topic_created" in m:
            out["service"] = f"Topic created: {m['forum_topic_created']['name']}"
            out["thread"] = m.get("message_thread_id")
        if "photo" in m:
            out["photo"] = f"/file/{m['photo'][-1]['file_id']}"
        for kind, label in (("sticker", "Sticker"), ("voice", "Voice message"),
                            ("video", "Video"), ("animation", "GIF"), ("audio", "Audio"),
                            ("document", "File")):
            if kind in m:
                item = m[kind]
                out["media"] = " ".join(filter(None, (label, item.get("emoji"),
                                                      item.get("file_name"))))
        if "invoice" in m:
            invoice = m["invoice"]
            payload = next((p for p, i in self.api.invoices.items()
                            if (i.get("chat_id"), i.get("message_id")) == (chat,
                                                                           m["message_id"])),
                           None)
            out["invoice"] = {"title": invoice["title"], "description": invoice["description"],
                              "total": _money(invoice["total_amount"], invoice["currency"]),
                              "paid": payload is not None and self._paid(payload)}
        if "successful_payment" in m:
            paid = m["successful_payment"]
            title = (self.api.invoices.get(paid["invoice_payload"]) or {}).get("title")
            out["service"] = " ".join(filter(None, (
                f"{out['sender'] or 'The shopper'} paid "
                f"{_money(paid['total_amount'], paid['currency'])}",
                f"for {title}" if title else None, "(simulated)")))
        if "reply_to_message" in m:
            original = m["reply_to_message"]
            out["reply_to"] = (original.get("text") or original.get("caption") or "…")[:80]
        if "forward_origin" in m:
            origin = m["forward_origin"].get("sender_user", {})
            out["forwarded"] = origin.get("first_name", "")
        markup = (m.get("reply_markup") or {}).get("inline_keyboard")
        if markup:
            out["buttons"] = [[{"text": b.get("text", ""), "data": b.get("callback_data"),
                                "url": b.get("url")} for b in row] for row in markup]
        if not any(out.get(k) for k in ("html", "caption", "photo", "media", "service",
                                        "invoice")):
            return None
        return out

    # -- pushing changes -------------------------------------------------------------------

    def _on_change(self, event: str, payload: JSON) -> None:
        if event in ("message", "edit"):
            rendered = self.render(payload)
            if rendered is not None:
                self._publish({"type": event, "message": rendered})
        elif event == "delete":
            self._publish({"type": "delete", "chat": payload["chat_id"],
                           "id": payload["message_id"],
                           "business": payload.get("business_connection_id")})
        elif event == "keyboard":
            markup = payload["markup"]
            rows = [[b if isinstance(b, str) else b.get("text", "") for b in row]
                    for row in (markup or {}).get("keyboard", [])]
            business = payload.get("business_connection_id")
            key = f"business:{payload['chat_id']}" if business else str(payload["chat_id"])
            self._keyboards[key] = rows or None
            self._publish({"type": "keyboard", "chat": payload["chat_id"], "rows": rows or None,
                           "business": business})
        elif event == "toast":
            self._publish({"type": "toast", "chat": payload["chat_id"], "text": payload["text"],
                           "alert": payload["show_alert"]})
        elif event == "action":
            self._publish({"type": "typing", "chat": payload["chat_id"],
                           "business": payload.get("business_connection_id")})
        elif event == "topics":
            self._publish({"type": "topics", "topics": self._topics()})

    def _publish(self, event: JSON) -> None:
        if not self._sockets:
            return
        data = json.dumps(event, ensure_ascii=False)
        for queue in self._sockets.values():
            queue.put_nowait(data)


class DemoError(Exception):
    """Something the page asked for that cannot be done; the text says why."""


def _image_type(upload: UploadedFile) -> str:
    data = upload.data
    if data.startswith(b"\x89PNG"):
        return "image/png"
    if data.startswith(b"\xff\xd8"):
        return "image/jpeg"
    if data.lstrip().startswith(b"<svg"):
        return "image/svg+xml"
    return upload.content_type or "application/octet-stream"


async def serve(shop_file: Path | None, host: str, port: int, redis_url: str | None,
                announce: Callable[[str], None], create_app: Callable[..., App]) -> None:
    """`shopbot demo`: run until interrupted."""
    demo = Demo(shop_file, create_app=create_app, host=host, port=port, redis_url=redis_url)
    try:
        url = await demo.start()
        announce(url)
        log.warning("the shop's HTTP API of this demo: http://127.0.0.1:%d/api/orders with "
                    "Authorization: Bearer %s", demo.api_port, demo.api_token)
        await demo.wait()
    finally:
        await demo.stop()
