"""Which catalogue products, sizes and colours a message is about, in any of the four
languages. Plain data over the shop file; nothing here knows about Telegram."""

from __future__ import annotations

import math
import re
from collections import defaultdict
from dataclasses import dataclass
from functools import cache, lru_cache

from bot.core.prices import price_spans
from bot.core.shop import Localized, LocalizedList, Shop
from bot.core.textproc import Analysed, TypoIndex, diminutive_bases, fold, stem
from bot.core.units import Quantity, Written, quantities

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_WORD = re.compile(r"[a-z0-9]+|[а-я]+")
_LETTER_SIZES = {"xxs", "xs", "s", "m", "l", "xl", "xxl", "xxxl", "2xl", "3xl", "4xl", "5xl"}
_SIZE_WORDS = re.compile(r"(?:size|sz|размер\w*|р-р|码|號|号|尺码|尺寸)")
# Words that say nothing about which product is meant.
_STOP = {"and", "with", "for", "the", "of", "set", "a", "an", "or", "to", "in", "on", "at",
         "by", "per", "from", "it", "is", "are", "my", "your", "our", "this", "that",
         "и", "с", "для", "на", "из", "в", "во", "по", "к", "от", "до", "у", "за", "а", "но",
         "или", "о", "об", "же", "ли"}  # never "не": "не жареный" is a value
FULL = 2.0  # a score at or above this means a whole name or synonym was written
_KIND = {"category": "{category}", "value": "{value}"}
_RANK = {"{product}": 0, "{category}": 1, "{value}": 2}
_REPEATED = re.compile(r"(\{\w+\})(?:\s*\1)+")
MAX_POSTINGS = 200


@dataclass(frozen=True)
class Mention:
    products: tuple[tuple[str, float], ...]  # (product id, score), best first
    product: str | None  # the one product meant, when it is clear
    category: str | None
    sizes: tuple[str, ...]
    values: tuple[tuple[str, str], ...] = ()  # (option id, value id) named, any product's
    quantities: tuple[Written, ...] = ()  # "250 g", "半斤": amounts with units
    # The message's words, to read the values of the one product meant ("black" for its
    # "onyx black"), which the whole catalogue's index cannot single out.
    stems: frozenset[str] = frozenset()
    cjk: str = ""
    folded: str = ""  # the whole message, folded: what it says of options as such
    whole: tuple[int, ...] = ()  # the catalogue index's phrases written whole
    # The one product whose options (values, amounts) explain the message best when no
    # product is named: "500 g, ground for filter?" with no product in the conversation.
    suggested: str | None = None
    # Products and how many of the option values and amounts named they sell.
    fits: tuple[tuple[str, int], ...] = ()

    def fit(self, product_id: str) -> int:
        return dict(self.fits).get(product_id, 0)

    @property
    def options(self) -> bool:
        """Something was said of a product's options: a size, a value, an amount."""
        return bool(self.sizes or self.values or self.quantities)

    @property
    def named(self) -> bool:
        """A whole product name or synonym was written (not just a word shared by many)."""
        return any(score >= FULL for _, score in self.products)

    @property
    def anything(self) -> bool:
        return bool(self.products or self.category or self.options)


@dataclass
class _Phrase:
    owner: str  # product id, or "category:<id>", or "value:<option id>:<value id>"
    stems: frozenset[str] = frozenset()
    cjk: str = ""
    grams: frozenset[str] = frozenset()  # the pairs of characters of its Chinese
    weight: float = 0.0  # how rare those pairs are, together (the evidence of all of them)
    whole_only: bool = False  # counts only when written whole (an amount's word names)


