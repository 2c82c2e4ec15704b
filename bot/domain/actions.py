"""What a button asks for when it is pressed: one small value per kind of press.

A `Button` (bot/domain/replies.py) carries one of these; the rules dispatch on its class.
How an action travels through Telegram (a string of 64 bytes at most) is the handlers'
business (handlers/callback_data.py), so no rule reads a string. To add a button: an
action here, its `CallbackData` there (CONTRIBUTING.md, "A button").

The ids an action carries are short by rule, so every press fits Telegram's 64 bytes:
product and category ids are slugs of 40 at most (bot/core/shop.py), order ids 40 at most
(`ORDER_ID`, bot/domain/orders.py). Only the picks of a card grow with the product, so
`PickOptions` alone measures its packed form: the card must know which values it can
offer before it lays them out in rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.core.languages import Lang

DATA_BYTES = 64  # Telegram's limit on a button's callback data


# -- the catalogue ------------------------------------------------------------------------
@dataclass(frozen=True)
class Categories:
    """The list of categories."""


@dataclass(frozen=True)
class CategoryPage:
    category: str
    page: int  # from 0


@dataclass(frozen=True)
class OpenProduct:
    product: str


@dataclass(frozen=True)
class PickOptions:
    """A value button of a card: the whole selection after the press, as (option index,
    value index) pairs; indexes rather than ids, so that long value ids still fit."""

    product: str
    picks: tuple[tuple[int, int], ...]

    def fits(self) -> bool:
        """Whether the press fits Telegram's 64 bytes as `o:<product>:<i>.<j>,...`; the card
        leaves out a value whose press does not. tests/unit/test_callback_data.py holds this
        to what the handlers pack."""
        picks = ",".join(f"{i}.{j}" for i, j in self.picks)
        return len(f"o:{self.product}:{picks}".encode()) <= DATA_BYTES


@dataclass(frozen=True)
class PickValue:
    """A size or colour button of a card sent before options had their own kind: still in
    shoppers' chats, so still understood; the rules no longer make it."""

    product: str
    option: Literal["size", "color"]
    value: str


@dataclass(frozen=True)
class OrderProduct:
    product: str


# -- the cart (bot/domain/cart.py) ---------------------------------------------------------------
@dataclass(frozen=True)
class CartOpen:
    """The cart, as it is now."""


@dataclass(frozen=True)
class CartChange:
    """One more (`delta` 1) or one fewer (-1) of the cart's line `line` (from 0)."""

    line: int
    delta: Literal[1, -1]


@dataclass(frozen=True)
class CartRemove:
    line: int


@dataclass(frozen=True)
class CheckOut:
    """Pay for the cart: the invoice."""


CartStep = CartOpen | CartChange | CartRemove | CheckOut


# -- the menu -------------------------------------------------------------------------------
@dataclass(frozen=True)
class ChooseLanguage:
    lang: Lang


@dataclass(frozen=True)
class MenuItem:
    item: Literal["order", "contacts", "language"]


@dataclass(frozen=True)
class AskPerson:
    """A handoff to the staff chat."""


# -- after the sale ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Arrived:
    """The answer to "has everything arrived?"."""

    order: str
    ok: bool


@dataclass(frozen=True)
class Rate:
    order: str
    stars: int


# The steps of a return, in the order the flow asks them.
@dataclass(frozen=True)
class ReturnOrder:
    order: str


@dataclass(frozen=True)
class ReturnItem:
    index: int  # in the order's items


@dataclass(frozen=True)
class ReturnReason:
    reason: str


@dataclass(frozen=True)
class ReturnPhotosDone:
    """Photos sent (or none to send): on to exchange or refund."""


@dataclass(frozen=True)
class ReturnResolution:
    resolution: str


@dataclass(frozen=True)
class ReturnWanted:
    wanted: str  # the size or colour wanted in exchange; empty: none of those offered


@dataclass(frozen=True)
class ReturnSend:
    """*Send the request*. The handlers take it rather than `AfterSale.return_step`: the
    request goes on to the staff chat, or to the owners."""


@dataclass(frozen=True)
class ReturnCancel:
    """*Cancel*, at any step."""


ReturnStep = (ReturnOrder | ReturnItem | ReturnReason | ReturnPhotosDone | ReturnResolution
              | ReturnWanted | ReturnSend | ReturnCancel)


# -- consent and privacy ------------------------------------------------------------------------
@dataclass(frozen=True)
class Subscribe:
    """Promotions again, after /stop. (The button under a promotion that stops them is the
    handlers' own: no rule makes it.)"""


@dataclass(frozen=True)
class Forget:
    """The answer to "erase everything kept about you?"."""

    sure: bool


Catalogue = Categories | CategoryPage | OpenProduct | PickOptions | PickValue | OrderProduct
Action = (Catalogue | ChooseLanguage | MenuItem | AskPerson | Arrived | Rate | ReturnStep
          | Subscribe | Forget | CartStep)


# -- rating a person's help (after staff hand a conversation back) -----------------------------
@dataclass(frozen=True)
class RateHelp:
    """A star under "how was the help?": `ask` is the hand-back's own id (16 hex digits),
    so each hand-back is rated once and an old question's stars change nothing."""

    ask: str
    stars: int


@dataclass(frozen=True)
class SkipHelpComment:
    """*Skip* under "anything to add?": no comment on the rating of `ask`."""

    ask: str


HelpRating = RateHelp | SkipHelpComment
Action = Action | HelpRating  # type: ignore[misc]  # appended: a union of the kinds above
