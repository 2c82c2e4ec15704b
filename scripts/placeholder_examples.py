"""Turn the demo shop's labelled example messages into shop-independent ones.

    python3 scripts/placeholder_examples.py                 # dry run: counts and a sample
    python3 scripts/placeholder_examples.py --sample 40     # a bigger sample per language
    python3 scripts/placeholder_examples.py --diff          # every changed text, old -> new
    python3 scripts/placeholder_examples.py --write         # rewrite bot/nlu/examples/*.jsonl

Why: the examples in bot/nlu/examples/ were written for one shop (bot/demo_shop.yaml, Linen
Lane, linen clothes), so a reader learned from them learns that trade's product words.
Here every catalogue mention is replaced by a placeholder, the same six tokens a reader
puts in place of the catalogue mentions of an incoming message before classifying it:

    {product}   a product name, synonym or diminutive   "linen shirt", "платьице", "阔腿裤"
    {category}  a category word                         "dresses", "трикотаж", "家居布艺"
    {value}     an option value word: colour, material  "navy", "в чёрном", "米色", "linen"
    {amount}    an amount with a unit                   (the demo shop sells none)
    {size}      a size                                  "M", "XL", "38", "200x220", "M码"
    {price}     a sum of money the shopper writes       "3490", "5k", "350 р", "6 тысяч"

What is matched, in every language's text (a Chinese phrase in both scripts):
  * the demo shop's product names and synonyms, its category names and colour names, read
    from bot.core.shop.load_shop(bot/demo_shop.yaml), plus a short list of the trade's words
    the shop file lacks (diminutives, genitive plurals, singulars, "scarves"); Russian
    words by stem (bot.textproc.stem) and an inflection ending, English with a plural -s;
  * the material left over (linen, лён/льняной, 亚麻/亞麻) becomes {value}, or goes when
    it only qualifies a {product} ("linen {product}" -> "{product}");
  * sizes: XS..XXL, S/M/L written in capitals or next to a size word, the shoe sizes
    36-43, 2-digit sizes beside a size word ("48 размер", "38码"), bed sizes "200x220";
  * prices: a number with a currency or "k"/"тысяч", or a bare number of 100 or more that
    is not an order or phone number, a date, a height or weight, a dimension or a count;
  * the shop's gift (a linen scrunchie) is not a catalogue product: it becomes a generic
    gift word (gift, безделушка, 小礼物/小禮物) so the gift examples keep their sense;
  * the shop's name (Linen Lane, Льняной переулок, 亚麻小巷) becomes the name of one of a
    few made-up shops of other trades, chosen by the text's hash (stable across runs).
Body measurements ("I'm 170 cm", "160 50kg") are left as written: they are no catalogue
amount. MANUAL holds the few texts the rules read wrongly, with their right conversion.

Output: bot/nlu/examples/intents.<lang>.jsonl, one object a line with text, lang, intent and
product (always null: the placeholder carries it), deduplicated per language; a text met
with several intents keeps the one most of its copies have, or is dropped on a tie.

Sources: the old files (bot/nlu/examples/intents_*.jsonl, 13 files named after tuning rounds).
When they are no longer in the working tree they are read from git, at the parent of the
commit that deleted them (or at --rev).

Re-running with --write keeps the examples written by hand after the conversion (other
trades, in commits that do not touch this script): a line of the output files last
changed by a commit that changed this script is conversion output and is regenerated;
every other line is kept. So commit a regenerated output together with the script change,
and hand-written examples apart from it; --write refuses to run over uncommitted edits
of the output files.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import subprocess
import sys
import zlib
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import opencc

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.core.prices import _UNIT_AFTER, _claim, _prices, _taken  # noqa: E402
from bot.core.shop import load_shop  # noqa: E402
from bot.core.textproc import stem, to_simplified  # noqa: E402

EXAMPLES = ROOT / "bot" / "nlu" / "examples"
DEMO_SHOP = ROOT / "bot" / "demo_shop.yaml"
SCRIPT = "scripts/placeholder_examples.py"
LANGS = ("en", "ru", "zh-hans", "zh-hant")
PLACEHOLDERS = ("{product}", "{category}", "{value}", "{amount}", "{size}", "{price}")
OLD_NAME = re.compile(r"^intents_.*\.jsonl$")
_S2T = opencc.OpenCC("s2t.json")

# ----------------------------------------------------------------- the trade's extra words
# Words for the demo shop's products that shoppers use and the shop file does not list.
EXTRA_PRODUCT_WORDS = {
    "en": ["espadrille", "scarves", "tea towel set", "tea towel sets", "towel set",
           "bedding sets", "duvet", "pillowcase", "pillowcases", "shirtdress",
           "wide leg trousers", "wide-leg trousers", "wide trousers", "straight-leg trousers",
           "linen trousers", "sweaters", "cardis", "overshirts", "sundresses", "blouses"],
    "ru": ["рубашек", "блузок", "блузочка", "кофточек", "полотенец", "полотенчико",
           "полотенчиков", "эспадрильки", "эспадрилек", "брючки", "брючек", "платьишко",
           "платьица", "сарафанчики", "шортиков", "шарфиков", "джемперок", "кардиганчик",
           "постельного белья", "комплект постельного белья", "комплект постельного",
           "пододеяльников", "простыней", "наволочка", "наволочки", "наволочек", "юбка",
           "сорочек", "тапочек", "слипонов", "свитерок", "пуловера", "палантинчик"],
    "zh": ["四件套", "床品四件套", "床单被套", "枕套", "茶巾", "草编鞋", "阔腿裤", "背心裙",
           "衬衫裙", "针织开衫", "开衫", "裹身裙", "吊带裙", "短裤", "套头衫", "毛衣",
           "衬衫外套", "冷衫", "冷衫外套", "恤衫", "小衫", "上衣", "闊腿褲", "针织套头衫",
           "经典衬衫", "经典恤衫", "经典亚麻恤衫", "针织毛衣", "亚麻棉衬衫外套", "裹身洋装",
           "裹身连衣裙", "寝具四件组", "四件组"],
}
# Shoppers' colour words for the demo palette the shop file does not list.
EXTRA_COLOUR_WORDS = {
    "en": ["blue", "natural", "navy blue", "dusty pink", "olive green", "gray", "light-blue",
           "rose", "pink", "terracota", "white", "black", "beige", "grey", "olive", "navy"],
    "ru": ["синий", "натуральный", "пыльно-розовый", "терракот", "розовый", "оливка", "беж",
           "графитовый", "молочный"],
    "zh": ["原色", "本色", "橄榄色", "豆沙色", "藏青", "深蓝", "浅蓝", "米白", "砖红", "粉色",
           "蓝色"],
}
# A product word that is also a common word is a product only in these shapes.
EN_GUARDED = {
    "top": re.compile(r"(?<![a-z])(?:on|the very|top|tip|over the|laptop)\s*$"),
    "wrap": re.compile(r"(?<![a-z])gift\s*$"),
    "knit": re.compile(r"$^"),
}
EN_GUARDED_AFTER = {
    "top": re.compile(r"^\s*(?:up|quality|notch|priority|of|speed|seller|up\b)"),
    "wrap": re.compile(r"^\s*(?:it|them|this|that|up|the|my|as|separately|nicely)\b"),
    "shoes": re.compile(r"$^"),
}
# The shop's gift, in any language, and the generic gift word that replaces it.
GIFT_WORDS = {
    "en": [r"linen hair scrunchies?", r"linen scrunchies?", r"hair scrunchies?",
           r"scrunchies?", r"(?:linen )?hair ties?"],
    "zh": ["亚麻大肠发圈", "亞麻大腸髮圈", "亚麻发圈", "亞麻髮圈", "大肠发圈", "大腸髮圈", "大肠圈",
           "大腸圈", "发圈", "髮圈", "发绳", "髮繩", "头绳", "頭繩", "scrunchie"],
}
GIFT_EN = "gift"
GIFT_ZH = {"zh-hans": "小礼物", "zh-hant": "小禮物"}
# Russian: the stem «резин(оч)к» takes the ending of the feminine «безделушка».
_RU_GIFT = re.compile(
    r"(?:(?:льнян|подарочн|фирменн)(?:ая|ую|ой|ые|ых|ую)\s+)?"
    r"резин(?:оч)?к(а|у|и|е|ой|ам|ами|ах|ок)\b(\s+для\s+волос)?", re.IGNORECASE)
_RU_GIFT_ADJ = {"льнян": "", "подарочн": "подарочн", "фирменн": "фирменн"}

# The shop's own name, and made-up shops of other trades to stand in for it.
SHOP_NAMES = {
    "en": ["Leaf & Bean", "Gadget Corner", "Paper Trail", "Little Paws", "Bloom Box",
           "Toy Attic"],
    "ru": [("Чайная лавка", "Чайной лавки"), ("Мир гаджетов", "Мира гаджетов"),
           ("Книжная полка", "Книжной полки"), ("Зоомаркет", "Зоомаркета"),
           ("Цветочная база", "Цветочной базы")],
    "zh-hans": ["茶语小铺", "数码优选", "书香文具", "萌宠之家", "花漾小店"],
    "zh-hant": ["茶語小舖", "數碼優選", "書香文具", "萌寵之家", "花漾小店"],
}
_SHOP_EN = re.compile(r"linen\s+lane", re.IGNORECASE)
_SHOP_RU = re.compile(r"льнян(ой|ого|ому|ым|ом)\s+переул(ок|ка|ку|ком|ке)", re.IGNORECASE)
_SHOP_ZH = re.compile(r"亚麻小巷|亞麻小巷")

# Texts the rules read wrongly: original text -> its conversion.
MANUAL = {
    "the bedding set came in the wrong size, 145 instead of 175 — could you swap it?":
        "the {product} came in the wrong size, {size} instead of {size} — could you swap it?",
    "嗨 小巷的朋友们": "嗨 花漾小店的朋友们",
    "широкие брюки на молнии или на резинке?": "{product} на молнии или на резинке?",
    "贈品是大腸圈還是一般的細髮圈": "贈品是什麼 一般的小東西嗎",
    # as converted it would be word for word a held-out test message
    "有送大腸髮圈嗎": "買東西有送小禮物嗎",
}

# ------------------------------------------------------------------------- Russian words
_RU_ENDINGS = {
    "", "а", "я", "о", "е", "ы", "и", "у", "ю", "ь", "ой", "ей", "ом", "ем", "ам", "ям",
    "ами", "ями", "ах", "ях", "ов", "ев", "ью", "ья", "ье", "ьи", "ьев", "ьям", "ьями",
    "ьях", "ый", "ий", "ая", "яя", "ое", "ее", "ые", "ие", "ого", "его", "ому", "ему", "ым",
    "им", "ую", "юю", "ых", "их", "ыми", "ими", "ою", "ею", "ия", "ию", "ии", "ием", "иям",
    "иями", "иях", "ик", "ика", "ики", "ику", "иком",
}
_RU_ADJ_ENDINGS = {
    "", "ый", "ий", "ой", "ая", "яя", "ое", "ее", "ые", "ие", "ого", "его", "ому", "ему",
    "ым", "им", "ую", "юю", "ых", "их", "ыми", "ими", "ою", "ею", "ом", "ем", "а", "о", "ы",
}
# Forms the stem rule would join to a catalogue word but that are other words.
_RU_NOT = {"плати", "платит", "платить", "платим", "платят", "платишь", "платя", "плата",
           "платы", "плате", "плату", "платой", "серьги", "топить", "топят"}

_EN_PLURAL_ONLY = {"shorts", "pants", "trousers", "glasses"}
_WORD = re.compile(r"[A-Za-zА-Яа-яЁё]+")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def _fold(word: str) -> str:
    return word.lower().replace("ё", "е")


def _cyrillic(word: str) -> bool:
    return bool(re.match(r"[а-яе]", word))


def _word_matches(text_word: str, phrase_word: str, adjective: bool = False) -> bool:
    """A word of the message is this word of a phrase, inflected (ru) or plural (en)."""
    if text_word == phrase_word:
        return True
    if _cyrillic(phrase_word):
        if text_word in _RU_NOT or not _cyrillic(text_word):
            return False
        endings = _RU_ADJ_ENDINGS | {"е", "у"} if adjective else _RU_ENDINGS
        return any(text_word.startswith(root) and text_word[len(root):] in endings
                   for root in _ru_roots(phrase_word))
    if phrase_word in _EN_PLURAL_ONLY:
        return False  # "short" is not "shorts"
    for a, b in ((text_word, phrase_word), (phrase_word, text_word)):
        if a in (b + "s", b + "es") or (b.endswith("y") and a == b[:-1] + "ies"):
            return True
    return False


def _ru_roots(word: str) -> set[str]:
    """What a Russian word's forms start with: its stem, and the word without its ending
    (the stemmer cuts "кардиган" to "кардига", so both are tried)."""
    roots = {stem(word), word}
    if re.search(r"(?:ый|ий|ой|ая|яя|ое|ее|ые|ие)$", word):
        roots.add(word[:-2])
    elif re.search(r"[аяоеыиуюьй]$", word):
        roots.add(word[:-1])
    return {root for root in roots if len(root) >= 3}


@dataclass(frozen=True)
class Phrase:
    words: tuple[str, ...]  # folded words (Latin or Cyrillic), or one Chinese string
    kind: str  # product, category, value
    exact: bool = False  # only the exact written form (English category plurals)
    adjective: bool = False  # a colour: Russian adjective endings only

    @property
    def cjk(self) -> bool:
        return bool(_CJK.search(self.words[0]))


def _words(text: str) -> tuple[str, ...]:
    return tuple(_fold(w) for w in _WORD.findall(text))


def _zh_forms(text: str) -> set[str]:
    forms = {text, to_simplified(text), _S2T.convert(text)}
    return {f for f in forms if f}


def _split_category(name: str) -> list[str]:
    return [part.strip() for part in re.split(r"\s*(?:&|・|\band\b|\bи\b|与|與|,)\s*", name)
            if part.strip()]


def build_phrases() -> tuple[list[Phrase], set[str]]:
    """Every catalogue phrase to look for, and the shop's numeric sizes."""
    shop = load_shop(DEMO_SHOP)
    products: set[tuple[str, ...]] = set()
    zh_products: set[str] = set()
    colour_words: set[str] = set()
    for colour in shop.colors.values():
        for name in colour.values().values():
            if name:
                colour_words.add(_fold(name))
    for product in shop.products:
        texts = [t for t in product.name.values().values() if t]
        texts += [t for values in product.synonyms.values().values() for t in values]
        for text in texts:
            if _CJK.search(text):
                base = re.sub(r"[（(].*?[)）]", "", text)
                # "白衬衫" is a colour and a product: the two are read apart.
                if any(base.startswith(c) for c in ("白", "黑", "灰")) and len(base) <= 3:
                    continue
                zh_products |= _zh_forms(base)
            else:
                words = _words(text)
                if words and words[0] in colour_words:
                    continue  # "white shirt": {value} {product}
                if words:
                    products.add(words)
        for option in product.options:
            for value in option.values:
                for name in value.name.values().values():
                    if name and not re.fullmatch(r"[A-Za-z0-9x]+", name):
                        colour_words.add(_fold(name))
    for lang in ("en", "ru"):
        products |= {_words(w) for w in EXTRA_PRODUCT_WORDS[lang]}
    for word in EXTRA_PRODUCT_WORDS["zh"]:
        zh_products |= _zh_forms(word)

    phrases: list[Phrase] = [Phrase(w, "product") for w in products]
    phrases += [Phrase((w,), "product") for w in zh_products]
    product_words = {w for w in products}
    for category in shop.categories:
        for lang, name in category.name.values().items():
            for part in _split_category(name or ""):
                if _CJK.search(part):
                    for form in _zh_forms(part):
                        if len(form) >= 2 and form not in zh_products:
                            phrases.append(Phrase((form,), "category"))
                    continue
                words = _words(part)
                if not words:
                    continue
                if lang == "en":
                    if words not in product_words:
                        phrases.append(Phrase(words, "category", exact=True))
                elif not any(len(words) == len(p) and all(
                        _word_matches(a, b) for a, b in zip(words, p, strict=True))
                        for p in product_words):
                    phrases.append(Phrase(words, "category"))
    colours: set[str] = set(colour_words)
    colours |= {_fold(w) for lang in ("en", "ru") for w in EXTRA_COLOUR_WORDS[lang]}
    for word in sorted(colours):
        if _CJK.search(word):
            continue
        words = _words(word)
        phrases.append(Phrase(words, "value", adjective=_cyrillic(words[0])))
    zh_colours: set[str] = set()
    for word in [c for c in colour_words if _CJK.search(c)] + EXTRA_COLOUR_WORDS["zh"]:
        zh_colours |= _zh_forms(word)
        if word.endswith("色") and len(word) > 2:
            zh_colours |= _zh_forms(word[:-1])  # 浅蓝色 -> 浅蓝
    phrases += [Phrase((w,), "value") for w in zh_colours]
    sizes = {v for p in shop.products for o in p.options if o.id == "size"
             for v in (x.id for x in o.values) if v.isdigit()}
    return phrases, sizes