class CatalogueIndex:
    def __init__(self, shop: Shop) -> None:
        self.phrases: list[_Phrase] = []
        self.by_stem: dict[str, list[int]] = defaultdict(list)
        self.by_bigram: dict[str, list[int]] = defaultdict(list)
        self.typos = TypoIndex()
        self.sizes = {v.size.lower(): v.size for p in shop.products for v in p.variants if v.size}
        # Which products sell an option value or an amount, so that the options a message
        # names count as evidence for the products that have them.
        self.value_products: dict[tuple[str, str], set[str]] = defaultdict(set)
        self.amount_products: dict[tuple[str, str], set[str]] = defaultdict(set)
        self.amount_numbers: set[str] = set()  # "256" of "256 GB"
        for product in shop.products:
            for option in product.options:
                for value in option.values:
                    self.value_products[(option.id, value.id)].add(product.id)
                    if value.quantity is not None:
                        self.amount_products[_amount_key(value.quantity)].add(product.id)
                        self.amount_numbers.update(
                            m.group() for t in value.name.values().values() if t
                            for m in [re.match(r"\d+", t)] if m)
        owners_per_stem: dict[str, set[str]] = defaultdict(set)
        for product in shop.products:
            for text in _texts(product.name, product.synonyms):
                self._add(product.id, text, owners_per_stem)
        for category in shop.categories:
            for text in _texts(category.name, None):
                self._add(f"category:{category.id}", text, owners_per_stem)
        # Option values that are words ("dark roast", "white"): sizes and amounts are read
        # by their own rules. Owned by option and value, whichever products sell them.
        # A value that is another product's name (a case "for iPhone 15") is known by that
        # product's synonyms too ("айфон 15").
        names = {fold(text): product for product in shop.products
                 for text in _texts(product.name, product.synonyms)}
        for product in shop.products:
            for option in product.options:
                for value in option.values:
                    if value.id.lower() in self.sizes:
                        # A size is read by its own rules ("XL"); its word names ("small",
                        # "средний", "中束") are words like any value's.
                        texts = [t for t in _texts(None, value.synonyms)
                                 if not (t.isascii() and len(t) <= 2)
                                 and not quantities(fold(t))]
                    elif value.quantity is not None:
                        # An amount is read by its own rules; its other names ("большая
                        # банка", "大罐") are words like any value's.
                        texts = [t for t in _texts(None, value.synonyms)
                                 if not quantities(fold(t))]
                    else:
                        texts = _texts(value.name, value.synonyms)
                        # Not the product's own names: "白吐司" may be both the loaf and
                        # its plain flavour, and then "黑糖生吐司" would name plain too.
                        for other in {id(p): p for t in texts
                                      if (p := names.get(fold(t))) is not None
                                      and p.id != product.id}.values():
                            texts += _texts(other.name, other.synonyms)
                    for text in dict.fromkeys(texts):
                        # "bag" alone is not "big bag": an amount's word names count whole.
                        self._add(f"value:{option.id}:{value.id}", text, owners_per_stem,
                                  whole_only=value.quantity is not None
                                  or value.id.lower() in self.sizes)
        count = max(1, len(shop.products))
        self.idf = {s: math.log(1 + count / len(owners)) for s, owners in owners_per_stem.items()}
        for phrase in self.phrases:
            phrase.weight = sum(self.idf.get(g, 1.0) for g in phrase.grams)

    def _add(self, owner: str, text: str, owners_per_stem: dict[str, set[str]],
             whole_only: bool = False) -> None:
        folded = fold(text)
        stems = frozenset(stem(w) for w in _WORD.findall(folded) if w not in _STOP)
        cjk = "".join(_CJK.findall(folded))
        if cjk.endswith("色") and len(cjk) > 2:
            cjk = cjk[:-1]  # 浅蓝色 -> 浅蓝: shoppers often drop the 色
        index = len(self.phrases)
        self.phrases.append(_Phrase(owner, stems, cjk, frozenset(_bigrams(cjk)) if cjk
                                    else frozenset(), whole_only=whole_only))
        for part in stems:
            self.by_stem[part].append(index)
            owners_per_stem[part].add(owner)
            self.typos.add(part)
        for bigram in _bigrams(cjk):
            self.by_bigram[bigram].append(index)
            owners_per_stem[bigram].add(owner)

    def find(self, message: Analysed) -> Mention:
        written = quantities(message.folded)
        # The words of an amount ("500 г") are the amount's, not a product's: "г" must not
        # find a product called "six teas of 10 g".
        in_amounts = {stem(w) for amount in written for w in _WORD.findall(amount.text)}
        outside = set(_WORD.findall(_blank(message.folded, written)))
        present = {s for w, s in zip(message.words, message.stems, strict=False)
                   if s not in in_amounts or w in outside}
        for word_stem in list(present):
            if word_stem not in self.by_stem:
                # A diminutive ("чехольчик", "коробочка") names what it is made from.
                base = next((b for b in diminutive_bases(word_stem) if b in self.by_stem), None)
                if base:
                    present.add(base)
                elif word_stem not in shoppers_words():
                    # A word shoppers use anyway ("stock", "price") is no typo of a name
                    # ("stack" of "stacker").
                    present |= self.typos.near(word_stem)
        # Words shared by hundreds of phrases ("shirt", "衬衫") cannot single out a product;
        # they still count for phrases reached through rarer words. This keeps a reading
        # fast with thousands of products.
        candidates: set[int] = set()
        for part in present:
            postings = self.by_stem.get(part, ())
            if len(postings) <= MAX_POSTINGS:
                candidates.update(postings)
        grams = _bigrams(message.cjk)
        for gram in grams:
            postings = self.by_bigram.get(gram, ())
            if len(postings) <= MAX_POSTINGS:
                candidates.update(postings)
        scores: dict[str, float] = {}
        matched: list[int] = []
        whole: list[int] = []
        for index in candidates:
            phrase = self.phrases[index]
            score = self._score(phrase, present, message, grams)
            if score <= 0 or (phrase.whole_only and score < FULL):
                continue
            matched.append(index)
            if score > scores.get(phrase.owner, 0.0):
                scores[phrase.owner] = score
            if score >= FULL:
                whole.append(index)
        products = sorted(((o, s) for o, s in scores.items() if ":" not in o),
                          key=lambda item: item[1], reverse=True)
        categories = sorted(((o[9:], s) for o, s in scores.items() if o.startswith("category:")
                             and s >= FULL), key=lambda item: item[1], reverse=True)
        # A value named only in part, by words a product's whole name holds ("白吐司", plain,
        # in "黑糖生吐司": 吐司 is the loaf's), is not named: those words are the product's.
        named_by_products = {token for index in whole if ":" not in self.phrases[index].owner
                             for token in self._tokens(self.phrases[index], present, grams)}
        values = tuple(tuple(o.split(":", 2)[1:]) for o, s in sorted(scores.items(),
                                                                     key=lambda i: -i[1])
                       if o.startswith("value:") and s >= 0.7 and (
                           s >= FULL or not self._owner_tokens(o, matched, present, grams)
                           <= named_by_products))
        # A value named whole outranks one of its option's named in part ("большая банка"
        # names the big tin; its "банка" is not the small one's "маленькая банка").
        whole_options = {option for option, value in values
                         if scores[f"value:{option}:{value}"] >= FULL}
        values = tuple((option, value) for option, value in values
                       if option not in whole_options
                       or scores[f"value:{option}:{value}"] >= FULL)
        named = [pid for pid, score in products if score >= FULL]
        product = _clear_winner(products)
        suggested = None
        fits: dict[str, int] = {}
        # Options and amounts named are evidence for the products that sell them; without
        # any, the names alone decide (and the common case stays cheap).
        best = None
        if values or written:
            tokens: dict[str, set[str]] = defaultdict(set)
            for index in matched:
                phrase = self.phrases[index]
                tokens[phrase.owner] |= self._tokens(phrase, present, grams)
            explained, fits = self._explained(tokens, values, written)  # type: ignore[arg-type]
            best = _dominant(explained)
        if best is not None and best != product:
            if named and all(explained[best] > explained[pid] for pid in named if pid != best):
                product = best  # "a litre of oolong": the bottled tea's flavour, not the tea
            elif not named and fits.get(best):
                suggested = best
        return Mention(
            products=tuple(products),
            product=product,
            category=categories[0][0] if categories else None,
            sizes=self._sizes(message),
            values=values,  # type: ignore[arg-type]
            quantities=written,
            stems=frozenset(message.stems),
            cjk=message.cjk,
            folded=message.folded,
            whole=tuple(whole),
            suggested=suggested,
            fits=tuple(fits.items()),
        )

    @staticmethod
    def _tokens(phrase: _Phrase, present: set[str], grams: set[str]) -> set[str]:
        """The words and character pairs of the message that matched `phrase`."""
        return (phrase.stems & present) | (phrase.grams & grams)

    def _owner_tokens(self, owner: str, matched: list[int], present: set[str],
                      grams: set[str]) -> set[str]:
        return {token for index in matched if self.phrases[index].owner == owner
                for token in self._tokens(self.phrases[index], present, grams)}

    def _explained(self, tokens: dict[str, set[str]], values: tuple[tuple[str, str], ...],
                   written: tuple[Written, ...]) -> tuple[dict[str, set[str]], dict[str, int]]:
        """What of the message each product accounts for: the words of its own names, and
        the option values and amounts it sells; and how many of those values and amounts
        it sells."""
        explained: dict[str, set[str]] = {o: set(t) for o, t in tokens.items() if ":" not in o}
        fits: dict[str, int] = defaultdict(int)
        for option_id, value_id in values:
            owners = self.value_products.get((option_id, value_id), set())
            if len(owners) <= MAX_POSTINGS:
                for pid in owners:
                    explained.setdefault(pid, set()).update(
                        tokens[f"value:{option_id}:{value_id}"])
                    fits[pid] += 1
        for number, amount in enumerate(written):
            owners = set().union(*(self.amount_products.get(_amount_key(q), set())
                                   for q in amount.readings))
            if len(owners) <= MAX_POSTINGS:
                for pid in owners:
                    explained.setdefault(pid, set()).add(f"#{number}")
                    fits[pid] += 1
        return explained, dict(fits)

    def mask(self, message: Analysed, mention: Mention) -> str:
        """The message with what it names of the catalogue written as placeholders
        (`{product}`, `{category}`, `{value}`, `{amount}`, `{size}`, `{price}`), as the
        intent reader's examples are written: the reader then knows no shop's words."""
        text = message.folded
        text = _blank(text, mention.quantities, " {amount} ")
        kinds: dict[str, str] = {}
        chinese: list[tuple[str, str]] = []
        for index in mention.whole:
            phrase = self.phrases[index]
            kind = _KIND[phrase.owner.split(":", 1)[0]] if ":" in phrase.owner else "{product}"
            for part in phrase.stems:
                if _RANK[kind] < _RANK.get(kinds.get(part, ""), 9):
                    kinds[part] = kind
            if len(phrase.cjk) >= 2:
                chinese.append((phrase.cjk, kind))
        for name, kind in sorted(chinese, key=lambda item: -len(item[0])):
            text = text.replace(name, f" {kind} ")
        sizes = {size.lower() for size in mention.sizes}

        def word(match: re.Match[str]) -> str:
            found = match.group(0)
            if found in sizes:
                return "{size}"
            word_stem = stem(found)
            if word_stem in kinds:
                return kinds[word_stem]
            return next((kinds[b] for b in diminutive_bases(word_stem) if b in kinds), found)

        text = _WORD.sub(word, text)
        for start, end in reversed(price_spans(text)):
            # A bare number the shop sells as an amount ("and grey, 256?" in a shop with
            # 256 GB phones) is that amount more likely than a price.
            kind = "{amount}" if text[start:end].strip() in self.amount_numbers else "{price}"
            text = f"{text[:start]} {kind} {text[end:]}"
        return _REPEATED.sub(r"\1", " ".join(text.split()))

    def _score(self, phrase: _Phrase, present: set[str], message: Analysed,
               grams: set[str]) -> float:
        """A name in Chinese and Latin letters ("三星S24") is whole only when both parts are
        written; then both parts' evidence counts."""
        words, chinese = self._word_score(phrase, present), self._cjk_score(phrase, message,
                                                                              grams)
        if phrase.stems and phrase.cjk:
            if words >= FULL and chinese >= FULL:
                return words + chinese - FULL
            return 0.7 * max(words - FULL if words >= FULL else words / 0.7,
                             chinese - FULL if chinese >= FULL else chinese / 0.7)
        return max(words, chinese)

    def _word_score(self, phrase: _Phrase, present: set[str]) -> float:
        """How specifically the words name this phrase: the rarer the words, the surer."""
        matched = phrase.stems & present
        if not matched or (matched != phrase.stems and all(len(s) <= 2 for s in matched)):
            # Part of a name by a word of two letters ("hi" of "hi-vis") is chance, not
            # evidence: "hi there" names no colour.
            return 0.0
        evidence = sum(self.idf.get(s, 1.0) for s in matched)
        return FULL + evidence if matched == phrase.stems else 0.7 * evidence

    def _cjk_score(self, phrase: _Phrase, message: Analysed, grams: set[str]) -> float:
        if not phrase.cjk or not message.cjk:
            return 0.0
        if phrase.cjk in message.cjk:
            return FULL + phrase.weight
        shared = phrase.grams & grams
        if len(shared) * 2 < len(phrase.grams):
            return 0.0
        idf = self.idf
        return 0.7 * sum(idf.get(g, 1.0) for g in shared)

    def _sizes(self, message: Analysed) -> tuple[str, ...]:
        found: list[str] = []
        context = bool(_SIZE_WORDS.search(message.folded))
        for word in message.words:
            if word in _LETTER_SIZES and (len(word) > 1 or context or _upper_in(message, word)):
                found.append(word.upper())
            elif word in self.sizes and (context or not word.isdigit() or len(word) > 1):
                found.append(self.sizes[word])
        for match in re.finditer(r"(?<![a-z0-9])(\d{2,3}|x{0,3}[sml]|x{1,3}l|\dxl)(?=码|號|号)",
                                 message.folded):
            size = self.sizes.get(match.group(1), match.group(1).upper())
            if size not in found:
                found.append(size)
        return tuple(dict.fromkeys(found))


