"""Buttons on the wire: each kind of press as an aiogram `CallbackData`, and the one place
where the rules' actions (bot/domain/actions.py) become callback data and back.

The packed strings are the ones the bot has always sent (`prefix:field:field`), so buttons
already sitting in shoppers' chats keep working: where one prefix carries several kinds
(`ret:o:…`, `ret:i:…`), the kind is a field that takes one value. The limits on each field
are those the routers' patterns had; data that does not unpack reaches no handler but the
stale-button notice (handlers/callbacks.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from aiogram.filters.callback_data import CallbackData
from pydantic import BeforeValidator, Field

from bot.core.languages import Lang
from bot.domain import actions
from bot.domain.actions import Action


def _digits(value: Any) -> Any:
    """Only digits, as the bot writes numbers: pydantic alone takes '+5', ' 5' and '5_0'."""
    if isinstance(value, str) and not (value.isascii() and value.isdigit()):
        raise ValueError("not a number")
    return value


Name = Annotated[str, Field(max_length=60)]  # a product, category or value id
OrderId = Annotated[str, Field(min_length=1, max_length=40)]  # ORDER_ID's 40 at most
Word = Annotated[str, Field(max_length=40)]  # a reason, resolution, size or colour
Page = Annotated[int, BeforeValidator(_digits), Field(ge=0, le=999)]
Stars = Annotated[int, BeforeValidator(_digits), Field(ge=1, le=5)]
Index = Annotated[int, BeforeValidator(_digits), Field(ge=0)]
UserId = Annotated[int, BeforeValidator(_digits), Field(ge=0, le=10**20 - 1)]


# -- the catalogue ------------------------------------------------------------------------
class CategoriesData(CallbackData, prefix="cat"):
    def action(self) -> actions.Categories:
        return actions.Categories()

    @classmethod
    def of(cls, action: actions.Categories) -> CategoriesData:
        return cls()


class CategoryPageData(CallbackData, prefix="cat"):
    category: Name
    page: Page

    def action(self) -> actions.CategoryPage:
        return actions.CategoryPage(self.category, self.page)

    @classmethod
    def of(cls, action: actions.CategoryPage) -> CategoryPageData:
        return cls(category=action.category, page=action.page)


class OpenProductData(CallbackData, prefix="p"):
    product: Name

    def action(self) -> actions.OpenProduct:
        return actions.OpenProduct(self.product)

    @classmethod
    def of(cls, action: actions.OpenProduct) -> OpenProductData:
        return cls(product=action.product)


class PickOptionsData(CallbackData, prefix="o"):
    product: Name
    # "0.2,1.0": option index.value index, by option; empty when nothing is picked.
    picks: Annotated[str, Field(pattern=r"^(?:[0-9]+\.[0-9]+(?:,[0-9]+\.[0-9]+)*)?$")]

    def action(self) -> actions.PickOptions:
        pairs = (pair.split(".") for pair in self.picks.split(",") if pair)
        return actions.PickOptions(self.product, tuple((int(i), int(j)) for i, j in pairs))

    @classmethod
    def of(cls, action: actions.PickOptions) -> PickOptionsData:
        return cls(product=action.product, picks=",".join(f"{i}.{j}" for i, j in action.picks))


class SizeData(CallbackData, prefix="sz"):
    """The size button of a card sent before options had their own kind."""

    product: Name
    value: Name

    def action(self) -> actions.PickValue:
        return actions.PickValue(self.product, "size", self.value)


class ColorData(CallbackData, prefix="cl"):
    """The colour button of a card sent before options had their own kind."""

    product: Name
    value: Name

    def action(self) -> actions.PickValue:
        return actions.PickValue(self.product, "color", self.value)


class OrderProductData(CallbackData, prefix="ord"):
    product: Name

    def action(self) -> actions.OrderProduct:
        return actions.OrderProduct(self.product)

    @classmethod
    def of(cls, action: actions.OrderProduct) -> OrderProductData:
        return cls(product=action.product)


# -- the cart -------------------------------------------------------------------------------
class CartData(CallbackData, prefix="cart"):
    """The cart's buttons: `v` view, `p`/`m` one more/fewer of line `line`, `x` remove it,
    `c` check out."""

    step: Literal["v", "p", "m", "x", "c"]
    line: Index = 0

    def action(self) -> actions.CartStep:
        match self.step:
            case "v":
                return actions.CartOpen()
            case "p" | "m":
                return actions.CartChange(self.line, 1 if self.step == "p" else -1)
            case "x":
                return actions.CartRemove(self.line)
        return actions.CheckOut()

    @classmethod
    def of(cls, action: actions.CartStep) -> CartData:
        match action:
            case actions.CartChange(line, delta):
                return cls(step="p" if delta > 0 else "m", line=line)
            case actions.CartRemove(line):
                return cls(step="x", line=line)
            case actions.CheckOut():
                return cls(step="c")
        return cls(step="v")


# -- the menu -------------------------------------------------------------------------------
class ChooseLanguageData(CallbackData, prefix="lang"):
    lang: Lang

    def action(self) -> actions.ChooseLanguage:
        return actions.ChooseLanguage(self.lang)

    @classmethod
    def of(cls, action: actions.ChooseLanguage) -> ChooseLanguageData:
        return cls(lang=action.lang)


class MenuItemData(CallbackData, prefix="menu"):
    item: Literal["order", "contacts", "language"]

    def action(self) -> actions.MenuItem:
        return actions.MenuItem(self.item)

    @classmethod
    def of(cls, action: actions.MenuItem) -> MenuItemData:
        return cls(item=action.item)


class AskPersonData(CallbackData, prefix="person"):
    def action(self) -> actions.AskPerson:
        return actions.AskPerson()

    @classmethod
    def of(cls, action: actions.AskPerson) -> AskPersonData:
        return cls()


# -- after the sale ---------------------------------------------------------------------------
class ArrivedData(CallbackData, prefix="fu"):
    answer: Literal["ok", "bad"]
    order: OrderId

    def action(self) -> actions.Arrived:
        return actions.Arrived(self.order, ok=self.answer == "ok")

    @classmethod
    def of(cls, action: actions.Arrived) -> ArrivedData:
        return cls(answer="ok" if action.ok else "bad", order=action.order)


class RateData(CallbackData, prefix="rate"):
    order: OrderId
    stars: Stars

    def action(self) -> actions.Rate:
        return actions.Rate(self.order, self.stars)

    @classmethod
    def of(cls, action: actions.Rate) -> RateData:
        return cls(order=action.order, stars=action.stars)


# The return flow's steps share the prefix "ret"; `step` tells them apart. It has no
# default: aiogram reads an empty field as its default, and "ret:" is no step.
class ReturnOrderData(CallbackData, prefix="ret"):
    step: Literal["o"]
    order: Annotated[str, Field(max_length=40)]

    def action(self) -> actions.ReturnOrder:
        return actions.ReturnOrder(self.order)

    @classmethod
    def of(cls, action: actions.ReturnOrder) -> ReturnOrderData:
        return cls(step="o", order=action.order)


class ReturnItemData(CallbackData, prefix="ret"):
    step: Literal["i"]
    index: Index

    def action(self) -> actions.ReturnItem:
        return actions.ReturnItem(self.index)

    @classmethod
    def of(cls, action: actions.ReturnItem) -> ReturnItemData:
        return cls(step="i", index=action.index)


class ReturnReasonData(CallbackData, prefix="ret"):
    step: Literal["r"]
    reason: Word

    def action(self) -> actions.ReturnReason:
        return actions.ReturnReason(self.reason)

    @classmethod
    def of(cls, action: actions.ReturnReason) -> ReturnReasonData:
        return cls(step="r", reason=action.reason)


class ReturnPhotosDoneData(CallbackData, prefix="ret"):
    step: Literal["p"]

    def action(self) -> actions.ReturnPhotosDone:
        return actions.ReturnPhotosDone()

    @classmethod
    def of(cls, action: actions.ReturnPhotosDone) -> ReturnPhotosDoneData:
        return cls(step="p")


class ReturnResolutionData(CallbackData, prefix="ret"):
    step: Literal["x"]
    resolution: Word

    def action(self) -> actions.ReturnResolution:
        return actions.ReturnResolution(self.resolution)

    @classmethod
    def of(cls, action: actions.ReturnResolution) -> ReturnResolutionData:
        return cls(step="x", resolution=action.resolution)


class ReturnWantedData(CallbackData, prefix="ret"):
    step: Literal["v"]
    wanted: Word  # "ret:v:" is "none of these"

    def action(self) -> actions.ReturnWanted:
        return actions.ReturnWanted(self.wanted)

    @classmethod
    def of(cls, action: actions.ReturnWanted) -> ReturnWantedData:
        return cls(step="v", wanted=action.wanted)


class ReturnSendData(CallbackData, prefix="ret"):
    step: Literal["s"]

    def action(self) -> actions.ReturnSend:
        return actions.ReturnSend()

    @classmethod
    def of(cls, action: actions.ReturnSend) -> ReturnSendData:
        return cls(step="s")


class ReturnCancelData(CallbackData, prefix="ret"):
    step: Literal["c"]

    def action(self) -> actions.ReturnCancel:
        return actions.ReturnCancel()

    @classmethod
    def of(cls, action: actions.ReturnCancel) -> ReturnCancelData:
        return cls(step="c")


# -- consent and privacy ------------------------------------------------------------------------
class SubscribeData(CallbackData, prefix="sub"):
    def action(self) -> actions.Subscribe:
        return actions.Subscribe()

    @classmethod
    def of(cls, action: actions.Subscribe) -> SubscribeData:
        return cls()


class ForgetData(CallbackData, prefix="forget"):
    answer: Literal["yes", "no"]

    def action(self) -> actions.Forget:
        return actions.Forget(sure=self.answer == "yes")

    @classmethod
    def of(cls, action: actions.Forget) -> ForgetData:
        return cls(answer="yes" if action.sure else "no")


# -- buttons only the handlers make ---------------------------------------------------------
class UnsubscribeData(CallbackData, prefix="unsub"):
    """Under every promotion: no more of them."""


class StaffDoneData(CallbackData, prefix="staff"):
    """Under a customer's card in the staff chat: "take it" (assign it to whoever
    presses), "hand back to the bot"."""

    what: Literal["done", "take"]
    customer: UserId


class HandBackData(CallbackData, prefix="bz"):
    """Under the notice to a business account's owner who answers a shopper in person: the
    bot answers that shopper again."""

    customer: UserId


class ReturnStatusData(CallbackData, prefix="rs"):
    """Staff move a return request on."""

    request: Annotated[str, Field(pattern=r"^R[0-9]{1,12}$")]
    status: Annotated[str, Field(pattern=r"^[a-z]{1,12}$")]


class BroadcastCancelData(CallbackData, prefix="bcx"):
    """An owner stops a scheduled or running broadcast (/broadcasts)."""

    broadcast: Annotated[str, Field(pattern=r"^B[0-9]{1,12}$")]


class ComposeData(CallbackData, prefix="bc"):
    """A button of the broadcast composer that takes no value."""

    what: Literal["button", "tags", "products", "everyone", "preview", "now", "later",
                  "drop", "yes", "back"]


class ComposePickData(CallbackData, prefix="bc"):
    """A button of the broadcast composer that picks a value: a language, a number of days."""

    what: Literal["lang", "only", "active"]
    value: str


class OwnTextData(CallbackData, prefix="ot"):
    """/texts and /replies (handlers/own_texts.py): a page of the list, a message, one of
    its languages, and what to do with it."""

    what: Literal["page", "open", "edit", "reset", "save", "again", "cancel", "replies",
                  "add", "remove", "drop"]
    message: Annotated[str, Field(pattern=r"^[a-z0-9_/-]{0,40}$")] = ""
    lang: Literal["", "en", "ru", "zh-hans", "zh-hant"] = ""
    page: Page = 0


# -- the rules' actions, packed and unpacked ---------------------------------------------------
CatalogueData = (CategoriesData | CategoryPageData | OpenProductData | PickOptionsData
                 | SizeData | ColorData | OrderProductData)
ReturnStepData = (ReturnOrderData | ReturnItemData | ReturnReasonData | ReturnPhotosDoneData
                  | ReturnResolutionData | ReturnWantedData | ReturnSendData | ReturnCancelData)
CATALOGUE: tuple[type[CatalogueData], ...] = (
    CategoriesData, CategoryPageData, OpenProductData, PickOptionsData, SizeData, ColorData,
    OrderProductData)
RETURN_STEPS: tuple[type[ReturnStepData], ...] = (
    ReturnOrderData, ReturnItemData, ReturnReasonData, ReturnPhotosDoneData,
    ReturnResolutionData, ReturnWantedData, ReturnSendData, ReturnCancelData)

ACTIONS: tuple[Any, ...] = (*CATALOGUE, ChooseLanguageData, MenuItemData, AskPersonData,
                            ArrivedData, RateData, *RETURN_STEPS, SubscribeData, ForgetData,
                            CartData)


def _old_value(action: actions.PickValue) -> SizeData | ColorData:
    kind = SizeData if action.option == "size" else ColorData
    return kind(product=action.product, value=action.value)


_PACKERS: dict[type[Any], Callable[[Any], CallbackData]] = {
    actions.Categories: CategoriesData.of,
    actions.CategoryPage: CategoryPageData.of,
    actions.OpenProduct: OpenProductData.of,
    actions.PickOptions: PickOptionsData.of,
    actions.PickValue: _old_value,
    actions.OrderProduct: OrderProductData.of,
    actions.ChooseLanguage: ChooseLanguageData.of,
    actions.MenuItem: MenuItemData.of,
    actions.AskPerson: AskPersonData.of,
    actions.Arrived: ArrivedData.of,
    actions.Rate: RateData.of,
    actions.ReturnOrder: ReturnOrderData.of,
    actions.ReturnItem: ReturnItemData.of,
    actions.ReturnReason: ReturnReasonData.of,
    actions.ReturnPhotosDone: ReturnPhotosDoneData.of,
    actions.ReturnResolution: ReturnResolutionData.of,
    actions.ReturnWanted: ReturnWantedData.of,
    actions.ReturnSend: ReturnSendData.of,
    actions.ReturnCancel: ReturnCancelData.of,
    actions.Subscribe: SubscribeData.of,
    actions.Forget: ForgetData.of,
    actions.CartOpen: CartData.of,
    actions.CartChange: CartData.of,
    actions.CartRemove: CartData.of,
    actions.CheckOut: CartData.of,
}


def pack(action: Action) -> str:
    """The callback data of a button the rules made. ValueError when the action cannot
    travel as one: a value too long for its field or for Telegram's 64 bytes, or with ':'."""
    return _PACKERS[type(action)](action).pack()


