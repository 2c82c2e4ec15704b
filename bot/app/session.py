"""Outgoing calls to the Bot API: the session, and the middlewares every call goes through
(Telegram's limits shared through Redis, retries, sending once, counting)."""

from __future__ import annotations

import asyncio
import functools
import json
import logging
from contextvars import ContextVar
from typing import Any

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    RestartingTelegram,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import (
    AnswerCallbackQuery,
    Response,
    TelegramMethod,
)
from aiogram.methods.base import TelegramType
from aiogram.types import InputFile
from aiohttp import FormData
from aiohttp.payload import BytesPayload
from pydantic import TypeAdapter
from redis.exceptions import RedisError

from bot.app import pacing
from bot.app.config import Settings
from bot.app.pacing import Pacer
from bot.core.metrics import Metrics
from bot.storage.inbox import Handling, Inbox, handling
from bot.storage.outbox import Sleep

log = logging.getLogger("shopbot")


def outgoing_session(settings: Settings) -> AiohttpSession:
    if settings.telegram_api_server:
        base = settings.telegram_api_server.rstrip("/")
        return JsonSession(api=TelegramAPIServer.from_base(base))
    return JsonSession()


# The Bot API's answer to the call just made, as JSON read by JsonSession: what SendOnce
# records of a send, as Telegram gave it, instead of dumping the result aiogram made of it
# again (about 0.04 ms of CPU a send). A call awaits its session in its own task, so this
# is the answer to the last call of that task.
answered: ContextVar[Any] = ContextVar("answered", default=None)


def _read_answer(content: str) -> Any:
    data = json.loads(content)
    answered.set(data)
    return data


