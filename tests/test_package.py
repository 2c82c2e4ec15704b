"""An installed shopbot carries its own templates and catalogues.

The wheel is built from a copy of the checkout, installed into a fresh virtual environment,
and run from a folder outside the checkout: `shopbot check`, then `shopbot run` against the
local fake Bot API while a Russian shopper says hello and asks about a product.
Building the wheel and the environment takes some 20-60 s; the test does it once.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import uuid
import zipfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import yaml
from babel.messages.pofile import read_po
from redis.asyncio import Redis

from bot.devtools.fake_bot_api import FakeBotAPI
from handlers.i18n import Formatter
from tests.conftest import TOKEN, redis_url

ROOT = Path(__file__).resolve().parent.parent
# What a clone does not carry (.gitignore), and what would only slow the copy down.
NOT_COPIED = shutil.ignore_patterns(".git", "build", "dist", "*.egg-info", "__pycache__",
                                    ".venv", ".pytest_cache", ".ruff_cache", "*.mo", ".env")


def run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None,
        timeout: float = 300) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=timeout, check=False)
    assert done.returncode == 0, f"{args} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
    return done


def clean_env(venv: Path, **values: str) -> dict[str, str]:
    """The environment of an owner who installed the wheel: no PYTHONPATH, no checkout."""
    env = {"PATH": f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}",
           "HOME": os.environ.get("HOME", "/tmp"), "VIRTUAL_ENV": str(venv)}
    env.update(values)
    return env


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Built from a copy, as `pip install git+URL` builds from a clone: the checkout's own
    # build/ and egg-info stay untouched by the test.
    work = tmp_path_factory.mktemp("wheel")
    source = work / "source"
    shutil.copytree(ROOT, source, ignore=NOT_COPIED)
    run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check",
        "-q", "-w", work / "dist", source, cwd=work)
    [built] = (work / "dist").glob("shopbot-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh environment with the wheel; the dependencies come from this Python's own."""
    path = tmp_path_factory.mktemp("venv") / "env"
    run(sys.executable, "-m", "venv", "--system-site-packages", path, cwd=path.parent)
    # --ignore-installed: this Python's editable shopbot is seen from the venv, and must be
    # neither taken for the wheel nor uninstalled.
    run(path / "bin" / "python", "-m", "pip", "install", "--no-deps", "--no-index",
        "--ignore-installed", "--disable-pip-version-check", "-q", wheel, cwd=path.parent)
    return path


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A working folder with no checkout in it or above it."""
    assert ROOT not in tmp_path.parents
    return tmp_path


def test_the_wheel_carries_every_template_and_catalogue(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    wanted = {f"bot/templates/{p.relative_to(ROOT / 'templates').as_posix()}"
              for p in (ROOT / "templates").rglob("*") if p.is_file() and p.suffix != ".pyc"}
    wanted |= {f"bot/locales/{p.relative_to(ROOT / 'locales').as_posix()}"
               for p in (ROOT / "locales").glob("*/LC_MESSAGES/messages.po")}
    wanted |= {f"bot/{p.relative_to(ROOT / 'bot').as_posix()}"
               for pattern in ("*.yaml", "shops/*.yaml", "nlu/*.yaml", "nlu/examples/*.jsonl")
               for p in (ROOT / "bot").glob(pattern)}
    assert {"bot/templates/greeting.j2", "bot/templates/demo/page.html",
            "bot/locales/ru/LC_MESSAGES/messages.po", "bot/demo_shop.yaml",
            "bot/nlu/intent_phrases.yaml", "bot/nlu/examples/intents.en.jsonl"} <= wanted
    assert sorted(wanted - names) == []


def test_installed_bot_finds_its_files_outside_the_checkout(venv: Path, outside: Path) -> None:
    code = ("import bot, handlers.i18n, handlers.texts, bot.nlu.reader; "
            "print(bot.__file__); print(bot.TEMPLATES_DIR); print(bot.LOCALES_DIR)")
    out = run(venv / "bin" / "python", "-c", code, cwd=outside, env=clean_env(venv)).stdout
    module, templates, locales = out.splitlines()
    site = venv / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" \
        / "site-packages"
    assert Path(module) == site / "bot" / "__init__.py"  # the wheel's, not the checkout's
    assert Path(templates) == site / "bot" / "templates"
    assert Path(locales) == site / "bot" / "locales"

    demo_shop = site / "bot" / "demo_shop.yaml"
    out = run(venv / "bin" / "shopbot", "check", demo_shop, cwd=outside,
              env=clean_env(venv)).stdout
    assert "ok: Linen Lane, 15 products" in out
    # The reader learns from the examples the wheel carries (bot/nlu/examples).
    out = run(venv / "bin" / "shopbot", "classify", "--shop", demo_shop, "any discount?",
              cwd=outside, env=clean_env(venv)).stdout
    assert '"intent": "discount"' in out


# -- a short conversation in Russian ----------------------------------------------------------

def ru_greetings(shop: str, name: str) -> set[str]:
    """The Russian openings of a first-visit greeting (templates/greeting.j2), as translated."""
    with (ROOT / "locales" / "ru" / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalog = read_po(po)
    source = (ROOT / "templates" / "greeting.j2").read_text(encoding="utf-8")
    openings = [m.id for m in catalog if isinstance(m.id, str) and m.id.startswith("Good ")
                and "welcome to %(shop)s" in m.id.lower() and f'"{m.id}"' in source]
    assert len(openings) == 6  # morning, afternoon, evening: two phrasings each
    return {catalog[msgid].string % {"shop": shop, "name": name} for msgid in openings}


def demo_shop() -> dict:
    return yaml.safe_load((ROOT / "bot" / "demo_shop.yaml").read_text(encoding="utf-8"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
async def prefix() -> AsyncIterator[str]:
    value = f"shopbot-test-package:{uuid.uuid4().hex[:10]}"
    yield value
    client = Redis.from_url(redis_url())
    keys = [key async for key in client.scan_iter(match=f"{value}:*")]
    if keys:
        await client.delete(*keys)
    await client.aclose()


def read_log(path: Path) -> str:
    return path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""


@pytest.fixture
def logs(outside: Path) -> Iterator[Path]:
    path = outside / "shopbot.log"
    yield path
    print(read_log(path))  # shown when the test fails


async def test_installed_bot_talks_russian(venv: Path, outside: Path, prefix: str,
                                           logs: Path) -> None:
    shop = demo_shop()
    shirt = next(p for p in shop["products"] if p["id"] == "linen-shirt")
    async with FakeBotAPI(TOKEN) as api:
        env = clean_env(venv, BOT_TOKEN=TOKEN, TELEGRAM_API_SERVER=api.url,
                        REDIS_URL=redis_url(), REDIS_PREFIX=prefix, IN_PROCESS_WORKER="false",
                        HOST="127.0.0.1", PORT=str(free_port()))
        with logs.open("wb") as log:
            process = await asyncio.create_subprocess_exec(
                venv / "bin" / "shopbot", "run", cwd=outside, env=env,
                stdout=log, stderr=subprocess.STDOUT)
        try:
            # Polling, or the process ended (then its log, printed below, says why).
            polling = asyncio.ensure_future(api.wait_for("getUpdates", timeout=60))
            ended = asyncio.ensure_future(process.wait())
            done, pending = await asyncio.wait({polling, ended},
                                               return_when=asyncio.FIRST_COMPLETED)
            for task in pending:
                task.cancel()
            assert ended not in done, f"shopbot run ended ({process.returncode})"
            await polling
            shopper = api.new_shopper(first_name="Анна", language_code="ru")

            async def say(text: str) -> str:
                since = len(api.calls)
                api.push_update(api.message_update(shopper, text))
                call = await api.wait_for(
                    lambda c: c.chat_id == shopper.id and c.method in ("sendMessage", "sendPhoto"),
                    timeout=30, since=since)
                assert call.ok
                return str(call.params.get("text") or call.params.get("caption"))

            greeting = await say("Здравствуйте")
            assert any(greeting.startswith(opening)
                       for opening in ru_greetings(shop["name"]["ru"], "Анна")), greeting
            card = await say("Сколько стоит льняная рубашка?")
            assert shirt["name"]["ru"] in card
            assert Formatter("ru", shop["currency"]).money(shirt["price"]) in card
        finally:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
            await asyncio.wait_for(process.wait(), 30)
    log_text = read_log(logs)
    assert "no catalogue" not in log_text
    assert "Traceback" not in log_text
