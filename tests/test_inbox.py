"""Updates are never lost and never taken twice; one chat's in order, chats in parallel,
across processes; nothing polls a lock."""

from __future__ import annotations

import asyncio
import random
import re
import signal
import sys
from collections import defaultdict
from html import unescape
from pathlib import Path

import aiohttp
import pytest
from aiogram.client.session.middlewares.base import BaseRequestMiddleware
from redis.asyncio import Redis

from bot import DEMO_SHOP
from bot.app.runtime import App
from bot.core.shop import load_shop
from bot.devtools.fake_bot_api import FakeBotAPI, Shopper
from bot.storage.inbox import CONCURRENCY, TRIES, Inbox, chat_key
from bot.storage.keys import Keys
from bot.storage.store import Store
from handlers.layer import create_app
from tests.conftest import TOKEN, FakeClock, Harness, redis_url, settings_for
from tests.test_running import free_port, shopbot_env

SECRET = "inbox-test-secret"


def message(update_id: int, chat: int, text: str) -> dict:
    return {"update_id": update_id,
            "message": {"message_id": update_id, "date": 1, "text": text,
                        "chat": {"id": chat, "type": "private"},
                        "from": {"id": chat, "is_bot": False, "first_name": "A"}}}


async def until(condition, seconds: float, what: str) -> None:  # type: ignore[no-untyped-def]
    for _ in range(int(seconds * 20)):
        if await condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"not within {seconds} s: {what}")


def test_updates_are_ordered_by_chat_and_forum_topic() -> None:
    assert chat_key(message(1, 42, "hi")) == "42"
    topic = {"update_id": 2, "message": {"chat": {"id": -100}, "message_thread_id": 7,
                                         "is_topic_message": True, "from": {"id": 5}}}
    assert chat_key(topic) == "-100:7"
    press = {"update_id": 3, "callback_query": {"id": "q", "from": {"id": 42},
                                                "message": {"chat": {"id": 42}}}}
    assert chat_key(press) == "42"
    inline = {"update_id": 4, "inline_query": {"id": "i", "from": {"id": 9}, "query": ""}}
    assert chat_key(inline) == "u9"
    assert chat_key({"update_id": 5}) == "-"


async def test_two_processes_keep_each_chat_in_order_and_share_the_chats(
        redis: Redis, prefix: str) -> None:
    clients = [Redis.from_url(redis_url()) for _ in range(2)]
    inboxes = [Inbox(client, prefix, concurrency=8) for client in clients]
    seen: dict[int, list[int]] = defaultdict(list)
    by_consumer: dict[str, int] = defaultdict(int)
    busy: set[int] = set()
    overlaps: list[int] = []
    most_at_once = 0
    all_handled = asyncio.Event()
    rng = random.Random(7)

    def handler(inbox: Inbox):  # type: ignore[no-untyped-def]
        async def handle(update: dict) -> None:
            nonlocal most_at_once
            chat = update["message"]["chat"]["id"]
            if chat in busy:
                overlaps.append(chat)
            busy.add(chat)
            most_at_once = max(most_at_once, len(busy))
            await asyncio.sleep(rng.random() / 100)
            seen[chat].append(int(update["message"]["text"]))
            by_consumer[inbox.me] += 1
            busy.discard(chat)
            if sum(map(len, seen.values())) == 300:
                all_handled.set()
        return handle

    for inbox in inboxes:
        inbox.start(handler(inbox))
    try:
        update_id = 0
        for n in range(15):
            for chat in range(1, 21):
                update_id += 1
                assert await inboxes[update_id % 2].put(message(update_id, chat, str(n)))
        # Telegram sending one again (a lost 200) changes nothing.
        assert not await inboxes[0].put(message(1, 1, "0"))

        await asyncio.wait_for(all_handled.wait(), 120)  # a bound only if something is wrong
        assert {chat: order for chat, order in seen.items()} == \
            {chat: list(range(15)) for chat in range(1, 21)}
        assert overlaps == []  # never two updates of one chat at once
        assert most_at_once > 1  # different chats in parallel
        assert all(by_consumer[inbox.me] > 0 for inbox in inboxes)
        assert await inboxes[0].state(1) == "handled"
        assert await inboxes[0].state(300) == "handled"
        assert await redis.llen(Keys(prefix).inbox_ready()) == 0
    finally:
        for inbox, client in zip(inboxes, clients, strict=True):
            await inbox.stop()
            await client.aclose()


