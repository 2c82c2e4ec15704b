"""The owner's own words for a message (the shop file's `texts:`), and what they may contain.

An override is plain text, shown as written: `<` and `&` are escaped for Telegram's HTML
like any other text from the shop file. It may hold placeholders in braces, `{name}`; a
brace itself is written `{{` or `}}`. Nothing else is read in it, so an owner cannot break
a message or reach into the bot's data: no attributes, no formats, no code.

Which placeholders a message takes follows from its template: a placeholder is made from a
value the template is given (`{product}` from `product`...), so a message takes those whose
value its template reads (found with jinja2.meta, through the pieces it includes), and those
the bot gives it besides (`given_besides`: every conversation reply knows the shopper's name;
bargaining replies, the product talked about), plus `{shop}` and `{contacts}`, which every
message has. `python -m bot.core.overrides` lists them all.
"""

from __future__ import annotations

import difflib
import functools
import re
import string
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, meta
from markupsafe import Markup, escape

from bot import TEMPLATES_DIR

# Read by staff or the owner, or pieces of other templates: not messages a shopper reads.
NOT_MESSAGES = frozenset({"buttons", "stats_labels", "stats", "broadcast_list",
                          "broadcast_progress", "reload_done", "reload_failed"})
NOT_MESSAGE_FOLDERS = ("staff/", "compose/", "away/", "demo/", "owner_texts/")
# Quick replies staff send with /reply KEY: the bundled ones are templates/canned/*.j2, and an
# owner may add more (in Telegram, or under the shop file's texts:) as `canned/<key>`.
REPLIES = "canned/"
# A quick reply's key: short, and typed after /reply, so lower-case latin, digits, _ and -.
REPLY_KEY = re.compile(r"^[a-z0-9][a-z0-9_-]{0,23}$")
# What a quick reply the templates do not have takes: /reply gives it the customer's name
# (handlers/staff_desk.py, `canned`); {shop} and {contacts} every message has.
NEW_REPLY_TAKES = ("name", "shop", "contacts")
# Sent before or without knowing who wrote (an error, the flood notice, a stale button, the
# /mydata and /forget replies): no name to give.
NAMELESS = frozenset({"error", "flood_notice", "stale_button", "mydata", "return_photo_added",
                      "forget_confirm", "forget_kept", "forgotten"})
BARGAINING = frozenset({"discount_refusal", "no_gift", "gift_offer", "gift_already", "coupon",
                        "shipping_refusal"})


def given_besides(message: str) -> set[str]:
    """Values the bot gives `message` that its template does not read (see
    bot/domain/conversation.py, `_base` and `bargain`)."""
    return (set() if message in NAMELESS else {"name"}) | (
        {"product"} if message in BARGAINING else set())


@dataclass(frozen=True)
class Source:
    """What a placeholder's value is made from, in the language being rendered."""

    context: Mapping[str, Any]  # what the template would have been given
    shop: Any  # the shop being served (bot.shop.Shop), or None
    local: Callable[[Any], str]  # a shop-file text (Localized) in the language
    money: Callable[[Any], str]  # an amount in the shop's currency, as the language writes it
    away: Callable[[], str]  # the sentence saying when the team is back (HTML, escaped)
    day: Callable[[Any], str] = str  # a day as the language writes it ("3 January")


@dataclass(frozen=True)
class Placeholder:
    needs: str | None  # the template value it is made from; None: every message has it
    about: str  # what it is, for owners
    value: Callable[[Source], Any]
    only: frozenset[str] | None = None  # messages where `needs` means this (else every one)


def _money(name: str) -> Callable[[Source], Any]:
    def value(source: Source) -> Any:
        amount = source.context.get(name)
        return source.money(amount) if isinstance(amount, int | float | Decimal) else ""

    return value


def _field(value: Any, name: str) -> Any:
    if value is None:
        return ""
    return value.get(name, "") if isinstance(value, Mapping) else getattr(value, name, "")


