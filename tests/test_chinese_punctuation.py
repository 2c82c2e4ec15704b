"""Chinese punctuation and spacing (issue 23, point 6).

Chinese sets its punctuation full-width and without spaces: "尺码：XS，蓝色。", never
"尺码： XS" or "尺码: XS". Every template (shopper's, staff's, the owner's, the promotion
composer's, the buttons' labels) is rendered in both Chinese scripts for shops of different
trades, and every Chinese msgstr of the catalogues is read as well, so a branch no context
here reaches is still held to the same rules.

Latin text inside a Chinese one keeps its own punctuation: a product's name (`Schrader, 20"`),
a price ("NT$980"), a URL, a command. The rules only look at a mark that touches a Chinese
character, so a stretch of Latin text is never flagged; what is a code is blanked first.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from html import unescape
from types import SimpleNamespace
from typing import Any

import pytest
from babel.messages.pofile import read_po
from jinja2.exceptions import UndefinedError
from jinja2.runtime import Macro
from markupsafe import Markup

from bot import DEMO_SHOP, LOCALES_DIR, TEMPLATES_DIR
from bot.core.languages import CATALOGUE_DIRS, Lang
from bot.core.overrides import Fault
from bot.core.shop import Shop, load_shop
from bot.domain.stats import Day
from bot.domain.stats import Person as StaffFigures
from bot.domain.takeover import Person
from bot.domain.variants import choose
from handlers.i18n import load_catalogues
from handlers.texts import Texts
from tests.test_shop_voice import rendering_contexts

CHINESE: tuple[Lang, ...] = ("zh-hans", "zh-hant")
# Two trades, and the demo shop.
SHOPS = (DEMO_SHOP.parent / "shops" / "bike_shop.yaml",
         DEMO_SHOP.parent / "shops" / "bakery_shop.yaml", DEMO_SHOP)

HAN = r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]"
FULL_WIDTH = "：，。！？；、"
RULES = {
    # "尺码: XS", "自行车 (3)", "好的,谢谢": the ASCII mark touches a Chinese character, or
    # is only a space away from one. `Schrader, 20"` touches none, and is left alone.
    "ASCII punctuation by a Chinese character": re.compile(
        rf"{HAN} *[,:;?!()]|[,:;?!()] *{HAN}"),
    # "尺码： XS", "好的， 谢谢", "（ 3）". A closing bracket may stand before a sign set
    # with spaces: "蛋糕（6寸） × 2".
    "a space after full-width punctuation": re.compile(rf"[{FULL_WIDTH}（] +(?=\S)"),
    # "尺码 ：XS", "蛋糕 （6寸）"
    "a space before full-width punctuation": re.compile(rf"(?<=\S) +[{FULL_WIDTH}（）]"),
    # "谢谢。。", "：，"
    "doubled full-width punctuation": re.compile(rf"[{FULL_WIDTH}]{{2,}}"),
}

# The only exceptions: what is typed as it stands, so it keeps its ASCII marks.
CODES = [
    # Text set as code (an order number, an id) is copied, not read.
    re.compile(r"<code>.*?</code>", re.DOTALL),
    # A command or the prefix of a staff note: "以 ! 或 /note 开头", "/reply KEY".
    re.compile(r"(?<!\S)(?:!|/[a-z_]+)(?!\S)"),
    # A link: "→ https://example.com/a?b=1".
    re.compile(r"https?://\S+"),
]
_TAGS = re.compile(r"<[^>]+>")


def problems(text: str) -> list[tuple[str, str]]:
    """What breaks the rules in `text` (Telegram HTML or a msgstr): the rule, and the
    stretch of text around it."""
    for code in CODES:
        text = code.sub("CODE", text)
    text = unescape(_TAGS.sub("", text))
    found = []
    for rule, pattern in RULES.items():
        for match in pattern.finditer(text):
            found.append((rule, text[max(0, match.start() - 10):match.end() + 10]))
    return found


def test_the_rules_flag_what_they_should_and_not_latin_text() -> None:
    assert problems("尺码： XS")
    assert problems("尺码: XS")
    assert problems("自行车 (3)")
    assert problems("好的,谢谢")
    assert problems("谢谢。。")
    assert problems("尺码 ：XS")
    assert not problems("尺码：XS，蓝色。")
    assert not problems('内胎 Schrader, 20"：NT$980。')
    assert not problems("给同事的备注请以 ! 或 /note 开头。")
    assert not problems("按钮：Go → https://example.com/a?b=1")
    assert not problems("订单 <code>A:1</code> 已发货。")


# -- every catalogue entry --------------------------------------------------------------------

@pytest.mark.parametrize("lang", CHINESE)
def test_every_chinese_msgstr_is_punctuated_the_chinese_way(lang: Lang) -> None:
    path = LOCALES_DIR / CATALOGUE_DIRS[lang] / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as po:
        catalog = read_po(po)
    found, read = {}, 0
    for message in catalog:
        if not message.id:
            continue
        strings = [message.string] if isinstance(message.string, str) else list(message.string)
        for text in strings:
            read += 1
            if problems(text):
                found[text] = problems(text)
    assert not found, f"{lang}: {found}"
    assert read > 300


# -- every template, rendered -----------------------------------------------------------------

BACK = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def card_contexts(shop: Shop) -> Iterator[dict[str, Any]]:
    """A product card and "I'll take it" for products with options: nothing chosen, one
    value of each option chosen, and a value the product does not come in."""
    with_options = [p for p in shop.products if p.options][:3]
    for product in with_options:
        chosen = {o.id: o.values[0].id for o in product.options}
        one = {product.options[0].id: product.options[0].values[-1].id}
        for choice in (choose(product), choose(product, selection=chosen),
                       choose(product, selection=one)):
            yield {"product": product, "choice": choice,
                   "asked": ["price", "stock", "material", *product.attributes],
                   "missing": ["warranty"],
                   "alternatives": [p for p in shop.products if p is not product][:3]}
    if with_options:
        product = with_options[0]
        choice = choose(product)
        choice = type(choice)(product, {}, ("XXXL",), ("size",))
        yield {"product": product, "choice": choice, "asked": ["price"], "missing": [],
               "alternatives": []}


def progress(status: str) -> SimpleNamespace:
    return SimpleNamespace(broadcast=SimpleNamespace(id="B7", status=status, total=120),
                           remaining=40, counts={"sent": 80, "failed": 1, "blocked": 2,
                                                 "left": 1, "skipped": 3})


def extra_contexts(shop: Shop) -> dict[str, list[dict[str, Any]]]:
    """What the templates rendering_contexts does not cover need, one context per branch."""
    day = Day(date(2026, 11, 24), conversations=12, handoffs=3, followups=2, broadcasts=1,
              broadcast_messages=40, ratings={1: 0, 2: 1, 3: 0, 4: 2, 5: 6},
              replies=[120.0, 300.0])
    week = Day(date(2026, 11, 18), conversations=70, handoffs=9, broadcasts=2,
               broadcast_messages=90, replies=[200.0])
    customer = SimpleNamespace(first_name="Ann", last_name="Lee", username="ann", id=42,
                               lang="zh-hans", first_seen=BACK, visits=3)
    said = [SimpleNamespace(at=BACK, who=who, text="你好，有货吗？")
            for who in ("customer", "staff", "bot")]
    olga, ivan = Person(7, "奥尔加", "olga"), Person(8, "Ivan Petrov")
    asked = SimpleNamespace(reason="human", detail={})
    segment = {"languages": ["zh-hans", "en"], "tags": ["vip", "常客"],
               "products": [p.id for p in shop.products[:2]], "active_days": 30}
    data = {"variants": {"zh-hans": "…", "en": "…"}, "default": "en",
            "button": {"text": "去看看", "url": "https://example.com/sale?x=1"},
            "segment": segment}
    return {
        "product_card": list(card_contexts(shop)),
        "order_info": list(card_contexts(shop)),
        "product_choice": [{"products": shop.products[:3]}],
        "catalog_page": [{"category": c, "page": 2, "pages": 3} for c in shop.categories[:2]],
        "broadcast_progress": [{"progress": progress(s), "counts": progress(s).counts,
                                "minutes": 5}
                               for s in ("done", "cancelled", "scheduled", "running")],
        "broadcast_list": [{"items": []}, {"items": [progress(s) for s in
                                                      ("done", "cancelled", "scheduled",
                                                       "running")]}],
        "business_connection": [{"change": c} for c in ("connected", "no_reply", "muted",
                                                         "disconnected")],
        "business_owner_holds": [{"minutes": 30}],
        "reload_done": [{"products": 24, "faq": 6}],
        "reload_failed": [{"problems": [f"line {n}: price is not a number" for n in
                                        range(22)]}],
        "stats": [{"today": day, "week": week, "previous_week": week, "team": [
                      (olga, StaffFigures(taken=5, replies=4, reply_seconds=600, resolved=4,
                                          resolve_seconds=6000,
                                          help_ratings={1: 0, 2: 1, 3: 0, 4: 1, 5: 2})),
                      (ivan, StaffFigures(taken=1))]},
                  {"today": Day(date(2026, 11, 24)), "week": Day(date(2026, 11, 18)),
                   "previous_week": None, "team": []}],
        "compose/ask_button": [{"wrong": w} for w in (False, True)],
        "compose/ask_list": [{"what": "tags", "wrong": False},
                             {"what": "products", "wrong": True}],
        "compose/ask_message": [{"target": lang} for lang in ("en", "zh-hans")],
        "compose/ask_time": [{"wrong": w} for w in (False, True)],
        "compose/bad_message": [{"photo": p} for p in (False, True)],
        "compose/menu": [{"data": data, "count": 12, "shown": "12"},
                         {"data": {**data, "button": None, "segment": {}}, "count": 1,
                          "shown": "1"}],
        "compose/confirm": [{"at": at, "count": 12, "shown": "12"} for at in (None, BACK)],
        "staff/business_photos": [{"photos": n} for n in (1, 3)],
        "staff/business_said": [{"who": w, "text": "你好"} for w in ("owner", "customer")],
        "staff/canned_keys": [{"key": k, "keys": ["thanks", "wait", "sorry"]}
                              for k in (None, "hi")],
        "staff/canned_sent": [{"key": "thanks", "text": "谢谢您的耐心等待！"}],
        "staff/card": [{"customer": customer, "gifts": 1, "said": said,
                        "tags": ["vip", "常客"], "tz": UTC, "orders": ["1045", "1046"],
                        "handoff": handoff, "holder": holder, "on_duty": on_duty}
                       for handoff, holder, on_duty in (
                           (None, None, None), (asked, None, []), (asked, olga, None),
                           (asked, None, [olga, ivan]))] + [
                       {"customer": SimpleNamespace(**{**vars(customer), "first_seen": None,
                                                       "last_name": None,
                                                       "username": None}),
                        "gifts": 0, "said": [], "tags": [], "tz": UTC, "orders": [],
                        "handoff": None, "holder": None, "on_duty": None}],
        "staff/assigned": [{"person": olga, "by": by, "previous": previous, "changed": c}
                           for by, previous, c in ((olga, None, True), (olga, ivan, True),
                                                   (ivan, None, True), (ivan, ivan, True),
                                                   (olga, None, False))],
        "staff/kept_as_note": [{"person": ivan, "holder": olga}],
        "staff/duty": [{"person": olga, "on": on, "on_duty": people}
                       for on in (True, False, None) for people in ([], [olga, ivan])],
        "staff/pass_unknown": [{"asked": a} for a in ("@ivan", "")],
        "staff/commands": [{"outside": o} for o in (False, True)],
        "staff/handed_back": [{"already": a, "by": "Bob"} for a in (False, True)],
        "staff/handoff": [{"customer": customer, "handoff": SimpleNamespace(
                              reason=r, detail={"order": "1045", "stars": 2})}
                          for r in ("complaint", "return_request", "misunderstood",
                                    "low_rating", "button", "staff", "asked")],
        "staff/idle": [{"minutes": 15}],
        "staff/help_rated": [{"comment": c, "stars": n, "low": n < 3}
                             for c, n in ((None, 5), ("太慢了，等了很久", 2))],
        "rating_comment": [{"skipped": s, "low": low} for s in (False, True)
                           for low in (False, True)],
        "rating_help": [{"low": low} for low in (False, True)],
        "staff/not_copied": [{"kind": "sticker"}],
        "staff/paid_order": [{"items": [(p.name.get(lang_) or "", 1)
                                        for p in shop.products[:2]
                                        for lang_ in ("zh-hans",)],
                              "currency": c, "total": Decimal(980)}
                             for c in (shop.currency, "XTR")],
        "staff/queue_late": [{"minutes": 20}],
        "staff/return_moved": [{"by": "Bob", "delivered": d} for d in (False, True)],
        **{f"away/{name}": [{"mode": "holiday", "back": BACK, "minutes": 0},
                            {"mode": "unanswered", "back": None, "minutes": 10},
                            {"mode": "off", "back": None, "minutes": 0}]
           for name in ("menu", "set")},
        "away/ask_date": [{"wrong": w} for w in (None, "unreadable", "past")],
        "away/ask_minutes": [{"wrong": w} for w in (False, True)],
        "staff/away_holiday": [{"back": BACK}],
        "staff/away_unanswered": [{"minutes": m} for m in (1, 10)],
        # /texts and /replies (handlers/own_texts.py).
        **{f"owner_texts/{name}": [{"name": "greeting", "target": t} for t in LANGS]
           for name in ("preview", "saved", "reset")},
        "owner_texts/ask": [{"name": "greeting", "target": t, "takes": ["{name}", "{shop}"]}
                            for t in LANGS],
        "owner_texts/list": [{"page": 2, "pages": 7}],
        "owner_texts/message": [{"name": n, "reply": r, "takes": ["{name}", "{shop}"],
                                 "rows": [{"lang": t, "source": s, "text": x}
                                          for t, s, x in zip(LANGS, SOURCES, TEXTS,
                                                             strict=True)]}
                                for n, r in (("greeting", None), ("canned/wait", "wait"))],
        "owner_texts/bad": [{"fault": Fault(kind, field), "long": False, "text": "您好，{nmae}！",
                             "takes": ["{name}", "{shop}"]}
                            for kind, field in (("brace", ""), ("empty", ""), ("written", "0"),
                                                ("unknown", "nmae"), ("doubled", "name"))]
        + [{"fault": None, "long": True, "text": "您好", "takes": []}],
        "owner_texts/replies": [{"items": []}, {"items": [{"key": "wait", "text": "请稍等。"}]}],
        "owner_texts/ask_key": [{"wrong": w, "taken": t}
                                for w, t in ((False, None), (True, None), (True, "wait"))],
        "owner_texts/removed": [{"key": "wait"}],
        "owner_texts/remove": [{"key": "wait"}],
        "owner_texts/button": [{"what": w, "name": "greeting", "edited": e, "target": t}
                               for w in ("open", "edit", "reset", "save", "again", "cancel",
                                         "previous", "next", "list", "replies", "add",
                                         "remove", "drop") for e in (False, True)
                               for t in LANGS],
    }


LANGS = ("en", "ru", "zh-hans", "zh-hant")
SOURCES = ("edited", "file", "other", "template")  # where an owner_texts/message row comes from
TEXTS = ("您好，Ann！", "", "", "")


def button_arguments(shop: Shop) -> dict[str, list[dict[str, Any]]]:
    product = next(p for p in shop.products if p.options)
    value = product.options[0].values[0].name
    return {
        "product": [{"product": product.name}],
        "product_price": [{"product": p} for p in shop.products[:3]],
        "option_value": [{"value": value, "ok": ok, "chosen": c}
                         for ok in (True, False) for c in (True, False)],
        "category": [{"category": c.name, "count": 3} for c in shop.categories[:3]],
        "variant": [{"label": value}, {"label": "XL"}],
        "order_pick": [{"order": "1045"}],
        "item_pick": [{"item": {"name": product.name, "raw": None, "quantity": 2,
                                "size": None, "color": None}}],
        "broadcast_cancel": [{"id": "B7"}],
        "compose_lang": [{"lang_code": "zh-hans", "done": d} for d in (False, True)],
        "compose_only": [{"lang_code": "zh-hans", "done": d} for d in (False, True)],
        "compose_active": [{"days": 30, "done": d} for d in (False, True)],
        "compose_link": [{"done": d} for d in (False, True)],
        **{f"away_{kind}": [{"on": on} for on in (False, True)]
           for kind in ("off", "holiday", "unanswered")},
    }


# What a button's macro is given, by the argument's name, where button_arguments does not
# say more.
ARGUMENTS = {"n": 2, "count": "12", "num": 12, "days": 30, "done": False, "id": "B7"}


UNRENDERED: set[str] = set()


def chinese_texts() -> Iterator[tuple[str, str]]:
    """(where, text) for every template, button label and stats label, in both Chinese
    scripts, for each shop."""
    catalogues = load_catalogues(LOCALES_DIR)
    for path in SHOPS:
        shop = load_shop(path)
        texts = Texts(TEMPLATES_DIR, catalogues, shop.currency)
        # Every phrasing at once, instead of one chosen at random.
        texts.env.globals["pick"] = lambda *phrasings: Markup("\n").join(phrasings)
        extras = extra_contexts(shop)
        buttons = button_arguments(shop)
        for lang in CHINESE:
            for template in sorted(TEMPLATES_DIR.rglob("*.j2")):
                name = template.relative_to(TEMPLATES_DIR).with_suffix("").as_posix()
                if name.rsplit("/", 1)[-1].startswith("_") or name in ("buttons",
                                                                         "stats_labels"):
                    continue  # partials are rendered by the templates that include them
                for context in rendering_contexts(shop):
                    for extra in extras.get(name, [{}]):
                        try:
                            text = texts.render(name, lang, **{**context, **extra})
                        except UndefinedError:
                            # A template newer than this test: its msgstrs are still read
                            # by the catalogue test; say in extra_contexts what it is given.
                            UNRENDERED.add(name)
                            continue
                        yield f"{path.stem} {lang} {name}", text
            for module_name in ("buttons", "stats_labels"):
                module = texts.env.get_template(f"{module_name}.j2").make_module(
                    {"lang": lang})
                for macro in sorted(n for n in dir(module)
                                    if isinstance(getattr(module, n), Macro)):
                    made = getattr(module, macro)
                    unknown = set(made.arguments) - set(ARGUMENTS)
                    assert macro in buttons or not unknown, (
                        f"{module_name}.{macro}: say in button_arguments what it is given")
                    default = {a: ARGUMENTS[a] for a in made.arguments if a in ARGUMENTS}
                    for arguments in buttons.get(macro, [default]):
                        yield (f"{path.stem} {lang} {module_name}.{macro}",
                               str(getattr(module, macro)(**arguments)))


def test_every_rendered_chinese_text_is_punctuated_the_chinese_way() -> None:
    found: dict[str, list[tuple[str, str]]] = {}
    read, seen = 0, set()
    for where, text in chinese_texts():
        read += 1
        seen.add(where)
        if problems(text):
            found.setdefault(where, []).extend(problems(text))
    found = {where: sorted(set(p)) for where, p in found.items()}
    assert not found, "\n".join(f"{w}: {p}" for w, p in found.items())
    templates = {where.split(" ")[2] for where in seen}
    if UNRENDERED:
        warnings.warn(f"not rendered, no context for them here: {sorted(UNRENDERED)}",
                      stacklevel=1)
    assert len(templates) > 100 and read > 3000, (len(templates), read)
