"""Structured logs: every record carries the update and chat being handled ("-" outside one).

`LOG_FORMAT=json` writes one JSON object a line, for log collectors; the default is text.
"""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar, Token

update_id: ContextVar[int | None] = ContextVar("update_id", default=None)
chat_id: ContextVar[int | None] = ContextVar("chat_id", default=None)

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [update=%(update_id)s chat=%(chat_id)s]: " \
              "%(message)s"


Tokens = tuple[Token[int | None], Token[int | None]]


def enter(update: int | None, chat: int | None) -> Tokens:
    """Name `update` and `chat` on every line logged from here (in this task) until `leave`."""
    return update_id.set(update), chat_id.set(chat)


def leave(tokens: Tokens) -> None:
    update_token, chat_token = tokens
    chat_id.reset(chat_token)
    update_id.reset(update_token)


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.update_id = update_id.get() or "-"
        record.chat_id = chat_id.get() or "-"
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname, "logger": record.name, "message": record.getMessage(),
            "update_id": update_id.get(), "chat_id": chat_id.get(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure(level: str, fmt: str = "text") -> None:
    """Logging for `shopbot run`, `worker` and `demo`."""
    handler = logging.StreamHandler()
    handler.addFilter(ContextFilter())
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