PLACEHOLDERS: dict[str, Placeholder] = {
    "name": Placeholder("name", "the shopper's first name, as they gave it to Telegram",
                        lambda s: s.context.get("name") or ""),
    "shop": Placeholder(None, "the shop's name",
                        lambda s: s.local(s.shop.name) if s.shop is not None else ""),
    "contacts": Placeholder(None, "the shop's contacts",
                            lambda s: s.local(s.shop.contacts) if s.shop is not None else ""),
    "product": Placeholder("product", "the product talked about (empty when none is)",
                           lambda s: s.local(_field(s.context.get("product"), "name") or None)),
    "gift": Placeholder("gift", "the gift's name", lambda s: s.local(s.context.get("gift"))),
    "coupon": Placeholder("policy", "the discount code (policy.coupon)",
                          lambda s: _field(s.context.get("policy"), "coupon") or ""),
    "cost": Placeholder("cost", "what delivery costs (policy.shipping_cost)", _money("cost")),
    "threshold": Placeholder("threshold", "the order total that ships free",
                             _money("threshold")),
    "missing": Placeholder("missing", "how much more to add to ship free", _money("missing"),
                           only=frozenset({"shipping_refusal"})),
    "order": Placeholder("order", "the order's number", lambda s: _field(s.context.get("order"),
                                                                         "id")),
    "number": Placeholder("asked", "the order number the shopper wrote",
                          lambda s: s.context.get("asked") or "",
                          only=frozenset({"order_unknown"})),
    "request": Placeholder("request", "the return request's number (R1, R2...)",
                           lambda s: _field(s.context.get("request"), "id"),
                           only=frozenset({"return_status", "return_submitted"})),
    "back_on": Placeholder("back", "the day the team is back from holiday (/away)",
                           lambda s: s.day(s.context["back"]) if s.context.get("back") else "",
                           only=frozenset({"away_holiday"})),
    "team_away": Placeholder("offline", "when the team is away: when it is back (else empty)",
                             lambda s: s.away() if s.context.get("offline") else ""),
}


@functools.cache
def messages(templates_dir: Path = TEMPLATES_DIR) -> dict[str, tuple[str, ...]]:
    """Every message an owner may word their own way, with the placeholders it takes."""
    env = Environment(loader=FileSystemLoader(templates_dir), trim_blocks=True,
                      lstrip_blocks=True)
    # Only read here, never rendered: the filters handlers/texts.py adds need only exist.
    env.filters.update(dict.fromkeys(("money", "time", "day", "weekday", "local"), str))
    found: dict[str, tuple[str, ...]] = {}
    for name in sorted(_template_names(templates_dir)):
        used = _uses(env, f"{name}.j2") | given_besides(name)
        found[name] = tuple(
            key for key, placeholder in PLACEHOLDERS.items()
            if placeholder.needs is None or (placeholder.needs in used and (
                placeholder.only is None or name in placeholder.only)))
    return found


def _template_names(templates_dir: Path) -> Iterator[str]:
    for path in templates_dir.rglob("*.j2"):
        name = path.relative_to(templates_dir).with_suffix("").as_posix()
        if not (name.rsplit("/", 1)[-1].startswith("_") or name in NOT_MESSAGES
                or name.startswith(NOT_MESSAGE_FOLDERS)):
            yield name


def _uses(env: Environment, template: str, seen: frozenset[str] = frozenset()) -> set[str]:
    """The values a template reads, with those of the templates it includes or imports."""
    source = env.loader.get_source(env, template)[0]  # type: ignore[union-attr]
    tree = env.parse(source)
    used = set(meta.find_undeclared_variables(tree))
    for other in meta.find_referenced_templates(tree):
        if other is not None and other not in seen:
            used |= _uses(env, other, seen | {template})
    return used


