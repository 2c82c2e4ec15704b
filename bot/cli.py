"""`shopbot`: run the bot, check a shop file, or see how it reads messages."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import signal
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from bot.app import logcontext
from bot.core.languages import LANGUAGES

AppFactory = Callable[..., Any]  # settings -> bot.app.runtime.App

# Nothing heavy at the top: `shopbot run` checks its settings before the shop file, aiogram
# and the rest of the bot are loaded (they take seconds of CPU), so a missing token is told
# at once.


def main(argv: list[str] | None = None, *, create_app: AppFactory) -> int:
    """`create_app` builds the bot from settings: the factory with the Telegram layer in it
    (handlers/__main__.py), which bot/ never imports."""
    parser = argparse.ArgumentParser(prog="shopbot", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="serve shoppers (long polling, or a webhook with WEBHOOK_URL)")
    commands.add_parser("worker", help="run only the follow-up worker (with IN_PROCESS_WORKER="
                                       "false on the web processes)")
    demo = commands.add_parser(
        "demo", help="try the bot in a local chat page: no token, no Telegram, no real customers")
    demo.add_argument("--shop", type=Path, help="the shop file (default: the bundled demo shop)")
    demo.add_argument("--port", type=int, default=8800, help="the page's port (default: 8800)")
    demo.add_argument("--host", default="127.0.0.1",
                      help="the page's address (default: 127.0.0.1, this computer only)")
    demo.add_argument("--redis", metavar="URL", default=None,
                      help="keep the demo's data in this Redis (default: in memory)")
    check = commands.add_parser("check", help="validate a shop file")
    check.add_argument("shop_file", nargs="?", type=Path,
                       help="the shop file (default: SHOP_FILE, else the bundled demo shop)")
    texts = commands.add_parser(
        "texts", help="the texts owners worded in Telegram (/texts, /replies)")
    texts_commands = texts.add_subparsers(dest="texts_command", required=True)
    export = texts_commands.add_parser(
        "export", help="print the shop file's texts: section with them (SHOP_FILE, REDIS_URL, "
                       "REDIS_PREFIX as the bot reads them)")
    export.add_argument("--out", type=Path, help="write it to this file instead")
    classify = commands.add_parser(
        "classify", help="show how the bot reads messages (one TEXT, or JSON lines on stdin)")
    classify.add_argument("--shop", type=Path, help="the shop file (default: SHOP_FILE or demo)")
    classify.add_argument("--lang", default=None, choices=LANGUAGES,
                          help="the shopper's language for TEXT (default: the shop's)")
    classify.add_argument("--explain", action="store_true",
                          help="also print the cues, products, sizes and colours found")
    classify.add_argument("text", nargs="?", help="a message; without it, read JSON lines")
    args = parser.parse_args(argv)
    if args.command == "check":
        return _check(args.shop_file)
    if args.command == "texts":
        return _export_texts(args.out)
    if args.command == "classify":
        return _classify(args.shop, args.text, args.lang, args.explain)
    if args.command == "demo":
        return _demo(args.shop, args.host, args.port, args.redis, create_app)
    return _run(create_app, worker_only=args.command == "worker")


def _fail(message: str) -> int:
    print(f"shopbot: {message}", file=sys.stderr)
    return 2


def _settings():
    from bot.app.config import Settings

    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in exc.errors()
        )
        raise SystemExit(_fail(f"bad setting: {problems}")) from None


def _check(path: Path | None) -> int:
    from bot.core.shop import ShopFileError, load_shop

    path = path or _settings().shop_file
    try:
        shop = load_shop(path)
    except ShopFileError as exc:
        for line in exc.lines():
            print(line)
        return 1
    print(f"{path}: ok: {shop.text(shop.name, shop.default_language)}, "
          f"{len(shop.products)} products, {len(shop.categories)} categories, "
          f"{len(shop.faq)} FAQ entries")
    return 0


def _export_texts(out: Path | None) -> int:
    from redis.exceptions import RedisError

    from bot.app.texts_export import export
    from bot.core.shop import ShopFileError

    settings = _settings()
    if not settings.redis_url:
        return _fail("REDIS_URL is not set: the texts worded in Telegram are kept in Redis")
    try:
        section, warnings = asyncio.run(export(settings))
    except ShopFileError as exc:
        for line in exc.lines():
            print(line, file=sys.stderr)
        return _fail(f"the shop file {exc.path} has {len(exc.problems)} problem(s)")
    except (RedisError, OSError) as exc:
        return _fail(f"cannot read Redis: {exc}")
    for warning in warnings:
        print(f"shopbot: warning: {warning}", file=sys.stderr)
    if out is None:
        print(section, end="")
    else:
        out.write_text(section, encoding="utf-8")
        print(f"shopbot: wrote the texts: section to {out}: put it in the shop file in place "
              "of its own, then run `shopbot check`", file=sys.stderr)
    return 0


def _classify(path: Path | None, text: str | None, lang: str | None, explain: bool) -> int:
    from bot.core.shop import ShopFileError, load_shop
    from bot.core.textproc import analyse
    from bot.nlu.understanding import Understanding

    path = path or _settings().shop_file
    try:
        shop = load_shop(path)
    except ShopFileError as exc:
        for line in exc.lines():
            print(line, file=sys.stderr)
        return _fail(f"the shop file {exc.path} has {len(exc.problems)} problem(s)")
    understanding = Understanding(shop)

    def result(message: str, message_lang: str) -> str:
        reading = understanding.read(message, message_lang)  # type: ignore[arg-type]
        out: dict[str, object] = reading.as_json()
        if explain:
            out.update(written_in=reading.written_in, cues=list(reading.cues),
                       read_as=understanding.catalogue.mask(
                           analyse(message), reading.mention),
                       words=understanding.explain(message),
                       products=[p for p, _ in reading.mention.products[:5]],
                       category=reading.mention.category, sizes=list(reading.mention.sizes),
                       values=[f"{o}={v}" for o, v in reading.mention.values],
                       amounts=[a.text for a in reading.mention.quantities])
            faq = understanding.faq(reading)
            if faq is not None:
                out.update(faq=faq.entry.id, faq_score=faq.score, faq_sure=faq.sure)
        return json.dumps(out, ensure_ascii=False)

    if text is not None:
        print(result(text, lang or shop.default_language))
        return 0
    failures = 0
    for number, line in enumerate(sys.stdin, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            message = item["text"]
            message_lang = item.get("lang") or lang or shop.default_language
            if not isinstance(message, str) or message_lang not in LANGUAGES:
                raise ValueError
        except (ValueError, KeyError, TypeError, AttributeError):
            failures += 1
            problem = (f"line {number}: expected {{\"text\": \"...\", \"lang\": "
                       f"\"en\"|\"ru\"|\"zh-hans\"|\"zh-hant\"}}")
            print(json.dumps({"error": problem}))
            print(f"shopbot: {problem}", file=sys.stderr)
            continue
        print(result(message, message_lang), flush=False)
    return 1 if failures else 0


def _demo(shop_file: Path | None, host: str, port: int, redis_url: str | None,
          create_app: AppFactory) -> int:
    from bot.app.runtime import StartupError
    from bot.core.shop import ShopFileError
    from bot.devtools.demo import serve

    logcontext.configure("WARNING")

    def announce(url: str) -> None:
        print(f"shopbot demo: open {url} in a browser (Ctrl+C stops it).\n"
              "This is a simulator: the real bot talks to a stand-in for Telegram on this "
              "computer; nothing reaches Telegram or real customers.", flush=True)

    async def main() -> None:
        task = asyncio.current_task()
        assert task is not None
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, task.cancel)
        with contextlib.suppress(asyncio.CancelledError):
            await serve(shop_file, host, port, redis_url, announce, create_app)

    try:
        asyncio.run(main())
    except ShopFileError as exc:
        for line in exc.lines():
            print(line, file=sys.stderr)
        return _fail(f"the shop file {exc.path} has {len(exc.problems)} problem(s)")
    except StartupError as exc:
        return _fail(str(exc))
    except OSError as exc:
        return _fail(f"cannot serve the page on {host}:{port} ({exc.strerror or exc}); "
                     "try another --port")
    print("shopbot demo: stopped.")
    return 0


def _loop_run(main: Coroutine[Any, Any, None]) -> None:
    """uvloop where there is one: the bot spends much of its time in sockets (Redis, the Bot
    API, the webhook), which uvloop serves faster than asyncio's own loop."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
    else:
        uvloop.run(main)


