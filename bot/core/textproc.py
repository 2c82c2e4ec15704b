"""Text as the understanding rules see it: normalised words and stems per script, and
Chinese folded to simplified characters, so one phrase list serves both Chinese scripts.

Everything here is pure and cached; it runs on every message, so it stays cheap.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import opencc
import Stemmer

from bot.core.languages import Lang

_T2S = opencc.OpenCC("t2s.json")
# Simplified to the traditional characters Taiwan and Hong Kong write: a character both
# change is simplified-only. (OpenCC's plain s2t also changes 唇, 台, 吃, which both
# places write as they are.)
_S2TW = opencc.OpenCC("s2tw.json")
_S2HK = opencc.OpenCC("s2hk.json")
_STEMMERS = {"latin": Stemmer.Stemmer("english"), "cyrillic": Stemmer.Stemmer("russian")}

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?|[а-я]+|%")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
_CJK_CHAR = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[a-z]")
_CYRILLIC = re.compile(r"[а-я]")


def script_of(word: str) -> str:
    return "cyrillic" if _CYRILLIC.match(word) else "latin"


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    if word.isdigit():
        return word
    return _STEMMERS[script_of(word)].stemWord(word)


def to_simplified(text: str) -> str:
    return _T2S.convert(text)


def fold(text: str) -> str:
    """Lower case, compatibility forms folded (full-width letters, ё as е), Chinese simplified."""
    text = unicodedata.normalize("NFKC", text).lower().replace("ё", "е")
    text = text.replace("’", "'").replace("`", "'")
    return to_simplified(text) if _CJK_CHAR.search(text) else text


@dataclass(frozen=True)
class Analysed:
    """One message, ready for matching."""

    original: str
    folded: str
    words: tuple[str, ...]  # Latin and Cyrillic words, in order
    stems: tuple[str, ...]
    cjk: str  # all Chinese runs joined, simplified; '' when there are none
    lang: Lang | None  # the language it is clearly written in, if any ("zh": either script)


def analyse(text: str, english_words: frozenset[str] = frozenset()) -> Analysed:
    folded = fold(text)
    words = tuple(word.replace("'", "") for word in _WORD.findall(folded))
    stems = tuple(stem(word) for word in words)
    cjk = "".join(_CJK.findall(folded))
    return Analysed(text, folded, words, stems, cjk, detect_language(text, words,
                                                                      english_words))


def detect_language(text: str, words: tuple[str, ...],
                    english_words: frozenset[str]) -> Lang | None:
    """The language a message is clearly written in, or None when it could be any.

    Chinese and Russian show in their scripts. Latin letters alone prove little (sizes,
    brands, "ok"), so English needs words that are English.
    """
    cjk = len(_CJK_CHAR.findall(text))
    lowered = text.lower()
    cyrillic = len(_CYRILLIC.findall(lowered.replace("ё", "е")))
    latin = len(_LATIN.findall(lowered))
    if cjk and cjk * 2 >= cyrillic and cjk * 2 >= latin:
        return chinese_variant(text) or "zh"  # type: ignore[return-value]
    if cyrillic and cyrillic >= latin:
        return "ru"
    if latin:
        english = [w for w in words if _LATIN.match(w) and w in english_words]
        if english and (len(english) >= 2 or len(english) * 2 >= len(words)):
            return "en"
    return None


def chinese_variant(text: str) -> Lang | None:
    """zh-hant when the text uses more traditional-only characters, zh-hans when more
    simplified-only ones; None when it cannot tell (你好, 在吗: the same in both)."""
    as_simplified = _T2S.convert(text)
    taiwan, hong_kong = _S2TW.convert(text), _S2HK.convert(text)
    if len(as_simplified) == len(text) == len(taiwan) == len(hong_kong):
        traditional = sum(a != b for a, b in zip(text, as_simplified, strict=True))
        simplified = sum(a != b and a != c for a, b, c in zip(text, taiwan, hong_kong,
                                                              strict=True))
    else:
        traditional = int(as_simplified != text)
        simplified = int(taiwan != text and hong_kong != text)
    if traditional > simplified:
        return "zh-hant"
    if simplified > traditional:
        return "zh-hans"
    return None


# Russian diminutives as the stemmer leaves them, and what they are made from:
# "коробочк" (коробочка) -> "коробк", "чехольчик" -> "чехол", "чаек" -> "ча", "кремик" -> "крем".
_DIMINUTIVE = (("ичек", "ик"), ("ичк", "ик"), ("очк", "к"), ("ечк", "к"), ("еньк", ""),
               ("оньк", ""), ("ьчик", ""), ("чик", ""), ("щик", ""), ("ик", ""), ("ок", ""),
               ("ек", ""), ("иц", ""), ("к", ""))


@lru_cache(maxsize=16384)
def diminutive_bases(word_stem: str) -> tuple[str, ...]:
    """The stems a Russian diminutive may come from, most likely first; () for other words."""
    if not _CYRILLIC.match(word_stem) or len(word_stem) < 4:
        return ()  # "как", "пока": too short to be anything's diminutive
    found: list[str] = []
    for ending, base_ending in _DIMINUTIVE:
        if word_stem.endswith(ending) and len(word_stem) - len(ending) >= 2:
            base = word_stem[: len(word_stem) - len(ending)] + base_ending
            # Only "чаек" (чай) is short enough to leave two letters.
            shortest = 2 if ending in ("ек", "ок") else 3
            found += [b for b in (base, stem(base), base.removesuffix("ь"))
                      if len(b) >= shortest]
    return tuple(dict.fromkeys(b for b in found if b != word_stem))


def deletions(word: str) -> set[str]:
    """Every way of dropping one letter: two words one edit apart share one of these."""
    return {word[:i] + word[i + 1:] for i in range(len(word))}


class TypoIndex:
    """Finds known words one edit away from a misspelt one (the SymSpell idea, distance 1)."""

    def __init__(self, min_length: int = 5) -> None:
        self.min_length = min_length
        self._variants: dict[str, set[str]] = {}

    def add(self, word: str) -> None:
        if len(word) < self.min_length:
            return
        for variant in {word, *deletions(word)}:
            self._variants.setdefault(variant, set()).add(word)

    def near(self, word: str) -> set[str]:
        if len(word) < self.min_length:
            return set()
        found: set[str] = set()
        for variant in {word, *deletions(word)}:
            found |= self._variants.get(variant, set())
        return found
