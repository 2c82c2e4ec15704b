"""Rendering's cost per message: templates are compiled once, not checked on disk again."""

from __future__ import annotations

import os
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot import DEMO_SHOP, LOCALES_DIR, TEMPLATES_DIR
from bot.core.shop import load_shop
from handlers.i18n import load_catalogues
from handlers.texts import Texts


def test_a_template_is_read_from_disk_once(monkeypatch: pytest.MonkeyPatch) -> None:
    texts = Texts(TEMPLATES_DIR, load_catalogues(LOCALES_DIR), "RUB")
    back = datetime(2026, 11, 23, 10, 0, tzinfo=ZoneInfo("Europe/Moscow"))
    offline = {"back": back, "hours": 3, "minutes": None, "today": True, "tomorrow": False}
    greeting: dict[str, Any] = {"shop": load_shop(DEMO_SHOP), "name": "Ann", "part": "morning",
                                "returning": False, "again": False, "offline": offline}
    assert "Linen Lane" in texts.render("greeting", "en", **greeting)  # with "_offline.j2"
    texts.label("catalog", "en")

    stats: list[str] = []
    real = os.stat
    templates = os.path.abspath(TEMPLATES_DIR)

    def stat(path: Any, *args: Any, **kwargs: Any) -> os.stat_result:
        if isinstance(path, str | bytes | os.PathLike) \
                and os.path.abspath(os.fsdecode(path)).startswith(templates):
            stats.append(os.fsdecode(path))
        return real(path, *args, **kwargs)

    # Jinja2's auto_reload asks the file's mtime (os.path.getmtime: os.stat) at every render.
    monkeypatch.setattr(os, "stat", stat)
    for _ in range(3):
        assert "Linen Lane" in texts.render("greeting", "en", **greeting)
        texts.label("catalog", "en")
    assert stats == []
