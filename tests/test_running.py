"""`shopbot run` and `shopbot check` as an owner meets them, and the webhook's door."""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
import sys
from pathlib import Path

import aiohttp
import pytest
from aiogram.types import Update

from bot import PROJECT_DIR
from bot.devtools.fake_bot_api import FakeBotAPI
from handlers.layer import create_app
from tests.conftest import TOKEN, FakeClock, settings_for


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def shopbot_env(**values: str) -> dict[str, str]:
    """A clean environment: only what the test sets, as an owner would."""
    env = {"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"),
           "PYTHONPATH": str(PROJECT_DIR)}
    env.update(values)
    return env


async def shopbot_cmd(*args: str, env: dict[str, str], cwd: Path,
                      timeout: float = 60) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "handlers", *args, env=env, cwd=cwd,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


# -- shopbot check --------------------------------------------------------------------------

async def test_check_accepts_the_demo_shop(tmp_path: Path) -> None:
    code, out, _ = await shopbot_cmd("check", env=shopbot_env(), cwd=tmp_path)
    assert code == 0
    assert "ok: Linen Lane, 15 products" in out


async def test_check_names_each_problem_with_its_line(tmp_path: Path) -> None:
    shop = tmp_path / "shop.yaml"
    shop.write_text("id: my-shop\nname: {en: Mine}\ncurrency: EURO\n"
                    "products:\n  - id: hat\n    name: Hat\n    price: 0\n")
    code, out, err = await shopbot_cmd("check", str(shop), env=shopbot_env(), cwd=tmp_path)
    assert code == 1
    lines = out.strip().splitlines()
    assert f"{shop}: line 3: currency: unknown currency 'EURO'" in lines[0]
    assert any("line 5: products.0.category: is required" in line for line in lines)
    assert any("line 7: products.0.price" in line for line in lines)
    assert "Traceback" not in out + err


# -- shopbot run: failures an owner can fix, one line each -------------------------------------

@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, "BOT_TOKEN is not set"),
        ({"BOT_TOKEN": "not-a-token"}, "BOT_TOKEN does not look like a bot token"),
        ({"BOT_TOKEN": TOKEN, "REDIS_URL": "redis://127.0.0.1:1/0"}, "cannot reach Redis"),
        ({"BOT_TOKEN": TOKEN, "TELEGRAM_API_SERVER": "http://127.0.0.1:1"},
         "cannot reach the Bot API"),
        ({"BOT_TOKEN": TOKEN, "PORT": "eighty"}, "bad setting: PORT"),
    ],
)
async def test_run_fails_with_one_clear_line(tmp_path: Path, env: dict[str, str],
                                             expected: str) -> None:
    code, out, err = await shopbot_cmd("run", env=shopbot_env(**env), cwd=tmp_path)
    assert code != 0
    last = err.strip().splitlines()[-1]
    assert last.startswith("shopbot: ") and expected in last
    assert "Traceback" not in out + err


@pytest.mark.parametrize(("token", "expected"), [
    (None, "BOT_TOKEN is not set"), ("  ", "BOT_TOKEN is not set"),
    ("not-a-token", "BOT_TOKEN does not look like a bot token"),
    ("123456:", "BOT_TOKEN does not look like a bot token"),
])
async def test_run_says_what_the_token_lacks_before_loading_anything(
        tmp_path: Path, token: str | None, expected: str) -> None:
    """The settings are checked first: no shop file read, not even aiogram imported (that
    alone took seconds of CPU), so the owner hears of a missing token at once."""
    shop = tmp_path / "shop.yaml"
    shop.write_text("id: x\nname: X\ntimezone: Atlantis/Capital\n")  # never reached
    env = shopbot_env(SHOP_FILE=str(shop), **({"BOT_TOKEN": token} if token is not None else {}))
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-X", "importtime", "-m", "handlers", "run", env=env, cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 2
    said = [line for line in err.decode().splitlines() if not line.startswith("import time:")]
    assert len(said) == 1 and said[0].startswith("shopbot: ") and expected in said[0]
    imported = {line.split("|")[-1].strip() for line in err.decode().splitlines()
                if line.startswith("import time:")}
    assert "bot.cli" in imported  # -X importtime did report
    assert not {"aiogram", "bot.app.factory", "bot.core.shop", "yaml"} & imported
    assert "Traceback" not in out.decode() + err.decode()


async def test_run_refuses_a_broken_shop_file(tmp_path: Path) -> None:
    shop = tmp_path / "shop.yaml"
    shop.write_text("id: x\nname: X\ntimezone: Atlantis/Capital\n")
    code, _, err = await shopbot_cmd(
        "run", env=shopbot_env(BOT_TOKEN=TOKEN, SHOP_FILE=str(shop)), cwd=tmp_path)
    assert code != 0
    assert "line 3: timezone: unknown time zone 'Atlantis/Capital'" in err
    assert "Traceback" not in err


