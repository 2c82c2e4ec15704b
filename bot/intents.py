"""Reading what a shopper wants.

`IntentDetector` is the interface the conversation relies on. `PhraseMatcher` is the simple
first version: it knows greetings and farewells in the four languages and nothing else.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Protocol

from bot.languages import Lang

OTHER = "other"


@dataclass(frozen=True)
class Detection:
    intent: str
    confidence: float
    lang: Lang | None = None  # the language the message is written in, when clear
    product: str | None = None


class IntentDetector(Protocol):
    def detect(self, text: str, lang: Lang) -> Detection: ...


_PHRASES: dict[str, dict[Lang, tuple[str, ...]]] = {
    "greeting": {
        "en": ("hi", "hello", "hey", "hiya", "good morning", "good afternoon", "good evening",
               "hi there", "hello there", "greetings", "yo"),
        "ru": ("привет", "здравствуйте", "здрасте", "добрый день", "доброе утро",
               "добрый вечер", "приветствую", "салют", "хай", "здравствуй"),
        "zh-hans": ("你好", "您好", "在吗", "亲在吗", "哈喽", "嗨", "早上好", "下午好", "晚上好"),
        "zh-hant": ("你好", "您好", "在嗎", "親在嗎", "哈囉", "嗨", "早安", "午安", "晚安你好"),
    },
    "farewell": {
        "en": ("bye", "goodbye", "good bye", "bye bye", "see you", "see ya", "thanks bye",
               "thank you bye", "thanks thats all", "thats all thanks", "thats all",
               "thank you thats all", "no thats all", "cheers bye", "have a nice day"),
        "ru": ("пока", "до свидания", "досвидания", "всего доброго", "до встречи",
               "спасибо это всё", "спасибо это все", "это всё спасибо", "это все спасибо",
               "спасибо пока", "всего хорошего", "спасибо до свидания"),
        "zh-hans": ("再见", "拜拜", "谢谢再见", "没事了谢谢", "谢谢没事了", "没有了谢谢",
                    "好的谢谢再见", "下次见"),
        "zh-hant": ("再見", "掰掰", "拜拜", "謝謝再見", "沒事了謝謝", "謝謝沒事了",
                    "沒有了謝謝", "下次見"),
    },
}


def normalize(text: str) -> str:
    """Lower case, ё as е, no punctuation or emoji, single spaces."""
    text = unicodedata.normalize("NFKC", text).lower().replace("ё", "е").replace("’", "'")
    text = text.replace("'", "")
    kept = [ch if ch.isalnum() or ch.isspace() else " " for ch in text]
    return re.sub(r"\s+", " ", "".join(kept)).strip()


class PhraseMatcher:
    """Whole-message phrase matching: 'hi', 'Спасибо, это всё!', '再见～'."""

    def __init__(self) -> None:
        self._table: dict[str, tuple[str, Lang]] = {}
        for intent, by_lang in _PHRASES.items():
            for lang, phrases in by_lang.items():
                for phrase in phrases:
                    key = normalize(phrase)
                    self._table.setdefault(key, (intent, lang))
                    self._table.setdefault(key.replace(" ", ""), (intent, lang))

    def detect(self, text: str, lang: Lang) -> Detection:
        key = normalize(text)
        found = self._table.get(key) or self._table.get(key.replace(" ", ""))
        if found is None:
            return Detection(OTHER, 0.0)
        intent, written_in = found
        return Detection(intent, 1.0, written_in)
