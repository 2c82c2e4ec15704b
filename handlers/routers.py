"""The routers, in the order they see an update. Built per app (not at import), so several
apps can live in one process."""

from aiogram import Router

from handlers import (
    aftersale,
    callbacks,
    chat,
    commands,
    compose,
    consent,
    elsewhere,
    fallback,
    owner,
    privacy,
    staff,
    takeover,
)
from handlers.middlewares import CustomerMiddleware


def setup_routers() -> Router:
    root = Router(name="shopbot")
    # A command addressed to another bot is no one's business here, whoever sent it.
    root.include_router(elsewhere.build())
    # First the staff chat, then shoppers whose conversation a person holds (the bot only
    # passes their messages on), then the bot's own conversation.
    root.include_router(staff.build())
    root.include_router(owner.build())
    root.include_router(compose.build())
    # Before the hand-over: a shopper can see or erase their data whoever holds the chat.
    root.include_router(privacy.build())
    for shopper_facing in (takeover.build(), commands.build(), consent.build(),
                           aftersale.build(), callbacks.build(), chat.build()):
        # Inner middleware: runs only once a private-chat handler matched, so group
        # members and channel posts never become customer profiles.
        shopper_facing.message.middleware(CustomerMiddleware())
        shopper_facing.callback_query.middleware(CustomerMiddleware())
        root.include_router(shopper_facing)
    root.include_router(fallback.build())
    return root
