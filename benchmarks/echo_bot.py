"""The baseline of benchmarks/pipeline.py: a bare aiogram echo bot behind a webhook.

    BOT_TOKEN=… TELEGRAM_API_SERVER=… REDIS_URL=… REDIS_PREFIX=… WEBHOOK_URL=… \\
        WEBHOOK_SECRET=… HOST=127.0.0.1 PORT=… python benchmarks/echo_bot.py

One handler that answers every message with its text; FSM storage in Redis; aiogram's
`SimpleRequestHandler` with its defaults (updates handled in the background) on aiohttp.
Like `shopbot run`, it registers its webhook at start-up and serves GET /healthz.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit

from aiogram import Bot, Dispatcher, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.fsm.storage.base import DefaultKeyBuilder
from aiogram.fsm.storage.redis import RedisStorage
from aiogram.types import Message
from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web
from redis.asyncio import Redis

router = Router(name="echo")


@router.message()
async def echo(message: Message) -> None:
    await message.answer(message.text or "ok")


def build(env: dict[str, str]) -> web.Application:
    redis = Redis.from_url(env["REDIS_URL"])
    storage = RedisStorage(redis, key_builder=DefaultKeyBuilder(prefix=env["REDIS_PREFIX"]))
    dispatcher = Dispatcher(storage=storage)
    dispatcher.include_router(router)
    session = AiohttpSession(api=TelegramAPIServer.from_base(env["TELEGRAM_API_SERVER"]))
    bot = Bot(env["BOT_TOKEN"], session=session)
    secret = env.get("WEBHOOK_SECRET") or None

    async def register_webhook(*_: Any, **__: Any) -> None:
        await bot.set_webhook(url=env["WEBHOOK_URL"], secret_token=secret,
                              allowed_updates=dispatcher.resolve_used_update_types())

    async def close_storage(*_: Any, **__: Any) -> None:
        await storage.close()

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    dispatcher.startup.register(register_webhook)
    dispatcher.shutdown.register(close_storage)
    app = web.Application()
    SimpleRequestHandler(dispatcher=dispatcher, bot=bot, secret_token=secret).register(
        app, path=urlsplit(env["WEBHOOK_URL"]).path or "/webhook")
    setup_application(app, dispatcher, bot=bot)
    app.router.add_get("/healthz", healthz)
    return app


def main() -> None:
    env = dict(os.environ)
    web.run_app(build(env), host=env.get("HOST", "127.0.0.1"), port=int(env["PORT"]),
                print=None)


if __name__ == "__main__":
    main()
