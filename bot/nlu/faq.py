"""FAQ answers found by meaning: a question is matched against each entry's question,
paraphrases and keywords, in every language, and its answer.

Each text is a TF-IDF vector of character 1-4-grams (scikit-learn), which needs no word
lists or segmentation, so "how long to Kazan?" meets "How long does delivery take?" through
"how long", and "能寄到台中嗎" meets "寄送" without a tokenizer. An entry's score is its
best-matching text; its answer counts for less, as answers are long and say many things.
Below THRESHOLD, unless the best entry clearly stands out, the bot does not guess: it asks
again or offers a person.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bot.core.shop import FaqEntry, Shop
from bot.core.textproc import fold

THRESHOLD = 0.3  # the cosine an entry needs to be answered
# A weaker match is answered when it stands out: at least LOW and MARGIN times the next
# entry's. Short Chinese questions ("狗糧拆咗之後放喺邊度好") share few n-grams with any
# text, so their right entry often scores 0.15-0.3 while every other scores far less.
LOW, MARGIN = 0.15, 1.3
ANSWER_WEIGHT = 0.6  # an answer's similarity counts this much of a question's


@dataclass(frozen=True)
class Found:
    entry: FaqEntry
    score: float
    sure: bool


class FaqIndex:
    def __init__(self, shop: Shop) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        self.entries = list(shop.faq)
        texts: list[str] = []
        owners: list[int] = []
        weights: list[float] = []
        for position, entry in enumerate(self.entries):
            asked = [t for t in entry.question.values().values() if t]
            asked += [t for values in entry.keywords.values().values() for t in values]
            asked += [t for values in entry.paraphrases.values().values() for t in values]
            for text in asked:
                texts.append(fold(text))
                owners.append(position)
                weights.append(1.0)
            for text in (t for t in entry.answer.values().values() if t):
                texts.append(fold(text))
                owners.append(position)
                weights.append(ANSWER_WEIGHT)
        # Single characters count too: a Chinese word is often one or two of them.
        self._vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 4),
                                           sublinear_tf=True, lowercase=False) if texts else None
        self._matrix = self._vectorizer.fit_transform(texts) if self._vectorizer else None
        self._owners = np.array(owners, dtype=np.int32)
        self._weights = np.array(weights, dtype=np.float32)

    def find(self, text: str) -> Found | None:
        """The entry the question is most like (None when the shop has no FAQ)."""
        if self._vectorizer is None or self._matrix is None:
            return None
        query = self._vectorizer.transform([fold(text)])
        similarity = (self._matrix @ query.T).toarray().ravel() * self._weights
        best = np.zeros(len(self.entries), dtype=np.float32)
        np.maximum.at(best, self._owners, similarity)
        order = np.argsort(best)[::-1]
        position = int(order[0])
        score = float(best[position])
        runner_up = float(best[order[1]]) if len(order) > 1 else 0.0
        sure = score >= THRESHOLD or (score >= LOW and score >= MARGIN * runner_up)
        return Found(self.entries[position], round(score, 3), sure)
