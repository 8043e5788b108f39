"""Diagnostics that catch a collapsed captioner (one caption for every image, loops, ...).

All take the hypotheses as token lists (one per image):

* ``distinct_captions``: (number of distinct captions) / (number of captions); a
  collapsed model that says the same thing for every image gets 1/N.
* ``vocabulary_used``: number of distinct words over all captions.
* ``mean_length``: mean number of words per caption (special tokens excluded).
* ``repetition_rate``: share of captions that repeat themselves: the same word twice
  in a row, or some word bigram occurring twice ("a man a man ...").
"""

from __future__ import annotations

from typing import Sequence


def is_repetitive(tokens: Sequence[str]) -> bool:
    """True when a word follows itself or a bigram occurs twice in the caption."""
    if any(a == b for a, b in zip(tokens, tokens[1:])):
        return True
    bigrams = list(zip(tokens, tokens[1:]))
    return len(set(bigrams)) < len(bigrams)


def caption_diagnostics(hypotheses: Sequence[Sequence[str]]) -> dict[str, float]:
    """``{'distinct_captions', 'vocabulary_used', 'mean_length', 'repetition_rate'}`` of token lists."""
    n = len(hypotheses)
    if n == 0:
        raise ValueError("caption_diagnostics: no captions given")
    return {
        "distinct_captions": len({tuple(h) for h in hypotheses}) / n,
        "vocabulary_used": float(len({w for h in hypotheses for w in h})),
        "mean_length": sum(len(h) for h in hypotheses) / n,
        "repetition_rate": sum(is_repetitive(h) for h in hypotheses) / n,
    }