class JsonSession(AiohttpSession):
    """aiogram's session, with a call's parameters sent as one JSON body, which the Bot API
    takes for every call that uploads no file; a call that does goes as aiogram sends it,
    multipart. aiogram encodes every call as a form: each value JSON-encoded on its own,
    then the whole URL-encoded, which cost about a tenth of a millisecond of CPU a send
    more. The parameters are the form's: the same values (aiogram's defaults filled in),
    the same ones left out (None, empty text). Answers are read as aiogram reads them, and
    kept in `answered`."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(json_loads=_read_answer, **kwargs)

    def build_form_data(  # type: ignore[override]
            self, bot: Bot, method: TelegramMethod[TelegramType]) -> FormData | BytesPayload:
        files: dict[str, InputFile] = {}
        params = {}
        for key, value in method.model_dump(warnings=False).items():
            prepared = self.prepare_value(value, bot=bot, files=files, _dumps_json=False)
            if prepared is not None and prepared != "":
                params[key] = prepared
        if files:
            return super().build_form_data(bot, method)
        return BytesPayload(self.json_dumps(params).encode(), content_type="application/json")


class PaceAndRetry(BaseRequestMiddleware):
    """Sends wait for Telegram's limits (shared through Redis); a 429, a 5xx or a network
    failure is tried again, a bounded number of times.

    A send that may have reached Telegram (a timeout, a dropped connection) is not sent
    again: Telegram has no idempotency key, and a duplicate is worse than a retry missed.
    """

    def __init__(self, pacer: Pacer, sleep: Sleep = asyncio.sleep) -> None:
        self.pacer, self.sleep = pacer, sleep

    async def __call__(self, make_request: NextRequestMiddlewareType[TelegramType], bot: Bot,
                       method: TelegramMethod[TelegramType]) -> Response[TelegramType]:
        name = type(method).__name__
        if name == "GetUpdates":  # the polling loop has its own back-off
            return await make_request(bot, method)
        chat_id = getattr(method, "chat_id", None)
        paced = name in _SENDS or (name in _GROUP_PACED and isinstance(chat_id, int)
                                   and chat_id < 0)
        count = len(getattr(method, "media", None) or getattr(method, "message_ids", None)
                    or [None])
        for attempt in range(pacing.RETRIES + 1):
            last = attempt == pacing.RETRIES
            if paced:
                await self.pacer.before_send(chat_id, count)
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                if last or pacing.own_retries.get() or exc.retry_after > pacing.MAX_RETRY_AFTER:
                    raise
                log.info("%s: 429, trying again in %s s", name, exc.retry_after)
                await self.sleep(exc.retry_after)
            except (TelegramServerError, RestartingTelegram):
                if last:
                    raise
                await self.sleep(pacing.BACKOFF[attempt])
            except TelegramNetworkError as exc:
                if last or (name in _SENDS and "Connect" not in exc.message):
                    raise  # only a connection never made is surely not a message sent
                await self.sleep(pacing.BACKOFF[attempt])
        raise AssertionError("unreachable")


class SendOnce(BaseRequestMiddleware):
    """What an update's sends returned is recorded while it is in hand. If its process dies
    and the update is handled again, a send the first try made (same method, same chat, same
    place in the order) is answered from the record: the shopper does not get it twice."""

    def __init__(self, inbox: Inbox) -> None:
        self.inbox = inbox

    async def __call__(self, make_request: NextRequestMiddlewareType[TelegramType], bot: Bot,
                       method: TelegramMethod[TelegramType]) -> Response[TelegramType]:
        now: Handling | None = handling.get()
        name = type(method).__name__
        if now is None or name not in _SENDS:
            return await make_request(bot, method)
        returns = _adapter(method.__returning__)
        chat_id = getattr(method, "chat_id", None)
        position, now.sends = now.sends, now.sends + 1
        if position < len(now.earlier):
            earlier = now.earlier[position]
            if earlier["method"] == name and earlier["chat"] == chat_id:
                log.info("%s to %s was sent before the process stopped: not sent again",
                         name, chat_id)
                self.inbox.metrics.sends_not_repeated.inc()
                return returns.validate_python(earlier["result"], context={"bot": bot})
        answered.set(None)
        result = await make_request(bot, method)
        try:
            answer = answered.get()
            # As Telegram sent it, which reads back as `result` did; else (another session)
            # what aiogram made of it, dumped.
            sent = answer["result"] if isinstance(answer, dict) and answer.get("ok") is True \
                and "result" in answer else returns.dump_python(
                    result, mode="json", by_alias=True, exclude_unset=True)
            await self.inbox.record(now, {"method": name, "chat": chat_id, "result": sent})
        except (RedisError, OSError):
            log.debug("send not recorded", exc_info=True)
        return result


@functools.cache
def _adapter(returning: Any) -> TypeAdapter[Any]:
    return TypeAdapter(returning)  # building one is costly: once per result type


class ForgiveLateAnswers(BaseRequestMiddleware):
    """A button's answer that comes too late (Telegram waits about 15 s, and forgets queries
    across its restarts) must not stop the rest of the work for that press."""

    async def __call__(self, make_request: NextRequestMiddlewareType[TelegramType], bot: Bot,
                       method: TelegramMethod[TelegramType]) -> Response[TelegramType]:
        try:
            return await make_request(bot, method)
        except TelegramBadRequest as exc:
            if not isinstance(method, AnswerCallbackQuery) or "query" not in exc.message:
                raise
            log.info("a button press was answered too late: %s", exc.message)
            return True  # type: ignore[return-value]


class CountRequests(BaseRequestMiddleware):
    """Every Bot API call, by method and outcome, into the metrics."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    async def __call__(self, make_request: NextRequestMiddlewareType[TelegramType], bot: Bot,
                       method: TelegramMethod[TelegramType]) -> Response[TelegramType]:
        name = type(method).__name__
        outcome = "ok"
        try:
            response = await make_request(bot, method)
        except TelegramRetryAfter:
            outcome = "429"
            self.metrics.retry_after.inc()
            raise
        except (TelegramNetworkError, OSError, TimeoutError):
            outcome = "network"
            raise
        except TelegramAPIError as exc:
            outcome = type(exc).__name__  # TelegramBadRequest, TelegramForbiddenError...
            raise
        finally:
            self.metrics.requests.labels(name, outcome).inc()
        if name in _SENDS:
            # What a middleware gets back is the method's result: a list for albums.
            self.metrics.sends.inc(len(response) if isinstance(response, list) else 1)
        return response


_SENDS = frozenset({"SendMessage", "SendPhoto", "SendDocument", "SendMediaGroup",
                    "CopyMessage", "CopyMessages", "SendSticker", "SendVideo", "SendVoice",
                    "SendAnimation", "SendAudio", "ForwardMessage"})
# In a group these count against its 20 a minute too.
_GROUP_PACED = frozenset({"EditMessageText", "EditMessageCaption", "EditMessageReplyMarkup",
                          "CreateForumTopic", "EditForumTopic"})
