"""Buttons on the wire: every action the rules put on a button packs into the string the bot
has always sent (buttons already in shoppers' chats keep working), fits Telegram's 64 bytes
with the longest ids the shop file and the orders API allow, and unpacks to itself; data
the bot does not make unpacks to nothing, which the handlers answer as a stale button."""

from __future__ import annotations

import typing

import pytest

from bot.domain import actions
from bot.domain.actions import Action
from handlers.callback_data import (
    BroadcastCancelData,
    ComposeData,
    ComposePickData,
    ReturnStatusData,
    StaffDoneData,
    UnsubscribeData,
    pack,
    unpack,
)

PRODUCT = "p" * 40  # a slug: 40 at most (bot/core/shop.py)
CATEGORY = "c" * 40
ORDER = "A1-_.#/" + "9" * 33  # ORDER_ID: 40 at most (bot/domain/orders.py)
WANTED = "w" * 40  # exchange sizes are offered up to 40 bytes (AfterSale._exchange_options)

# Each action with the string it has always been sent as.
WIRE: list[tuple[Action, str]] = [
    (actions.Categories(), "cat"),
    (actions.CategoryPage(CATEGORY, 0), f"cat:{CATEGORY}:0"),
    (actions.CategoryPage(CATEGORY, 999), f"cat:{CATEGORY}:999"),
    (actions.OpenProduct(PRODUCT), f"p:{PRODUCT}"),
    (actions.PickOptions(PRODUCT, ()), f"o:{PRODUCT}:"),
    (actions.PickOptions(PRODUCT, ((0, 2), (1, 0), (12, 34))), f"o:{PRODUCT}:0.2,1.0,12.34"),
    (actions.PickValue(PRODUCT, "size", "XXL"), f"sz:{PRODUCT}:XXL"),
    (actions.PickValue(PRODUCT, "color", "dusty-pink"), f"cl:{PRODUCT}:dusty-pink"),
    (actions.OrderProduct(PRODUCT), f"ord:{PRODUCT}"),
    *[(actions.ChooseLanguage(lang), f"lang:{lang}")
      for lang in typing.get_args(actions.Lang)],
    *[(actions.MenuItem(item), f"menu:{item}") for item in ("order", "contacts", "language")],
    (actions.AskPerson(), "person"),
    (actions.Arrived(ORDER, ok=True), f"fu:ok:{ORDER}"),
    (actions.Arrived(ORDER, ok=False), f"fu:bad:{ORDER}"),
    *[(actions.Rate(ORDER, n), f"rate:{ORDER}:{n}") for n in range(1, 6)],
    (actions.ReturnOrder(ORDER), f"ret:o:{ORDER}"),
    (actions.ReturnItem(7), "ret:i:7"),
    (actions.ReturnReason("changed_mind"), "ret:r:changed_mind"),
    (actions.ReturnPhotosDone(), "ret:p"),
    (actions.ReturnResolution("exchange"), "ret:x:exchange"),
    (actions.ReturnWanted(WANTED), f"ret:v:{WANTED}"),
    (actions.ReturnWanted(""), "ret:v:"),
    (actions.ReturnSend(), "ret:s"),
    (actions.ReturnCancel(), "ret:c"),
    (actions.Subscribe(), "sub"),
    (actions.Forget(sure=True), "forget:yes"),
    (actions.Forget(sure=False), "forget:no"),
    (actions.CartOpen(), "cart:v:0"),
    (actions.CartChange(3, 1), "cart:p:3"),
    (actions.CartChange(0, -1), "cart:m:0"),
    (actions.CartRemove(12), "cart:x:12"),
    (actions.CheckOut(), "cart:c:0"),
    *[(actions.RateHelp("0f" * 8, n), f"hr:{'0f' * 8}:{n}") for n in range(1, 6)],
    (actions.SkipHelpComment("0f" * 8), f"hrs:{'0f' * 8}"),
]


def test_every_kind_of_action_is_covered() -> None:
    assert {type(action) for action, _ in WIRE} == set(typing.get_args(Action))


