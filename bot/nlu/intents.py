"""Reading what a shopper wants: one of a fixed set of intents, in four languages.

Cues (bot/nlu/intent_phrases.yaml, plus the shop's own `phrases:`) are matched against a
normalised message: stems and prefixes for English and Russian, in order and close together
for several words, with one typo forgiven in longer words; substrings for Chinese, with
traditional characters folded to simplified. The intent with the highest total wins; weak
totals and near ties come out as `other`, because a wrong guess is worse than asking.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from rapidfuzz.distance import OSA

from bot.core.intents import INTENTS, OTHER
from bot.core.languages import Lang
from bot.core.textproc import Analysed, deletions, fold, stem

PHRASES_FILE = Path(__file__).with_name("intent_phrases.yaml")

MIN_SCORE = 0.6  # below this total nothing is clear enough to act on
MIN_LEAD = 0.2  # the winner must lead the runner-up by this share of its own score
MAX_GAP = 3  # words of a cue may stand this many positions apart (so two words between)

# When both are present, the first is what the shopper is after: "I'll take two if you
# give a discount" bargains, "the parcel came torn" complains. The other is halved.
DOMINATES: dict[str, tuple[str, ...]] = {
    "discount": ("buy", "product_question", "faq"),
    "free_shipping": ("buy", "faq", "discount", "product_question", "order_status"),
    "gift": ("buy", "order_status", "discount", "product_question", "faq"),
    "return_request": ("complaint", "product_question", "buy", "order_status"),
    "complaint": ("product_question", "order_status", "human", "buy"),
    "order_status": ("buy", "product_question"),
    "human": ("greeting", "faq"),
    "buy": ("faq", "product_question"),
    "faq": ("product_question",),
}
# Greetings and thanks ride along with real requests ("hi, where is my parcel?").
COURTESY = ("greeting", "farewell")

_WEIGHT = re.compile(r"\s*\^\s*([0-9.]+)\s*$")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_CUE_WORD = re.compile(r"=?(?:[a-z0-9#$]+(?:'[a-z]+)?|[а-я]+|%)\*?")
_RUNS = re.compile(r"(.)\1+")
_SIZES = {"xxs", "xs", "s", "m", "l", "xl", "xxl", "xxxl"}


@dataclass(frozen=True)
class Detection:
    intent: str
    confidence: float
    lang: Lang | None = None  # the language the message is clearly written in, if any
    cues: tuple[str, ...] = ()  # what matched, for `shopbot classify` and the logs
    contenders: tuple[str, ...] = ()  # the intents too close to call, when that was the doubt


@dataclass
class _Cue:
    intent: str
    weight: float
    text: str
    parts: tuple[str, ...]  # stems, "*prefix" keys, or Chinese substrings


@dataclass
class CueTable:
    """Cues compiled for fast lookup: by stem, by prefix, by first Chinese character."""

    words: list[_Cue] = field(default_factory=list)
    cjk: list[_Cue] = field(default_factory=list)
    by_key: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    prefixes: set[str] = field(default_factory=set)
    stems: set[str] = field(default_factory=set)
    exact: set[str] = field(default_factory=set)
    typo_variants: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    cjk_first: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    vocabulary: set[str] = field(default_factory=set)  # English words the cues know
    _seen: dict[tuple[str, tuple[str, ...]], _Cue] = field(default_factory=dict)

    def add(self, intent: str, lang: str, raw: str) -> None:
        text = str(raw).strip()
        weight = 1.0
        found = _WEIGHT.search(text)
        if found:
            weight = float(found.group(1))
            text = text[: found.start()].strip()
        folded = fold(text)
        if _CJK.search(folded):
            parts = tuple(p for p in (part.replace(" ", "") for part in folded.split("*")) if p)
            kind = "cjk"
        else:
            parts = tuple(self._word_key(word, lang) for word in _CUE_WORD.findall(folded))
            kind = "words"
        if not parts:
            return
        seen = self._seen.get((intent, parts))
        if seen is not None:  # "return" and "returning" stem alike: count it once
            seen.weight = max(seen.weight, weight)
            return
        cue = _Cue(intent, weight, text, parts)
        self._seen[(intent, parts)] = cue
        if kind == "cjk":
            self.cjk_first[parts[0][0]].append(len(self.cjk))
            self.cjk.append(cue)
            return
        for part in set(parts):
            self.by_key[part].append(len(self.words))
        self.words.append(cue)

    def _word_key(self, word: str, lang: str) -> str:
        word = word.replace("'", "")
        if lang == "en" and word.strip("=*").isalpha() and word.strip("=*") not in _SIZES:
            self.vocabulary.add(word.strip("=*"))
        if word.startswith("="):  # "=ordered": this very word, not every word of its stem
            self.exact.add(word[1:])
            return word
        if word.endswith("*"):
            prefix = word[:-1]
            self.prefixes.add(prefix)
            if len(prefix) >= 8:
                for variant in deletions(prefix) | {prefix}:
                    self.typo_variants[variant].add("*" + prefix)
            return "*" + prefix
        key = stem(word)
        self.stems.add(key)
        if len(key) >= 6:
            for variant in deletions(key) | {key}:
                self.typo_variants[variant].add(key)
        return key

    def extend(self, phrases: Mapping[str, Mapping[str, Iterable[str]]]) -> None:
        for intent, by_lang in phrases.items():
            if intent not in INTENTS:
                raise ValueError(f"unknown intent {intent!r}")
            for lang, cues in by_lang.items():
                for cue in cues:
                    self.add(intent, lang, cue)


def load_cues(path: Path = PHRASES_FILE) -> dict[str, dict[str, list[str]]]:
    with path.open(encoding="utf-8") as source:
        return yaml.safe_load(source)


class CueDetector:
    def __init__(self, extra: Mapping[str, Mapping[str, Iterable[str]]] | None = None,
                 *, bundled: bool = True) -> None:
        self.table = CueTable()
        if bundled:
            self.table.extend(load_cues())
        if extra:
            self.table.extend(extra)
        self.english = frozenset(self.table.vocabulary | _COMMON_ENGLISH)

    # -- matching ---------------------------------------------------------------------------
    def positions(self, message: Analysed) -> dict[str, list[int]]:
        """Where each known stem or prefix stands in the message."""
        where: dict[str, list[int]] = defaultdict(list)
        for position, (word, word_stem) in enumerate(zip(message.words, message.stems,
                                                         strict=True)):
            keys = self._keys(word, word_stem)
            if not keys:
                squeezed = _RUNS.sub(r"\1", word)  # "heyyy", "hiii", "пооока"
                if squeezed != word:
                    keys = self._keys(squeezed, stem(squeezed))
            if not keys and len(word) >= 6:
                keys = self._typo_keys(word, word_stem)
            for key in keys:
                where[key].append(position)
        return where

    def _keys(self, word: str, word_stem: str) -> set[str]:
        table = self.table
        keys = {word_stem} if word_stem in table.stems else set()
        if word in table.exact:
            keys.add("=" + word)
        for size in range(2, min(len(word), 14) + 1):
            if word[:size] in table.prefixes:
                keys.add("*" + word[:size])
        return keys

    def _typo_keys(self, word: str, word_stem: str) -> set[str]:
        """Known stems and prefixes one edit away (SymSpell lookup, checked with OSA)."""
        variants = self.table.typo_variants
        found: set[str] = set()
        for variant in deletions(word_stem) | {word_stem}:
            for key in variants.get(variant, ()):
                if not key.startswith("*") and OSA.distance(key, word_stem) <= 1:
                    found.add(key)
        for size in range(6, min(len(word), 14) + 1):
            head = word[:size]
            for variant in deletions(head) | {head}:
                for key in variants.get(variant, ()):
                    if key.startswith("*") and OSA.distance(key[1:], head) <= 1:
                        found.add(key)
        return found

    def score(self, message: Analysed) -> tuple[dict[str, float], list[str]]:
        table = self.table
        where = self.positions(message)
        candidates: set[int] = set()
        for key in where:
            candidates.update(table.by_key.get(key, ()))
        scores: dict[str, float] = defaultdict(float)
        cues: list[str] = []
        for index in candidates:
            cue = table.words[index]
            if _in_order(cue.parts, where):
                scores[cue.intent] += cue.weight
                cues.append(f"{cue.intent}:{cue.text}")
        if message.cjk:
            self._score_cjk(message.cjk, scores, cues)
        return scores, cues

    def _score_cjk(self, text: str, scores: dict[str, float], cues: list[str]) -> None:
        table = self.table
        seen: set[int] = set()
        for char in set(text):
            for index in table.cjk_first.get(char, ()):
                if index in seen:
                    continue
                seen.add(index)
                cue = table.cjk[index]
                position = 0
                for part in cue.parts:
                    position = text.find(part, position)
                    if position < 0:
                        break
                    position += len(part)
                else:
                    scores[cue.intent] += cue.weight
                    cues.append(f"{cue.intent}:{cue.text}")

    # -- deciding -----------------------------------------------------------------------------
    @staticmethod
    def decide(scores: Mapping[str, float], cues: list[str], message: Analysed) -> Detection:
        adjusted = dict(scores)
        for winner, losers in DOMINATES.items():
            if adjusted.get(winner, 0) >= 1.0:
                for loser in losers:
                    if loser in adjusted:
                        adjusted[loser] = scores[loser] / 2
        if any(adjusted.get(i, 0) >= 1.0 for i in INTENTS if i not in COURTESY and i != OTHER):
            for courtesy in COURTESY:
                if courtesy in adjusted:
                    adjusted[courtesy] = scores[courtesy] / 2
        ranked = sorted(adjusted.items(), key=lambda item: item[1], reverse=True)
        found = tuple(cues)
        if not ranked or ranked[0][1] < MIN_SCORE:
            return Detection(OTHER, 0.0 if not ranked else 0.2, message.lang, cues=found)
        best, top = ranked[0]
        runner_up = ranked[1][1] if len(ranked) > 1 else 0.0
        lead = (top - runner_up) / top
        confidence = round(min(1.0, 0.5 + top / 4) * (0.4 + 0.6 * lead), 3)
        if lead < MIN_LEAD:
            close = tuple(intent for intent, score in ranked if score >= top * (1 - MIN_LEAD))
            return Detection(OTHER, confidence, message.lang, cues=found, contenders=close)
        return Detection(best, confidence, message.lang, cues=found)


def _in_order(parts: tuple[str, ...], where: Mapping[str, list[int]]) -> bool:
    """Every part present, each within MAX_GAP positions after the one before."""
    if len(parts) == 1:
        return parts[0] in where
    previous = where.get(parts[0])
    if not previous:
        return False
    for part in parts[1:]:
        here = where.get(part)
        if not here:
            return False
        previous = [p for p in here if any(0 < p - q <= MAX_GAP for q in previous)]
        if not previous:
            return False
    return True


_COMMON_ENGLISH = frozenset(
    """a about after all also am an and any anything are as at back be because been but by
    can could day did do does dont for from get give go going good got had has have he her
    here hi how i if im in is it its just know like look looking me more much my need no not
    now of ok okay on one only or our out please pls plz really right see she should so some
    something sorry still than thank thanks that the their them then there these they thing
    think this those to today too up us very want was we well were what whats when where which
    who why will with would yes yet you your""".split()
)