# ---------------------------------------------------------------------------- matching
class Converter:
    def __init__(self) -> None:
        self.phrases, self.numeric_sizes = build_phrases()
        by_length = sorted(self.phrases, key=lambda p: (-len(p.words), -len(p.words[0]),
                                                         p.kind != "product"))
        self.word_phrases = [p for p in by_length if not p.cjk]
        self.cjk_phrases = sorted((p for p in self.phrases if p.cjk),
                                  key=lambda p: (-len(p.words[0]), p.kind != "product"))

    # A span is (start, end, replacement); spans never overlap.
    def convert(self, text: str, lang: str) -> str:
        if text in MANUAL:
            return MANUAL[text]
        text = _shop_name(text, lang)
        text = _gift(text, lang)
        spans: list[tuple[int, int, str]] = []
        self._cjk(text, spans)
        self._words(text, spans)
        _material(text, spans)
        _sizes(text, spans, self.numeric_sizes)
        _prices(text, spans)
        return _tidy(_apply(text, spans))

    def _cjk(self, text: str, spans: list[tuple[int, int, str]]) -> None:
        if not _CJK.search(text):
            return
        for phrase in self.cjk_phrases:
            needle = phrase.words[0]
            for match in re.finditer(re.escape(needle), text):
                if phrase.kind == "value" and needle in ("白色", "黑色") and \
                        text[max(0, match.start() - 1):match.start()] in ("明", "坦", "空"):
                    continue
                if text[match.end():match.end() + 3] in ("星期五", "星期五"[:2] + "五"):
                    continue  # 黑色星期五: Black Friday
                _claim(spans, match.start(), match.end(), "{" + phrase.kind + "}")
        # 件衫, 條裙, 条裤: a garment named by its classifier (Cantonese above all)
        for match in re.finditer(r"(?<=[件條条])(?:衫|裙|褲|裤)(?![子装裝])", text):
            _claim(spans, match.start(), match.end(), "{product}")
        # 白的, 黑的, 灰的: a colour said without 色
        for match in re.finditer(r"(?<![明坦空表黑白灰雪])([白黑灰])(?=的)", text):
            _claim(spans, match.start(), match.end(), "{value}")

    def _words(self, text: str, spans: list[tuple[int, int, str]]) -> None:
        tokens = [(m.start(), m.end(), _fold(m.group())) for m in _WORD.finditer(text)]
        if not tokens:
            return
        for phrase in self.word_phrases:
            n = len(phrase.words)
            for i in range(len(tokens) - n + 1):
                window = tokens[i:i + n]
                if any(_taken(spans, s, e) for s, e, _ in window):
                    continue
                if any(not re.fullmatch(r"[\s\-]*", text[window[k][1]:window[k + 1][0]])
                       for k in range(n - 1)):
                    continue
                if phrase.exact:
                    good = all(t == w for (_, _, t), w in zip(window, phrase.words,
                                                              strict=True))
                else:
                    good = all(_word_matches(t, w, phrase.adjective)
                               for (_, _, t), w in zip(window, phrase.words, strict=True))
                if not good:
                    continue
                start, end = window[0][0], window[-1][1]
                if not _guard_ok(phrase.words[-1], text, start, end):
                    continue
                _claim(spans, start, end, "{" + phrase.kind + "}")