@lru_cache(maxsize=65536)
def phrase_stems(text: str) -> tuple[frozenset[str], str]:
    """A name's word stems and its Chinese, as messages are matched against them (the
    shop's names, asked for again with every message about their product: kept)."""
    folded = fold(text)
    cjk = "".join(_CJK.findall(folded))
    if cjk.endswith("色") and len(cjk) > 2:
        cjk = cjk[:-1]
    return frozenset(stem(w) for w in _WORD.findall(folded) if w not in _STOP), cjk


def _upper_in(message: Analysed, word: str) -> bool:
    return re.search(rf"(?<![A-Za-z]){word.upper()}(?![A-Za-z])", message.original) is not None


def _dominant(explained: dict[str, set[str]]) -> str | None:
    """The product that accounts for more of the message than any other, if one does."""
    ranked = sorted(explained.items(), key=lambda item: len(item[1]), reverse=True)
    if not ranked or not ranked[0][1]:
        return None
    if len(ranked) > 1 and len(ranked[1][1]) == len(ranked[0][1]):
        return None
    return ranked[0][0]


def _amount_key(amount: Quantity) -> tuple[str, str]:
    return amount.dimension, format(amount.amount.normalize(), "f")


def _blank(text: str, written: tuple[Written, ...], by: str = " ") -> str:
    """The text with each amount written in it (a whole number, not part of "1500") put
    `by` something else."""
    for amount in written:
        text = re.sub(rf"(?<![0-9a-zа-я.,]){re.escape(amount.text)}(?![0-9a-zа-я])", by, text)
    return text


def _clear_winner(ranked: list[tuple[str, float]]) -> str | None:
    if not ranked:
        return None
    best, top = ranked[0]
    second = ranked[1][1] if len(ranked) > 1 else 0.0
    if top >= FULL and top - second >= 0.5:
        return best
    return None


def _texts(name: Localized | None, synonyms: LocalizedList | None) -> list[str]:
    texts = [t for t in name.values().values() if t] if name is not None else []
    if synonyms is not None:
        texts += [t for values in synonyms.values().values() for t in values]
    return texts


def _bigrams(text: str) -> set[str]:
    if len(text) == 1:
        return {text}
    return {text[i:i + 2] for i in range(len(text) - 1)}


@cache
def shoppers_words() -> frozenset[str]:
    """The stems of the words of the bundled cue lists (bot/nlu/intent_phrases.yaml): how
    shoppers ask, in four languages, whatever the shop sells."""
    from bot.nlu.intents import load_cues

    return frozenset(word for by_lang in load_cues().values() for cues in by_lang.values()
                     for cue in cues for word in phrase_stems(cue.split(" ^")[0])[0])

