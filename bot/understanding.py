"""What a shopper's message means: intent, product, size, colour and language together."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from bot.catalogue import CatalogueIndex, Mention
from bot.intents import INTENTS, MIN_SCORE, OTHER, CueDetector, Detection
from bot.languages import Lang
from bot.shop import FaqEntry, Shop
from bot.similar import ExampleClassifier
from bot.textproc import analyse, fold

# A product, size or colour alone ("linen shirt?", "XL", "в синем") is a product question.
MENTION_ONLY_CONFIDENCE = 0.55
# How far the second opinion (bot/similar.py) is trusted, chosen on a validation set that
# neither the cues nor the examples were written from (benchmarks/data/):
EXAMPLES_THRESHOLD = 0.7  # it answers when the cues found nothing clear...
OVERRIDE_BELOW = 0.9  # ...and overrules a cue reading less confident than this
OVERRIDE_THRESHOLD = 0.7  # when it is at least this sure


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
    """Reads messages for one shop: its catalogue and its own phrases."""

    def __init__(self, shop: Shop,
                 phrases: Mapping[str, Mapping[str, Iterable[str]]] | None = None) -> None:
        self.shop = shop
        own = phrases if phrases is not None else {
            intent: values.values() for intent, values in shop.phrases.items()}
        # The shop's own cues are the owner's word: the examples never overrule them.
        self._owner_cues = {f"{intent}:{str(cue).split(' ^')[0].strip()}"
                            for intent, by_lang in own.items()
                            for cues in by_lang.values() for cue in cues}
        self.detector = CueDetector({**own, "gift": _gift_cues(shop, own.get("gift", {}))})
        self.catalogue = CatalogueIndex(shop)
        self.examples = ExampleClassifier.from_folder()

    def read(self, text: str, lang: Lang) -> Reading:
        message = analyse(text, self.detector.english)
        scores, cues = self.detector.score(message)
        mention = self.catalogue.find(message)
        _order_shapes(message.folded, mention, scores, cues)
        detection: Detection = self.detector.decide(scores, cues, message)
        intent, confidence = detection.intent, detection.confidence
        written_in = message.lang
        if written_in == "zh":  # Chinese that reads the same in both scripts
            written_in = lang if lang in ("zh-hans", "zh-hant") else "zh-hans"
        if intent == OTHER and mention.anything and max(scores.values(), default=0) < 1.0:
            intent, confidence = "product_question", MENTION_ONLY_CONFIDENCE
        elif intent == OTHER and scores.get(OTHER, 0) < MIN_SCORE:
            # The cues found nothing clear, or two intents too close to call: ask the
            # examples; on a tie their answer must be one of the two.
            guess, probability = self.examples.classify(_without_amounts(text, mention))
            allowed = detection.contenders or INTENTS
            if guess != OTHER and guess in allowed and probability > EXAMPLES_THRESHOLD:
                intent, confidence = guess, round(0.8 * probability, 3)
                cues = [*cues, f"{guess}:similar to examples ({probability:.2f})"]
        elif intent != OTHER and confidence < OVERRIDE_BELOW and not self._owners(intent, cues):
            # A hesitant cue reading gives way to examples that are sure of something else.
            guess, probability = self.examples.classify(_without_amounts(text, mention))
            if guess != intent and probability > OVERRIDE_THRESHOLD:
                cues = [*cues, f"{guess}:similar to examples ({probability:.2f}), over {intent}"]
                intent, confidence = guess, round(0.8 * probability, 3)
        return Reading(
            intent=intent,
            confidence=confidence,
            lang=written_in or lang,
            written_in=written_in,
            product=mention.product,
            mention=mention,
            cues=tuple(cues),
            folded=message.folded,
        )

    def faq(self, reading: Reading) -> FaqEntry | None:
        """The FAQ entry a message asks about: the one with the most (and longest) of its
        keywords found in the message; None when no keyword matches."""
        best: tuple[float, FaqEntry] | None = None
        for entry in self.shop.faq:
            score = 0.0
            for keywords in entry.keywords.values().values():
                for keyword in keywords:
                    if _contains(reading.folded, fold(keyword)):
                        score += 1 + len(keyword) / 20
            if score and (best is None or score > best[0]):
                best = (score, entry)
        return best[1] if best else None

    def _owners(self, intent: str, cues: list[str]) -> bool:
        return any(cue in self._owner_cues for cue in cues if cue.startswith(intent + ":"))


def _gift_cues(shop: Shop, extra: Mapping[str, Iterable[str]]) -> dict[str, list[str]]:
    """The shop's own gift, named in any language, is a gift cue ("a scrunchie with it?")."""
    cues: dict[str, list[str]] = {lang: list(values) for lang, values in extra.items()}
    gift = shop.policy.gift
    if gift is not None:
        for lang, name in gift.name.values().items():
            if name:
                cues.setdefault(lang, []).append(f"{name} ^1.5")
    return cues


_QUANTITY = re.compile(
    r"(?:\d+\s*(?:шт|pcs?|x\b)|[x×]\s*\d|[一两二三四五六七八九十\d]\s*[件条套双组个])")
_PHONE = re.compile(r"\+?\d[\d\s()-]{8,}\d")
_QUESTION = re.compile(
    r"[?？]|吗|么|有没有|有冇|还有|几|多少|\bесть\b|\bdo you\b|\bis it\b|\bany\b")
_PRICE = re.compile(r"(?<!\d)\d{3,6}(?!\d)")


def _without_amounts(text: str, mention: Mention) -> str:
    """The message with its amounts ("250g", "半斤") taken out: the examples know numbers as
    prices and counter-offers, and a weight is neither."""
    if not mention.quantities:
        return text
    folded = fold(text)
    for amount in mention.quantities:
        folded = folded.replace(amount.text, " ")
    return folded


def _order_shapes(text: str, mention: Mention, scores: dict[str, float], cues: list[str]) -> None:
    """Shapes of a message that say more than its words: "white shirt M x2, Moscow, Ivanova"
    is an order; two prices side by side ("3490? 3000?") are a counter-offer."""
    names_item = bool(mention.products or mention.category)
    if names_item and mention.options:
        if _QUANTITY.search(text) or _PHONE.search(text) or not _QUESTION.search(text):
            scores["buy"] = scores.get("buy", 0.0) + 1.2
            cues.append("buy:an order's shape (item, size or colour, no question)")
    for amount in mention.quantities:  # "250 g or 1000 g?" asks of weights, not prices
        text = text.lower().replace(amount.text, " ")
    prices = [int(p) for p in _PRICE.findall(text) if 100 <= int(p) <= 100000]
    if len(prices) >= 2 and not _PHONE.search(text):
        scores["discount"] = scores.get("discount", 0.0) + 1.3
        cues.append("discount:two prices (a counter-offer)")


def _contains(text: str, phrase: str) -> bool:
    """A keyword in a message: whole words for Latin and Cyrillic, a substring for Chinese."""
    if not phrase:
        return False
    if re.search(r"[\u4e00-\u9fff]", phrase):
        return phrase in text
    return re.search(rf"(?<![\w]){re.escape(phrase)}", text) is not None