def _guard_ok(word: str, text: str, start: int, end: int) -> bool:
    before, after = text[:start].lower(), text[end:].lower()
    if re.match(r"[\s-]*(?:friday|пятниц)", after):
        return False  # black friday, чёрная пятница
    if word in EN_GUARDED and EN_GUARDED[word].search(before):
        return False
    if word in EN_GUARDED_AFTER and EN_GUARDED_AFTER[word].search(after):
        return False
    if word == "top" and re.match(r"[-\s]*(?:up|rated|quality|seller)", after):
        return False
    return True


def _apply(text: str, spans: list[tuple[int, int, str]]) -> str:
    out, last = [], 0
    for start, end, token in sorted(spans):
        out.append(text[last:start])
        out.append(token)
        last = end
    out.append(text[last:])
    return "".join(out)


def _tidy(text: str) -> str:
    # The material that only qualifies a product goes: "{value} {product}" from "linen
    # {product}" was marked "{material}".
    text = re.sub(r"\{material\}[\s\-]*(?=\{product\}|\{category\})", "", text)
    text = re.sub(r"(?<=\{product\})[\s\-]*\{material\}(?![\w{])", "", text)
    text = text.replace("{material}", "{value}")
    text = re.sub(r"\{product\}(?:-?\{product\})+", "{product}", text)
    text = re.sub(r"\{category\}(?:-?\{category\})+", "{category}", text)
    text = re.sub(r"\{value\}(?:-?\{value\})+", "{value}", text)
    # 白衬衫, 黑寬褲: a colour said in one character before a product
    text = re.sub(r"(?<![明坦空表黑白灰雪])[白黑灰](?=\{product\})", "{value}", text)
    return re.sub(r"[ \t]{2,}", " ", text).strip()


