"""What a shopper's message means: intent, product, size, colour and language together."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import cache, lru_cache

from bot.core.languages import Lang
from bot.core.shop import Shop
from bot.core.textproc import analyse
from bot.nlu.catalogue import CatalogueIndex, Mention
from bot.nlu.faq import FaqIndex, Found
from bot.nlu.intents import OTHER, CueDetector
from bot.nlu.reader import shared_model

# A product, size or colour alone ("linen shirt?", "XL", "в синем") is a product question.
MENTION_ONLY_CONFIDENCE = 0.55
_PLACEHOLDER = re.compile(r"\{\w+\}")
_WORDS = re.compile(r"[^\W\d_\u3400-\u9fff]+")
_HAN = re.compile(r"[\u3400-\u9fff]")
# Below this probability the reader is guessing ("purple monkey dishwasher"): read as
# `other`, which asks the shopper again (and brings a person the second time).
UNSURE = 0.3
# Sure enough that a message is chat for a catalogue word in it not to make it a question.
SURE = 0.5
# Readings kept per shop, of messages up to KEPT_LENGTH characters. Shoppers write the same
# short lines again and again ("hi", "thanks", "how much is the linen shirt?"), and reading
# one costs about 0.4 ms of CPU; a long message is rarely written twice, and is not kept.
KEPT_READINGS = 4096
KEPT_LENGTH = 200


@dataclass(frozen=True)
class Reading:
    intent: str
    confidence: float
    lang: Lang  # the language to answer in
    written_in: Lang | None  # the language the message is clearly written in, if any
    product: str | None
    mention: Mention
    cues: tuple[str, ...]
    folded: str = ""  # the message normalised (lower case, simplified Chinese)

    def as_json(self) -> dict[str, object]:
        return {"intent": self.intent, "confidence": self.confidence,
                "product": self.product, "lang": self.lang}


class Understanding:
    """Reads messages for one shop: the learned reader (bot/nlu/reader.py), which knows no shop,
    over the message with this shop's catalogue masked; the owner's own phrases on top."""

    def __init__(self, shop: Shop,
                 phrases: Mapping[str, Mapping[str, Iterable[str]]] | None = None) -> None:
        self.shop = shop
        own = phrases if phrases is not None else {
            intent: values.values() for intent, values in shop.phrases.items()}
        own = {**own, "gift": _gift_cues(shop, own.get("gift", {}))}
        # The owner's phrases (and the shop's gift, named) are the owner's word: a message
        # they match clearly is read as they say, whatever the model thinks.
        self.owner = CueDetector(own, bundled=False) if any(
            cues for by_lang in own.values() for cues in by_lang.values()) else None
        self.detector = bundled_cues()  # the bundled cue lists: for --explain, and English
        self.catalogue = CatalogueIndex(shop)
        self.faq_index = FaqIndex(shop)
        self.model = shared_model()
        # A reading depends on the text, the language and this shop alone (a reload builds a
        # new Understanding), and a Reading is frozen: the same one can go to every caller.
        self._kept: Callable[[str, Lang], Reading] = lru_cache(KEPT_READINGS)(self._read)

    def read(self, text: str, lang: Lang) -> Reading:
        if len(text) <= KEPT_LENGTH:
            return self._kept(text, lang)
        return self._read(text, lang)

    def _read(self, text: str, lang: Lang) -> Reading:
        message = analyse(text, self.detector.english)
        mention = self.catalogue.find(message)
        masked = self.catalogue.mask(message, mention)
        guess = self.model.read(masked)
        intent, confidence = guess.intent, round(guess.probability, 3)
        if guess.probability < UNSURE:
            intent = OTHER  # a guess: better to ask again than to act on it
        cues = [f"{intent}:learned ({guess.probability:.2f}; then {guess.runner_up} "
                f"{guess.runner_up_probability:.2f})"]
        if self.owner is not None:
            scores, owned = self.owner.score(message)
            detection = self.owner.decide(scores, owned, message)
            if detection.intent != OTHER:
                intent, confidence = detection.intent, max(confidence, detection.confidence)
                cues = [*cues, *owned]  # the shop's own phrases
        if intent == "greeting" and guess.probability < SURE \
                and (mention.named or mention.options) and cues[0].startswith("greeting:learned"):
            # "morning! any chocolate croissants left?": the greeting opens a request about
            # what the shop sells; the request is what to answer.
            intent = guess.runner_up if guess.runner_up not in (OTHER, "farewell") \
                else "product_question"
            confidence = round(max(guess.runner_up_probability, MENTION_ONLY_CONFIDENCE), 3)
        written_in = message.lang
        if written_in == "zh":  # Chinese that reads the same in both scripts
            written_in = lang if lang in ("zh-hans", "zh-hant") else "zh-hans"
        if intent == OTHER and mention.anything and (
                guess.probability < SURE or _little_else(masked)):
            # A product, an option or an amount alone ("linen shirt?", "XL", "半斤"): a
            # question about it. Not chat the reader is sure of that happens to contain a
            # catalogue word ("my cat just knocked my tea over").
            intent, confidence = "product_question", MENTION_ONLY_CONFIDENCE
        return Reading(
            intent=intent,
            confidence=confidence,
            lang=written_in or lang,
            written_in=written_in,
            # The product named, else the one that alone sells the values named, as the
            # conversation takes it when nothing was discussed before.
            product=mention.product or mention.suggested,
            mention=mention,
            cues=tuple(cues),
            folded=message.folded,
        )

    def explain(self, text: str) -> list[str]:
        """What the bundled cue lists find in a message (for `shopbot classify --explain`:
        they no longer decide, but show words the reader may have leaned on)."""
        message = analyse(text, self.detector.english)
        return self.detector.score(message)[1]

    def faq(self, reading: Reading) -> Found | None:
        """The FAQ entry a message asks about, found by meaning (bot/nlu/faq.py), and whether
        it is sure enough to answer."""
        return self.faq_index.find(reading.folded)

def _little_else(masked: str) -> bool:
    """The message is hardly more than what it names of the catalogue: at most two other
    words, or three Chinese characters ("{product}?", "а в {value}?", "{amount}的呢")."""
    rest = _PLACEHOLDER.sub(" ", masked)
    return len(_WORDS.findall(rest)) <= 2 and len(_HAN.findall(rest)) <= 3


@cache
def bundled_cues() -> CueDetector:
    return CueDetector()


def _gift_cues(shop: Shop, extra: Mapping[str, Iterable[str]]) -> dict[str, list[str]]:
    """The shop's own gift, named in any language, is a gift cue ("a scrunchie with it?")."""
    cues: dict[str, list[str]] = {lang: list(values) for lang, values in extra.items()}
    gift = shop.policy.gift
    if gift is not None:
        for lang, name in gift.name.values().items():
            if name:
                cues.setdefault(lang, []).append(f"{name} ^1.5")
    return cues