@pytest.mark.parametrize(("action", "wire"), WIRE, ids=[w[:24] for _, w in WIRE])
def test_an_action_packs_as_before_fits_and_unpacks_to_itself(action: Action,
                                                               wire: str) -> None:
    packed = pack(action)
    assert packed == wire
    assert len(packed.encode()) <= 64
    assert unpack(packed) == action


def test_a_selection_is_offered_exactly_when_it_packs() -> None:
    """The card leaves out a value button whose press would not fit (PickOptions.fits); the
    rule and the packing agree on where that is."""
    for count in range(12):
        picks = tuple((i, 10 + i) for i in range(count))
        action = actions.PickOptions(PRODUCT, picks)
        if action.fits():
            assert unpack(pack(action)) == action
        else:
            with pytest.raises(ValueError):
                pack(action)
    assert actions.PickOptions(PRODUCT, ((0, 10), (1, 11), (2, 12), (3, 13))).fits()
    assert not actions.PickOptions(PRODUCT, ((0, 10),) * 5).fits()


@pytest.mark.parametrize("action", [
    actions.ReturnWanted("navy:blue"),  # the separator
    actions.ReturnWanted("w" * 41),  # longer than the exchange step ever read
    actions.OpenProduct("p" * 61),
])
def test_an_action_that_cannot_travel_does_not_pack(action: Action) -> None:
    with pytest.raises(ValueError):
        pack(action)


@pytest.mark.parametrize("data", [
    "", ":", "cat:", f"cat:{CATEGORY}:", "cat:shirts:-1", "cat:shirts:+1", "cat:shirts:1000",
    "cat:shirts: 1", "cat:shirts:1_0", "cat:shirts:\u0663", "cat:shirts:1:2", "p", "p:a:b",
    "o:shirt", "o:shirt:0.1,,1.2", "o:shirt:0", "o:shirt:0.1.2", "o:shirt:a.b", "sz:shirt",
    "ord", "lang:", "lang:fr", "lang:EN", "menu:", "menu:stats", "person:1", "fu:ok:",
    "fu:maybe:1045", "fu:ok:" + "9" * 41,
    "rate:1045:0", "rate:1045:6", "rate:1045:", "rate:1045:x", "ret:", "ret:z", "ret:o",
    "ret:i:", "ret:i:-1", "ret:i:1.5", "ret:p:x", "ret:v", "ret:s:1", "ret:c:", "sub:1",
    "unsub", "forget:", "forget:maybe", "staff:done:1", "rs:R1:approved", "bcx:B1",
    "bc:now", "\x00", "é" * 32,
])
def test_forged_or_foreign_data_unpacks_to_nothing(data: str) -> None:
    assert unpack(data) is None


def test_the_handlers_own_buttons_pack_as_before() -> None:
    assert UnsubscribeData().pack() == "unsub"
    assert StaffDoneData(what="done", customer=10**19).pack() == f"staff:done:{10**19}"
    assert ReturnStatusData(request="R123456789012", status="exchanged").pack() \
        == "rs:R123456789012:exchanged"
    assert BroadcastCancelData(broadcast="B123456789012").pack() == "bcx:B123456789012"
    assert ComposeData(what="button").pack() == "bc:button"
    assert ComposePickData(what="only", value="zh-hant").pack() == "bc:only:zh-hant"
    assert ComposePickData(what="active", value="90").pack() == "bc:active:90"


@pytest.mark.parametrize(("kind", "data"), [
    (StaffDoneData, "staff:done:-1"), (StaffDoneData, "staff:done:" + "1" * 21),
    (StaffDoneData, "staff::1"), (StaffDoneData, "staff:undo:1"),
    (ReturnStatusData, "rs:R1:Approved"), (ReturnStatusData, "rs:1:approved"),
    (BroadcastCancelData, "bcx:B"), (BroadcastCancelData, "bcx:1"),
    (ComposeData, "bc:lang"), (ComposePickData, "bc:now:1"), (ComposePickData, "bc:lang"),
])
def test_forged_staff_and_owner_data_does_not_unpack(kind: type, data: str) -> None:
    with pytest.raises((TypeError, ValueError)):
        kind.unpack(data)