class CountingRedis(Redis):
    """Counts the commands this client sends; `blocking` is set at its first blocking call."""

    sent = 0

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.blocking = asyncio.Event()

    async def execute_command(self, *args, **options):  # type: ignore[no-untyped-def]
        self.sent += 1
        if args[0] == "BRPOPLPUSH":
            self.blocking.set()
        return await super().execute_command(*args, **options)


async def test_waiting_for_updates_polls_nothing(prefix: str) -> None:
    """Idle consumers block in Redis. A lock-polling design sends ~10 commands a second per
    waiter; these send nothing while they wait, and a put wakes one at once. (A wake-up
    and a lease long enough that neither comes during the test: what is measured is the
    waiting itself, from the moment each consumer is blocked.)"""
    clients = [CountingRedis.from_url(redis_url()) for _ in range(2)]
    inboxes = [Inbox(client, prefix, lease=240, wake=120) for client in clients]
    handled = asyncio.Event()

    async def handle(update: dict) -> None:
        handled.set()

    for inbox in inboxes:
        inbox.start(handle)
    try:
        for client in clients:  # started: lease taken, first blocking call made
            await asyncio.wait_for(client.blocking.wait(), 60)
        before = [client.sent for client in clients]
        assert min(before) >= 3  # lease, membership, a blocking call: the count works
        await asyncio.sleep(3)  # the idle time measured: nothing is sent in it
        assert [client.sent - sent for client, sent in zip(clients, before, strict=True)] \
            == [0, 0]
        await inboxes[0].put(message(1, 5, "hi"))
        # A put wakes one at once: well before either would wake up by itself.
        await asyncio.wait_for(handled.wait(), 60)
    finally:
        for inbox, client in zip(inboxes, clients, strict=True):
            await inbox.stop()
            await client.aclose()


async def test_a_dead_consumers_chats_are_taken_back(redis: Redis, prefix: str) -> None:
    dead = Inbox(Redis.from_url(redis_url()), prefix, lease=1, wake=0.5)
    stuck = asyncio.Event()

    async def hang(update: dict) -> None:
        stuck.set()
        await asyncio.Event().wait()

    dead.start(hang)
    await dead.put(message(1, 77, "first"))
    await dead.put(message(2, 77, "second"))
    await asyncio.wait_for(stuck.wait(), 60)
    # The process dies mid-update: nothing of it runs any more, nothing is given back.
    for task in [*dead._serving, *dead._tasks]:
        task.cancel()
    await dead.redis.aclose()

    got: list[str] = []
    both = asyncio.Event()
    alive = Inbox(Redis.from_url(redis_url()), prefix, lease=1, wake=0.5)

    async def handle(update: dict) -> None:
        got.append(update["message"]["text"])
        if len(got) == 2:
            both.set()

    alive.start(handle)
    try:
        # Once the dead one's lease lapses (1 s), the live one takes its chat back.
        await asyncio.wait_for(both.wait(), 60)
        assert got == ["first", "second"]  # interrupted: handled again, and in order
        assert alive.metrics.registry.get_sample_value("shopbot_updates_again_total") == 1
        assert await alive.state(2) == "handled"
        # Forgotten once found holding nothing: by the next look, whoever makes it.
        await alive.reclaim()
        assert await redis.smembers(Keys(prefix).inbox_consumers()) == {alive.me.encode()}
    finally:
        await alive.stop()
        await alive.redis.aclose()


