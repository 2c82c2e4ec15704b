"""Every Redis key the bot uses, by name, under the shop's prefix (`REDIS_PREFIX`).

Nothing else in the project spells a key: a module asks `Keys` for it. Each method's
docstring says, on its first line, the key's Redis type and what it holds, then (optionally)
the details; `docs/hooks.py` renders the key table of the Storage page from them, calling
each method with its parameters' names as placeholders (`<user id>`), so the table cannot
drift from the code. A new key is a new method here, in the section of its aggregate.

The layout is the data's on-disk format: existing shops' data is read under these names, so
a name never changes without a migration.
"""

from __future__ import annotations

Part = int | str  # an id, or a placeholder (`<user id>`) or a pattern (`*`) for scans


class Keys:
    def __init__(self, prefix: str) -> None:
        self.prefix = prefix.rstrip(":")
        # The inbox, the pacer and aiogram's FSM always put the prefix as given before their
        # names: a REDIS_PREFIX ending in ":" keeps their keys where they were.
        self._given = prefix

    def _key(self, *parts: Part) -> str:
        return ":".join([self.prefix, *map(str, parts)])

    def _as_given(self, *parts: Part) -> str:
        return ":".join([self._given, *map(str, parts)])

    # -- customers and their conversations (bot/storage/store.py) ------------------------------
    def customer(self, user_id: Part) -> str:
        """hash: who the customer is.

        `id`, `first_name`, `last_name`, `username`, `telegram_language`, `language` (once
        chosen with `/language`), `first_seen`, `last_seen` (Unix timestamps), `visits`,
        `gifts_promised` (gifts granted to them), `blocked` (`1` once Telegram refused a
        message the bot started or reported a block, `0` once the customer unblocks the
        bot), `promotions` (`0` after `/stop` or *🔕 No more promotions*: no broadcasts or
        birthday greeting; `1` after `/start` or *🔔 Send me offers again*; missing means
        on), `birthday` (`MM-DD`, from the shop's API), `business` (the business
        connection the customer last wrote through, empty once they write to the bot's
        own chat: where the messages the bot starts go), `owner_at` and `owner_by` (when
        the business account's owner last wrote to them in person, and the owner's user id:
        the bot is quiet there a while, or until that owner hands the chat back)."""
        return self._key("customer", user_id)

    def customers(self) -> str:
        """sorted set: customer ids, scored by when the bot last heard from each.

        Any message or button press counts; broadcasts find their recipients here. Customers
        who last wrote before this index existed join it when they next write."""
        return self._key("customers")

    def conversation(self, user_id: Part) -> str:
        """hash: the current conversation.

        `started_at`, `last_message_at`, `closed` (`0`/`1`), `messages`, `product` (the
        product last shown on a card, for follow-ups; gone when a new conversation starts),
        `selection` (JSON: the option values that card was about, kept for options a
        follow-up does not name), `discount_refusals`, `shipping_refusals`, `gift_refusals`
        (where the bargaining ladder stands), `misunderstood` (messages in a row the bot did
        not understand)."""
        return self._key("conv", user_id)

    def history(self, user_id: Part) -> str:
        """list: the last 30 lines of the conversation, for the staff's card.

        Each as JSON `{"at", "who", "text"}` (`who` is `customer`, `bot` or `staff`). Kept
        with or without a staff chat; a line older than `HISTORY_RETENTION_DAYS` goes."""
        return self._key("history", user_id)

    def tags(self, user_id: Part) -> str:
        """set: the customer's tags."""
        return self._key("tags", user_id)

    def gift_stock(self) -> str:
        """string: gifts left.

        Set from `policy.gift.stock` when the first gift is granted, then counted down (a
        reload does not reset it)."""
        return self._key("gift", "stock")

    def gifts_given(self) -> str:
        """hash: gifts granted per customer id (the `per_customer` limit)."""
        return self._key("gift", "given")

    # -- the staff chat (bot/storage/takeovers.py, handlers/staff_desk.py) ----------------------
    def handoff(self, user_id: Part) -> str:
        """hash: who holds the conversation, and the customer's staff topic.

        `topic` (the customer's topic in the staff chat), `card` (the card's message id),
        `staff` (`1` while a person holds the conversation, else `0`), `reason` (`human`,
        `complaint`, `return_request`, `misunderstood`, `button`, `low_rating`, or `staff`
        when staff wrote first), `since` (when a person took over), `active_at` (the last
        message either way), `replied` (`1` once staff have answered since the handoff, so
        the first-reply time is counted once), `assignee` (the staff member's user id who
        has the conversation, empty while no one took it), `assigned_at` (since when),
        `detail` (JSON: what the card says of the reason, such as the order rated low),
        `card_of` (the `since` of the handoff the card was posted for: each handoff's card is
        posted once, by whichever process gets there first)."""
        return self._key("handoff", user_id)

    def topics(self) -> str:
        """hash: topic thread id → customer id, to route staff messages."""
        return self._key("topics")

    def with_staff(self) -> str:
        """sorted set: customers a person holds, scored by last activity (`active_at`).

        For the idle return: idle ones are found without scanning."""
        return self._key("with_staff")

    def mirror(self, user_id: Part) -> str:
        """hash: message copies, for edits.

        `in:<message id>` → its copy in the topic, `out:<message id>` → the copy of a staff
        message in the private chat. Expires 7 days after the last copy."""
        return self._key("mirror", user_id)

    def staff_outbox(self) -> str:
        """sorted set: the staff chat's booked slots (20 a minute), scored by their time.

        Shared by all processes (bot/storage/outbox.py)."""
        return self._key("staff", "outbox")

    def staff_outbox_late(self) -> str:
        """string: when the current backlog of the staff chat drains.

        So staff are told once per backlog."""
        return self.staff_outbox() + ":late"

    def staff_member(self, user_id: Part) -> str:
        """string: `1` or `0`, whether the user is a member of the staff chat.

        Expires after 5 minutes."""
        return self._key("staff_member", user_id)

    def topic_lock(self, user_id: Part) -> str:
        """string: the token of the process making the customer's topic.

        Expires after 5 minutes."""
        return self._key("topic_lock", user_id)

    def topic_made(self, token: Part) -> str:
        """list: `1` once the process holding that token made the topic, with its card.

        The processes waiting for the topic block on it; it expires after 5 minutes and is
        named by the token, not the customer, so it keeps nothing about them."""
        return self._key("topic_made", token)

    def staff_people(self) -> str:
        """hash: the staff chat's members the bot has seen act, by user id: JSON `name`,
        `username`.

        So the card and /stats can name people, and /pass @username find them."""
        return self._key("staff", "people")

    def staff_usernames(self) -> str:
        """hash: a staff member's @username (lower case) → user id, for /pass @username."""
        return self._key("staff", "usernames")

    def on_duty(self) -> str:
        """set: user ids of the staff on duty (/duty): a handoff's card calls them by name."""
        return self._key("staff", "on_duty")

    def staff_noted(self, user_id: Part) -> str:
        """set: staff told that their messages in the customer's topic stay notes while a
        colleague has it (`<person>:<assignee>`), so they are told once.

        Cleared when the conversation changes hands."""
        return self._key("staff", "noted", user_id)

    # -- the away mode (bot/storage/away.py) -----------------------------------------------------
    def away(self) -> str:
        """hash: the away mode an owner set with /away: `mode` (`holiday` or `unanswered`),
        `until` (a holiday's day the team is back, `YYYY-MM-DD` in the shop's zone), `minutes`
        (how long a handoff waits for staff's first reply), `by` (the owner's user id), `at`.

        Missing while the mode is off. Every process reads it at each handoff."""
        return self._key("away")

    def away_told(self) -> str:
        """hash: customer id → the start (Unix time) of the conversation that was told the team
        is on holiday, so a conversation is told once. Emptied when the mode changes."""
        return self._key("away", "told")

    # -- carts and checkouts (bot/storage/carts.py) ---------------------------------------------
    def cart(self, user_id: Part) -> str:
        """string: the customer's cart, JSON.

        `lines`, in the order added, each `product` (the shop file's id), `options` (option
        id → value id, the variant), `quantity`; `checkout`, the checkout whose invoice
        stands for the cart as it is (none once it changes)."""
        return self._key("cart", user_id)

    def checkout(self, checkout_id: Part) -> str:
        """string: a checkout (the cart as it was invoiced), JSON; the invoice's payload
        names it.

        `customer`, `lines` (with their prices), `currency`, `subtotal`, `stars`, `at`,
        `paid` (the Telegram charge id, once paid). Expires 30 days after it was made."""
        return self._key("checkout", checkout_id)

    def reservations(self) -> str:
        """hash: stock held for checkouts being paid, by checkout id, JSON.

        `lines` (line key → quantity), `stock` (line key → the shop file's stock when
        held: once the file says otherwise, it counts the sale and the hold goes),
        `until` (Unix time; a paid checkout's is 0: held until then), `customer`."""
        return self._key("reservations")

    # -- Telegram Business (bot/storage/business.py) ----------------------------------------------
    def business(self, connection_id: Part) -> str:
        """hash: a business account connected to the bot.

        `owner` (the account's user id), `owner_chat` (the bot's private chat with them),
        `language` (their Telegram language), `enabled` and `can_reply` (`1`/`0`, as
        Telegram last said), `automatic` (`1` once Telegram's own greeting or away message
        was seen there: the bot does not greet on top of it)."""
        return self._key("business", connection_id)

    # -- orders (bot/storage/orders.py) --------------------------------------------------------
    def order(self, order_id: Part) -> str:
        """string: the order as JSON.

        `id`, `customer`, `status`, `items`, `total`, `carrier`, `tracking`,
        `tracking_url`, `expected`, `token` (until the link is opened), `events` (event →
        Unix time)."""
        return self._key("order", order_id)

    def orders(self, user_id: Part) -> str:
        """sorted set: the customer's order ids, scored by when each order was created."""
        return self._key("orders", user_id)

    def order_token(self, token: Part) -> str:
        """string: the order a one-time link's token binds; deleted when the link is opened."""
        return self._key("order_token", token)

    # -- after the sale (bot/storage/aftersale.py) ----------------------------------------------
    def rating(self, order_id: Part) -> str:
        """string: the order's rating, 1–5; the first one stands."""
        return self._key("rating", order_id)

    def return_request(self, request_id: Part) -> str:
        """string: a return or exchange request (`R1`, …) as JSON.

        `id`, `customer`, `order`, `item` (its index in the order), `reason`, `resolution`,
        `wanted`, `photos` (message ids in the private chat), `status`, `created_at`."""
        return self._key("return", request_id)

    def returns(self, user_id: Part) -> str:
        """list: the customer's request ids, oldest first."""
        return self._key("returns", user_id)

    def return_seq(self) -> str:
        """string: the last request number given."""
        return self._key("return_seq")

    def return_draft(self, user_id: Part) -> str:
        """hash: the request being put together.

        `step`, `order`, `item`, `reason`, `photos`, `resolution`, `wanted`. Expires 1 day
        after the last step."""
        return self._key("return_draft", user_id)

    # -- follow-ups (bot/storage/jobs.py) -------------------------------------------------------
    def sent(self, *what: Part) -> str:
        """string: a follow-up's send-once marker.

        `sent:delivery_check:<order id>`, `sent:birthday:<user id>:<year>`: `1` set just
        before sending, `skipped` when it was not sent (too late, not the day). Kept; but
        `sent:away_unanswered:<user id>:<handoff's start>` (the away mode's "busy" message)
        only 2 days."""
        return self._key("sent", *what)

    def arq_queue(self) -> str:
        """sorted set: the follow-up queue, arq's: job ids, scored by when each is due (ms).

        `<prefix>:arq:queue:health-check` is the worker's heartbeat."""
        return self._key("arq", "queue")

    def job(self, name: Part, *about: Part) -> str:
        """arq's own: a job's id, which names arq's keys of it.

        `arq:job:<job id>`, `arq:in-progress:…`, `arq:retry:…`, `arq:result:…`: a queued
        job, a job running, its tries, and a finished job's result (kept 7 days). arq names
        these keys itself, outside the prefix; the job ids carry the prefix:
        `<prefix>:delivery_check:<order id>`, `<prefix>:birthday:<user id>:<year>`,
        `<prefix>:broadcast:<id>:<lane>:<generation>:<slice>` (the generation counting
        revivals), `<prefix>:order_webhook:<order id>` and its retries
        `<prefix>:order_webhook:<order id>:<try>`, and the cron job
        `<prefix>:revive_broadcasts`."""
        return self._key(name, *about)

    # -- the order webhook (bot/storage/order_hooks.py) -----------------------------------------
    def order_hook(self, order_id: Part) -> str:
        """hash: telling the shop's backend of an order the bot created (`ORDER_WEBHOOK_URL`).

        `queued_at` (Unix time, set once: a second queuing of the order is refused),
        `body` (the exact JSON posted, signed as it is; dropped once delivered or given up),
        `tries`, `last_error` (the last try's failure: an HTTP status, a timeout, a
        connection error), `last_try_at`, `delivered` (the Unix time of the 2xx answer: a
        job run again after it sends nothing), `gave_up` (the Unix time the tries stopped,
        48 hours after queuing). Kept 30 days after the last write."""
        return self._key("order_hook", order_id)

    # -- statistics (bot/storage/stats.py) ------------------------------------------------------
    def stats(self, day: Part) -> str:
        """hash: the day's counters, in the shop's time zone.

        `conversations`, `handoffs`, `followups`, `broadcasts`, `broadcast_messages`,
        `rating_1` … `rating_5` (orders), `help_rating_1` … `help_rating_5` (a person's
        help). Kept 400 days."""
        return self._key("stats", day)

    def stats_replies(self, day: Part) -> str:
        """list: seconds from each handoff to the team's first reply, that day.

        Kept 400 days."""
        return self._key("stats", day, "reply")

    # -- broadcasts (bot/storage/broadcasts.py) -------------------------------------------------
    def broadcast(self, bid: Part) -> str:
        """string: a broadcast (`B1`, …) as JSON.

        `id`, `variants` (per language: `text`, `photo`, `button_text`, `button_url`),
        `default`, `segment`, `status` (`scheduled`, `running`, `cancelled`, `done`),
        `created_at`, `at`, `total` (recipients), `owner_chat` and `status_message` (the
        owner's progress message), `finished_at`. A broadcast's keys stay after it ends."""
        return self._key("bc", bid)

    def broadcast_queue(self, bid: Part) -> str:
        """list: recipients not yet taken by a sender."""
        return self._key("bc", bid, "queue")

    def broadcast_claimed(self, bid: Part, sender: Part) -> str:
        """list: recipients a sender took and has not finished."""
        return self._key("bc", bid, "claimed", sender)

    def broadcast_sender(self, bid: Part, sender: Part) -> str:
        """string: a sender's heartbeat, the Unix time it last beat (every 5 seconds).

        30 seconds without a beat, and the sender's recipients are rescued (the key itself
        expires after 300)."""
        return self._key("bc", bid, "sender", sender)

    def broadcast_generation(self, bid: Part) -> str:
        """string: how many times the broadcast was started again after its lanes all died."""
        return self._key("bc", bid, "generation")

    def broadcast_state(self, bid: Part) -> str:
        """hash: recipient → `pending`, `sending`, `sent`, `failed`, `blocked` or `left`.

        Or `skipped` (turned promotions off after the broadcast was made). A recipient is
        `sending` before the message goes, so a sender that dies mid-send is not repeated."""
        return self._key("bc", bid, "state")

    def broadcast_counts(self, bid: Part) -> str:
        """hash: outcome → how many recipients."""
        return self._key("bc", bid, "counts")

    def broadcast_errors(self, bid: Part) -> str:
        """hash: recipient → what went wrong.

        What Telegram said (its first 200 characters), `outcome unknown` (the sender died
        mid-send) or `outcome unknown (network)`."""
        return self._key("bc", bid, "errors")

    def broadcast_edited(self, bid: Part) -> str:
        """string: set for 5 seconds after each edit of the owner's progress message."""
        return self._key("bc", bid, "edited")

    def broadcasts(self) -> str:
        """sorted set: broadcast ids, scored by when each was created."""
        return self._key("bcs")

    def broadcast_seq(self) -> str:
        """string: the last broadcast number given."""
        return self._key("bc_seq")

    def broadcast_rate(self) -> str:
        """string: the next free send instant (Unix time), booked by every sender of the shop.

        Expires after 60 seconds."""
        return self._key("bc_rate")

    def broadcast_pause(self) -> str:
        """string: after a 429, no sender sends before this Unix time."""
        return self._key("bc_pause")

    # -- flood control (bot/storage/flood.py) ---------------------------------------------------
    def flood(self, user_id: Part) -> str:
        """sorted set: the shopper's recent messages, scored by time.

        An album counts once (its `media_group_id` is the member). Expires a second after
        the flood window (`FLOOD_SECONDS`)."""
        return self._key("flood", user_id)

    def flood_notice(self, user_id: Part) -> str:
        """string: set while a flood lasts, so the notice goes once."""
        return self._key("flood_notice", user_id)

    # -- outgoing calls (bot/app/pacing.py) -----------------------------------------------------
    def pace(self, scope: Part) -> str:
        """string: a GCRA ledger of Telegram's limits, the next message's theoretical time.

        `<scope>`: `all` (the bot's 30 a second) or `chat:<chat id>` (1 a second to a
        private chat, 20 a minute to a group). Each expires a second after its time passed."""
        return self._as_given("out", "pace", scope)

    # -- aiogram (bot/app/factory.py) -----------------------------------------------------------
    def fsm(self) -> str:
        """aiogram FSM: the prefix of aiogram's `RedisStorage`.

        It adds `:<chat id>:<user id>:default:{state,data}`. On the in-process Redis the FSM
        is aiogram's `MemoryStorage`, and this prefix is not used."""
        return self._as_given("fsm")

    # -- the inbox (bot/storage/inbox.py) -------------------------------------------------------
    # Every inbox key carries one hash tag, the prefix (`<prefix>:in:{<prefix>}:…`): Redis
    # Cluster puts them all in one slot, so each Lua script of the inbox runs there, and two
    # shops on one cluster are in two slots.
    def _inbox(self, *parts: Part) -> str:
        return self._as_given("in", "{" + self._given + "}", *parts)

    def inbox_seen(self, update_id: Part) -> str:
        """string: `1` while the update is queued, `2` once handled.

        Kept a day, so Telegram sending it again changes nothing."""
        return self._inbox("seen", update_id)

    def inbox_queue(self, chat: Part) -> str:
        """list: a chat's updates not yet handled, oldest first.

        `<chat>`: `<chat id>`, `<chat id>:<topic>` in a forum, `u<user id>` without a chat.
        Each as `<update id> ` followed by JSON `{"b": batch, "u": update}`; the head is in
        hand until handled."""
        return self._inbox("q", chat)

    def inbox_ready(self) -> str:
        """list: chats with updates that no process holds.

        Each as a claim `<chat>#<update id>` (the update that made the chat ready)."""
        return self._inbox("ready")

    def inbox_hand(self, consumer: Part) -> str:
        """list: the claims a process holds now.

        A process acts on a chat only while its very claim is there, so one that lost a chat
        (its lease lapsed, or Redis lost its data) cannot take it from the one that holds it
        now."""
        return self._inbox("hand", consumer)

    def inbox_alive(self, consumer: Part) -> str:
        """string: a process's lease, renewed every 5 seconds; expires after 15."""
        return self._inbox("alive", consumer)

    def inbox_consumers(self) -> str:
        """set: the processes that may hold chats."""
        return self._inbox("consumers")

    def inbox_out(self, chat: Part) -> str:
        """list: what the update at the head of the chat's queue sent, while it is in hand.

        `begun <update id>` for each try, then each send's method, chat and result as JSON.
        A try of another update starts it afresh; deleted once its update is handled (kept a
        day at most)."""
        return self._inbox("out", chat)

    def inbox_pin(self, update_id: Part) -> str:
        """hash: shopper → the state the update's first try found, as JSON.

        The conversation, the visit count and the gifts granted to them; a second try (its
        process having died) starts from it, so it decides the same replies. Deleted once
        handled."""
        return self._inbox("pin", update_id)

    def inbox_batch(self, batch: Part) -> str:
        """string: in polling mode, how many updates of a batch are still unhandled."""
        return self._inbox("batch", batch)

    def inbox_batch_done(self, batch: Part) -> str:
        """list: in polling mode, the signal that no update of the batch is unhandled."""
        return self._inbox("batch", batch, "done")

    def inbox_legacy(self, rest: Part) -> str:
        """any: an inbox key as named before the hash tag, `seen:<update id>`, `q:<chat>`, ….

        The same names as above without `{<prefix>}:` (and `out:` by update id). A process
        that starts moves those it finds to the names above (`Inbox.migrate`), on a single
        Redis; Redis Cluster never had them."""
        return self._as_given("in", rest)

    # -- rating a person's help (bot/storage/stats.py) ------------------------------------------
    def help_rating(self, ask: Part) -> str:
        """string: a hand-back's "how was the help?" (16 hex digits): `0` asked, then 1–5.

        Made at the hand-back; the first rating stands. After a colon, the user id of the
        staff member whose help it was (`0:<id>`, then `<stars>:<id>`), whose figures in
        `stats` count it. Holds no shopper's id: the ask is unguessable. Kept 30 days."""
        return self._key("help_rating", ask)

    # -- texts worded in Telegram (bot/storage/own_texts.py) -------------------------------------
    def own_texts(self) -> str:
        """hash: messages the owners worded in Telegram (/texts, /replies), `<message> <lang>`
        → the text, with placeholders in braces as in the shop file's `texts:`.

        Read over the shop file's `texts:` and the templates, per language."""
        return self._key("own_texts")

    def own_texts_hidden(self) -> str:
        """set: quick-reply keys an owner removed (`wait`...): /reply no longer offers them,
        bundled ones included, until one is added again."""
        return self._key("own_texts", "hidden")

    def own_texts_version(self) -> str:
        """string: counts the changes to `own_texts` and `own_texts:hidden`, made with each.

        A process holds the texts of one version; a different one means it reads them again."""
        return self._key("own_texts", "version")

    def own_texts_changed(self) -> str:
        """pub/sub channel: each change's new version, so every process reads the texts again
        at once (not a stored key)."""
        return self._key("own_texts", "changed")
