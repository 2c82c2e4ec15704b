"""The conversation with one shopper: greeting, farewell, and what comes in between.

Plain rules over the store and the shop file; the handlers translate Telegram to and from it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from bot.core.languages import LANGUAGES, Lang
from bot.core.shop import WEEKDAYS, Product, Shop
from bot.domain import products, variants
from bot.domain.actions import (
    AskPerson,
    CartChange,
    CartRemove,
    CartStep,
    Catalogue,
    Categories,
    CategoryPage,
    CheckOut,
    ChooseLanguage,
    MenuItem,
    OpenProduct,
    OrderProduct,
    PickOptions,
    PickValue,
)
from bot.domain.cart import Added, CartLine, Carts, CartView
from bot.domain.replies import Button, Reply
from bot.domain.stats import Stats
from bot.domain.variants import Choice
from bot.nlu.catalogue import FULL
from bot.storage.inbox import SEEN_SECONDS, handling

if TYPE_CHECKING:
    from bot.domain.aftersale import AfterSale
    from bot.domain.away import Away
from bot.nlu.understanding import Reading, Understanding
from bot.storage.store import Conversation, Customer, Store

Clock = Callable[[], datetime]
PAGE_SIZE = 6  # products per catalogue page: fits a phone screen of buttons
HANDOFF_INTENTS = ("human", "complaint", "return_request")  # a person answers these


def part_of_day(local: datetime) -> str:
    if 5 <= local.hour < 12:
        return "morning"
    if 12 <= local.hour < 18:
        return "afternoon"
    return "evening"


class Assistant:
    def __init__(
        self,
        shop: Shop,
        store: Store,
        understanding: Understanding,
        clock: Clock,
        quiet_period: timedelta,
        *,
        stats: Stats | None = None,  # counts conversations
        aftersale: AfterSale | None = None,  # orders and returns
        carts: Carts | None = None,  # set when the shop takes payments in the chat
    ) -> None:
        self.shop = shop
        self.store = store
        self.understanding = understanding
        self.clock = clock
        self.quiet_period = quiet_period
        # True once the staff chat passed its start-up check: handoffs then go to a person
        # in it; otherwise the shopper is given the shop's contacts.
        self.staff_available = False
        self.stats = stats
        self.aftersale = aftersale
        self.carts = carts
        # The away mode (bot/domain/away.py), set by the factory: how a handoff is worded
        # while the team is on holiday.
        self.away: Away | None = None

    def use(self, shop: Shop, understanding: Understanding) -> None:
        """Serve a reloaded shop file from the next message on."""
        self.shop, self.understanding = shop, understanding

    def local_now(self) -> datetime:
        return self.clock().astimezone(self.shop.tz)

    # -- entry points ---------------------------------------------------------------
    async def start(self, customer: Customer) -> list[Reply]:
        """/start: always a greeting; a new visit when the last conversation went quiet."""
        now = self.clock()
        if await self._current(customer, now) is None:
            await self._open(customer, now)
        else:
            await self.store.note_message(customer.id, now)
        await self.store.seen(customer.id, now)
        return await self.away_words(customer, [self.greeting(customer)])

    async def message(self, customer: Customer, text: str, *, greet: bool = True) -> list[Reply]:
        """A shopper's words; `greet`: a new conversation opens with the greeting (not where
        Telegram's own greeting came first, in a business chat)."""
        now = self.clock()
        reading = self.understanding.read(text, customer.lang)
        current = await self._current(customer, now)
        new = current is None
        await self.store.seen(customer.id, now)
        if reading.intent == "farewell":
            if not new:
                return _in(reading, await self.goodbye(customer))
            # A goodbye that opens nothing: answer it warmly, nothing to close.
            return _in(reading, [self.farewell(customer)])
        replies: list[Reply] = []
        if new:
            await self._open(customer, now)
            if greet:
                replies.append(self.greeting(customer))
        else:
            await self.store.note_message(customer.id, now)
        if reading.intent == "greeting":
            if not new:
                replies.append(self.greeting(customer, again=True))
        else:
            # A new conversation starts without a product in context.
            replies.extend(await self.answer(customer, reading,
                                             current.product if current else None,
                                             current.selection if current else None))
        if current and current.misunderstood and not any(
                r.template == "not_understood" or r.handoff for r in replies):
            await self.store.understood(customer.id)
        return _in(reading, await self.away_words(customer, replies))

    async def answer(self, customer: Customer, reading: Reading, last: str | None,
                     chosen: dict[str, str] | None = None) -> list[Reply]:
        """What the assistant says to one request (greetings and farewells aside); `last` is
        the product discussed last in this conversation, `chosen` its card's option values."""
        if reading.intent in ("product_question", "faq", "other") \
                and not reading.mention.named and self.aftersale is not None \
                and await self.aftersale.mentions_order(customer, reading.folded):
            # "what about order 1052?" names one of the shopper's orders: that is what it asks.
            return [await self.aftersale.where_is(customer, reading.folded)]
        if reading.intent == "product_question" or (
                reading.intent == "other" and reading.mention.options and last) or (
                reading.intent in ("buy", "faq", "other") and self._card_tells(reading, last)):
            # "How do I wash the linen blouse?" is about the blouse when its card tells.
            return await self.product_answer(customer, reading, last, chosen)
        if reading.intent in ("discount", "free_shipping", "gift"):
            product = products.pick_product(self.shop, reading.mention, last, follow_up=True)
            return [await self.bargain(customer, reading.intent, product)]
        if reading.intent == "faq":
            return await self.faq_or_product(customer, reading, last)
        if reading.intent == "buy":
            product = products.pick_product(self.shop, reading.mention, last, follow_up=True)
            if product is None:
                return [self.order_info(customer)]
            choice = variants.choose(product, reading.mention,
                                     context=chosen if product.id == last else None)
            if choice.available is False and not reading.mention.options:
                # "How do I order?" after a sold-out combination asks how to order, not for
                # that combination again.
                choice = variants.choose(product, reading.mention)
            if choice.available is False:  # what they want is sold out: the card says what is not
                await self.store.discuss(customer.id, product.id, choice.asked)
                return [self.product_card(customer, choice)]
            return await self.take(customer, choice)
        if reading.intent == "order_status" and self.aftersale is not None:
            return [await self.aftersale.where_is(customer, reading.folded)]
        if reading.intent == "return_request" and self.aftersale is not None:
            started = await self.aftersale.start_return(customer)
            if started is not None:
                return [started]
        if reading.intent in HANDOFF_INTENTS:
            return [self.handoff(customer, reading.intent)]
        if reading.intent == "other":
            return [await self.not_understood(customer)]
        return [self.team_will_help(customer, reading.intent)]

    async def not_understood(self, customer: Customer) -> Reply:
        """Ask again; the second miss in a row brings in a person rather than guess a third
        time (PLAYBOOK: "offer a person")."""
        if await self.store.misunderstood(customer.id) >= 2 and self.staff_available:
            await self.store.understood(customer.id)
            return self.handoff(customer, "misunderstood")
        return Reply("not_understood", self._base(customer), [self._menu_row()])

    def handoff(self, customer: Customer, reason: str) -> Reply:
        """A person takes over: say who answers, and when if the team is away."""
        if not self.staff_available:
            if reason in ("button", "misunderstood"):
                return self.contacts(customer)
            return self.team_will_help(customer, reason)
        context = {**self._base(customer), "reason": reason,
                   "offline": self._offline(self.local_now())}
        return Reply("handoff", context, handoff=reason)

    async def away_words(self, customer: Customer, replies: list[Reply]) -> list[Reply]:
        """`replies` as the away mode words them (bot/domain/away.py): a handoff, and "the
        team is back at …". Read here, where they are decided, and only for those."""
        if self.away is None or not any(r.handoff or r.context.get("offline")
                                        for r in replies):
            return replies
        return await self.away.tell(customer.id, replies)

    def team_will_help(self, customer: Customer, intent: str) -> Reply:
        """Understood, but a colleague answers this one: say so honestly, and how."""
        context = {**self._base(customer), "intent": intent,
                   "offline": self._offline(self.local_now())}
        return Reply("team_will_help", context, [[
            self._person_button() if self.staff_available else Button(
                "contacts", data=MenuItem("contacts"))]])

    def _person_button(self) -> Button:
        """Talk to a person: a handoff when the staff chat works, the contacts otherwise."""
        return Button("ask_person",
                      data=AskPerson() if self.staff_available else MenuItem("contacts"))

    # -- bargaining (PLAYBOOK: "Bargaining") ---------------------------------------------------
    async def bargain(self, customer: Customer, intent: str, product: Product | None) -> Reply:
        """The ladder: a warm refusal with value, a firmer one, shipping refused with its
        reason; once refused, the next ask (discount, shipping or gift) gets the gift."""
        policy = self.shop.policy
        context = {**self._base(customer), "product": product, "policy": policy}
        if intent == "discount" and policy.discounts:
            return Reply("coupon", context)
        refused = await self.store.bargaining(customer.id)
        any_refusal = sum(refused.values()) > 0
        first_ask_of_kind = {
            "discount": refused["discount"] < 2 and not refused["shipping"],
            "free_shipping": not refused["shipping"],
            "gift": not any_refusal,
        }[intent]
        if first_ask_of_kind:
            kind = {"discount": "discount", "free_shipping": "shipping", "gift": "gift"}[intent]
            await self.store.refused(customer.id, kind)
            if intent == "free_shipping":
                return Reply("shipping_refusal", {**context, **self._shipping(product)})
            level = refused["discount"] + 1 if intent == "discount" else 1
            return Reply("discount_refusal", {**context, "level": level, "asked": intent})
        gift = policy.gift
        if gift is None:
            return Reply("no_gift", context)
        outcome = await self.store.grant_gift(customer.id, gift.stock, gift.per_customer)
        if outcome == "granted":
            return Reply("gift_offer", {**context, "gift": gift.name})
        if outcome == "limit":
            return Reply("gift_already", {**context, "gift": gift.name})
        return Reply("no_gift", context)

    def _shipping(self, product: Product | None) -> dict[str, Any]:
        policy = self.shop.policy
        threshold = policy.free_shipping_threshold
        missing = None
        price = product.prices[0] if product is not None else None
        if threshold is not None and price is not None and price < threshold:
            missing = threshold - price
        return {"cost": policy.shipping_cost, "threshold": threshold, "missing": missing,
                "already_free": bool(threshold is not None and product is not None
                                     and price is not None and price >= threshold)}

    # -- the catalogue ---------------------------------------------------------------------
    async def product_answer(self, customer: Customer, reading: Reading,
                             last: str | None,
                             chosen: dict[str, str] | None = None) -> list[Reply]:
        mention = reading.mention
        asked = products.asked_about(reading.folded)
        # "Is it see-through?" right after a card is about that product.
        product = products.pick_product(self.shop, mention, last, follow_up=bool(asked))
        if product is None:
            named = [pid for pid, score in mention.products if score >= FULL]
            candidates = [self.shop.product(pid) for pid in (named or [
                pid for pid, score in mention.products if score >= 1.0])[:6]]
            listed = [p for p in candidates if p is not None]
            if not listed and mention.category:
                listed = [p for p in self.shop.products if p.category == mention.category][:6]
            if len(listed) == 1:
                product = listed[0]
            elif listed:
                return [self.product_choice(customer, listed)]
            else:
                return [self.product_unknown(customer)]
        choice = variants.choose(product, mention,
                                 context=chosen if product.id == last else None)
        await self.store.discuss(customer.id, product.id, choice.asked)
        return [self.product_card(customer, choice, asked=asked)]

    def product_card(self, customer: Customer, choice: Choice | str, *,
                     asked: list[str] | None = None) -> Reply:
        """The card: what was asked first (the combination, a fact), then name, prices,
        options and stock; every fact from the `Choice` and the catalogue."""
        if isinstance(choice, str):
            product = self.shop.product(choice)
            assert product is not None
            choice = variants.choose(product)
        product = choice.product
        asked = asked or []
        missing = [name for name in asked if name in products.ATTRIBUTES
                   and products.attribute(product, name) is None]
        alternatives = []
        if choice.available is False or not product.in_stock:
            alternatives = products.alternatives(self.shop, product, choice)
        context = {**self._base(customer), "product": product, "choice": choice,
                   "asked": [a for a in asked if a not in missing], "missing": missing,
                   "alternatives": alternatives}
        buttons: list[list[Button]] = []
        for i, row in enumerate(choice.rows):
            if len(row.values) < 2:
                continue  # nothing to choose
            picked = [Button("option_value", data=action,
                             args={"value": value.name, "ok": ok,
                                   "chosen": choice.asked.get(row.option.id) == value.id})
                      for j, (value, ok) in enumerate(row.values)
                      if (action := _select(product, choice.asked, i, j)) is not None]
            width = 4 if all(len(v.name.get("en")) <= 6 for v, _ in row.values) else 2
            buttons += [picked[k:k + width] for k in range(0, min(len(picked), 2 * width),
                                                            width)]
        buttons += [[Button("product", data=OpenProduct(p.id), args={"product": p.name})]
                    for p in alternatives]
        buttons.append([Button("order_this", data=OrderProduct(product.id)),
                        self._person_button()])
        photo = choice.exact.photo if choice.exact is not None and choice.exact.photo else None
        return Reply("product_card", context, buttons, photo=photo or product.photo)

    async def press(self, customer: Customer, action: Catalogue) -> list[Reply] | None:
        """A catalogue button. None when it names what the shop does not have (any more):
        the handler answers it as stale."""
        product = self.shop.product(action.product) \
            if isinstance(action, OpenProduct | PickOptions | PickValue | OrderProduct) else None
        selection = _selection(product, action.picks) \
            if product and isinstance(action, PickOptions) else None
        match action:
            case Categories():
                return [self.categories(customer)]
            case CategoryPage(category, page):
                reply = self.category_page(customer, category, page)
                return [reply] if reply else None
            case OpenProduct() if product:
                await self.store.discuss(customer.id, product.id)
                return [self.product_card(customer, product.id)]
            case PickOptions() if product and selection is not None:
                await self.store.discuss(customer.id, product.id, selection)
                return [self.product_card(customer, variants.choose(product,
                                                                    selection=selection))]
            case PickValue(_, option, value) if product and any(
                    v.options.get(option) == value for v in product.variants):
                selection = {option: value}
                await self.store.discuss(customer.id, product.id, selection)
                return [self.product_card(customer, variants.choose(product,
                                                                    selection=selection))]
            case OrderProduct() if product:
                conversation = await self.store.conversation(customer.id)
                chosen = conversation.selection if conversation is not None \
                    and conversation.product == product.id else None
                return await self.take(customer, variants.choose(product,
                                                                 selection=chosen or {}))
        return None

    # -- the cart (bot/domain/cart.py) -------------------------------------------------------
    async def take(self, customer: Customer, choice: Choice) -> list[Reply]:
        """"I'll take it": into the cart when the shop takes payments in the chat, else how
        to order. A product with options needs them chosen first; a sold-out one gets its
        card, which says what is close."""
        product = choice.product
        if self.carts is None or not self.carts.accepts(product):
            return [self.order_info(customer, product.id, choice)]
        # The variant meant: the one the options asked single out, or the only one there is.
        meant = choice.exact or (choice.matching[0] if len(choice.matching) == 1 else None)
        if product.variants and meant is None:
            await self.store.discuss(customer.id, product.id, choice.asked)
            return [Reply("cart_pick", {**self._base(customer), "product": product}),
                    self.product_card(customer, choice)]
        options = dict(meant.options) if meant is not None else {}
        added = await self.carts.add(customer.id, product, options)
        if added.outcome == "sold_out":
            await self.store.discuss(customer.id, product.id, options)
            return [self.product_card(customer, variants.choose(product, selection=options))]
        return [self.cart_reply(customer, added.view, added=added)]

    async def cart_press(self, customer: Customer, action: CartStep) -> list[Reply] | None:
        """A cart's button (checking out aside, which the Telegram layer invoices); None for
        a line no longer in the cart."""
        assert self.carts is not None
        match action:
            case CartChange(line, delta):
                view = await self.carts.change(customer.id, line, delta)
            case CartRemove(line):
                view = await self.carts.remove(customer.id, line)
            case _:
                view = await self.carts.view(customer.id)
        return None if view is None else [self.cart_reply(customer, view)]

    def cart_reply(self, customer: Customer, view: CartView, *,
                   added: Added | None = None, short: list[CartLine] | None = None) -> Reply:
        """The cart: its lines with quantities and the total in the shop's currency, the
        buttons to change them, and the way to check out."""
        buttons: list[list[Button]] = [
            [Button("cart_minus", data=CartChange(i, -1), args={"n": i + 1}),
             Button("cart_plus", data=CartChange(i, 1), args={"n": i + 1}),
             Button("cart_remove", data=CartRemove(i), args={"n": i + 1})]
            for i in range(len(view.lines))]
        if view.lines:
            buttons.append([Button("checkout", data=CheckOut())])
        buttons.append([Button("catalog", data=Categories())])
        return Reply("cart", {**self._base(customer), "view": view, "added": added,
                              "short": short or []}, buttons)


    def product_choice(self, customer: Customer, listed: list) -> Reply:
        buttons = [[Button("product", data=OpenProduct(p.id), args={"product": p.name})]
                   for p in listed]
        return Reply("product_choice", {**self._base(customer), "products": listed}, buttons)

    def product_unknown(self, customer: Customer) -> Reply:
        return Reply("product_unknown", self._base(customer),
                     [[Button("catalog", data=Categories()), self._person_button()]])

    def _card_tells(self, reading: Reading, last: str | None) -> bool:
        """The message asks facts (care, material, length...) that the card of the product
        it names, or the one just discussed, tells."""
        asked = [fact for fact in products.asked_about(reading.folded)
                 if fact in products.ATTRIBUTES]
        product = products.pick_product(self.shop, reading.mention, last,
                                        follow_up=bool(asked))
        return product is not None and bool(asked) and all(
            products.attribute(product, fact) is not None for fact in asked)

    async def faq_or_product(self, customer: Customer, reading: Reading,
                             last: str | None) -> list[Reply]:
        """A question of the kind the FAQ answers ("how should I store the pu'er?": the
        FAQ's storage answer). One the FAQ does not surely answer is asked again (and then a
        person comes in) rather than guessed, unless it names a product."""
        product = products.pick_product(self.shop, reading.mention, last)
        if product is not None and reading.mention.options:
            return await self.product_answer(customer, reading, last)
        found = self.understanding.faq(reading)
        if found is not None and found.sure:
            return [self.faq_answer(customer, found.entry.id)]
        if product is not None and reading.mention.named:
            return await self.product_answer(customer, reading, last)
        return [await self.not_understood(customer)]

    def faq_answer(self, customer: Customer, entry_id: str) -> Reply:
        entry = next((f for f in self.shop.faq if f.id == entry_id), None)
        assert entry is not None
        return Reply("faq_answer", {**self._base(customer), "entry": entry},
                     [[self._person_button()]])

    def categories(self, customer: Customer) -> Reply:
        counts = {c.id: sum(p.category == c.id for p in self.shop.products)
                  for c in self.shop.categories}
        rows = [[Button("category", data=CategoryPage(c.id, 0),
                        args={"category": c.name, "count": counts[c.id]})]
                for c in self.shop.categories if counts[c.id]]
        return Reply("catalog", self._base(customer), rows)

    def category_page(self, customer: Customer, category_id: str, page: int) -> Reply | None:
        category = next((c for c in self.shop.categories if c.id == category_id), None)
        if category is None:
            return None
        items = [p for p in self.shop.products if p.category == category_id]
        pages = max(1, -(-len(items) // PAGE_SIZE))
        if not 0 <= page < pages:
            return None
        shown = items[page * PAGE_SIZE:(page + 1) * PAGE_SIZE]
        rows = [[Button("product_price", data=OpenProduct(p.id),
                        args={"product": p})] for p in shown]
        nav = []
        if page > 0:
            nav.append(Button("previous", data=CategoryPage(category_id, page - 1)))
        if page + 1 < pages:
            nav.append(Button("next", data=CategoryPage(category_id, page + 1)))
        rows += [nav] if nav else []
        rows.append([Button("all_categories", data=Categories())])
        context = {**self._base(customer), "category": category, "page": page + 1,
                   "pages": pages, "count": len(items)}
        return Reply("catalog_page", context, rows)

    async def goodbye(self, customer: Customer) -> list[Reply]:
        now = self.clock()
        await self.store.close_conversation(customer.id, now)
        await self.store.seen(customer.id, now)
        return [self.farewell(customer)]

    async def unsupported(self, customer: Customer, *, greet: bool = True) -> list[Reply]:
        """A sticker, photo, voice note...: say what the bot can read, keep the door open.
        Two in a row (a photo of a parcel, a voice note) go to a person, who can read them."""
        now = self.clock()
        replies: list[Reply] = []
        await self.store.seen(customer.id, now)
        if await self._current(customer, now) is None:
            await self._open(customer, now)
            if greet:
                replies.append(self.greeting(customer))
        if await self.store.misunderstood(customer.id) >= 2 and self.staff_available:
            await self.store.understood(customer.id)
            return await self.away_words(customer,
                                         [*replies, self.handoff(customer, "misunderstood")])
        replies.append(Reply("unsupported", self._base(customer)))
        return await self.away_words(customer, replies)

    async def choose_language(self, customer: Customer, lang: Lang) -> list[Reply]:
        await self.store.set_language(customer.id, lang)
        customer.language = lang
        return [Reply("language_set", self._base(customer), [self._menu_row()])]

    # -- replies ----------------------------------------------------------------------
    def greeting(self, customer: Customer, *, again: bool = False) -> Reply:
        local = self.local_now()
        context = {
            **self._base(customer),
            "part": part_of_day(local),
            "returning": customer.visits > 1,
            "again": again,
            "offline": self._offline(local),
        }
        return Reply("greeting", context, [self._menu_row()])

    def farewell(self, customer: Customer) -> Reply:
        return Reply("farewell", {**self._base(customer), "part": part_of_day(self.local_now())})

    def language_prompt(self, customer: Customer) -> Reply:
        row = [Button(f"lang_{lang.replace('-', '_')}", data=ChooseLanguage(lang))
               for lang in LANGUAGES]
        return Reply("language_prompt", self._base(customer), [row[:2], row[2:]])

    def contacts(self, customer: Customer) -> Reply:
        days = self.shop.working_hours.days
        hours = [(index, days.get(day)) for index, day in enumerate(WEEKDAYS)] if days else []
        context = {
            **self._base(customer),
            "hours": hours,
            "offline": self._offline(self.local_now()),
            "timezone": self.shop.timezone,
        }
        return Reply("contacts", context)

    def order_info(self, customer: Customer, product_id: str | None = None,
                   choice: Choice | None = None) -> Reply:
        """How to order; with the product (and the options chosen) named first, and said
        plainly when that choice is sold out."""
        context = {**self._base(customer),
                   "product": self.shop.product(product_id) if product_id else None,
                   "choice": choice}
        buttons = [[Button("website", url=self.shop.order_url)]] if self.shop.order_url else []
        return Reply("order_info", context, buttons)

    # -- helpers -------------------------------------------------------------------------
    async def _current(self, customer: Customer, now: datetime) -> Conversation | None:
        """The conversation going on, or None when the next message starts a new one."""
        await self._as_first_found(customer)
        conversation = await self.store.conversation(customer.id)
        if conversation is None or conversation.closed or conversation.last_message_at is None:
            return None
        if now - conversation.last_message_at >= self.quiet_period:
            return None
        return conversation

    async def _as_first_found(self, customer: Customer) -> None:
        """Decide an update's replies from the state its first try found, on every try.

        Why: an update whose process died while handling it is handled again (bot/storage/inbox.py),
        and nobody knows how far the first try got. It may have opened the conversation,
        counted the visit, a refusal or a gift, and died before the reply went out. Deciding
        again from what it left would answer another message than the one the shopper sent:
        no greeting ("already opened"), the bargaining ladder's next rung, "you have your
        gift already". So, before this update writes anything of the shopper's, its first
        try pins their state under the update's id; a second try puts that state back and
        decides from it, as the first did. Its sends then match the first try's one for one,
        and those already made are answered from their record (`SendOnce` in bot/app/factory.py)
        rather than sent again; its writes land on the state they were first made on.

        Writes stay immediate rather than held back until the replies are sent: the update's
        own later reads, the staff's card and the tests see them at once, and a process dying
        between its sends and its held writes would open the same hole again. The pin goes
        when the update is handled. What it does not rewind: the day's counts in stats, and
        anything of another shopper's (a gift taken back can meanwhile go to someone else)."""
        now = handling.get()
        if now is None or not now.pins or customer.id in now.pinned:
            return  # not from the inbox (a test, Redis away), or pinned by this try already
        now.pinned.add(customer.id)
        customer.visits = await self.store.pin(customer.id, now.pins, SEEN_SECONDS)

    async def _open(self, customer: Customer, now: datetime) -> None:
        await self.store.open_conversation(customer.id, now)
        customer.visits = await self.store.count_visit(customer.id)
        if self.stats is not None:
            await self.stats.count("conversations")

    def _base(self, customer: Customer) -> dict[str, Any]:
        return {"shop": self.shop, "name": customer.first_name}

    def _menu_row(self) -> list[Button]:
        return [
            Button("catalog", data=Categories()),
            Button("how_to_order", data=MenuItem("order")),
            Button("contacts", data=MenuItem("contacts")),
            Button("language", data=MenuItem("language")),
        ]

    def _offline(self, local: datetime) -> dict[str, Any] | None:
        """When staff are away: when they are back, and in how many hours if soon."""
        hours = self.shop.working_hours
        if not hours.days or hours.is_open(local):
            return None  # a shop that lists no hours never says its team is away
        back = hours.next_opening(local)
        if back is None:
            return {"back": None, "hours": None, "minutes": None}
        wait = back - local
        soon = wait < timedelta(hours=12)
        whole_hours = int(wait.total_seconds() // 3600)
        return {
            "back": back,
            "tomorrow": back.date() == (local + timedelta(days=1)).date(),
            "today": back.date() == local.date(),
            "hours": whole_hours if soon and whole_hours >= 1 else None,
            "minutes": max(1, int(wait.total_seconds() // 60)) if wait < timedelta(hours=1)
            else None,
        }


def _in(reading: Reading, replies: list[Reply]) -> list[Reply]:
    """Answer in the language the message was written in, when that is clear."""
    if reading.written_in is None:
        return replies
    return [replace(reply, lang=reading.written_in) for reply in replies]


def _select(product: Product, asked: dict[str, str], option: int,
            value: int) -> PickOptions | None:
    """What a value button asks for: the selection after pressing it (what was asked, with
    this option's value replaced, or dropped when pressed again); None when it would not
    fit Telegram's 64 bytes."""
    chosen = {i: j for i, o in enumerate(product.options) if o.id in asked
              for j, v in enumerate(o.values) if v.id == asked[o.id]}
    if chosen.get(option) == value:
        del chosen[option]
    else:
        chosen[option] = value
    action = PickOptions(product.id, tuple(sorted(chosen.items())))
    return action if action.fits() else None


def _selection(product: Product, picks: tuple[tuple[int, int], ...]) -> dict[str, str] | None:
    """The selection a value button picks; None when it is not one this product has."""
    selection: dict[str, str] = {}
    for i, j in picks:
        if not 0 <= i < len(product.options):
            return None
        option = product.options[i]
        if not 0 <= j < len(option.values):
            return None
        selection[option.id] = option.values[j].id
    return selection