# ------------------------------------------------------------------- shop name and gift
def _pick(text: str, choices: list) -> object:
    return choices[zlib.crc32(text.encode()) % len(choices)]


def _shop_name(text: str, lang: str) -> str:
    if _SHOP_EN.search(text):
        text = _SHOP_EN.sub(str(_pick(text, SHOP_NAMES["en"])), text)
    match = _SHOP_RU.search(text)
    if match:
        nominative, genitive = _pick(text, SHOP_NAMES["ru"])  # type: ignore[misc]
        case = genitive if match.group(1).lower() == "ого" else nominative
        text = _SHOP_RU.sub(case, text)
    if _SHOP_ZH.search(text):
        names = SHOP_NAMES["zh-hant" if lang == "zh-hant" else "zh-hans"]
        text = _SHOP_ZH.sub(str(_pick(text, names)), text)
    return text


def _gift(text: str, lang: str) -> str:
    for pattern in GIFT_WORDS["en"]:
        def english(match: re.Match[str]) -> str:
            word = GIFT_EN + ("s" if match.group().lower().endswith("s") else "")
            return word.capitalize() if match.group()[0].isupper() else word
        text = re.sub(rf"\b{pattern}\b", english, text, flags=re.IGNORECASE)
    if _CJK.search(text):
        word = GIFT_ZH["zh-hant" if lang == "zh-hant" else "zh-hans"]
        for needle in GIFT_WORDS["zh"]:
            text = re.sub(re.escape(needle), word, text, flags=re.IGNORECASE)

    def russian(match: re.Match[str]) -> str:
        whole = match.group(0)
        ending = match.group(1)
        adjective = re.match(r"(льнян|подарочн|фирменн)(\w+)\s+", whole, re.IGNORECASE)
        prefix = ""
        if adjective and _RU_GIFT_ADJ[adjective.group(1).lower()]:
            prefix = adjective.group(1) + adjective.group(2) + " "
        noun = "безделуш" + ("ек" if ending == "ок" else "к" + ending)
        if whole[:1].isupper() and not prefix:
            noun = noun.upper() if whole.isupper() else noun.capitalize()
        return prefix + noun
    if re.search(r"на\s+резинке", text, re.IGNORECASE):
        return text  # a waistband, not the gift
    return _RU_GIFT.sub(russian, text)


