"""A second opinion for messages the cues miss: naive Bayes over character n-grams,
learned from the labeled example messages in bot/examples/ (never from the test set).

Character n-grams need no word list and no segmentation, so they carry over to typos,
slang and unspaced Chinese the cue lists have not met.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from pathlib import Path

from bot.textproc import fold

EXAMPLES_DIR = Path(__file__).with_name("examples")
_SMOOTHING = 0.1
# Naive Bayes treats overlapping n-grams as independent and so is wildly overconfident;
# dividing the log scores by this tempers it (chosen by cross-validation on the examples).
TEMPERATURE = 10.0


def ngrams(text: str) -> set[str]:
    padded = " " + " ".join(fold(text).split()) + " "
    return {padded[i:i + n] for n in (2, 3, 4) for i in range(len(padded) - n + 1)}


class ExampleClassifier:
    def __init__(self, examples: list[tuple[str, str]]) -> None:
        self.labels = sorted({label for _, label in examples})
        per_label: dict[str, Counter[str]] = {label: Counter() for label in self.labels}
        documents: Counter[str] = Counter()
        for text, label in examples:
            per_label[label].update(ngrams(text))
            documents[label] += 1
        vocabulary = set().union(*per_label.values()) if per_label else set()
        size = len(vocabulary)
        totals = {label: sum(counts.values()) for label, counts in per_label.items()}
        self.prior = [math.log(documents[label] / len(examples)) for label in self.labels]
        self.unseen = [math.log(_SMOOTHING / (totals[label] + _SMOOTHING * size))
                       for label in self.labels]
        # Only the difference to "unseen" is stored per n-gram: most n-grams belong to one
        # or two labels, so this keeps the table small.
        self.weights: dict[str, list[tuple[int, float]]] = {}
        for position, label in enumerate(self.labels):
            denominator = totals[label] + _SMOOTHING * size
            for gram, count in per_label[label].items():
                gain = math.log((count + _SMOOTHING) / denominator) - self.unseen[position]
                self.weights.setdefault(gram, []).append((position, gain))

    @classmethod
    def from_folder(cls, folder: Path = EXAMPLES_DIR) -> ExampleClassifier:
        examples: list[tuple[str, str]] = []
        for path in sorted(folder.glob("*.jsonl")):
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    row = json.loads(line)
                    examples.append((row["text"], row["intent"]))
        return cls(examples)

    def classify(self, text: str) -> tuple[str, float]:
        """The most likely label and its posterior probability."""
        grams = [gram for gram in ngrams(text) if gram in self.weights]
        base = len(grams)
        scores = [p + base * u for p, u in zip(self.prior, self.unseen, strict=True)]
        for gram in grams:
            for position, gain in self.weights[gram]:
                scores[position] += gain
        scores = [score / TEMPERATURE for score in scores]
        top = max(scores)
        total = sum(math.exp(score - top) for score in scores)
        best = scores.index(top)
        return self.labels[best], 1.0 / total