async def test_run_with_only_a_token_serves_the_demo_shop(tmp_path: Path,
                                                          api: FakeBotAPI) -> None:
    """No REDIS_URL, no shop file: the demo shop on the in-process Redis, with a loud warning."""
    # PORT=0: /healthz and /metrics on a free port, whatever else this machine runs.
    env = shopbot_env(BOT_TOKEN=TOKEN, TELEGRAM_API_SERVER=api.url, PORT="0")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "handlers", "run", env=env, cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    try:
        shopper = api.new_shopper(first_name="Vera", language_code="ru")
        api.push_update(api.message_update(shopper, "/start"))
        call = await api.wait_for(lambda c: c.method == "sendMessage", timeout=30)
        assert call.chat_id == shopper.id and "Льняной переулок" in call.params["text"]
    finally:
        process.terminate()
        _, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0  # SIGTERM stops it cleanly
    assert "NOTHING SURVIVES A RESTART" in err.decode()
    # Polling is stopped, not cut: no long poll is left hanging when the session closes.
    assert "Server disconnected" not in err.decode() and "Traceback" not in err.decode()


# -- the webhook ------------------------------------------------------------------------------

async def until_listening(port: int) -> None:
    for _ in range(100):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.05)
            continue
        writer.close()
        return
    raise AssertionError(f"nothing listens on port {port}")


async def test_webhook_checks_the_secret_token(api: FakeBotAPI, prefix: str,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """Wrong secrets get 401; the right one gets the update handled, read once (the
    webhook's parse is the one the dispatcher gets)."""
    parsed: list[object] = []
    validate = Update.model_validate.__func__  # type: ignore[attr-defined]

    def counted(cls: type[Update], obj: object, *args: object, **kwargs: object) -> Update:
        parsed.append(obj.get("update_id") if isinstance(obj, dict) else obj)
        return validate(cls, obj, *args, **kwargs)

    monkeypatch.setattr(Update, "model_validate", classmethod(counted))
    port = free_port()
    settings = settings_for(api, prefix, webhook_url="https://shop.example/tg/hook",
                            webhook_secret="s3cret_token-1", host="127.0.0.1", port=port)
    app = create_app(settings, clock=FakeClock(), rng=random.Random(3))
    server = asyncio.create_task(app.run())
    url = f"http://127.0.0.1:{port}/tg/hook"
    try:
        registered = await api.wait_for(lambda c: c.method == "setWebhook", timeout=15)
        assert registered.params["url"] == "https://shop.example/tg/hook"
        assert registered.params["secret_token"] == "s3cret_token-1"

        await until_listening(port)
        shopper = api.new_shopper(language_code="zh-hant", first_name="Lin")
        update = api.message_update(shopper, "/start")
        async with aiohttp.ClientSession() as http:
            for headers in ({}, {"X-Telegram-Bot-Api-Secret-Token": "wrong"}):
                async with http.post(url, json=update, headers=headers) as response:
                    assert response.status == 401
            assert not api.sent_to(shopper.id)
            async with http.post(url, json=update,
                                 headers={"X-Telegram-Bot-Api-Secret-Token": "s3cret_token-1"}
                                 ) as response:
                assert response.status == 200
        call = await api.wait_for(lambda c: c.method == "sendMessage", timeout=10)
        assert call.chat_id == shopper.id and "亞麻小巷" in call.params["text"]
        assert parsed.count(update["update_id"]) == 1
    finally:
        server.cancel()
        await asyncio.gather(server, return_exceptions=True)


async def test_webhook_answers_400_to_a_body_that_is_not_an_update(
        api: FakeBotAPI, prefix: str, caplog: pytest.LogCaptureFixture) -> None:
    """What Telegram would never send gets 400, is not queued, and leaves no traceback."""
    port = free_port()
    settings = settings_for(api, prefix, webhook_url="https://shop.example/tg/hook",
                            webhook_secret="s3cret_token-1", host="127.0.0.1", port=port)
    app = create_app(settings, clock=FakeClock(), rng=random.Random(3))
    server = asyncio.create_task(app.run())
    url = f"http://127.0.0.1:{port}/tg/hook"
    secret = {"X-Telegram-Bot-Api-Secret-Token": "s3cret_token-1"}
    bodies: list[object] = [
        {"update_id": 5, "message": {"x": 1}},
        {"update_id": 6, "message": {"message_id": 1, "date": 0, "chat": {"id": "me"}}},
        {"update_id": 7, "callback_query": "press"},
        {"update_id": "8"}, {"update_id": None}, {"message": {"x": 1}}, [1, 2], "update", 9,
    ]
    try:
        await api.wait_for(lambda c: c.method == "setWebhook", timeout=15)
        await until_listening(port)
        async with aiohttp.ClientSession() as http:
            for body in bodies:
                async with http.post(url, json=body, headers=secret) as response:
                    assert response.status == 400, body
            async with http.post(url, data=b"{not json", headers=secret) as response:
                assert response.status == 400
            for update_id in (5, 6, 7, 8):
                assert await app.inbox.state(update_id) is None  # nothing queued
            # A real update still gets in, and an answer.
            shopper = api.new_shopper(first_name="Lin")
            async with http.post(url, json=api.message_update(shopper, "/start"),
                                 headers=secret) as response:
                assert response.status == 200
        call = await api.wait_for(lambda c: c.method == "sendMessage", timeout=10)
        assert call.chat_id == shopper.id
    finally:
        server.cancel()
        await asyncio.gather(server, return_exceptions=True)
    assert "Traceback" not in caplog.text
    assert not [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
