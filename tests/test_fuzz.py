"""Fuzzing: 10,000 generated updates through the real dispatcher (Hypothesis draws them:
texts in the four scripts and beyond, odd entities, missing optional fields, huge payloads,
random button data, group and staff-chat messages). The bot talks to the fake Bot API over
HTTP and keeps its data in real Redis.

What must hold: no exception escapes the dispatcher, no handler fails (an apology would be
a bug met by a shopper), and nothing the bot sends shows a traceback.
"""

from __future__ import annotations

import logging
import os
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.devtools.fake_bot_api import FakeBotAPI
from bot.storage.inbox import chat_key
from tests.conftest import Harness

STAFF = -1001234567890
UPDATES = int(os.environ.get("FUZZ_UPDATES", "10000"))

# Letters of every script shoppers write in, and what breaks naive code.
ALPHABET = st.one_of(
    st.characters(min_codepoint=0x20, max_codepoint=0x7E),  # ASCII, with < > & " '
    st.characters(min_codepoint=0x400, max_codepoint=0x4FF),  # Cyrillic
    st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF),  # CJK
    st.characters(min_codepoint=0x3000, max_codepoint=0x303F),  # CJK punctuation
    st.characters(min_codepoint=0x1F300, max_codepoint=0x1FAFF),  # emoji (UTF-16 pairs)
    st.sampled_from(["\n", "\t", "\u200b", "\u202e", "\ufeff", "\u0301", "#", "/", "@"]),
)
WORDS = st.sampled_from([
    "hi", "привет", "你好", "您好", "discount", "скидка", "便宜点", "優惠", "linen shirt",
    "платье", "连衣裙", "size M", "размер", "尺码", "where is my order", "#A-100", "/start",
    "/start abcdefgh12", "/catalog", "/language", "/bye", "/stop", "/mydata", "/forget",
    "/broadcast", "/stats", "/done", "/note x", "/reply thanks", "/tag vip", "/reload",
    "human please", "позовите человека", "人工客服", "bye", "спасибо", "谢谢",
])
TEXTS = st.one_of(
    st.text(ALPHABET, max_size=200),
    st.lists(WORDS, min_size=1, max_size=6).map(" ".join),
    # Huger than Telegram allows: a short drawn text, repeated (Hypothesis draws little).
    st.tuples(st.text(ALPHABET, min_size=1, max_size=20), st.integers(200, 1200)).map(
        lambda piece: (piece[0] * piece[1])[:12000]),
)
ENTITY_TYPES = ["bold", "italic", "bot_command", "url", "mention", "text_link", "code",
                "pre", "spoiler", "custom_emoji", "blockquote", "hashtag", "text_mention"]
BUTTON_DATA = st.one_of(
    st.text(ALPHABET, max_size=64),
    st.tuples(st.sampled_from(["cat:", "p:", "size:", "lang:", "person", "menu:", "bc:",
                               "bcx:", "staff:done:", "ret:", "rate:", "arr:", "forget:",
                               "unsub", "sub", "order:", "page:"]),
              st.text(ALPHABET, max_size=20)).map("".join),
)


def user(uid: int, lang: str | None, name: str) -> dict[str, Any]:
    u: dict[str, Any] = {"id": uid, "is_bot": False, "first_name": name or "x"}
    if lang is not None:
        u["language_code"] = lang
    return u


@st.composite
def entities(draw: st.DrawFn, text: str) -> list[dict[str, Any]]:
    found = []
    for _ in range(draw(st.integers(0, 3))):
        kind = draw(st.sampled_from(ENTITY_TYPES))
        entity: dict[str, Any] = {"type": kind, "offset": draw(st.integers(0, len(text) + 3)),
                                  "length": draw(st.integers(0, 40))}
        if kind == "text_link":
            entity["url"] = draw(st.sampled_from(["https://example.com", "javascript:x", ""]))
        if kind == "custom_emoji":
            entity["custom_emoji_id"] = "1"
        if kind == "text_mention":
            entity["user"] = user(5, None, "x")
        found.append(entity)
    return found


@st.composite
def messages(draw: st.DrawFn, message_id: int) -> dict[str, Any]:
    uid = draw(st.integers(1, 40))
    sender = user(uid, draw(st.sampled_from([None, "en", "ru", "zh-hans", "zh-hant", "zh",
                                             "de", "pt-br", ""])), draw(st.text(ALPHABET,
                                                                                max_size=30)))
    where = draw(st.sampled_from(["private"] * 6 + ["group", "staff"]))
    if where == "private":
        chat = {"id": uid, "type": "private", "first_name": sender["first_name"]}
    elif where == "group":
        chat = {"id": -draw(st.integers(1, 10**6)), "type": "group", "title": "g"}
    else:
        chat = {"id": STAFF, "type": "supergroup", "title": "Staff", "is_forum": True}
    message: dict[str, Any] = {"message_id": message_id, "date": 1_790_000_000,
                               "chat": chat, "from": sender}
    if where == "staff" and draw(st.booleans()):
        message["message_thread_id"] = draw(st.integers(1, 50))
        message["is_topic_message"] = True
    kind = draw(st.sampled_from(["text"] * 6 + ["photo", "sticker", "voice", "document",
                                               "contact", "location", "empty"]))
    if kind == "text":
        text = draw(TEXTS)
        if text:
            message["text"] = text
            if draw(st.booleans()):
                message["entities"] = draw(entities(text))
    elif kind == "photo":
        message["photo"] = [{"file_id": "p", "file_unique_id": "u", "width": 9, "height": 9}]
        if draw(st.booleans()):
            message["caption"] = draw(TEXTS)
        if draw(st.booleans()):
            message["media_group_id"] = str(draw(st.integers(1, 5)))
    elif kind == "sticker":
        message["sticker"] = {"file_id": "s", "file_unique_id": "u", "type": "regular",
                              "width": 1, "height": 1, "is_animated": False,
                              "is_video": False}
    elif kind == "voice":
        message["voice"] = {"file_id": "v", "file_unique_id": "u", "duration": 1}
    elif kind == "document":
        message["document"] = {"file_id": "d", "file_unique_id": "u",
                               "file_name": draw(st.text(ALPHABET, max_size=300))}
    elif kind == "contact":
        message["contact"] = {"phone_number": "+100", "first_name": "x"}
    elif kind == "location":
        message["location"] = {"latitude": 55.75, "longitude": 37.6}
    if draw(st.integers(0, 9)) == 0:
        message["reply_to_message"] = {"message_id": 1, "date": 1_790_000_000,
                                       "chat": chat, "text": "earlier"}
    return message


