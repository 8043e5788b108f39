"""CIDEr-D (Vedantam et al. 2015) exactly as the COCO caption evaluation computes it.

Each caption becomes, for n = 1..4, a TF-IDF vector over its n-grams:
``g(w) = tf(w) * (log(|I|) - log(max(1, df(w))))``, where ``df(w)`` is the number of
images whose references contain w and ``|I|`` the number of images of the corpus the
document frequencies come from. For a hypothesis h and reference r:

    sim_n(h, r) = sum_w min(g_h(w), g_r(w)) * g_r(w) / (|g_h| |g_r|)      (clipping: the "D")
                  * exp(-delta^2 / (2 sigma^2))                            (length penalty, sigma = 6)
    CIDEr-D(h) = 10 * mean_n ( mean_r sim_n(h, r) )

and the corpus score is the mean over images. As in coco-caption, ``delta`` is the
difference between the numbers of BIGRAMS of h and r (its implementation counts the
length that way; it equals the difference in words when both have two words or more),
and the scale is coco-caption's (x10 included: good COCO models score about 1.0).

By default the document frequencies come from the references being scored, as in
coco-caption. On a small set that makes every n-gram common (one image: log(1) = 0, so
every score is 0); pass ``document_frequency=document_frequencies(train_references)``
to take them from a larger corpus such as the training references.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Sequence

import attrs

from ..nn.checks import float_option, int_option
from .ngrams import ngram_counts

SIGMA = 6.0
N = 4


@attrs.frozen
class DocumentFrequency:
    """n-gram document frequencies: ``counts[ngram]`` images contain it, out of ``num_images``."""

    counts: Counter
    num_images: int


def document_frequencies(references: Sequence[Sequence[Sequence[str]]], n: int = N) -> DocumentFrequency:
    """Document frequencies of the 1..n-grams of a corpus: per image, a list of reference token lists."""
    counts = Counter()
    for refs in references:
        counts.update({gram for ref in refs for gram in ngram_counts(ref, n)})
    return DocumentFrequency(counts, len(references))


def _vector(tokens, df: DocumentFrequency, log_images: float, n: int):
    vec = [dict() for _ in range(n)]
    norm = [0.0] * n
    for gram, tf in ngram_counts(tokens, n).items():
        k = len(gram) - 1
        value = float(tf) * (log_images - math.log(max(1.0, float(df.counts.get(gram, 0)))))
        vec[k][gram] = value
        norm[k] += value * value
    bigrams = max(0, len(tokens) - 1)  # coco-caption's "length" (see the module docstring)
    return vec, [math.sqrt(x) for x in norm], bigrams


def _similarity(hyp, ref, n: int, sigma: float) -> list[float]:
    vec_h, norm_h, len_h = hyp
    vec_r, norm_r, len_r = ref
    penalty = math.exp(-float(len_h - len_r) ** 2 / (2 * sigma ** 2))
    out = []
    for k in range(n):
        value = 0.0
        for gram, g in vec_h[k].items():
            r = vec_r[k].get(gram, 0.0)
            value += min(g, r) * r
        if norm_h[k] != 0 and norm_r[k] != 0:
            value /= norm_h[k] * norm_r[k]
        out.append(value * penalty)
    return out


def cider_d(hypotheses: Sequence[Sequence[str]], references: Sequence[Sequence[Sequence[str]]], *,
            document_frequency: DocumentFrequency | None = None, n: int = N,
            sigma: float = SIGMA) -> tuple[float, list[float]]:
    """Corpus CIDEr-D and the per-image scores (coco-caption's scale, x10 included).

    hypotheses: one token list per image; references: per image, a non-empty list of
    token lists; document_frequency: from :func:`document_frequencies` (default: of
    ``references``).
    """
    n = int_option("cider_d", "n", n)
    sigma = float_option("cider_d", "sigma", sigma, low=0.0, low_open=True)
    if document_frequency is None:
        document_frequency = document_frequencies(references, n)
    if document_frequency.num_images < 1:
        raise ValueError("cider_d: the document frequencies come from an empty corpus")
    log_images = math.log(float(document_frequency.num_images))
    scores = []
    for hyp, refs in zip(hypotheses, references):
        vh = _vector(hyp, document_frequency, log_images, n)
        total = [0.0] * n
        for ref in refs:
            for k, s in enumerate(_similarity(vh, _vector(ref, document_frequency, log_images, n), n, sigma)):
                total[k] += s
        scores.append(sum(total) / n / len(refs) * 10.0)
    return (sum(scores) / len(scores) if scores else 0.0), scores