def unpack(data: str) -> Action | None:
    """The action a button's data asks for; None for data the bot does not make (forged, or
    in a format it no longer reads)."""
    for kind in ACTIONS:
        try:
            action: Action = kind.unpack(data).action()
        except (TypeError, ValueError):  # pydantic's ValidationError is a ValueError
            continue
        return action
    return None


# -- rating a person's help (bot/domain/actions.py: RateHelp, SkipHelpComment) ---------------
AskId = Annotated[str, Field(pattern=r"^[0-9a-f]{16}$")]  # a hand-back's question


class RateHelpData(CallbackData, prefix="hr"):
    ask: AskId
    stars: Stars

    def action(self) -> actions.RateHelp:
        return actions.RateHelp(self.ask, self.stars)

    @classmethod
    def of(cls, action: actions.RateHelp) -> RateHelpData:
        return cls(ask=action.ask, stars=action.stars)


class SkipHelpCommentData(CallbackData, prefix="hrs"):
    ask: AskId

    def action(self) -> actions.SkipHelpComment:
        return actions.SkipHelpComment(self.ask)

    @classmethod
    def of(cls, action: actions.SkipHelpComment) -> SkipHelpCommentData:
        return cls(ask=action.ask)


ACTIONS = (*ACTIONS, RateHelpData, SkipHelpCommentData)
_PACKERS[actions.RateHelp] = RateHelpData.of
_PACKERS[actions.SkipHelpComment] = SkipHelpCommentData.of
