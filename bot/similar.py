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

import numpy as np

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
        vocabulary = sorted(set().union(*per_label.values())) if per_label else []
        size = len(vocabulary)
        totals = {label: sum(counts.values()) for label, counts in per_label.items()}
        self.prior = np.array([math.log(documents[label] / len(examples))
                               for label in self.labels])
        self.unseen = np.array([math.log(_SMOOTHING / (totals[label] + _SMOOTHING * size))
                                for label in self.labels])
        # One row per n-gram: what it adds to each label's log score beyond an unseen one.
        # A dense float32 table: summing a message's rows is one vectorised step.
        self.index = {gram: row for row, gram in enumerate(vocabulary)}
        self.gains = np.zeros((size, len(self.labels)), dtype=np.float32)
        for position, label in enumerate(self.labels):
            denominator = totals[label] + _SMOOTHING * size
            for gram, count in per_label[label].items():
                self.gains[self.index[gram], position] = (
                    math.log((count + _SMOOTHING) / denominator) - self.unseen[position])

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
        """The most likely label and its (tempered) posterior probability."""
        rows = [self.index[gram] for gram in ngrams(text) if gram in self.index]
        scores = self.prior + len(rows) * self.unseen
        if rows:
            scores = scores + self.gains[rows].sum(axis=0, dtype=np.float64)
        scores = scores / TEMPERATURE
        odds = np.exp(scores - scores.max())
        best = int(scores.argmax())
        return self.labels[best], float(1.0 / odds.sum())
