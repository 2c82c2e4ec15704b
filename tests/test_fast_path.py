"""The shopper's path through the real dispatcher stays on the event loop: aiogram runs a
synchronous filter (a plain `def`, a magic filter `F...`) in a thread of its own, about 20 µs
a hop against 1 µs inline, and the bot made 14 such hops per update."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from aiogram import Router

from bot.devtools.fake_bot_api import FakeBotAPI
from tests.conftest import Harness

STAFF = -1001234567890
OWNER = 5550001


@contextmanager
def thread_hops() -> Iterator[list[str]]:
    """What went through `asyncio.to_thread` meanwhile (aiogram looks it up at each call)."""
    hops: list[str] = []
    real = asyncio.to_thread

    async def counted(func: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        hops.append(repr(getattr(func, "func", func)))  # a partial: name what it wraps
        return await real(func, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(asyncio, "to_thread", counted)
        yield hops


@contextmanager
def routers_crossed() -> Iterator[list[str]]:
    """The routers an update was offered to meanwhile, in order."""
    crossed: list[str] = []
    real = Router.propagate_event

    async def counted(self: Router, update_type: str, event: Any, **kwargs: Any) -> Any:
        if update_type != "update":  # the dispatcher's own wrapper of every update
            crossed.append(self.name)
        return await real(self, update_type, event, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Router, "propagate_event", counted)
        yield crossed


async def test_a_shoppers_text_crosses_no_thread(shopbot: Harness) -> None:
    shopper = shopbot.api.new_shopper(language_code="en")
    for text in ("do you have the linen shirt?", "how much is it?", "thanks, bye"):
        with thread_hops() as hops:
            assert await shopbot.send(shopper, text)
        assert hops == [], text


async def test_commands_buttons_and_stickers_cross_no_thread(shopbot: Harness) -> None:
    shopper = shopbot.api.new_shopper(language_code="en")
    with thread_hops() as hops:
        assert await shopbot.send(shopper, "/start")
        assert await shopbot.send(shopper, "/catalog")
        await shopbot.press(shopper, "menu:contacts")
        await shopbot.press(shopper, "cat")
        assert await shopbot.send(shopper, None, sticker=shopbot.api.sticker())
    assert hops == []


async def test_with_a_staff_chat_and_an_owner_no_thread_either(
    api: FakeBotAPI, make_shopbot: Callable[..., Awaitable[Harness]]
) -> None:
    api.forum(STAFF)
    bot = await make_shopbot(staff_chat_id=STAFF, admin_ids=str(OWNER))
    shopper = api.new_shopper(language_code="en")
    owner = api.new_shopper(id=OWNER, language_code="en")
    with thread_hops() as hops:
        assert await bot.send(shopper, "hello, do you sell linen dresses?")
        assert await bot.send(owner, "hello")
        await bot.press(shopper, "menu:order")
    assert hops == []


async def test_a_shoppers_text_crosses_five_routers(shopbot: Harness) -> None:
    shopper = shopbot.api.new_shopper(language_code="en")
    with routers_crossed() as crossed:
        assert await shopbot.send(shopper, "how much is the linen shirt?")
    # The dispatcher's own router (named by its id), then handlers/routers.py's.
    assert crossed[1:] == ["shopbot", "staff", "owners", "shoppers"]