@st.composite
def updates(draw: st.DrawFn, update_id: int) -> dict[str, Any]:
    kind = draw(st.sampled_from(["message"] * 8 + ["edited_message", "callback_query",
                                                   "callback_query", "my_chat_member",
                                                   "channel_post"]))
    if kind in ("message", "edited_message"):
        message = draw(messages(update_id))
        if kind == "edited_message":
            message["edit_date"] = 1_790_000_001
        return {"update_id": update_id, kind: message}
    if kind == "callback_query":
        message = draw(messages(update_id))
        query: dict[str, Any] = {"id": str(update_id), "from": message["from"],
                                 "chat_instance": "1"}
        if draw(st.integers(0, 4)):  # sometimes an inline message: no message at all
            query["message"] = message
        if draw(st.integers(0, 9)):
            query["data"] = draw(BUTTON_DATA)
        return {"update_id": update_id, "callback_query": query}
    if kind == "my_chat_member":
        uid = draw(st.integers(1, 40))
        status = draw(st.sampled_from(["kicked", "member"]))
        return {"update_id": update_id, "my_chat_member": {
            "chat": {"id": uid, "type": "private", "first_name": "x"},
            "from": user(uid, None, "x"), "date": 1_790_000_000,
            "old_chat_member": {"status": "member", "user": user(424242, None, "bot")},
            "new_chat_member": {"status": status, "user": user(424242, None, "bot")}
            | ({"until_date": 0} if status == "kicked" else {})}}
    return {"update_id": update_id, "channel_post": {
        "message_id": update_id, "date": 1_790_000_000, "text": draw(TEXTS) or "x",
        "chat": {"id": -1009, "type": "channel", "title": "c"}}}


def as_telegram_has_it(api: FakeBotAPI, update: dict[str, Any]) -> None:
    """What Telegram knows before it sends an update: the message exists (the bot may copy
    it), and a message in a topic is in a topic that exists (drawn ids become real ones)."""
    message = (update.get("message") or update.get("edited_message")
               or (update.get("callback_query") or {}).get("message"))
    if message is None:
        return
    if "message_thread_id" in message:
        topics = sorted(api.topics.get(STAFF, {}))
        if topics:
            message["message_thread_id"] = topics[message["message_thread_id"] % len(topics)]
        else:
            del message["message_thread_id"], message["is_topic_message"]
    chat = message["chat"]["id"]
    api.messages[(chat, message["message_id"])] = message
    if "callback_query" in update:
        api._callbacks[update["callback_query"]["id"]] = chat  # a press Telegram awaits


@pytest.fixture
async def fuzzed(api: FakeBotAPI, make_shopbot: Any) -> Harness:
    api.forum(STAFF)
    return await make_shopbot(staff_chat_id=STAFF, admin_ids="7", flood_messages=10_000)


async def test_ten_thousand_generated_updates(fuzzed: Harness, api: FakeBotAPI,
                                              caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR)
    counter = iter(range(10**6, 10**7))
    drawn: list[dict[str, Any]] = []

    @settings(max_examples=UPDATES, deadline=None, derandomize=True,
              suppress_health_check=list(HealthCheck), database=None)
    @given(st.data())
    def draw(data: st.DataObject) -> None:
        drawn.append(data.draw(updates(next(counter))))

    draw()  # Hypothesis draws the updates; the bot then takes them as Telegram sends them
    assert len(drawn) == UPDATES
    dispatcher, bot = fuzzed.app.dispatcher, fuzzed.app.bot
    for update in drawn:
        as_telegram_has_it(api, update)
        assert isinstance(chat_key(update), str)  # what the inbox orders it by
        try:
            await dispatcher.feed_raw_update(bot, update)
        except Exception as exc:
            raise AssertionError(f"update escaped the dispatcher: {exc!r}\n{update}") from exc
    # The polling loop of the harness may time out while this test keeps the CPU busy.
    failures = [r for r in caplog.records if r.levelno >= logging.ERROR
                and r.name != "aiogram.dispatcher"]
    assert not failures, "\n".join(
        f"{r.getMessage()}: {r.exc_info[1]!r}" if r.exc_info else r.getMessage()
        for r in failures[:20])
    sent = " ".join(str(c.params.get("text") or c.params.get("caption") or "")
                    for c in api.calls if c.ok)
    assert "Traceback" not in sent and 'File "' not in sent
