"""A local fake of the Telegram Bot API, for end-to-end tests, benchmarks and the demo.

It lives in `bot/` (not `tests/`) because the benchmarks and `shopbot demo` serve it too.

The bot reaches it through its ordinary aiogram session, as it would reach a self-hosted
Bot API server, so serialisation, middlewares, error handling and polling are all real::

    async with FakeBotAPI() as api:
        bot = api.make_bot()  # AiohttpSession(api=TelegramAPIServer.from_base(api.url))
        ann = api.new_shopper(first_name="Ann")
        api.push_update(api.message_update(ann, "/start"))
        call = await api.wait_for(lambda c: c.method == "sendMessage" and c.chat_id == ann.id)

It keeps just enough state (messages per chat, open callback queries, topics, commands,
webhook) for Telegram's everyday "Bad Request" answers to happen here as well.

Telegram Business is modelled too: `business_connection_update()` connects an owner's
account, `business_message_update()` and its kin are the chats of that account with its
customers. Those chats keep their own messages (`business_messages`) and message ids, apart
from the bot's private chat with the same person; a send with `business_connection_id`
goes there, from the owner, and comes back as a `business_message` update (`echo_business`).

Telegram Payments too: `sendInvoice` and `createInvoiceLink` (a provider's currency, or
Telegram Stars "XTR"), kept in `invoices` by payload; `shipping_query_update()`,
`pre_checkout_query_update()` and `successful_payment_update()` are the shopper's side, `pay()`
all of them in order; the bot's answers land in `shipping_answers`, `pre_checkout_answers`
and `refunds`.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import inspect
import itertools
import json
import re
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from html.parser import HTMLParser
from types import TracebackType
from typing import Any, ClassVar

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiohttp import web

JSON = dict[str, Any]

SEND_METHODS = frozenset({
    "sendMessage", "sendPhoto", "sendDocument", "sendSticker", "sendVoice", "sendVideo",
    "sendAnimation", "sendAudio", "sendMediaGroup", "copyMessage", "copyMessages",
    "forwardMessage", "sendInvoice",
})
# The methods that take business_connection_id; others ignore it, as Telegram does.
BUSINESS_METHODS = frozenset({
    "sendMessage", "sendPhoto", "sendDocument", "sendSticker", "sendVoice", "sendVideo",
    "sendAnimation", "sendAudio", "sendMediaGroup", "sendChatAction", "editMessageText",
    "editMessageCaption", "editMessageReplyMarkup",
})
_BUSINESS_INVALID = "Bad Request: BUSINESS_CONNECTION_INVALID"
_BUSINESS_RIGHTS = "Forbidden: BOT_BUSINESS_MISSING_RIGHTS"
_MEDIA: dict[str, JSON] = {  # media kind -> the fields Telegram fills in besides the file ids
    "photo": {},
    "document": {"mime_type": "application/octet-stream"},
    "sticker": {"type": "regular", "width": 512, "height": 512, "is_animated": False,
                "is_video": False},
    "voice": {"duration": 1, "mime_type": "audio/ogg"},
    "video": {"width": 640, "height": 360, "duration": 1, "mime_type": "video/mp4"},
    "animation": {"width": 320, "height": 240, "duration": 1},
    "audio": {"duration": 1, "mime_type": "audio/mpeg"},
}
_CONTENT = ("text", "entities", "caption", "caption_entities", *_MEDIA, "contact", "location")
# Form values all arrive as strings; these stay strings even when they look like JSON ("42").
_TEXT_PARAMS = frozenset({
    "text", "caption", "callback_query_id", "data", "url", "secret_token", "name", "title",
    "description", "emoji", "icon_custom_emoji_id", "inline_message_id", "file_id", "parse_mode",
    "action", "language_code", "query", "first_name", "last_name", "thumbnail", *_MEDIA,
    "business_connection_id", "payload", "provider_token", "currency", "start_parameter",
    "photo_url", "shipping_query_id", "pre_checkout_query_id", "error_message",
    "telegram_payment_charge_id",
})
# Telegram only sends these when allowed_updates asks for them explicitly.
_OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})
_ADMIN_RIGHTS = (
    "can_manage_chat", "can_delete_messages", "can_manage_video_chats", "can_restrict_members",
    "can_promote_members", "can_change_info", "can_invite_users", "can_post_stories",
    "can_edit_stories", "can_delete_stories", "can_send_welcome_messages", "can_pin_messages",
    "can_manage_topics",
)
_MEMBER_RIGHTS = (
    "can_send_messages", "can_send_audios", "can_send_documents", "can_send_photos",
    "can_send_videos", "can_send_video_notes", "can_send_voice_notes", "can_send_polls",
    "can_send_other_messages", "can_add_web_page_previews", "can_react_to_messages",
    "can_edit_tag", "can_change_info", "can_invite_users", "can_pin_messages", "can_manage_topics",
)
_ERRORS = {
    400: "Bad Request: injected error",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request; "
         "make sure that only one bot instance is running",
    429: "Too Many Requests: retry after {retry_after}",
    500: "Internal Server Error",
}
_QUERY_INVALID = "QUERY_ID_INVALID"
_STARS = "XTR"
_DEFAULT_ADDRESS: JSON = {"country_code": "GB", "state": "", "city": "London",
                          "street_line1": "221B Baker Street", "street_line2": "",
                          "post_code": "NW1 6XE"}
_NOT_MODIFIED = ("message is not modified: specified new message content and reply markup are "
                 "exactly the same as a content and reply markup of the current message")


class TelegramError(Exception):
    """Raised inside the fake to answer with Telegram's error shape."""

    def __init__(self, code: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.code, self.description, self.parameters = code, description, parameters

    def payload(self) -> JSON:
        body: JSON = {"ok": False, "error_code": self.code, "description": self.description}
        return {**body, "parameters": self.parameters} if self.parameters else body


def _bad(description: str) -> TelegramError:
    return TelegramError(400, f"Bad Request: {description}")


@dataclass
class UploadedFile:
    filename: str | None
    content_type: str
    data: bytes


@dataclass
class Call:
    """One request of the bot; `result` is what was answered (the error body when not ok)."""

    method: str
    params: JSON
    chat_id: int | None
    result: Any
    time: float  # time.monotonic() on arrival, to assert on pacing
    ok: bool = True
    files: dict[str, UploadedFile] = field(default_factory=dict)
    answered: bool = True  # False only while a long poll is still waiting (result is None)
    # Set when the call acts in a business chat (a method of BUSINESS_METHODS with the
    # parameter); chat_id is then the customer's id in the connected account's chats.
    business_connection_id: str | None = None

    def __str__(self) -> str:
        status = "ok" if self.ok else f"FAILED {self.result.get('description')!r}"
        status = status if self.answered else "waiting"
        params = json.dumps(self.params, ensure_ascii=False, default=str)
        where = f"chat={self.chat_id}"
        if self.business_connection_id is not None:
            where += f" business={self.business_connection_id}"
        return f"{self.method} {where} {status} {params[:300]}"


@dataclass
class Shopper:
    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = "en"

    def as_user(self) -> JSON:
        optional = {"last_name": self.last_name, "username": self.username,
                    "language_code": self.language_code}
        return {"id": self.id, "is_bot": False, "first_name": self.first_name,
                **{k: v for k, v in optional.items() if v is not None}}


@dataclass
class _Failure:
    method: str
    error: TelegramError
    times: int | None
    chat_id: int | None


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _decode(key: str, value: Any) -> Any:
    if not isinstance(value, str) or key in _TEXT_PARAMS:
        return value
    try:
        decoded = json.loads(value)
    except ValueError:
        return value
    return value if isinstance(decoded, str) else decoded


def _as_user(user: Shopper | JSON) -> JSON:
    return user.as_user() if isinstance(user, Shopper) else dict(user)


def _inline_markup(params: Mapping[str, Any]) -> JSON | None:
    # Message.reply_markup is only ever an inline keyboard: reply keyboards are not echoed.
    markup = params.get("reply_markup")
    return markup if isinstance(markup, dict) and "inline_keyboard" in markup else None


def _no_business(params: JSON) -> JSON:
    # copyMessage and forwardMessage take no business_connection_id: Telegram ignores it.
    return {k: v for k, v in params.items() if k != "business_connection_id"}


def _compact(fields: Mapping[str, Any]) -> JSON:
    return {k: v for k, v in fields.items() if v not in (None, "", [])}


class _HTMLEntities(HTMLParser):
    """parse_mode=HTML text -> plain text + entities, failing on markup Telegram rejects."""

    TAGS: ClassVar[dict[str, str]] = {
        "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline",
        "ins": "underline", "s": "strikethrough", "strike": "strikethrough",
        "del": "strikethrough", "tg-spoiler": "spoiler", "span": "spoiler", "code": "code",
        "pre": "pre", "a": "text_link", "blockquote": "blockquote", "tg-emoji": "custom_emoji",
    }

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        # UTF-16 code units, like Telegram's offsets (not `offset`: HTMLParser uses that name)
        self.position = 0
        self.open_tags: list[tuple[str, JSON]] = []
        self.entities: list[JSON] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        kind, attr = self.TAGS.get(tag), dict(attrs)
        if kind is None or (tag == "span" and attr.get("class") != "tg-spoiler"):
            raise _bad(f'can\'t parse entities: Unsupported start tag "{tag}"')
        entity: JSON = {"type": kind, "offset": self.position}
        if tag == "a":
            entity["url"] = attr.get("href") or ""
        elif tag == "tg-emoji":
            entity["custom_emoji_id"] = attr.get("emoji-id") or ""
        elif tag == "blockquote" and "expandable" in attr:
            entity["type"] = "expandable_blockquote"
        elif tag == "code" and attr.get("class") and [t for t, _ in self.open_tags[-1:]] == ["pre"]:
            self.open_tags[-1][1]["language"] = str(attr["class"]).removeprefix("language-")
            entity["type"] = None  # <pre><code class=...> is a single pre entity
        self.open_tags.append((tag, entity))

    def handle_endtag(self, tag: str) -> None:
        if not self.open_tags or self.open_tags[-1][0] != tag:
            raise _bad(f'can\'t parse entities: Unexpected end tag "{tag}"')
        entity = self.open_tags.pop()[1]
        if entity["type"] and self.position > entity["offset"]:
            self.entities.append({**entity, "length": self.position - entity["offset"]})

    def handle_data(self, data: str) -> None:
        self.chunks.append(data)
        self.position += _utf16_len(data)

    @classmethod
    def parse(cls, text: str) -> tuple[str, list[JSON]]:
        parser = cls()
        parser.feed(text)
        parser.close()
        if parser.open_tags:
            tag = parser.open_tags[-1][0]
            raise _bad("can't parse entities: Can't find end tag corresponding to start tag "
                       f'"{tag}"')
        entities = sorted(parser.entities, key=lambda e: (e["offset"], -e["length"]))
        return "".join(parser.chunks), entities


class FakeBotAPI:
    def __init__(self, token: str = "123456:TEST-token", bot_username: str = "shopbot_test_bot",
                 *, rate_limit: float | None = None):
        self.token = token
        self.bot_user: JSON = {
            "id": int(token.split(":", 1)[0]), "is_bot": True, "first_name": "Shopbot Test",
            "username": bot_username, "can_join_groups": True,
            "can_read_all_group_messages": False, "supports_inline_queries": False,
            "can_connect_to_business": True, "has_main_web_app": False,
        }
        self.calls: list[Call] = []
        self.users: dict[int, JSON] = {}
        self.chats: dict[int, JSON] = {}  # explicitly shaped chats; others derive from the id
        self.messages: dict[tuple[int, int], JSON] = {}  # (chat_id, message_id) -> latest version
        self.topics: dict[int, dict[int, JSON]] = {}
        self.commands: dict[tuple[str, str], list[JSON]] = {}
        self.webhook: JSON = {"url": ""}
        self.members: dict[tuple[int, int], str] = {}  # (chat_id, user_id) -> status
        self.rights: dict[tuple[int, int], JSON] = {}  # (chat_id, user_id) -> rights overridden
        self.blocked: set[int] = set()
        # Telegram Business: connection id -> BusinessConnection; the messages of the
        # connected accounts' chats, (connection id, chat id, message id) -> latest version.
        self.business: dict[str, JSON] = {}
        self.business_messages: dict[tuple[str, int, int], JSON] = {}
        # Whether a business send comes back as a business_message update, as in Telegram.
        self.echo_business = True
        self._business_last_id: dict[tuple[str, int], int] = {}
        self._business_chats: set[tuple[str, int]] = set()  # had a customer's message
        # Telegram's bulk limit: sends beyond `rate_limit` in any second get a 429.
        self.rate_limit = rate_limit
        self._sent_times: collections.deque[float] = collections.deque()
        self._failures: list[_Failure] = []
        self._delays: dict[tuple[str, int | None], float] = {}
        self._updates: list[JSON] = []
        self._allowed_updates: list[str] | None = None
        self._callbacks: dict[str, int] = {}  # unanswered callback query id -> chat id
        self._last_message_id: dict[int, int] = {}
        self._ids = itertools.count(1)
        self._update_ids = itertools.count(1)
        self._last_update_id = 0
        self._poll_generation = 0
        self._files: dict[str, UploadedFile] = {}  # file parts of the request being handled
        self.uploads: dict[str, UploadedFile] = {}  # file_id -> what the bot uploaded
        self.remote_files: dict[str, str] = {}  # file_id -> the URL the bot sent it by
        # Called with (event, payload) as chats change: "message", "edit", "delete",
        # "keyboard", "toast", "action", "topic"; the demo page listens here.
        self.listeners: list[Callable[[str, JSON], None]] = []
        # Telegram Payments. invoice payload -> the latest invoice sent or linked with it:
        # chat_id (None for a link), message_id, title, currency, prices, total_amount,
        # provider_token, need_* flags, is_flexible.
        self.invoices: dict[str, JSON] = {}
        # query id -> the bot's answer (ok, shipping_options, error_message, the query's
        # invoice_payload and user_id); pre-checkout answers also say "after": seconds since
        # the query was pushed (or built, when never pushed).
        self.shipping_answers: dict[str, JSON] = {}
        self.pre_checkout_answers: dict[str, JSON] = {}
        # telegram_payment_charge_id -> the successful payment (successful_payment fields,
        # user_id, message); and -> the refund of a Stars payment (user_id, total_amount...).
        self.payments: dict[str, JSON] = {}
        self.refunds: dict[str, JSON] = {}
        # Telegram gives the bot 10 seconds to answer a pre-checkout query.
        self.pre_checkout_timeout = 10.0
        self._shipping_queries: dict[str, JSON] = {}  # unanswered: id -> the query
        self._pre_checkouts: dict[str, JSON] = {}  # unanswered: id -> query and its time
        self._pending_pay: dict[str, list[JSON]] = {}  # shipping query id -> pay()'s objects
        self._invoice_links = itertools.count(1)
        self._changed = asyncio.Event()
        self._closing = False
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        handlers: dict[str, Callable[[JSON], Any]] = {
            "getMe": lambda p: self.bot_user, "logOut": lambda p: True, "close": lambda p: True,
            "getUpdates": self._get_updates, "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook, "getWebhookInfo": self._get_webhook_info,
            "setMyCommands": self._set_my_commands, "deleteMyCommands": self._delete_my_commands,
            "getMyCommands": lambda p: self.commands.get(self._commands_key(p), []),
            "sendMessage": self._send_message, "sendMediaGroup": self._send_media_group,
            "copyMessage": self._copy_message, "copyMessages": self._copy_messages,
            "forwardMessage": self._forward_message,
            "editMessageText": self._edit_message_text,
            "editMessageCaption": self._edit_message_caption,
            "editMessageReplyMarkup": lambda p: self._apply_edit(p, {}),
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback_query,
            "sendChatAction": self._send_chat_action, "getChat": self._get_chat,
            "getChatMember": self._get_chat_member,
            "getChatAdministrators": self._get_chat_administrators,
            "createForumTopic": self._create_forum_topic, "editForumTopic": self._edit_forum_topic,
            "closeForumTopic": lambda p: self._set_topic_closed(p, closed=True),
            "reopenForumTopic": lambda p: self._set_topic_closed(p, closed=False),
            "deleteForumTopic": self._delete_forum_topic,
            "getBusinessConnection": self._get_business_connection,
            "sendInvoice": self._send_invoice, "createInvoiceLink": self._create_invoice_link,
            "answerShippingQuery": self._answer_shipping_query,
            "answerPreCheckoutQuery": self._answer_pre_checkout_query,
            "refundStarPayment": self._refund_star_payment,
        }
        for kind in _MEDIA:
            handlers["send" + kind.capitalize()] = lambda p, kind=kind: self._send_media(kind, p)
        # Telegram matches method names case-insensitively.
        self._methods = {name.lower(): (name, handler) for name, handler in handlers.items()}

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> None:
        self._closing = False
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        await web.SockSite(self._runner, sock).start()
        self._port = sock.getsockname()[1]

    async def stop(self) -> None:
        self._closing = True  # pending long polls return at once instead of delaying shutdown
        self._notify()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeBotAPI:
        await self.start()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.stop()

    @property
    def url(self) -> str:
        if self._port is None:
            raise RuntimeError("FakeBotAPI is not started")
        return f"http://127.0.0.1:{self._port}"

    def make_bot(self, **kwargs: Any) -> Bot:
        """A Bot talking to this fake; close it with `await bot.session.close()`."""
        session = AiohttpSession(api=TelegramAPIServer.from_base(self.url))
        return Bot(self.token, session=session, **kwargs)

    # -- inspection ------------------------------------------------------------------------

    def canonical(self, method: str) -> str:
        return self._methods.get(method.lower(), (method, None))[0]

    def calls_for(self, chat_id: int | None, method: str | None = None) -> list[Call]:
        """Calls about the chat; those in a business chat of the same id are left out."""
        name = method and self.canonical(method)
        return [c for c in self.calls if c.chat_id == chat_id and name in (None, c.method)
                and c.business_connection_id is None]

    def sent_to(self, chat_id: int, *, include_failed: bool = False) -> list[Call]:
        """Messages sent (or copied/forwarded) to the chat; refused attempts only on request.
        Sends into a business chat with the same person are not here: see business_sent()."""
        return [c for c in self.calls if c.chat_id == chat_id and c.method in SEND_METHODS
                and (c.ok or include_failed) and c.business_connection_id is None]

    def business_sent(self, connection_id: str, chat_id: int, *,
                      include_failed: bool = False) -> list[Call]:
        """Messages sent with `business_connection_id` into that connection's chat with
        `chat_id` (the customer's id); refused attempts only on request."""
        return [c for c in self.calls if c.business_connection_id == connection_id
                and c.chat_id == chat_id and c.method in SEND_METHODS
                and (c.ok or include_failed)]

    def clear(self) -> None:
        """Forget the recorded calls; chats, messages and injected failures stay."""
        self.calls.clear()

    async def wait_for(
        self,
        predicate: Callable[[Call], bool] | str,
        timeout: float = 5.0,  # noqa: ASYNC109 - a plain number is what callers want here
        *,
        since: int = 0,
    ) -> Call:
        """The first call from index `since` on that matches (a predicate or a method name)."""
        if isinstance(predicate, str):
            name = self.canonical(predicate)
            predicate = lambda call: call.method == name  # noqa: E731
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            # Rescanned on every change: a waiting long poll changes when it is answered.
            for call in self.calls[since:]:
                if predicate(call):
                    return call
            if loop.time() >= deadline:
                calls = enumerate(self.calls[since:], since)
                dump = "\n".join(f"  #{i} {c}" for i, c in calls) or "  (none)"
                raise AssertionError(f"no matching Bot API call within {timeout}s; "
                                     f"calls since #{since}:\n{dump}")
            await self._wait_change(deadline - loop.time())

    # -- behaviour switches ----------------------------------------------------------------

    def fail(self, method: str, error_code: int = 429, description: str | None = None,
             retry_after: int | None = None, times: int | None = 1,
             chat_id: int | None = None) -> None:
        """Make the next `times` (None: every) calls of `method` ("*": any) fail."""
        if error_code == 429 and retry_after is None:
            retry_after = 1  # a real 429 always says how long to wait
        text = (description or _ERRORS.get(error_code, f"Error {error_code}"))
        parameters = {"retry_after": retry_after} if retry_after is not None else None
        error = TelegramError(error_code, text.format(retry_after=retry_after), parameters)
        name = method if method == "*" else self.canonical(method)
        self._failures.append(_Failure(name, error, times, chat_id))

    def slow(self, method: str, seconds: float, chat_id: int | None = None) -> None:
        """Answer every later call of `method` ("*": any), to `chat_id` or any chat, only
        after `seconds`: a slow or overloaded Bot API."""
        name = method if method == "*" else self.canonical(method)
        self._delays[(name, chat_id)] = seconds

    def block(self, chat_id: int) -> None:
        self.blocked.add(chat_id)

    def unblock(self, chat_id: int) -> None:
        self.blocked.discard(chat_id)

    def set_chat_member(self, chat_id: int, user: Shopper | JSON, status: str,
                        **rights: bool) -> None:
        """What getChatMember/getChatAdministrators answer ("creator", "administrator"...);
        `rights` override an administrator's (all granted by default)."""
        user_id = self._register_user(user)["id"]
        self.members[(chat_id, user_id)] = status
        self.rights[(chat_id, user_id)] = rights

    def forum(self, chat_id: int = -1001234567890, title: str = "Staff", *,
              topics: bool = True, bot_status: str = "administrator", **bot_rights: bool) -> int:
        """A supergroup (with topics unless `topics=False`) where the bot has `bot_status`."""
        self.chats[chat_id] = {"id": chat_id, "type": "supergroup", "title": title,
                               **({"is_forum": True} if topics else {})}
        self.set_chat_member(chat_id, self.bot_user, bot_status, **bot_rights)
        return chat_id

    # -- feeding updates -------------------------------------------------------------------

    def new_shopper(self, **kw: Any) -> Shopper:
        n = next(self._ids)
        shopper = Shopper(**{"id": 700_000_000 + n, "first_name": f"Shopper{n}", **kw})
        self.users[shopper.id] = shopper.as_user()
        return shopper

    def push_update(self, update: JSON) -> int:
        """Queue an update for getUpdates; returns its update_id (reassigned if not increasing)."""
        update = dict(update)
        if update.get("update_id", 0) <= self._last_update_id:
            update["update_id"] = max(next(self._update_ids), self._last_update_id + 1)
        self._last_update_id = update["update_id"]
        query = update.get("pre_checkout_query")
        if isinstance(query, dict) and query.get("id") in self._pre_checkouts:
            # The bot's 10 seconds run from when Telegram sends the query.
            self._pre_checkouts[query["id"]]["time"] = time.monotonic()
        paid = update.get("message", {}).get("successful_payment")
        record = self.payments.get(paid.get("telegram_payment_charge_id")) \
            if isinstance(paid, dict) else None
        if record is not None and not record["delivered"]:  # from pay(): joins the chat now
            record["delivered"] = True
            message = record["message"]
            stored = self._new_message(message["chat"]["id"], sender=message["from"],
                                       successful_payment=message["successful_payment"])
            message.update(stored)
            self.messages[(stored["chat"]["id"], stored["message_id"])] = message
            update["message"] = message
        self._updates.append(update)
        self._notify()
        return self._last_update_id

    def message_update(self, user: Shopper | JSON, text: str | None = None, *,
                       chat: JSON | int | None = None, entities: list[JSON] | None = None,
                       **content: Any) -> JSON:
        return self._update("message", self._incoming(user, text, chat, entities, content))

    def edited_message_update(self, user: Shopper | JSON, text: str | None = None, *,
                              message_id: int | None = None, chat: JSON | int | None = None,
                              entities: list[JSON] | None = None, **content: Any) -> JSON:
        """An edit of the user's message `message_id` (a new message when not given)."""
        message = self._incoming(user, text, chat, entities, content, message_id)
        message["edit_date"] = int(time.time())
        return self._update("edited_message", message)

    def callback_update(self, user: Shopper | JSON, data: str,
                        message: JSON | int | None = None) -> JSON:
        """A button press on `message` (default: the bot's latest message to the user,
        preferring one with a keyboard)."""
        u = self._register_user(user)
        if isinstance(message, int):
            if (u["id"], message) not in self.messages:
                raise ValueError(f"no message {message} in the private chat of {u['id']}")
            message = self.messages[(u["id"], message)]
        elif message is None:
            mine = [m for (chat_id, _), m in sorted(self.messages.items())
                    if chat_id == u["id"] and m.get("from", {}).get("id") == self.bot_user["id"]]
            mine = [m for m in mine if "reply_markup" in m] or mine
            message = mine[-1] if mine else self._new_message(u["id"], text="Choose an option:")
        else:
            self.messages.setdefault((message["chat"]["id"], message["message_id"]), message)
        query_id = str(u["id"] * 1000 + next(self._ids))
        self._callbacks[query_id] = message["chat"]["id"]
        return self._update("callback_query", {
            "id": query_id, "from": u, "message": message, "data": data,
            "chat_instance": str(-abs(message["chat"]["id"]))})

    def channel_post_update(self, chat: JSON | int = -1001000000001, text: str | None = None, *,
                            entities: list[JSON] | None = None, **content: Any) -> JSON:
        if isinstance(chat, int):
            chat = self.chats.get(chat) or {"id": chat, "type": "channel", "title": f"Ch {chat}"}
        self.chats[chat["id"]] = chat
        fields = self._incoming_content(text, entities, content)
        return self._update("channel_post", self._new_message(chat["id"], **fields))

    def my_chat_member_update(self, user: Shopper | JSON, new_status: str = "kicked",
                              old_status: str = "member", *,
                              chat: JSON | int | None = None) -> JSON:
        """The bot's membership changed. In a private chat "kicked" is the user blocking the
        bot, so sends to them fail from now on (and "member" lifts that)."""
        u = self._register_user(user)
        chat_obj = self._chat_object(chat, u)
        if chat_obj["type"] == "private":
            (self.block if new_status == "kicked" else self.unblock)(chat_obj["id"])
        return self._update("my_chat_member", {
            "chat": chat_obj, "from": u, "date": int(time.time()),
            "old_chat_member": self._member(self.bot_user, old_status),
            "new_chat_member": self._member(self.bot_user, new_status)})

    def business_connection_update(self, owner: Shopper | JSON, *, connection_id: str = "bc-1",
                                   can_reply: bool = True, enabled: bool = True) -> JSON:
        """`owner` connected the bot to their Telegram Business account (or, for an id seen
        before, changed its rights, disabled or re-enabled it); the state changes at once."""
        u = self._register_user(owner)
        earlier = self.business.get(connection_id)
        # BusinessBotRights: like every "True, if" field Telegram leaves out a false one.
        rights: JSON = {"can_reply": True} if can_reply else {}
        rights["can_read_messages"] = True
        self.business[connection_id] = {
            "id": connection_id, "user": u, "user_chat_id": u["id"],
            "date": earlier["date"] if earlier else int(time.time()), "is_enabled": enabled,
            "rights": rights}
        return self._update("business_connection", json.loads(json.dumps(
            self.business[connection_id])))

    def business_message_update(self, connection_id: str, shopper: Shopper | JSON,
                                text: str | None = None, *, from_owner: bool = False,
                                offline: bool = False, **content: Any) -> JSON:
        """A message in the connected account's chat with `shopper`: theirs, or the owner's
        (`from_owner`; `offline` marks it sent by Telegram for the owner, e.g. a greeting)."""
        connection = self._business(connection_id)
        u = self._register_user(shopper)
        if offline and not from_owner:
            raise ValueError("only the owner's messages can be sent while offline")
        fields = self._incoming_content(text, content.pop("entities", None), content)
        if offline:
            fields["is_from_offline"] = True
        if not from_owner:
            self._business_chats.add((connection_id, u["id"]))
        sender = connection["user"] if from_owner else u
        message = self._new_business_message(connection_id, u["id"], sender, **fields)
        return self._update("business_message", message)

    def edited_business_message_update(self, connection_id: str, shopper: Shopper | JSON,
                                       text: str | None, *, message_id: int,
                                       from_owner: bool = False) -> JSON:
        """An edit of message `message_id` of the business chat with `shopper` (its other
        content stays; a new message with that id when there was none)."""
        connection = self._business(connection_id)
        u = self._register_user(shopper)
        fields = self._incoming_content(text, None, {})
        earlier = self.business_messages.get((connection_id, u["id"], message_id))
        if earlier is not None:
            kept = {k: v for k, v in earlier.items() if k in _CONTENT
                    and not (k == "entities" and text is not None)}
            fields = {**kept, **_compact(fields)}
        if not from_owner:
            self._business_chats.add((connection_id, u["id"]))
        sender = connection["user"] if from_owner else u
        message = self._new_business_message(connection_id, u["id"], sender,
                                             message_id=message_id, event=None, **fields)
        if earlier is not None:
            message["date"] = earlier["date"]
        message["edit_date"] = int(time.time())
        self._emit("edit", message)
        return self._update("edited_business_message", message)

    def deleted_business_messages_update(self, connection_id: str, shopper: Shopper | JSON,
                                         message_ids: list[int]) -> JSON:
        """Messages deleted from the business chat with `shopper`."""
        self._business(connection_id)
        u = self._register_user(shopper)
        for message_id in message_ids:
            if self.business_messages.pop((connection_id, u["id"], message_id), None):
                self._emit("delete", {"chat_id": u["id"], "message_id": message_id,
                                      "business_connection_id": connection_id})
        return self._update("deleted_business_messages", {
            "business_connection_id": connection_id, "chat": self._chat(u["id"]),
            "message_ids": list(message_ids)})

    def business_callback_update(self, connection_id: str, shopper: Shopper | JSON, data: str,
                                 message_id: int | None = None) -> JSON:
        """`shopper` pressed a button of a message the bot sent in the business chat
        (default: the bot's latest one there, preferring one with a keyboard)."""
        self._business(connection_id)
        u = self._register_user(shopper)
        if message_id is not None:
            message = self.business_messages.get((connection_id, u["id"], message_id))
            if message is None:
                raise ValueError(f"no message {message_id} in business chat {connection_id}"
                                 f"/{u['id']}")
        else:
            mine = [m for (cid, chat_id, _), m in sorted(self.business_messages.items())
                    if (cid, chat_id) == (connection_id, u["id"])
                    and m.get("sender_business_bot", {}).get("id") == self.bot_user["id"]]
            mine = [m for m in mine if "reply_markup" in m] or mine
            if not mine:
                raise ValueError(f"the bot sent nothing in business chat {connection_id}"
                                 f"/{u['id']}")
            message = mine[-1]
        query_id = str(u["id"] * 1000 + next(self._ids))
        self._callbacks[query_id] = u["id"]
        return self._update("callback_query", {
            "id": query_id, "from": u, "message": message, "data": data,
            "chat_instance": str(-abs(u["id"]))})

    # -- payments: the shopper's side --------------------------------------------------------

    def shipping_query_update(self, user: Shopper | JSON, invoice_payload: str,
                              address: JSON | None = None) -> JSON:
        """`user` gave a shipping address for a flexible invoice (fields of `address` replace
        those of a London default); the bot answers with answerShippingQuery."""
        u = self._register_user(user)
        query_id = self._query_id(u)
        query = {"id": query_id, "from": u, "invoice_payload": invoice_payload,
                 "shipping_address": {**_DEFAULT_ADDRESS, **(address or {})}}
        self._shipping_queries[query_id] = {"user_id": u["id"],
                                            "invoice_payload": invoice_payload}
        return self._update("shipping_query", query)

    def pre_checkout_query_update(self, user: Shopper | JSON, invoice_payload: str, *,
                                  currency: str | None = None, total_amount: int | None = None,
                                  shipping_option_id: str | None = None,
                                  order_info: JSON | None = None) -> JSON:
        """`user` pressed Pay; the bot must answer within `pre_checkout_timeout` seconds of
        the push. Unless given, currency and total come from `invoices[invoice_payload]`
        plus the prices of the shipping option chosen (as the bot last offered it to them),
        and order_info holds what the invoice asked for."""
        u = self._register_user(user)
        fields = self._payment_fields(u, invoice_payload, currency, total_amount,
                                      shipping_option_id, order_info)
        query_id = self._query_id(u)
        query = {"id": query_id, "from": u, **fields}
        self._pre_checkouts[query_id] = {"user_id": u["id"], "query": query,
                                         "time": time.monotonic()}
        return self._update("pre_checkout_query", query)

    def successful_payment_update(self, user: Shopper | JSON, invoice_payload: str, *,
                                  currency: str | None = None, total_amount: int | None = None,
                                  shipping_option_id: str | None = None,
                                  order_info: JSON | None = None,
                                  telegram_payment_charge_id: str | None = None) -> JSON:
        """The service message of a completed payment in `user`'s chat with the bot (the
        defaults as for pre_checkout_query_update()). A charge id seen before gives that
        same payment message again, as Telegram may deliver it twice."""
        return self._successful_payment(user, invoice_payload, currency, total_amount,
                                        shipping_option_id, order_info,
                                        telegram_payment_charge_id, defer=False)

    def pay(self, user: Shopper | JSON, invoice_payload: str, *,
            shipping_option_id: str | None = None, address: JSON | None = None) -> list[JSON]:
        """The updates Telegram sends, in order, as `user` pays the invoice: a shipping_query
        (only for an invoice that needs a shipping address and is flexible), the
        pre_checkout_query, then the successful_payment message. Returned, not pushed: push
        each and wait for the bot's answer. Push the payment only if the bot accepted: check
        `pre_checkout_answers[<the query's id>]["ok"]` (and, with shipping,
        `shipping_answers`) first, as Telegram charges nobody the bot declined.

        When the bot answers the shipping query, the option `shipping_option_id` (or the first
        one offered) is filled into the pre-checkout query and the payment, its prices added
        to their total. The payment message gets its message id and joins the chat only when
        pushed."""
        invoice = self.invoices.get(invoice_payload)
        if invoice is None:
            raise ValueError(f"no invoice with payload {invoice_payload!r}: send one first")
        u = self._register_user(user)
        order_info = self._order_info(u, invoice, address)
        updates: list[JSON] = []
        if invoice["need_shipping_address"] and invoice["is_flexible"]:
            updates.append(self.shipping_query_update(u, invoice_payload, address))
        check = self.pre_checkout_query_update(u, invoice_payload, order_info=order_info,
                                               shipping_option_id=shipping_option_id)
        payment = self._successful_payment(u, invoice_payload, None, None, shipping_option_id,
                                           order_info, None, defer=True)
        if len(updates) == 1:
            self._pending_pay[updates[0]["shipping_query"]["id"]] = {
                "option_id": shipping_option_id, "base": invoice["total_amount"],
                "objects": [check["pre_checkout_query"], payment["message"]["successful_payment"]]}
        return [*updates, check, payment]

    def _query_id(self, user: JSON) -> str:
        return str(user["id"] * 1000 + next(self._ids))

    def _order_info(self, user: JSON, invoice: JSON, address: JSON | None) -> JSON:
        name = " ".join(filter(None, (user.get("first_name"), user.get("last_name"))))
        info = {"name": name if invoice.get("need_name") else None,
                "phone_number": "+447700900123" if invoice.get("need_phone_number") else None,
                "email": f"shopper{user['id']}@example.com" if invoice.get("need_email") else None,
                "shipping_address": {**_DEFAULT_ADDRESS, **(address or {})}
                if invoice.get("need_shipping_address") else None}
        return _compact(info)

    def _shipping_cost(self, user_id: int, payload: str, option_id: str | None) -> int:
        if option_id is None:
            return 0
        for answer in reversed(self.shipping_answers.values()):
            if (answer["user_id"], answer["invoice_payload"]) == (user_id, payload) \
                    and answer["ok"]:
                for option in answer["shipping_options"]:
                    if option["id"] == option_id:
                        return sum(p["amount"] for p in option["prices"])
                return 0
        return 0

    def _payment_fields(self, user: JSON, payload: str, currency: str | None,
                        total_amount: int | None, option_id: str | None,
                        order_info: JSON | None) -> JSON:
        invoice = self.invoices.get(payload)
        if invoice is None and (currency is None or total_amount is None):
            raise ValueError(f"no invoice with payload {payload!r}: send one, or give "
                             "currency and total_amount")
        if invoice is not None:
            currency = currency or invoice["currency"]
            if total_amount is None:
                total_amount = invoice["total_amount"] + self._shipping_cost(
                    user["id"], payload, option_id)
            if order_info is None:
                order_info = self._order_info(user, invoice, None)
        fields: JSON = {"currency": currency, "total_amount": total_amount,
                        "invoice_payload": payload}
        if option_id is not None:
            fields["shipping_option_id"] = option_id
        if order_info:
            fields["order_info"] = order_info
        return fields

    def _successful_payment(self, user: Shopper | JSON, payload: str, currency: str | None,
                            total_amount: int | None, option_id: str | None,
                            order_info: JSON | None, charge_id: str | None, *,
                            defer: bool) -> JSON:
        u = self._register_user(user)
        earlier = self.payments.get(charge_id) if charge_id else None
        if earlier is not None and earlier["user_id"] == u["id"]:
            return self._update("message", json.loads(json.dumps(earlier["message"])))
        payment = self._payment_fields(u, payload, currency, total_amount, option_id,
                                       order_info)
        n = next(self._ids)
        stars = payment["currency"] == _STARS
        payment["telegram_payment_charge_id"] = charge_id or (
            f"stxFAKE{n:010d}" if stars else f"fake-charge-{n:06d}")
        payment["provider_payment_charge_id"] = "" if stars else f"fake-provider-{n:06d}"
        if defer:  # pay(): the message joins the chat when pushed (see push_update)
            message: JSON = {"message_id": 0, "date": int(time.time()),
                             "chat": self._chat(u["id"]), "from": u,
                             "successful_payment": payment}
        else:
            message = self._new_message(u["id"], sender=u, successful_payment=payment)
        self.payments[payment["telegram_payment_charge_id"]] = {
            "user_id": u["id"], "successful_payment": payment, "message": message,
            "delivered": not defer}
        return self._update("message", message)

    def photo(self) -> list[JSON]:
        return self._file_object("photo", self._new_file_id("photo"), {})

    def sticker(self, emoji: str = "\N{SHOPPING TROLLEY}") -> JSON:
        return {**self._file_object("sticker", self._new_file_id("sticker"), {}), "emoji": emoji}

    def voice(self, duration: int = 2) -> JSON:
        return self._file_object("voice", self._new_file_id("voice"), {"duration": duration})

    def video(self, duration: int = 3) -> JSON:
        return self._file_object("video", self._new_file_id("video"), {"duration": duration})

    def document(self, file_name: str = "file.txt", data: bytes = b"fake document") -> JSON:
        file_id = self._new_file_id("document")
        return self._file_object("document", file_id, {}, len(data), file_name)

    # -- HTTP ------------------------------------------------------------------------------

    async def _handle_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        name, handler = self._methods.get(method.lower(), (method, None))
        call = Call(name, {}, None, None, time.monotonic(), answered=False)
        unreadable: TelegramError | None = None
        try:
            call.params, call.files = await self._read_params(request)
            call.chat_id = self._chat_id_of(name, call.params)
            connection = call.params.get("business_connection_id")
            if name in BUSINESS_METHODS and connection not in (None, ""):
                call.business_connection_id = str(connection)
        except TelegramError as error:
            unreadable = error
        # Recorded on arrival, so that a long poll still waiting is visible to wait_for().
        self.calls.append(call)
        self._notify()
        try:
            if unreadable is not None:
                raise unreadable
            if request.match_info["token"] != self.token:
                raise TelegramError(401, "Unauthorized")
            if handler is None:
                raise TelegramError(404, "Not Found: method not found")
            delay = max(self._delays.get((m, c), 0.0) for m in ("*", name)
                        for c in (None, call.chat_id))
            if delay:
                await asyncio.sleep(delay)
            self._check_injected(name, call.chat_id)
            self._files = call.files
            result = handler(call.params)
            if inspect.isawaitable(result):
                result = await result
            status, body = 200, {"ok": True, "result": result}
        except TelegramError as error:
            status, body = error.code, error.payload()
        except Exception as error:  # a bug in the fake must fail the test, not hang it
            status, body = 500, {"ok": False, "error_code": 500,
                                 "description": f"Internal Server Error: fake crashed: {error!r}"}
        call.ok, call.answered = body["ok"], True
        call.result = body["result"] if call.ok else body
        self._notify()
        return web.json_response(body, status=status)

    def _chat_id_of(self, method: str, params: JSON) -> int | None:
        if method == "answerCallbackQuery":
            return self._callbacks.get(str(params.get("callback_query_id")))
        if method in ("answerShippingQuery", "answerPreCheckoutQuery"):
            key = "shipping_query_id" if method == "answerShippingQuery" else \
                "pre_checkout_query_id"
            queries = self._shipping_queries if method == "answerShippingQuery" else \
                self._pre_checkouts
            query = queries.get(str(params.get(key)))
            return query["user_id"] if query else None
        chat_id = params.get("chat_id")
        return chat_id if type(chat_id) is int else None

    @staticmethod
    async def _read_params(request: web.Request) -> tuple[JSON, dict[str, UploadedFile]]:
        raw: JSON = dict(request.query)
        files: dict[str, UploadedFile] = {}
        if request.can_read_body and request.content_type == "application/json":
            try:
                body = await request.json()
            except ValueError:
                body = None
            if not isinstance(body, dict):
                raise _bad("the request body must be a JSON object")
            raw.update(body)
        elif request.can_read_body:  # multipart/form-data or urlencoded
            for key, value in (await request.post()).items():
                if isinstance(value, web.FileField):
                    data = value.file.read()
                    files[key] = UploadedFile(value.filename, value.content_type, data)
                else:
                    raw[key] = value
        return {key: _decode(key, value) for key, value in raw.items()}, files

    def _check_injected(self, method: str, chat_id: int | None) -> None:
        for failure in self._failures:
            if failure.method in ("*", method) and failure.chat_id in (None, chat_id):
                if failure.times is not None:
                    failure.times -= 1
                    if failure.times <= 0:
                        self._failures.remove(failure)
                raise failure.error
        if chat_id in self.blocked and (method in SEND_METHODS or method == "sendChatAction"):
            raise TelegramError(403, "Forbidden: bot was blocked by the user")
        if self.rate_limit is not None and method in SEND_METHODS:
            now = time.monotonic()
            while self._sent_times and self._sent_times[0] <= now - 1.0:
                self._sent_times.popleft()
            if len(self._sent_times) >= self.rate_limit:
                raise TelegramError(429, "Too Many Requests: retry after 1", {"retry_after": 1})
            self._sent_times.append(now)

    def _notify(self) -> None:
        # A fresh Event per change works as a broadcast pulse to every waiter.
        self._changed.set()
        self._changed = asyncio.Event()

    def _emit(self, event: str, payload: JSON) -> None:
        for listener in list(self.listeners):
            listener(event, payload)

    async def _wait_change(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._changed.wait(), seconds)

    # -- state -----------------------------------------------------------------------------

    def _update(self, kind: str, payload: JSON) -> JSON:
        return {"update_id": next(self._update_ids), kind: payload}

    def _register_user(self, user: Shopper | JSON) -> JSON:
        u = _as_user(user)
        self.users[u["id"]] = u  # the latest version wins, e.g. after a language change
        return u

    def _user(self, user_id: int) -> JSON:
        if user_id == self.bot_user["id"]:
            return self.bot_user
        return self.users.get(user_id) or {"id": user_id, "is_bot": False, "first_name": "User"}

    def _chat(self, chat_id: int) -> JSON:
        if chat_id in self.chats:
            chat = dict(self.chats[chat_id])
        elif chat_id > 0:
            user = self._user(chat_id)
            names = {k: user[k] for k in ("first_name", "last_name", "username") if k in user}
            chat = {"id": chat_id, "type": "private", **names}
        else:
            chat = {"id": chat_id, "type": "supergroup", "title": f"Group {chat_id}"}
        return {**chat, "is_forum": True} if self.topics.get(chat_id) else chat

    def _chat_object(self, chat: JSON | int | None, user: JSON) -> JSON:
        if isinstance(chat, dict):
            self.chats[chat["id"]] = chat
            return dict(chat)
        return self._chat(user["id"] if chat is None else chat)

    def _target_chat(self, params: Mapping[str, Any]) -> int:
        chat_id = params.get("chat_id")
        if chat_id in (None, ""):
            raise _bad("chat_id is empty")
        if type(chat_id) is not int:  # "@username" of a known channel or group
            found = [c["id"] for c in self.chats.values() if f"@{c.get('username')}" == chat_id]
            if not found:
                raise _bad("chat not found")
            return found[0]
        return chat_id

    def _get_message(self, chat_id: Any, message_id: Any, error: str) -> JSON:
        message = self.messages.get((chat_id, message_id)) if type(message_id) is int else None
        if message is None:
            raise _bad(error)
        return message

    def _new_message(self, chat_id: int, *, sender: JSON | None = None,
                     thread_id: int | None = None, message_id: int | None = None,
                     **content: Any) -> JSON:
        last = self._last_message_id.get(chat_id, 0)
        message_id = last + 1 if message_id is None else message_id
        self._last_message_id[chat_id] = max(last, message_id)
        chat = self._chat(chat_id)
        message: JSON = {"message_id": message_id, "date": int(time.time()), "chat": chat}
        if chat["type"] == "channel":
            message["sender_chat"] = chat
        else:
            message["from"] = sender or self.bot_user
        if thread_id:
            message["message_thread_id"] = thread_id
            if thread_id in self.topics.get(chat_id, {}):
                message["is_topic_message"] = True
        message.update(_compact(content))
        self.messages[(chat_id, message_id)] = message
        self._emit("message", message)
        return message

    def _business(self, connection_id: str) -> JSON:
        if connection_id not in self.business:
            raise ValueError(f"no business connection {connection_id!r}: "
                             "push a business_connection_update() first")
        return self.business[connection_id]

    def _new_business_message(self, connection_id: str, chat_id: int, sender: JSON, *,
                              message_id: int | None = None, event: str | None = "message",
                              **content: Any) -> JSON:
        """A message of a business chat: its own store and its own message ids."""
        last = self._business_last_id.get((connection_id, chat_id), 0)
        message_id = last + 1 if message_id is None else message_id
        self._business_last_id[(connection_id, chat_id)] = max(last, message_id)
        message: JSON = {"message_id": message_id, "date": int(time.time()),
                         "chat": self._chat(chat_id), "from": sender,
                         "business_connection_id": connection_id, **_compact(content)}
        self.business_messages[(connection_id, chat_id, message_id)] = message
        if event:
            self._emit(event, message)
        return message

    def _business_chat(self, params: Mapping[str, Any]) -> tuple[JSON, int]:
        """The connection and chat a business call acts in, or Telegram's refusal."""
        connection = self.business.get(str(params.get("business_connection_id")))
        if connection is None or not connection["is_enabled"]:
            raise TelegramError(400, _BUSINESS_INVALID)
        if not connection.get("rights", {}).get("can_reply"):
            raise TelegramError(403, _BUSINESS_RIGHTS)
        chat_id = params.get("chat_id")
        if chat_id in (None, ""):
            raise _bad("chat_id is empty")
        if type(chat_id) is not int or (connection["id"], chat_id) not in self._business_chats:
            raise _bad("chat not found")
        return connection, chat_id

    def _echo_business(self, kind: str, message: JSON) -> None:
        # Telegram tells the bot of the messages in a connected account's chats, its own too.
        if self.echo_business:
            self.push_update(self._update(kind, json.loads(json.dumps(message))))

    @staticmethod
    def _incoming_content(text: str | None, entities: list[JSON] | None, content: JSON) -> JSON:
        if text and text.startswith("/") and entities is None:
            command = text.split()[0]  # "/start@shopbot_test_bot" counts whole, as in Telegram
            entities = [{"type": "bot_command", "offset": 0, "length": _utf16_len(command)}]
        return {"text": text, "entities": entities, **content}

    def _incoming(self, user: Shopper | JSON, text: str | None, chat: JSON | int | None,
                  entities: list[JSON] | None, content: JSON,
                  message_id: int | None = None) -> JSON:
        u = self._register_user(user)
        chat_id = self._chat_object(chat, u)["id"]
        thread_id = content.pop("message_thread_id", None)
        fields = self._incoming_content(text, entities, content)
        earlier = self.messages.get((chat_id, message_id)) if message_id is not None else None
        if earlier is not None:  # an edit keeps whatever it does not replace
            kept = {k: v for k, v in earlier.items() if k in _CONTENT
                    and not (k == "entities" and text is not None)}
            fields = {**kept, **_compact(fields)}
        message = self._new_message(chat_id, sender=u, thread_id=thread_id,
                                    message_id=message_id, **fields)
        if earlier is not None:
            message["date"] = earlier["date"]
        return message

    @staticmethod
    def _member(user: JSON, status: str, overrides: JSON | None = None) -> JSON:
        member: JSON = {"status": status, "user": user}
        if status == "creator":
            member["is_anonymous"] = False
        elif status == "administrator":
            rights = {**dict.fromkeys(_ADMIN_RIGHTS, True), **(overrides or {})}
            member.update(can_be_edited=False, is_anonymous=False, **rights)
        elif status == "restricted":
            member.update(is_member=True, until_date=0, **dict.fromkeys(_MEMBER_RIGHTS, False))
        elif status == "kicked":
            member["until_date"] = 0
        return member

    def _new_file_id(self, kind: str) -> str:
        return f"fake-{kind}-{next(self._ids):06d}"

    def _media(self, kind: str, ref: Any, overrides: Mapping[str, Any]) -> Any:
        """The object for a file sent as an upload (attach://name), a URL or a file_id."""
        attached = isinstance(ref, str) and ref.startswith("attach://")
        upload = self._files.get(ref[len("attach://"):] if attached else kind)
        if upload is not None and (attached or ref is None):
            file_id, size, name = self._new_file_id(kind), len(upload.data), upload.filename
            self.uploads[file_id] = upload
        elif isinstance(ref, str) and ref.startswith(("http://", "https://")):
            file_id, size, name = self._new_file_id(kind), None, ref.rsplit("/", 1)[-1]
            self.remote_files[file_id] = ref
        elif isinstance(ref, str) and ref and not attached:
            # Any file_id is accepted: fixtures often hold ids issued by the real Telegram.
            file_id, size, name = ref, None, None
        else:
            raise _bad(f"there is no {kind} in the request")
        return self._file_object(kind, file_id, overrides, size, name)

    @staticmethod
    def _file_object(kind: str, file_id: str, overrides: Mapping[str, Any],
                     size: int | None = None, name: str | None = None) -> Any:
        base = _compact({"file_id": file_id, "file_unique_id": f"uniq-{file_id}",
                         "file_size": size})
        if kind == "photo":  # Telegram answers with several sizes, the largest last
            thumb = {**base, "file_id": f"{file_id}-m", "file_unique_id": f"uniq-{file_id}-m"}
            return [{**thumb, "width": 320, "height": 240}, {**base, "width": 800, "height": 600}]
        shape = {k: overrides.get(k, v) for k, v in _MEDIA[kind].items()}
        return {**base, **shape, **({"file_name": name} if name and kind != "sticker" else {})}

    @staticmethod
    def _formatted(params: Mapping[str, Any], key: str, entities_key: str) -> tuple[Any, Any]:
        text, entities = params.get(key), params.get(entities_key)
        html = str(params.get("parse_mode", "")).lower() == "html"
        if isinstance(text, str) and entities is None and html:
            return _HTMLEntities.parse(text)
        return text, entities  # MarkdownV2 is echoed unparsed

    # -- methods ---------------------------------------------------------------------------

    def _deliver(self, params: JSON, **content: Any) -> JSON:
        if params.get("business_connection_id"):
            return self._deliver_business(params, content)
        chat_id = self._target_chat(params)
        thread_id = params.get("message_thread_id")
        if thread_id and self._chat(chat_id).get("is_forum") \
                and thread_id not in self.topics.get(chat_id, {}):
            raise _bad("message thread not found")
        reply = params.get("reply_parameters")
        if reply is None and "reply_to_message_id" in params:
            reply = {"message_id": params["reply_to_message_id"]}
        if isinstance(reply, dict) and reply.get("message_id"):
            original = self.messages.get((reply.get("chat_id", chat_id), reply["message_id"]))
            if original is not None:
                content["reply_to_message"] = {
                    k: v for k, v in original.items() if k != "reply_to_message"}
            elif not reply.get("allow_sending_without_reply"):
                raise _bad("message to be replied not found")
        message = self._new_message(chat_id, thread_id=thread_id,
                                    reply_markup=_inline_markup(params), **content)
        markup = params.get("reply_markup")
        if isinstance(markup, dict) and ("keyboard" in markup or "remove_keyboard" in markup):
            # A reply keyboard stays under the input field until replaced or removed.
            shown = markup if "keyboard" in markup else None
            self._emit("keyboard", {"chat_id": chat_id, "markup": shown})
        return message

    def _deliver_business(self, params: JSON, content: JSON) -> JSON:
        """A send into a connected account's chat: it goes from the account's owner."""
        connection, chat_id = self._business_chat(params)
        reply = params.get("reply_parameters")
        if reply is None and "reply_to_message_id" in params:
            reply = {"message_id": params["reply_to_message_id"]}
        if isinstance(reply, dict) and reply.get("message_id"):
            original = self.business_messages.get(
                (connection["id"], chat_id, reply["message_id"]))
            if original is not None:
                content["reply_to_message"] = {
                    k: v for k, v in original.items() if k != "reply_to_message"}
            elif not reply.get("allow_sending_without_reply"):
                raise _bad("message to be replied not found")
        message = self._new_business_message(
            connection["id"], chat_id, connection["user"], sender_business_bot=self.bot_user,
            reply_markup=_inline_markup(params), **content)
        markup = params.get("reply_markup")
        if isinstance(markup, dict) and ("keyboard" in markup or "remove_keyboard" in markup):
            shown = markup if "keyboard" in markup else None
            self._emit("keyboard", {"chat_id": chat_id, "markup": shown,
                                    "business_connection_id": connection["id"]})
        self._echo_business("business_message", message)
        return message

    def _send_message(self, params: JSON) -> JSON:
        text, entities = self._formatted(params, "text", "entities")
        if not isinstance(text, str) or not text.strip():
            raise _bad("message text is empty")
        if _utf16_len(text) > 4096:
            raise _bad("message is too long")
        preview = params.get("link_preview_options")
        return self._deliver(params, text=text, entities=entities, link_preview_options=preview)

    def _send_media(self, kind: str, params: JSON) -> JSON:
        file_object = self._media(kind, params.get(kind), params)
        caption, entities = self._formatted(params, "caption", "caption_entities")
        if isinstance(caption, str) and _utf16_len(caption) > 1024:
            raise _bad("message caption is too long")
        return self._deliver(params, caption=caption, caption_entities=entities,
                             **{kind: file_object})

    def _send_media_group(self, params: JSON) -> list[JSON]:
        media = params.get("media")
        if not isinstance(media, list) or not 2 <= len(media) <= 10:
            raise _bad("wrong number of media: an album has 2-10 items")
        group_id, sent = str(10**15 + next(self._ids)), []
        for item in media:
            kind = item.get("type")
            if kind not in ("photo", "video", "document", "audio"):
                raise _bad(f"unsupported media type {kind!r} in an album")
            caption, entities = self._formatted(item, "caption", "caption_entities")
            sent.append(self._deliver(
                {**params, "reply_markup": None}, media_group_id=group_id, caption=caption,
                caption_entities=entities, **{kind: self._media(kind, item.get("media"), item)}))
        return sent

    def _source(self, params: JSON, error: str) -> tuple[JSON, JSON]:
        source = self._get_message(params.get("from_chat_id"), params.get("message_id"), error)
        return source, {k: source[k] for k in _CONTENT if k in source}

    def _copy_message(self, params: JSON) -> JSON:
        content = self._source(params, "message to copy not found")[1]
        if "caption" in params:
            caption = self._formatted(params, "caption", "caption_entities")
            content["caption"], content["caption_entities"] = caption
        return {"message_id": self._deliver(_no_business(params), **content)["message_id"]}

    def _copy_messages(self, params: JSON) -> list[JSON]:
        ids = params.get("message_ids")
        if not isinstance(ids, list) or not 1 <= len(ids) <= 100:
            raise _bad("message_ids must hold 1-100 message identifiers")
        if ids != sorted(set(ids)):
            raise _bad("message identifiers must be in strictly increasing order")
        sources = [self._source({**params, "message_id": i}, "message to copy not found")
                   for i in ids]
        group_id, copied = str(10**15 + next(self._ids)), []
        for source, content in sources:
            if source.get("media_group_id"):  # albums stay albums
                content["media_group_id"] = group_id
            copied.append({"message_id": self._deliver(_no_business(params),
                                                       **content)["message_id"]})
        return copied

    def _forward_message(self, params: JSON) -> JSON:
        source, content = self._source(params, "message to forward not found")
        if "from" in source:
            origin = {"type": "user", "date": source["date"], "sender_user": source["from"]}
        else:
            origin = {"type": "channel", "date": source["date"], "chat": source["chat"],
                      "message_id": source["message_id"]}
        return self._deliver({**_no_business(params), "reply_markup": None},
                             forward_origin=origin, **content)

    def _apply_edit(self, params: JSON, changes: JSON, need: str | None = None) -> JSON | bool:
        if params.get("inline_message_id"):
            return True  # inline messages are not tracked; Telegram answers True for them
        store: dict[Any, JSON]
        if params.get("business_connection_id"):
            connection, chat_id = self._business_chat(params)
            message_id = params.get("message_id")
            store, key = self.business_messages, (connection["id"], chat_id, message_id)
            found = store.get(key) if type(message_id) is int else None
            if found is None:
                raise _bad("message to edit not found")
            message = found
            # The account's own messages, the bot's or not; never the customer's.
            mine = message.get("from", {}).get("id") == connection["user"]["id"]
        else:
            chat_id = self._target_chat(params)
            message = self._get_message(chat_id, params.get("message_id"),
                                        "message to edit not found")
            store, key = self.messages, (chat_id, message["message_id"])
            mine = message.get("from", {}).get("id") == self.bot_user["id"]
        if not mine and "sender_chat" not in message:
            raise _bad("message can't be edited")
        if need == "text" and "text" not in message:
            raise _bad("there is no text in the message to edit")
        if need == "caption" and not any(kind in message for kind in _MEDIA):
            raise _bad("there is no caption in the message to edit")
        # An edit without reply_markup drops the keyboard, as in Telegram.
        updated = _compact({**message, **changes, "reply_markup": _inline_markup(params)})
        if updated == message:
            raise _bad(_NOT_MODIFIED)
        updated["edit_date"] = int(time.time())
        store[key] = updated
        self._emit("edit", updated)
        if "business_connection_id" in updated:
            self._echo_business("edited_business_message", updated)
        return updated

    def _edit_message_text(self, params: JSON) -> JSON | bool:
        text, entities = self._formatted(params, "text", "entities")
        if not isinstance(text, str) or not text.strip():
            raise _bad("message text is empty")
        return self._apply_edit(params, {"text": text, "entities": entities}, need="text")

    def _edit_message_caption(self, params: JSON) -> JSON | bool:
        caption, entities = self._formatted(params, "caption", "caption_entities")
        changes = {"caption": caption, "caption_entities": entities}
        return self._apply_edit(params, changes, need="caption")

    def _delete_message(self, params: JSON) -> bool:
        chat_id = self._target_chat(params)
        self._get_message(chat_id, params.get("message_id"), "message to delete not found")
        del self.messages[(chat_id, params["message_id"])]
        self._emit("delete", {"chat_id": chat_id, "message_id": params["message_id"]})
        return True

    def _answer_callback_query(self, params: JSON) -> bool:
        chat_id = self._callbacks.pop(str(params.get("callback_query_id")), None)
        if chat_id is None:
            raise _bad("query is too old and response timeout expired or query ID is invalid")
        if params.get("text"):
            self._emit("toast", {"chat_id": chat_id, "text": params["text"],
                                 "show_alert": bool(params.get("show_alert"))})
        return True

    def _send_chat_action(self, params: JSON) -> bool:
        connection = params.get("business_connection_id")
        if connection:
            self._business_chat(params)
        else:
            self._target_chat(params)
        if not params.get("action"):
            raise _bad("wrong parameter action in request")
        event = {"chat_id": params["chat_id"], "action": params["action"]}
        self._emit("action", {**event, "business_connection_id": connection} if connection
                   else event)
        return True

    def _get_business_connection(self, params: JSON) -> JSON:
        connection = self.business.get(str(params.get("business_connection_id")))
        if connection is None:
            raise TelegramError(400, _BUSINESS_INVALID)
        return connection

    def _prices(self, prices: Any, what: str = "prices") -> list[JSON]:
        if not isinstance(prices, list) or not all(
                isinstance(p, dict) and isinstance(p.get("label"), str)
                and type(p.get("amount")) is int for p in prices):
            raise _bad(f"can't parse {what} JSON object")
        if not prices:
            raise _bad(f"{what} must be non-empty")
        return [{"label": p["label"], "amount": p["amount"]} for p in prices]

    def _invoice(self, params: JSON) -> JSON:
        """The checked fields of a sendInvoice/createInvoiceLink, as `invoices` keeps them."""
        title, description = params.get("title"), params.get("description")
        if not isinstance(title, str) or not 1 <= len(title) <= 32:
            raise _bad("INVOICE_TITLE_EMPTY" if not title else "INVOICE_TITLE_INVALID")
        if not isinstance(description, str) or not 1 <= len(description) <= 255:
            raise _bad("INVOICE_DESCRIPTION_EMPTY" if not description
                       else "INVOICE_DESCRIPTION_INVALID")
        payload = params.get("payload")
        if isinstance(payload, int | float) and not isinstance(payload, bool):
            payload = str(payload)  # a JSON body may carry a number
        if not isinstance(payload, str) or not 1 <= len(payload.encode()) <= 128:
            raise _bad("INVOICE_PAYLOAD_INVALID")
        currency = params.get("currency")
        if not isinstance(currency, str) or not re.fullmatch(r"[A-Z]{3}", currency):
            raise _bad("CURRENCY_INVALID")
        token = params.get("provider_token") or ""
        if (currency == _STARS) == bool(token):  # Stars take no provider; money needs one
            raise _bad("PAYMENT_PROVIDER_INVALID")
        prices = self._prices(params.get("prices"))
        if currency == _STARS and len(prices) != 1:
            raise _bad("STARS_INVOICE_INVALID")
        total = sum(p["amount"] for p in prices)
        if total <= 0:
            raise _bad("CURRENCY_TOTAL_AMOUNT_INVALID")
        # Telegram ignores what to ask the buyer for in a Stars invoice: digital goods.
        needs = ("need_name", "need_phone_number", "need_email", "need_shipping_address",
                 "is_flexible")
        return {"title": title, "description": description, "payload": payload,
                "currency": currency, "prices": prices, "total_amount": total,
                "provider_token": token, "start_parameter": params.get("start_parameter") or "",
                "photo_url": params.get("photo_url"),
                **{k: currency != _STARS and params.get(k) is True for k in needs}}

    def _send_invoice(self, params: JSON) -> JSON:
        invoice = self._invoice(params)
        shown = {k: invoice[k] for k in ("title", "description", "start_parameter", "currency",
                                         "total_amount")}
        message = self._deliver(_no_business(params), invoice=shown)
        self.invoices[invoice["payload"]] = {
            **invoice, "chat_id": message["chat"]["id"], "message_id": message["message_id"]}
        return message

    def _create_invoice_link(self, params: JSON) -> str:
        invoice = self._invoice(params)
        link = f"https://t.me/$fake-invoice-{next(self._invoice_links)}"
        self.invoices[invoice["payload"]] = {**invoice, "chat_id": None, "message_id": None,
                                             "link": link}
        return link

    @staticmethod
    def _answer_ok(params: JSON) -> bool:
        ok = params.get("ok")
        if not isinstance(ok, bool):
            raise _bad('parameter "ok" is required')
        if not ok and not (isinstance(params.get("error_message"), str)
                           and params["error_message"].strip()):
            raise _bad("ERROR_MESSAGE_EMPTY")
        return ok

    def _answer_shipping_query(self, params: JSON) -> bool:
        query_id = str(params.get("shipping_query_id"))
        query = self._shipping_queries.get(query_id)
        if query is None:
            raise _bad(_QUERY_INVALID)
        ok = self._answer_ok(params)
        options: list[JSON] = []
        if ok:
            given = params.get("shipping_options")
            if not isinstance(given, list) or not given:
                raise _bad("SHIPPING_OPTIONS_EMPTY")
            for option in given:
                if not isinstance(option, dict) or not option.get("id") \
                        or not isinstance(option.get("title"), str) or not option["title"]:
                    raise _bad("can't parse shipping option JSON object")
                options.append({"id": str(option["id"]), "title": option["title"],
                                "prices": self._prices(option.get("prices"), "shipping prices")})
            if len({o["id"] for o in options}) != len(options):
                raise _bad("SHIPPING_ID_DUPLICATE")
        del self._shipping_queries[query_id]
        answer = {"ok": ok, **query, "shipping_options": options,
                  "error_message": None if ok else params["error_message"]}
        self.shipping_answers[query_id] = answer
        pending = self._pending_pay.pop(query_id, None)
        if pending is not None and ok:  # pay(): the shopper picks their option
            option = next((o for o in options if o["id"] == pending["option_id"]), options[0])
            for paid in pending["objects"]:
                paid["shipping_option_id"] = option["id"]
                paid["total_amount"] = pending["base"] + sum(p["amount"]
                                                             for p in option["prices"])
        self._emit("payment", {"kind": "shipping", "query_id": query_id,
                               "chat_id": query["user_id"], **answer})
        return True

    def _answer_pre_checkout_query(self, params: JSON) -> bool:
        query_id = str(params.get("pre_checkout_query_id"))
        record = self._pre_checkouts.get(query_id)
        if record is None:
            raise _bad(_QUERY_INVALID)
        after = time.monotonic() - record["time"]
        if after > self.pre_checkout_timeout:  # too late: Telegram has given up on it
            del self._pre_checkouts[query_id]
            raise _bad(_QUERY_INVALID)
        ok = self._answer_ok(params)
        del self._pre_checkouts[query_id]
        query = record["query"]
        answer = {"ok": ok, "error_message": None if ok else params["error_message"],
                  "after": after, "user_id": record["user_id"],
                  "invoice_payload": query["invoice_payload"], "currency": query["currency"],
                  "total_amount": query["total_amount"]}
        self.pre_checkout_answers[query_id] = answer
        self._emit("payment", {"kind": "pre_checkout", "query_id": query_id,
                               "chat_id": record["user_id"], **answer})
        return True

    def _refund_star_payment(self, params: JSON) -> bool:
        charge_id = str(params.get("telegram_payment_charge_id") or "")
        record = self.payments.get(charge_id)
        if record is None or record["user_id"] != params.get("user_id") \
                or record["successful_payment"]["currency"] != _STARS:
            raise _bad("CHARGE_NOT_FOUND")
        if charge_id in self.refunds:
            raise _bad("CHARGE_ALREADY_REFUNDED")
        paid = record["successful_payment"]
        refund = {"user_id": record["user_id"], "invoice_payload": paid["invoice_payload"],
                  "currency": paid["currency"], "total_amount": paid["total_amount"],
                  "date": int(time.time())}
        self.refunds[charge_id] = refund
        self._emit("payment", {"kind": "refund", "chat_id": record["user_id"],
                               "telegram_payment_charge_id": charge_id, **refund})
        return True

    def _get_chat(self, params: JSON) -> JSON:
        gifts = ("unlimited_gifts", "limited_gifts", "unique_gifts", "premium_subscription",
                 "gifts_from_channels")
        return {**self._chat(self._target_chat(params)), "accent_color_id": 0,
                "max_reaction_count": 11, "accepted_gift_types": dict.fromkeys(gifts, False)}

    def _get_chat_member(self, params: JSON) -> JSON:
        chat_id, user_id = self._target_chat(params), params.get("user_id")
        if type(user_id) is not int:
            raise _bad("user_id is empty")
        status = self.members.get((chat_id, user_id), "member")
        return self._member(self._user(user_id), status, self.rights.get((chat_id, user_id)))

    def _get_chat_administrators(self, params: JSON) -> list[JSON]:
        chat_id = self._target_chat(params)
        if self._chat(chat_id)["type"] == "private":
            raise _bad("there are no administrators in the private chat")
        return [self._member(self._user(user_id), status)
                for (cid, user_id), status in self.members.items()
                if cid == chat_id and status in ("creator", "administrator")]

    def _topic(self, params: JSON) -> JSON:
        topics = self.topics.get(self._target_chat(params), {})
        topic = topics.get(params.get("message_thread_id"))
        if topic is None:
            raise _bad("TOPIC_ID_INVALID")
        return topic

    def _create_forum_topic(self, params: JSON) -> JSON:
        chat_id = self._target_chat(params)
        chat = self._chat(chat_id)
        if chat["type"] != "supergroup" or (chat_id in self.chats and not chat.get("is_forum")):
            raise _bad("the chat is not a forum")
        bot = (chat_id, self.bot_user["id"])
        if bot in self.members and (self.members[bot] not in ("creator", "administrator") or
                                    self.rights.get(bot, {}).get("can_manage_topics") is False):
            raise _bad("not enough rights to create a topic")
        name = params.get("name")
        if not isinstance(name, str) or not 1 <= len(name) <= 128:
            raise _bad("TOPIC_TITLE_EMPTY" if not name else "TOPIC_TITLE_INVALID")
        topic = _compact({"name": name, "icon_color": params.get("icon_color", 7322096),
                          "icon_custom_emoji_id": params.get("icon_custom_emoji_id")})
        # In Telegram a topic's thread id is the id of its "topic created" service message.
        service = self._new_message(chat_id, forum_topic_created=dict(topic))
        thread_id = service["message_thread_id"] = service["message_id"]
        service["is_topic_message"] = True
        topic = {"message_thread_id": thread_id, **topic}
        self.topics.setdefault(chat_id, {})[thread_id] = {**topic, "is_closed": False}
        self._emit("topics", {"chat_id": chat_id})
        return topic

    def _edit_forum_topic(self, params: JSON) -> bool:
        topic = self._topic(params)
        changes = {k: params[k] for k in ("name", "icon_custom_emoji_id") if k in params}
        if all(topic.get(k) == v for k, v in changes.items()):
            raise _bad("TOPIC_NOT_MODIFIED")
        topic.update(changes)
        self._emit("topics", {"chat_id": self._target_chat(params)})
        return True

    def _set_topic_closed(self, params: JSON, *, closed: bool) -> bool:
        topic = self._topic(params)
        if topic["is_closed"] == closed:
            raise _bad("TOPIC_NOT_MODIFIED")
        topic["is_closed"] = closed
        self._emit("topics", {"chat_id": self._target_chat(params)})
        return True

    def _delete_forum_topic(self, params: JSON) -> bool:
        chat_id, thread_id = self._target_chat(params), self._topic(params)["message_thread_id"]
        del self.topics[chat_id][thread_id]
        self._emit("topics", {"chat_id": chat_id})
        self.messages = {key: m for key, m in self.messages.items()
                         if key[0] != chat_id or m.get("message_thread_id") != thread_id}
        return True

    async def _get_updates(self, params: JSON) -> list[JSON]:
        if self.webhook["url"]:
            raise TelegramError(409, "Conflict: can't use getUpdates method while webhook is "
                                     "active; use deleteWebhook to delete the webhook first")
        self._poll_generation += 1
        generation = self._poll_generation
        offset = int(params.get("offset") or 0)
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        if isinstance(params.get("allowed_updates"), list):
            self._allowed_updates = params["allowed_updates"] or None
        if offset < 0:  # -N keeps only the last N updates
            self._updates = self._updates[offset:]
        elif offset:  # confirms every update before `offset`
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(float(params.get("timeout") or 0), 0.0)
        while True:
            self._updates = [u for u in self._updates if self._is_allowed(u)]
            if self._updates or self._closing:
                return self._updates[:limit]
            if generation != self._poll_generation:  # a newer poll took over, as in Telegram
                raise TelegramError(409, _ERRORS[409])
            if loop.time() >= deadline:
                return []
            await self._wait_change(deadline - loop.time())

    def _is_allowed(self, update: JSON) -> bool:
        kind = next((k for k in update if k != "update_id"), "")
        if self._allowed_updates:
            return kind in self._allowed_updates
        return kind not in _OPT_IN_UPDATES

    def _set_webhook(self, params: JSON) -> bool:
        # Plain http is allowed: a self-hosted Bot API server accepts it, and tests need it.
        url = params.get("url") or ""
        if url and not url.startswith(("https://", "http://")):
            raise _bad("bad webhook: Webhook URL must be an HTTP(S) URL")
        self.webhook = {"url": url, "secret_token": params.get("secret_token"),
                        "allowed_updates": params.get("allowed_updates"),
                        "max_connections": params.get("max_connections", 40)}
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    def _delete_webhook(self, params: JSON) -> bool:
        self.webhook = {"url": ""}
        if params.get("drop_pending_updates"):
            self._updates.clear()
        return True

    def _get_webhook_info(self, params: JSON) -> JSON:
        extra = {k: self.webhook.get(k) for k in ("max_connections", "allowed_updates")}
        return {"url": self.webhook["url"], "has_custom_certificate": False,
                "pending_update_count": len(self._updates), **_compact(extra)}

    @staticmethod
    def _commands_key(params: JSON) -> tuple[str, str]:
        scope = json.dumps(params.get("scope") or {"type": "default"}, sort_keys=True)
        return scope, params.get("language_code") or ""

    def _set_my_commands(self, params: JSON) -> bool:
        commands = params.get("commands")
        if not isinstance(commands, list) or len(commands) > 100:
            raise _bad("commands must be a list of at most 100 BotCommand")
        for command in commands:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", str(command.get("command", ""))):
                raise _bad("BOT_COMMAND_INVALID")
            if not 1 <= len(str(command.get("description", ""))) <= 256:
                raise _bad("command description must be 1-256 characters long")
        self.commands[self._commands_key(params)] = [
            {"command": c["command"], "description": c["description"]} for c in commands]
        return True

    def _delete_my_commands(self, params: JSON) -> bool:
        self.commands.pop(self._commands_key(params), None)
        return True