async def test_the_webhook_answers_200_once_queued_and_takes_a_repeat_once(
        api: FakeBotAPI, redis: Redis, prefix: str, tmp_path: Path) -> None:
    port = free_port()
    bot = await start_shopbot(api, prefix, port, tmp_path)
    url = f"http://127.0.0.1:{port}/hook"
    try:
        shopper = api.new_shopper(first_name="Ann")
        update = api.message_update(shopper, "hello")
        async with aiohttp.ClientSession() as http:
            for body, status in ((b"{not json", 400), (b'{"no": "id"}', 400)):
                async with http.post(url, data=body, headers={
                        "X-Telegram-Bot-Api-Secret-Token": SECRET}) as response:
                    assert response.status == status
            for _ in range(2):  # Telegram retries when a 200 was lost on the way
                async with http.post(url, json=update, headers={
                        "X-Telegram-Bot-Api-Secret-Token": SECRET}) as response:
                    assert response.status == 200
        await api.wait_for(lambda c: c.chat_id == shopper.id, timeout=60)

        async def all_handled() -> bool:
            # Handled, and nothing of the chat left queued or in hand: had the repeat been
            # queued, its greeting would be sent by now too.
            return await redis.get(Keys(prefix).inbox_seen(update["update_id"])) == b"2" \
                and not await redis.exists(Keys(prefix).inbox_queue(shopper.id))
        await until(all_handled, 60, "the update handled, nothing of its chat queued")
        greetings = [c for c in api.sent_to(shopper.id) if "Ann" in c.params.get("text", "")]
        assert len(greetings) == 1
    finally:
        bot.terminate()
        assert await bot.wait() == 0  # SIGTERM: a clean stop
    assert "Traceback" not in (tmp_path / "shopbot.log").read_text()


async def start_shopbot(api: FakeBotAPI, prefix: str, port: int,
                        cwd: Path, **settings: str) -> asyncio.subprocess.Process:
    """`shopbot run` in webhook mode, on the demo shop (`settings`: more of the
    environment)."""
    env = shopbot_env(**settings,
        BOT_TOKEN=TOKEN, TELEGRAM_API_SERVER=api.url, REDIS_URL=redis_url(),
        REDIS_PREFIX=prefix, WEBHOOK_URL=f"http://127.0.0.1:{port}/hook",
        WEBHOOK_SECRET=SECRET, HOST="127.0.0.1", PORT=str(port),
        # Telegram's 30 messages a second would make this test wait, not prove more.
        BROADCAST_RATE="1000", PAID_BROADCAST="true")
    with (cwd / "shopbot.log").open("ab") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "handlers", "run", env=env, cwd=cwd,
            stdout=asyncio.subprocess.DEVNULL, stderr=log)

    async def listening() -> bool:
        assert process.returncode is None, (cwd / "shopbot.log").read_text()
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            return False
        writer.close()
        return True
    try:
        await until(listening, 60, f"shopbot listening on port {port}")
    except BaseException:
        if process.returncode is None:
            process.kill()
        raise
    return process