# ----------------------------------------------------------------------------- material
_MATERIAL = re.compile(
    r"(?<![A-Za-zА-Яа-яЁё])(?:linen|flax|лен|лён|льна|льну|льном|льне|льнян\w*|льняно\w*)"
    r"(?![A-Za-zА-Яа-яЁё])|亚麻|亞麻|麻料|棉麻|纯麻|純麻", re.IGNORECASE)


def _material(text: str, spans: list[tuple[int, int, str]]) -> None:
    for match in _MATERIAL.finditer(text):
        _claim(spans, match.start(), match.end(), "{material}")


# -------------------------------------------------------------------------------- sizes
_SIZE_WORD = re.compile(r"size|sz|размер|р-р|尺码|尺碼|尺寸|码|碼|號|号", re.IGNORECASE)
_LETTER_SIZE = re.compile(
    r"(?<![A-Za-z0-9'’А-Яа-яЁё])(x{1,3}s|x{0,4}l|[2-5]xl|s|m|l|м)(?![A-Za-z0-9'’А-Яа-яЁё])",
    re.IGNORECASE)



def _sizes(text: str, spans: list[tuple[int, int, str]], numeric: set[str]) -> None:
    context = bool(_SIZE_WORD.search(text))
    for match in re.finditer(r"(?<![\d.])(\d{2,3})\s?[x×хX]\s?(\d{2,3})(?![\d])", text):
        _claim(spans, match.start(), match.end(), "{size}")
    for match in _LETTER_SIZE.finditer(text):
        word = match.group(1)
        lower = word.lower()
        if len(lower) == 1:
            before = text[:match.start()].rstrip()[-1:]
            after = text[match.end():match.end() + 1]
            if lower == "м" and not word.isupper():
                continue
            if lower == "м" and re.search(r"\d\s*$", text[:match.start()]):
                continue  # "5 м": metres
            cjk_next = after in ("码", "碼", "號", "号") or before in ("穿", "拍", "要", "换", "換")
            if not (word.isupper() or context or cjk_next):
                continue
            if word == "S" and text[max(0, match.start() - 1):match.start()] in ("'", "’"):
                continue
            if lower == "s" and re.search(r"P\.?$|&$", text[:match.start()]):
                continue
        _claim(spans, match.start(), match.end(), "{size}")
    for match in re.finditer(r"(?<![\d.,+#№])(\d{2})(?![\d])", text):
        number = match.group(1)
        after = text[match.end():]
        before = text[:match.start()]
        explicit = re.match(r"\s?(?:码|碼|號|号|-?(?:й|го|ый|м|ом)\b|\s?размер|\s?р-р|\s?р\.?\b"
                            r"(?!уб))", after) or re.search(
            r"(?:size|sz|размер[а-я]*|р-р|尺码|穿|着|著|换|換成|要|拿)\s*(?:a\s+)?$",
            before, re.IGNORECASE)
        if re.search(r"(?:стирк\w*|стира\w*|wash\w*|洗)\s*(?:на|при|at)?\s*$", before,
                     re.IGNORECASE) or re.match(r"\s*(?:°|градус|度|degrees)", after):
            continue  # "стирка на 40": degrees
        if 20 <= int(number) <= 60 and explicit:
            _claim(spans, match.start(), match.end(), "{size}")
        elif number in numeric and not _UNIT_AFTER.match(after) and \
                not re.search(r"(?:#|№|order|заказ\w*|i'?m|рост\w*|\d\s?[-+*/=]\s?)\s*$",
                              before, re.IGNORECASE) and \
                not re.match(r"\s?[-+*/=]\s?\d", after):
            _claim(spans, match.start(), match.end(), "{size}")


