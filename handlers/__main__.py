"""`shopbot` (and `python -m handlers`): the command line, with this Telegram layer."""

from __future__ import annotations

import sys
from typing import Any


def create_app(settings: Any, **parts: Any) -> Any:
    # Imported only when a bot is built: `shopbot run` tells of a missing token before
    # aiogram and the rest are loaded (seconds of CPU).
    from handlers.layer import create_app as wired

    return wired(settings, **parts)


def main(argv: list[str] | None = None) -> int:
    from bot.cli import main as cli

    return cli(argv, create_app=create_app)


if __name__ == "__main__":
    sys.exit(main())