async def test_sigkill_with_1000_updates_in_flight_loses_none_and_repeats_none(
        api: FakeBotAPI, redis: Redis, prefix: str, tmp_path: Path) -> None:
    port = free_port()
    bot = await start_shopbot(api, prefix, port, tmp_path)
    shoppers = [api.new_shopper() for _ in range(200)]
    updates = [api.message_update(shopper, f"do you have linen shirts? ({n})")
               for n in range(5) for shopper in shoppers]
    ids = [update["update_id"] for update in updates]
    keys = Keys(prefix)
    states = [keys.inbox_seen(update_id) for update_id in ids]

    async def handled() -> int:
        return sum(state == b"2" for state in await redis.mget(states))

    try:
        posted = asyncio.Semaphore(50)
        async with aiohttp.ClientSession() as http:
            async def post(update: dict) -> int:
                async with posted, http.post(
                        f"http://127.0.0.1:{port}/hook", json=update,
                        headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}) as response:
                    return response.status
            statuses = await asyncio.gather(*(post(update) for update in updates))
        assert set(statuses) == {200}  # every one acknowledged: Telegram would not resend

        async def some() -> bool:
            return await handled() >= 100
        await until(some, 60, "100 updates handled")
        bot.send_signal(signal.SIGKILL)
        await bot.wait()
        at_kill = await handled()
        assert at_kill < 1000  # killed with updates still in flight
        # What the dead process held: the update at the head of each chat in its hands, whose
        # try had begun. (A claim it had just moved into its hand, killed before taking the
        # chat's head, is taken afresh: not handled again.)
        in_hand: set[int] = set()
        held_chats: set[int] = set()
        sent_before = 0
        for consumer in await redis.smembers(keys.inbox_consumers()):
            for claim in await redis.lrange(keys.inbox_hand(consumer.decode()), 0, -1):
                chat = claim.decode().rsplit("#", 1)[0]
                head = await redis.lindex(keys.inbox_queue(chat), 0)
                if head is not None:
                    held_chats.add(int(chat))
                    update_id = head.split(b" ", 1)[0]
                    records = await redis.lrange(keys.inbox_out(chat), 0, -1)
                    if records[:1] == [b"begun " + update_id]:
                        in_hand.add(int(update_id))
                        # What it had sent before the kill: the second try must not send
                        # it again.
                        sent_before += len([record for record in records
                                            if not record.startswith(b"begun")])
        assert len(in_hand) <= CONCURRENCY

        bot = await start_shopbot(api, prefix, port, tmp_path)

        async def all_handled() -> bool:
            return await handled() == 1000
        await until(all_handled, 120, "all 1,000 updates handled after the restart")
        async with aiohttp.ClientSession() as http, \
                http.get(f"http://127.0.0.1:{port}/metrics") as response:
            metrics = {line.split()[0]: float(line.split()[1])
                       for line in (await response.text()).splitlines()
                       if line and not line.startswith("#")}
        assert metrics["shopbot_updates_again_total"] == len(in_hand)  # the operator sees it
        assert metrics["shopbot_sends_not_repeated_total"] == sent_before
    finally:
        if bot.returncode is None:
            bot.terminate()
        await bot.wait()

    # Each shopper said the same five things: each must see the same answers, once each
    # (but for a send cut by the kill itself, below), and have their five messages in their
    # history, once each and in order.
    store = Store(redis, prefix)
    answers = {}
    for shopper in shoppers:
        said = [line.text for line in await store.history(shopper.id) if line.who == "customer"]
        assert said == [u["message"]["text"] for u in updates
                        if u["message"]["from"]["id"] == shopper.id], shopper.id
        answers[shopper.id] = len(api.sent_to(shopper.id))
    usual = max(set(answers.values()), key=list(answers.values()).count)
    # The one repeat left: a send Telegram had taken when the kill came, before its answer
    # was recorded. Only a chat held at the kill can have it, and only once.
    repeated = {shopper: n - usual for shopper, n in answers.items() if n != usual}
    assert all(shopper in held_chats and extra == 1 for shopper, extra in repeated.items()), \
        repeated
    print(f"{at_kill} handled before SIGKILL, {len(in_hand)} in hand ({sent_before} sends "
          f"recorded); every shopper got {usual} messages, {len(repeated)} got one more")


async def test_polling_confirms_a_batch_only_once_it_is_handled(
        api: FakeBotAPI, prefix: str) -> None:
    app = create_app(settings_for(api, prefix), clock=FakeClock(), rng=random.Random(1))
    release = asyncio.Event()
    handling = asyncio.Event()
    handle = app.handle

    async def slow(update: dict) -> None:
        handling.set()
        await release.wait()
        await handle(update)

    app.handle = slow  # type: ignore[method-assign]
    waiting = asyncio.Event()
    wait_batch = app.inbox.wait_batch

    async def waits_for_the_batch(batch: str, seconds: float) -> bool:
        waiting.set()
        return await wait_batch(batch, seconds)

    app.inbox.wait_batch = waits_for_the_batch  # type: ignore[method-assign]
    bot = Harness(app, api)
    await bot.start()
    try:
        ann = api.new_shopper(first_name="Ann")
        update_id = api.push_update(api.message_update(ann, "hello"))
        await asyncio.wait_for(handling.wait(), 60)
        # The poller is past the point where it would have asked for the next batch.
        await asyncio.wait_for(waiting.wait(), 60)

        def polls() -> list[int]:
            return [int(c.params.get("offset") or 0) for c in api.calls
                    if c.method == "getUpdates"]
        assert max(polls()) <= update_id  # not confirmed while in hand
        release.set()
        await api.wait_for(lambda c: c.chat_id == ann.id, timeout=60)
        await api.wait_for(lambda c: c.method == "getUpdates"
                           and int(c.params.get("offset") or 0) == update_id + 1, timeout=60)
        assert await app.inbox.state(update_id) == "handled"
    finally:
        release.set()
        await bot.stop()