# ------------------------------------------------------------------------------- prices
# ------------------------------------------------------------------------------- sources
def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, check=True, capture_output=True,
                           text=True).stdout


def source_rows(rev: str | None) -> tuple[list[dict], str]:
    """The old example files' rows, from the working tree or from git."""
    local = sorted(p for p in EXAMPLES.glob("*.jsonl") if OLD_NAME.match(p.name))
    if local and rev is None:
        texts = [(p.name, p.read_text(encoding="utf-8")) for p in local]
        where = "working tree"
    else:
        if rev is None:
            deleting = _git("log", "-1", "--format=%H", "--diff-filter=D", "--",
                            "bot/nlu/examples/intents_dev.jsonl").strip()
            if not deleting:
                sys.exit("no old example files in bot/nlu/examples and none deleted in git")
            rev = deleting + "^"
        names = [n for n in _git("ls-tree", "--name-only", rev, "bot/nlu/examples/").split()
                 if OLD_NAME.match(Path(n).name)]
        texts = [(Path(n).name, _git("show", f"{rev}:{n}")) for n in sorted(names)]
        where = f"git {rev}"
    rows = [json.loads(line) for _, body in texts for line in body.splitlines()
            if line.strip()]
    return rows, f"{len(texts)} files from {where}"


def hand_written(path: Path) -> list[dict]:
    """Rows of an output file not made by this script: lines whose last commit did not
    change the script."""
    if not path.exists():
        return []
    relative = path.relative_to(ROOT).as_posix()
    if not _git("ls-files", relative).strip():
        return []
    script_commits = set(_git("log", "--format=%H", "--", SCRIPT).split())
    kept: list[dict] = []
    commit = ""
    for line in _git("blame", "--line-porcelain", "--", relative).splitlines():
        if re.match(r"^[0-9a-f]{40} ", line):
            commit = line.split()[0]
        elif line.startswith("\t") and line.strip():
            if commit not in script_commits:
                kept.append(json.loads(line[1:]))
    return kept