def new_reply(message: str) -> bool:
    """`message` is a quick reply of the owner's own (`canned/<key>`), not a template's."""
    return (message.startswith(REPLIES) and message not in messages()
            and REPLY_KEY.match(message.removeprefix(REPLIES)) is not None)


def takes(message: str) -> tuple[str, ...]:
    """The placeholders `message` takes; () for one that is not a message."""
    return NEW_REPLY_TAKES if new_reply(message) else messages().get(message, ())


def unknown(message: str) -> str | None:
    """Why `message` cannot be overridden, or None when it can."""
    known = messages()
    if message in known or new_reply(message):
        return None
    close = difflib.get_close_matches(message, list(known), n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return (f"unknown message {message!r} ({hint}`python -m bot.core.overrides` lists the messages"
            " a shop can word its own way)")


@dataclass(frozen=True)
class Fault:
    """What is wrong with an override's placeholders, as a kind and what it names: the shop
    file's check says it in English (`str`), /texts in the owner's language."""

    kind: str  # brace, empty, written, unknown, doubled
    field: str = ""  # the placeholder as written (written, unknown), or the name (doubled)
    takes: tuple[str, ...] = ()  # what the message takes (unknown)

    def __str__(self) -> str:
        if self.kind == "brace":
            return ("a brace without its pair: write a placeholder as {name}, and a brace"
                    " itself as {{ or }}")
        if self.kind == "empty":
            return "an empty placeholder {}: write the name of one, like {name}"
        if self.kind == "written":
            return (f"{{{self.field}}} is not a placeholder: write just a name in braces, like"
                    " {name}")
        if self.kind == "unknown":
            return (f"unknown placeholder {{{self.field}}} (this message takes "
                    f"{', '.join('{' + name + '}' for name in self.takes)})")
        return (f"write placeholders with single braces, {{{self.field}}}: {{{{ and }}}} are a"
                " brace itself")


def problem(message: str, text: str) -> str | None:
    """What is wrong with the placeholders of `text` as `message`'s override, or None."""
    found = fault(message, text)
    return None if found is None else str(found)


def fault(message: str, text: str) -> Fault | None:
    """`problem`, as a kind and what it names."""
    known = takes(message)
    try:
        pieces = list(string.Formatter().parse(text))
    except ValueError:
        return Fault("brace")
    literal = ""
    for before, field, spec, conversion in pieces:
        literal += before
        if field is None:
            continue
        if _DOUBLED.search(literal):
            return _doubled(literal)
        literal = ""
        if field == "":
            return Fault("empty")
        written = field + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "")
        if written != field or not field.isidentifier():
            return Fault("written", written)
        if field not in known:
            return Fault("unknown", field, known)
    return _doubled(literal) if _DOUBLED.search(literal) else None


_DOUBLED = re.compile(r"\{\s*([A-Za-z_]\w*)\s*\}")


def _doubled(literal: str) -> Fault:
    match = _DOUBLED.search(literal)
    assert match is not None
    return Fault("doubled", match[1])


def fill(text: str, source: Source) -> Markup:
    """The override with its placeholders filled; text and values escaped for Telegram."""
    out: list[Any] = []
    for before, field, _, _ in string.Formatter().parse(text):
        out.append(escape(before))
        if field is not None:
            placeholder = PLACEHOLDERS.get(field)
            value = placeholder.value(source) if placeholder else f"{{{field}}}"
            out.append(escape(value))
    return Markup("").join(out)


def describe() -> str:
    """Every message and its placeholders, for `python -m bot.core.overrides`."""
    lines = ["Placeholders:"]
    lines += [f"  {{{name}}}: {p.about}" for name, p in PLACEHOLDERS.items()]
    lines += ["", "Messages (the key under texts:) and the placeholders each takes:"]
    lines += [f"  {name}: {', '.join('{' + p + '}' for p in takes)}"
              for name, takes in messages().items()]
    return "\n".join(lines)


if __name__ == "__main__":
    print(describe())
