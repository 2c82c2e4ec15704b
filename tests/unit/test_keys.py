"""The key layout is the data's format: a shop's existing data is read under these names.
Each name is written out here as the modules spelled it before `bot/storage/keys.py`; the
inbox's as they are since its keys share one hash tag (`Inbox.migrate` moves the old ones)."""

from __future__ import annotations

from bot.storage.keys import Keys

P = "shopbot:demo"

LAYOUT = {
    "customer": ((7,), f"{P}:customer:7"),
    "business": (("bc-1",), f"{P}:business:bc-1"),
    "cart": ((7,), f"{P}:cart:7"),
    "checkout": (("c1",), f"{P}:checkout:c1"),
    "reservations": ((), f"{P}:reservations"),
    "customers": ((), f"{P}:customers"),
    "conversation": ((7,), f"{P}:conv:7"),
    "history": ((7,), f"{P}:history:7"),
    "tags": ((7,), f"{P}:tags:7"),
    "gift_stock": ((), f"{P}:gift:stock"),
    "gifts_given": ((), f"{P}:gift:given"),
    "handoff": ((7,), f"{P}:handoff:7"),
    "topics": ((), f"{P}:topics"),
    "with_staff": ((), f"{P}:with_staff"),
    "mirror": ((7,), f"{P}:mirror:7"),
    "staff_outbox": ((), f"{P}:staff:outbox"),
    "staff_outbox_late": ((), f"{P}:staff:outbox:late"),
    "staff_member": ((7,), f"{P}:staff_member:7"),
    "topic_lock": ((7,), f"{P}:topic_lock:7"),
    "topic_made": (("ab12",), f"{P}:topic_made:ab12"),
    "staff_people": ((), f"{P}:staff:people"),
    "staff_usernames": ((), f"{P}:staff:usernames"),
    "on_duty": ((), f"{P}:staff:on_duty"),
    "staff_noted": ((7,), f"{P}:staff:noted:7"),
    "order": (("1045",), f"{P}:order:1045"),
    "orders": ((7,), f"{P}:orders:7"),
    "order_token": (("tok",), f"{P}:order_token:tok"),
    "rating": (("1045",), f"{P}:rating:1045"),
    "return_request": (("R1",), f"{P}:return:R1"),
    "returns": ((7,), f"{P}:returns:7"),
    "return_seq": ((), f"{P}:return_seq"),
    "return_draft": ((7,), f"{P}:return_draft:7"),
    "sent": (("birthday", "7:2026"), f"{P}:sent:birthday:7:2026"),
    "arq_queue": ((), f"{P}:arq:queue"),
    "job": (("delivery_check", "1045"), f"{P}:delivery_check:1045"),
    "order_hook": (("1045",), f"{P}:order_hook:1045"),
    "stats": (("2026-11-23",), f"{P}:stats:2026-11-23"),
    "stats_replies": (("2026-11-23",), f"{P}:stats:2026-11-23:reply"),
    "broadcast": (("B1",), f"{P}:bc:B1"),
    "broadcast_queue": (("B1",), f"{P}:bc:B1:queue"),
    "broadcast_claimed": (("B1", "s1"), f"{P}:bc:B1:claimed:s1"),
    "broadcast_sender": (("B1", "s1"), f"{P}:bc:B1:sender:s1"),
    "broadcast_generation": (("B1",), f"{P}:bc:B1:generation"),
    "broadcast_state": (("B1",), f"{P}:bc:B1:state"),
    "broadcast_counts": (("B1",), f"{P}:bc:B1:counts"),
    "broadcast_errors": (("B1",), f"{P}:bc:B1:errors"),
    "broadcast_edited": (("B1",), f"{P}:bc:B1:edited"),
    "broadcasts": ((), f"{P}:bcs"),
    "broadcast_seq": ((), f"{P}:bc_seq"),
    "broadcast_rate": ((), f"{P}:bc_rate"),
    "broadcast_pause": ((), f"{P}:bc_pause"),
    "flood": ((7,), f"{P}:flood:7"),
    "flood_notice": ((7,), f"{P}:flood_notice:7"),
    "pace": (("chat:7",), f"{P}:out:pace:chat:7"),
    "fsm": ((), f"{P}:fsm"),
    "inbox_seen": ((99,), f"{P}:in:{{{P}}}:seen:99"),
    "inbox_queue": (("7",), f"{P}:in:{{{P}}}:q:7"),
    "inbox_ready": ((), f"{P}:in:{{{P}}}:ready"),
    "inbox_hand": (("c1",), f"{P}:in:{{{P}}}:hand:c1"),
    "inbox_alive": (("c1",), f"{P}:in:{{{P}}}:alive:c1"),
    "inbox_consumers": ((), f"{P}:in:{{{P}}}:consumers"),
    "inbox_out": (("7",), f"{P}:in:{{{P}}}:out:7"),
    "inbox_pin": ((99,), f"{P}:in:{{{P}}}:pin:99"),
    "inbox_batch": (("b1",), f"{P}:in:{{{P}}}:batch:b1"),
    "inbox_batch_done": (("b1",), f"{P}:in:{{{P}}}:batch:b1:done"),
    # The inbox's names before the hash tag, which a process moves at start.
    "inbox_legacy": (("seen:99",), f"{P}:in:seen:99"),
    "own_texts": ((), f"{P}:own_texts"),
    "own_texts_hidden": ((), f"{P}:own_texts:hidden"),
    "own_texts_version": ((), f"{P}:own_texts:version"),
    "own_texts_changed": ((), f"{P}:own_texts:changed"),
    "help_rating": (("0f0f0f0f0f0f0f0f",), f"{P}:help_rating:0f0f0f0f0f0f0f0f"),
    "away": ((), f"{P}:away"),
    "away_told": ((), f"{P}:away:told"),
}


def test_every_key_keeps_its_name() -> None:
    keys = Keys(P)
    named = {name for name in vars(Keys) if not name.startswith("_")
             and callable(getattr(Keys, name))}
    assert named == set(LAYOUT), "a key added or removed: write its name into LAYOUT"
    for name, (args, expected) in LAYOUT.items():
        assert getattr(keys, name)(*args) == expected, name


def test_a_prefix_ending_in_a_colon_keeps_each_layer_where_it_was() -> None:
    """The store stripped the colon; the inbox, the pacer and aiogram's FSM did not."""
    keys = Keys("shop:")
    assert keys.customer(7) == "shop:customer:7"
    assert keys.inbox_seen(1) == "shop::in:{shop:}:seen:1"
    assert keys.pace("all") == "shop::out:pace:all"
    assert keys.fsm() == "shop::fsm"