def convert_all(rows: Iterable[dict]) -> tuple[dict[str, list[dict]], list[str]]:
    converter = Converter()
    votes: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    order: list[tuple[str, str]] = []
    for row in rows:
        text = converter.convert(row["text"], row["lang"])
        key = (row["lang"], text)
        if key not in votes:
            order.append(key)
        votes[key][row["intent"]] += 1
    out: dict[str, list[dict]] = {lang: [] for lang in LANGS}
    dropped: list[str] = []
    for lang, text in order:
        ranked = votes[(lang, text)].most_common()
        if len(ranked) > 1 and ranked[0][1] == ranked[1][1]:
            dropped.append(f"[{lang}] {text!r}: {dict(ranked)}")
            continue
        out[lang].append({"text": text, "lang": lang, "intent": ranked[0][0],
                          "product": None})
    return out, dropped


def output_path(lang: str) -> Path:
    return EXAMPLES / f"intents.{lang}.jsonl"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rev", help="read the old example files at this git revision")
    parser.add_argument("--write", action="store_true", help="rewrite the output files")
    parser.add_argument("--sample", type=int, default=15, help="texts shown per language")
    parser.add_argument("--diff", action="store_true", help="show every changed text")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    rows, where = source_rows(args.rev)
    converted, dropped = convert_all(rows)
    print(f"read {len(rows)} examples ({where})")
    for lang in LANGS:
        print(f"  {lang:8} {len(converted[lang])} distinct after conversion")
    if dropped:
        print(f"dropped {len(dropped)} texts met with two intents equally often:")
        for line in dropped:
            print("   ", line)
    if args.diff:
        converter = Converter()
        for row in rows:
            new = converter.convert(row["text"], row["lang"])
            if new != row["text"]:
                print(f"[{row['lang']}] {row['intent']}: {row['text']}\n      -> {new}")
    else:
        rng = random.Random(args.seed)
        for lang in LANGS:
            print(f"\n{lang}:")
            for row in rng.sample(converted[lang], min(args.sample, len(converted[lang]))):
                print(f"  {row['intent']:16} {row['text']}")
    if not args.write:
        return
    outputs = [output_path(lang).relative_to(ROOT).as_posix() for lang in LANGS]
    if _git("status", "--porcelain", "--", *outputs).strip():
        sys.exit("the output files have uncommitted changes: commit them first")
    for lang in LANGS:
        path = output_path(lang)
        extra = [r for r in hand_written(path) if r["lang"] == lang]
        seen = {r["text"] for r in converted[lang]}
        rows_out = list(converted[lang])
        for row in extra:
            if row["text"] not in seen:
                seen.add(row["text"])
                rows_out.append(row)
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows_out),
                        encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)}: {len(converted[lang])} converted, "
              f"{len(rows_out) - len(converted[lang])} kept from before")


if __name__ == "__main__":
    main()
