"""The Telegram layer: aiogram routers, filters, middlewares, rendering and sending; it
translates between Telegram and the shop's rules in `bot/`, which never import it.

Importing `handlers` imports nothing else, so `shopbot` (handlers/__main__.py) can check its
settings before aiogram and the bot are loaded.
"""
