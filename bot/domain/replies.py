"""What the shop's rules answer, before it becomes Telegram messages.

The rules say which template to render with which values and which buttons to offer;
the handlers turn that into text and keyboards. Nothing here knows about Telegram.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.core.languages import Lang
from bot.domain.actions import Action


@dataclass(frozen=True)
class Button:
    label: str  # macro name in templates/buttons.j2
    data: Action | None = None  # what pressing it asks for (handlers/callback_data.py packs it)
    url: str | None = None
    args: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Reply:
    template: str  # templates/<template>.j2
    context: dict[str, Any] = field(default_factory=dict)
    buttons: list[list[Button]] = field(default_factory=list)
    lang: Lang | None = None  # answer in this language (the message's), not the profile's
    photo: str | None = None  # sent as a photo with the text as its caption, when it can be
    handoff: str | None = None  # a person should take over, and why ("human", "complaint"...)
