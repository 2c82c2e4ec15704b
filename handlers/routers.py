"""The routers, in the order they see an update. Built per app (not at import), so several
apps can live in one process.

Each router an update crosses costs its filters and its middleware chain, so modules that
share a door share a router, registering their handlers in the order they are tried: a
shopper's message crosses the dispatcher, the root, the staff chat's router and the owners'
(each turns it away at its first filter) to reach the shoppers' router, which answers it.
"""

from aiogram import Router

from handlers import (
    aftersale,
    away,
    business,
    callbacks,
    chat,
    commands,
    compose,
    consent,
    elsewhere,
    fallback,
    own_texts,
    owner,
    payments,
    privacy,
    staff,
    takeover,
)
from handlers.filters import IsAdmin, Private
from handlers.middlewares import CustomerMiddleware


def setup_routers() -> Router:
    root = Router(name="shopbot")
    # A command addressed to another bot is no one's business here, whoever sent it.
    elsewhere.register(root)
    # Business accounts' own updates, and their owners' hand-back button: on the root, which
    # every update crosses anyway, not on a router of their own that each would cross more.
    business.register(root)
    # Telegram's shipping and pre-checkout queries: answered at once, here too.
    payments.register(root)
    # First the staff chat, then the owners' commands and composer, then shoppers.
    root.include_router(staff.build())
    root.include_router(_owners())
    root.include_router(_shoppers())
    root.include_router(fallback.build())
    return root


def _owners() -> Router:
    """ADMIN_IDS in their private chat: /stats, /broadcasts, /texts and /replies, the
    composer. Anyone else, and an owner's message none of these take, goes on to the
    shoppers' router."""
    router = Router(name="owners")
    for observer in (router.message, router.callback_query):
        observer.filter(Private(), IsAdmin())
    owner.register(router)
    own_texts.register(router)  # before the composer: /texts and /replies while composing
    compose.register(router)
    away.register(router)
    return router


def _shoppers() -> Router:
    """Everything in a private chat that is not the owners'. The order is the order the
    handlers are tried in, each catch-all last of its kind."""
    router = Router(name="shoppers")
    for observer in (router.message, router.callback_query, router.edited_message,
                     router.my_chat_member):
        observer.filter(Private())
    # Inner middleware: runs only once a handler matched, so a message no handler takes
    # makes no customer profile.
    router.message.middleware(CustomerMiddleware())
    router.callback_query.middleware(CustomerMiddleware())
    privacy.register(router)  # before the hand-over: whoever holds the chat
    payments.register_payment(router)  # money taken is an order, whoever holds the chat
    takeover.register(router)  # a person holds the chat: the rest stays quiet
    commands.register(router)
    consent.register(router)
    aftersale.register(router)
    payments.register_shoppers(router)  # the cart and a payment
    callbacks.register(router)  # its stale-button answer: every other press
    chat.register(router)  # its catch-all: every other message
    return router