async def test_an_update_that_keeps_killing_its_process_is_set_aside(
        redis: Redis, prefix: str, caplog: pytest.LogCaptureFixture) -> None:
    inbox = Inbox(Redis.from_url(redis_url()), prefix)
    await inbox.put(message(1, 9, "poison"))
    await inbox.put(message(2, 9, "next"))
    for _ in range(TRIES):  # three processes died while handling it
        await redis.rpush(inbox.keys.inbox_out("9"), "begun 1")
    got: list[str] = []
    done = asyncio.Event()

    async def handle(update: dict) -> None:
        got.append(update["message"]["text"])
        done.set()

    inbox.start(handle)
    try:
        await asyncio.wait_for(done.wait(), 60)
        assert got == ["next"]  # the chat goes on
        assert await inbox.state(1) == "handled"
        assert "update 1 set aside unhandled" in caplog.text
        assert inbox.metrics.registry.get_sample_value("shopbot_updates_set_aside_total") == 1
    finally:
        await inbox.stop()
        await inbox.redis.aclose()


# -- an update handled again decides as its first try did --------------------------------------

class KilledBeforeSending(BaseRequestMiddleware):
    """Once armed, the process is killed as its `at`-th send to `chat` is about to go out:
    the send never reaches Telegram, and nothing after it runs."""

    def __init__(self, chat: int, at: int) -> None:
        self.chat, self.at = chat, at
        self.armed = False
        self.sends = 0
        self.killed = asyncio.Event()

    async def __call__(self, make_request, bot, method):  # type: ignore[no-untyped-def]
        if self.armed and type(method).__name__.startswith("Send") \
                and getattr(method, "chat_id", None) == self.chat:
            self.sends += 1
            if self.sends == self.at:
                self.killed.set()
                await asyncio.Event().wait()  # the kill: this never returns
        return await make_request(bot, method)


async def kill(app: App) -> None:
    """SIGKILL as Redis sees it: nothing of the process runs any more, nothing is given
    back, and its lease has lapsed (no 15 s wait: the lease key goes at once)."""
    inbox = app.inbox
    tasks = [*inbox._serving, *inbox._tasks]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await app.redis.delete(inbox.keys.inbox_alive(inbox.me))
    await app.close()


async def say(app: App, api: FakeBotAPI, shopper: Shopper, text: str) -> str:
    """The shopper writes; returns the update's batch, to wait on with `wait_batch`."""
    update = api.message_update(shopper, text)
    batch = f"b{update['update_id']}"
    assert await app.inbox.put(update, batch)
    return batch


async def handled(app: App, batch: str) -> None:
    assert await app.inbox.wait_batch(batch, 60), f"{batch} not handled within 60 s"


def replies(api: FakeBotAPI, shopper: Shopper) -> list[tuple[str, list[str]]]:
    """What the shopper got, as what can be compared between shoppers: each send's method
    and its buttons (the wording is picked at random)."""
    return [(call.method, [button.get("callback_data") or button.get("url")
                           for row in (call.params.get("reply_markup") or {}).get(
                               "inline_keyboard", []) for button in row])
            for call in api.sent_to(shopper.id)]


async def killed_and_handled_again(api: FakeBotAPI, prefix: str, clock: FakeClock,
                                   said: list[str], at: int) -> tuple[Shopper, App]:
    """A shopper says `said`; the process handling the last message is killed just before
    that message's `at`-th send, after the conversation's state for it was written; a new
    process handles the message again. Returns the shopper and the new process, running."""
    ann = api.new_shopper(first_name="Ann", language_code="en")
    first = create_app(settings_for(api, prefix), clock=clock, rng=random.Random(1))
    killer = KilledBeforeSending(ann.id, at)
    first.bot.session.middleware(killer)
    first.inbox.start(first.handle)
    for text in said[:-1]:
        await handled(first, await say(first, api, ann, text))
    killer.armed = True
    batch = await say(first, api, ann, said[-1])
    await asyncio.wait_for(killer.killed.wait(), 60)
    await kill(first)

    second = create_app(settings_for(api, prefix), clock=clock, rng=random.Random(1))
    second.inbox.start(second.handle)  # it takes back the dead process's chats first thing
    await handled(second, batch)
    assert second.metrics.registry.get_sample_value("shopbot_updates_again_total") == 1
    return ann, second


