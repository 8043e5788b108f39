"""ROUGE-L as the COCO caption evaluation computes it (beta = 1.2, best reference per side).

For hypothesis h and references r_j, with LCS the longest common subsequence length:
``P = max_j LCS(h, r_j) / |h|``, ``R = max_j LCS(h, r_j) / |r_j|`` (each maximised
separately, as coco-caption does), and

    ROUGE-L = (1 + beta^2) P R / (R + beta^2 P)   (0 when P or R is 0);

the corpus score is the mean over images, on the 0-1 scale.
"""

from __future__ import annotations

from typing import Sequence

from ..nn.checks import float_option

BETA = 1.2


def lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the longest common subsequence of two token lists (O(|a| |b|), one row of memory)."""
    if len(a) < len(b):
        a, b = b, a
    row = [0] * (len(b) + 1)
    for x in a:
        prev_diag = 0
        for j, y in enumerate(b, start=1):
            keep = row[j]
            row[j] = prev_diag + 1 if x == y else max(row[j], row[j - 1])
            prev_diag = keep
    return row[-1]


def rouge_l_image(hypothesis: Sequence[str], references: Sequence[Sequence[str]], beta: float = BETA) -> float:
    """ROUGE-L of one hypothesis against its references (an empty hypothesis scores 0)."""
    if not hypothesis:
        return 0.0
    lcs = [lcs_length(ref, hypothesis) for ref in references]
    precision = max(l / len(hypothesis) for l in lcs)
    recall = max(l / len(ref) if ref else 0.0 for l, ref in zip(lcs, references))
    if precision == 0 or recall == 0:
        return 0.0
    return (1 + beta ** 2) * precision * recall / (recall + beta ** 2 * precision)


def rouge_l(hypotheses: Sequence[Sequence[str]], references: Sequence[Sequence[Sequence[str]]],
            beta: float = BETA) -> tuple[float, list[float]]:
    """Corpus ROUGE-L (mean over images) and the per-image scores."""
    beta = float_option("rouge_l", "beta", beta, low=0.0, low_open=True)
    scores = [rouge_l_image(h, refs, beta) for h, refs in zip(hypotheses, references)]
    return (sum(scores) / len(scores) if scores else 0.0), scores
