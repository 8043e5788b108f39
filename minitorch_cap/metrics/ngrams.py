"""n-gram counting shared by BLEU and CIDEr-D."""

from __future__ import annotations

from collections import Counter
from typing import Sequence


def ngram_counts(tokens: Sequence[str], n: int = 4) -> Counter:
    """Counts of every 1..n-gram of ``tokens`` (tuples of words as keys)."""
    counts = Counter()
    for k in range(1, n + 1):
        for i in range(len(tokens) - k + 1):
            counts[tuple(tokens[i:i + k])] += 1
    return counts
