"""Corpus BLEU-1..4 exactly as the COCO caption evaluation computes it (no smoothing).

For each image, with hypothesis h and references r_1..r_m (token lists):

* clipped n-gram matches ``correct_n = sum over n-grams g of h of min(count_h(g), max_j count_rj(g))``,
  and ``guess_n = max(0, len(h) - n + 1)``;
* the effective reference length is the CLOSEST reference length to ``len(h)`` (the
  shorter one on a tie).

Over the corpus, the sums C_n, G_n, the hypothesis length c and reference length r give

    BLEU-N = BP * prod_{n<=N} ((C_n + tiny) / (G_n + small)) ** (1/N),
    BP = exp(1 - 1/ratio) if ratio < 1 else 1,   ratio = (c + tiny) / (r + small),

with coco-caption's constants ``tiny = 1e-15`` and ``small = 1e-9`` (they keep an empty
corpus from dividing by zero; BLEU-N of a corpus with no matching n-gram is ~0, not
smoothed). Scores are on the 0-1 scale.
"""

from __future__ import annotations

import math
from typing import Sequence

from ..nn.checks import int_option
from .ngrams import ngram_counts

TINY = 1e-15
SMALL = 1e-9


def _image_statistics(hypothesis: Sequence[str], references: Sequence[Sequence[str]], n: int):
    counts = ngram_counts(hypothesis, n)
    max_ref = {}
    for ref in references:
        for gram, c in ngram_counts(ref, n).items():
            if c > max_ref.get(gram, 0):
                max_ref[gram] = c
    correct = [0] * n
    for gram, c in counts.items():
        correct[len(gram) - 1] += min(max_ref.get(gram, 0), c)
    length = len(hypothesis)
    guess = [max(0, length - k + 1) for k in range(1, n + 1)]
    ref_length = min((abs(len(r) - length), len(r)) for r in references)[1]
    return length, ref_length, guess, correct


def _bleu(length, ref_length, guess, correct, n):
    scores, product = [], 1.0
    for k in range(n):
        product *= (float(correct[k]) + TINY) / (float(guess[k]) + SMALL)
        scores.append(product ** (1.0 / (k + 1)))
    ratio = (length + TINY) / (ref_length + SMALL)
    if ratio < 1:
        penalty = math.exp(1 - 1 / ratio)
        scores = [s * penalty for s in scores]
    return scores


def corpus_bleu(hypotheses: Sequence[Sequence[str]], references: Sequence[Sequence[Sequence[str]]],
                n: int = 4) -> tuple[list[float], list[list[float]]]:
    """Corpus BLEU-1..n and the per-image BLEU-1..n (as coco-caption returns them).

    hypotheses: one token list per image; references: per image, a non-empty list of
    token lists. Returns ``(corpus, per_image)`` where ``corpus[k]`` is BLEU-(k+1) and
    ``per_image[k][i]`` is BLEU-(k+1) of image i alone.
    """
    n = int_option("corpus_bleu", "n", n)
    total_len = total_ref = 0
    total_guess, total_correct = [0] * n, [0] * n
    per_image = [[] for _ in range(n)]
    for hyp, refs in zip(hypotheses, references):
        length, ref_length, guess, correct = _image_statistics(hyp, refs, n)
        total_len += length
        total_ref += ref_length
        for k in range(n):
            total_guess[k] += guess[k]
            total_correct[k] += correct[k]
        for k, s in enumerate(_bleu(length, ref_length, guess, correct, n)):
            per_image[k].append(s)
    return _bleu(total_len, total_ref, total_guess, total_correct, n), per_image