def _run(create_app: AppFactory, *, worker_only: bool = False) -> int:
    settings = _settings()
    problem = settings.token_problem()
    if problem is not None:
        return _fail(problem)  # before the shop file and aiogram are loaded

    from bot.app.runtime import StartupError
    from bot.core.shop import ShopFileError

    logcontext.configure(settings.log_level, settings.log_format)
    try:
        app = create_app(settings)
    except ShopFileError as exc:
        for line in exc.lines():
            print(line, file=sys.stderr)
        return _fail(f"the shop file {exc.path} has {len(exc.problems)} problem(s); "
                     "run `shopbot check` after fixing it")
    except StartupError as exc:
        return _fail(str(exc))
    try:
        _loop_run(_serve(app, worker_only=worker_only))
    except StartupError as exc:
        return _fail(str(exc))
    return 0


async def _serve(app, *, worker_only: bool = False) -> None:
    """Run until SIGINT or SIGTERM (what a platform sends to stop a dyno), then close cleanly."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None

    def stop() -> None:
        # The bot is stopped rather than cancelled: it finishes the updates in hand and gives
        # the rest back to Redis, and the long poll ends before the session closes.
        if worker_only:
            task.cancel()
        else:
            app.stop()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop)
    # SIGHUP reloads the shop file without a restart.
    loop.add_signal_handler(signal.SIGHUP, lambda: asyncio.ensure_future(app.reload_on_signal()))
    try:
        await (app.run_worker() if worker_only else app.run())
    except asyncio.CancelledError:
        pass
    logging.getLogger("shopbot").info("stopped")


if __name__ == "__main__":
    sys.exit(main())