async def the_same_said_once(api: FakeBotAPI, app: App, said: list[str]) -> Shopper:
    bob = api.new_shopper(first_name="Bob", language_code="en")
    for text in said:
        await handled(app, await say(app, api, bob, text))
    return bob


@pytest.mark.parametrize("at", [1, 2], ids=["before-the-greeting", "before-the-answer"])
async def test_a_first_message_handled_again_is_greeted_once(
        api: FakeBotAPI, redis: Redis, prefix: str, clock: FakeClock, at: int) -> None:
    """The first try opens the conversation (in Redis), then its process dies before the
    greeting (or the answer after it) reaches Telegram. The second try must not find the
    conversation opened by the first: it greets, once, and answers."""
    said = ["do you have linen shirts?"]
    ann, second = await killed_and_handled_again(api, prefix, clock, said, at)
    try:
        bob = await the_same_said_once(api, second, said)
        greeting = ("sendMessage", ["cat", "menu:order", "menu:contacts", "menu:language"])
        assert replies(api, bob)[0] == greeting and len(replies(api, bob)) >= 2
        assert replies(api, ann) == replies(api, bob)
        first, *_ = api.sent_to(ann.id)
        assert "Linen Lane" in first.params["text"] and "Ann" in first.params["text"]
        assert not re.search(r"(?i)welcome back|see you again", first.params["text"])
        assert (await second.store.customer(ann.id)).visits == 1  # type: ignore[union-attr]
        conversation = await second.store.conversation(ann.id)
        assert conversation is not None and conversation.messages == 0
    finally:
        await second.inbox.stop()
        await second.close()


async def test_a_discount_asked_again_after_a_kill_gets_the_first_refusal(
        api: FakeBotAPI, redis: Redis, prefix: str, clock: FakeClock) -> None:
    """The bargaining ladder counts refusals in the conversation: the count the first try
    wrote must not move the second try a rung up."""
    said = ["hello", "can I get a discount?"]
    ann, second = await killed_and_handled_again(api, prefix, clock, said, 1)
    try:
        bob = await the_same_said_once(api, second, said)
        assert replies(api, ann) == replies(api, bob)
        refusal = api.sent_to(ann.id)[-1].params["text"]
        assert "fixed" in refusal or "fair price" in refusal, refusal  # the first rung
        assert await second.store.bargaining(ann.id) == \
            await second.store.bargaining(bob.id) == {"discount": 1, "shipping": 0, "gift": 0}
    finally:
        await second.inbox.stop()
        await second.close()


async def test_a_gift_granted_by_a_killed_try_is_offered_by_the_next(
        api: FakeBotAPI, redis: Redis, prefix: str, clock: FakeClock) -> None:
    """The first try takes the shopper's gift from the stock and dies before saying so: the
    second try must offer it (not "you have had yours"), and one gift only is gone."""
    gift = load_shop(DEMO_SHOP).policy.gift
    assert gift is not None and gift.per_customer == 1
    said = ["any free gift with my order?", "not even a small freebie?"]
    ann, second = await killed_and_handled_again(api, prefix, clock, said, 1)
    try:
        bob = await the_same_said_once(api, second, said)
        assert replies(api, ann) == replies(api, bob)
        offer = unescape(api.sent_to(ann.id)[-1].params["text"])
        assert load_shop(DEMO_SHOP).text(gift.name, "en") in offer
        assert "already promised" not in offer, offer
        assert await redis.hget(f"{prefix}:gift:given", str(ann.id)) == b"1"
        assert await redis.hget(f"{prefix}:customer:{ann.id}", "gifts_promised") == b"1"
        assert int(await redis.get(f"{prefix}:gift:stock")) == gift.stock - 2  # Ann's, Bob's
    finally:
        await second.inbox.stop()
        await second.close()
