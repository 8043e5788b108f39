"""Caption metrics without Java: BLEU-1..4, CIDEr-D and ROUGE-L as the COCO caption evaluation
(coco-caption / pycocoevalcap) computes them, plus diagnostics of a collapsed captioner.

Entry point::

    from minitorch_cap.metrics import score_captions
    scores = score_captions(hypotheses, references)
    # {'BLEU-1': 0.71, 'BLEU-2': ..., 'BLEU-3': ..., 'BLEU-4': 0.29, 'CIDEr-D': 0.93, 'ROUGE-L': 0.52}

* ``hypotheses``: one caption per image; ``references``: ALL the reference captions of
  each image (a list per image). Either two sequences in the same image order or two
  mappings with the same keys (image ids). A caption is a string (tokenised by
  :func:`tokenize`: lower-cased, punctuation and special tokens removed) or an already
  tokenised list of words (only the special tokens are removed).
* Scale: coco-caption's, i.e. what pycocoevalcap returns: BLEU and ROUGE-L in [0, 1],
  CIDEr-D with its x10 factor (about 1.0 for a good COCO model). Papers print these
  numbers x100 ("BLEU-4 29.6, CIDEr 94.0"): pass ``percent=True`` to get that scale.
"""

from __future__ import annotations

from typing import Mapping, Sequence

from ..nn.checks import bool_option
from .bleu import corpus_bleu
from .cider import DocumentFrequency, cider_d, document_frequencies
from .diagnostics import caption_diagnostics, is_repetitive
from .rouge import lcs_length, rouge_l
from .tokenize import SPECIAL_TOKENS, tokenize, tokens_from_ids

METRIC_NAMES = ("BLEU-1", "BLEU-2", "BLEU-3", "BLEU-4", "CIDEr-D", "ROUGE-L")
DIAGNOSTIC_NAMES = ("distinct_captions", "vocabulary_used", "mean_length", "repetition_rate")


def align(hypotheses, references) -> tuple[list[list[str]], list[list[list[str]]]]:
    """Tokenise and align hypotheses with their references: (token lists, per-image lists of token lists).

    Accepts two sequences in the same order or two mappings with the same keys; every
    image needs at least one reference.
    """
    if isinstance(hypotheses, Mapping) != isinstance(references, Mapping):
        raise TypeError("score_captions: give hypotheses and references both as mappings (image id -> captions) "
                        "or both as sequences in the same image order")
    if isinstance(hypotheses, Mapping):
        missing = set(hypotheses) ^ set(references)
        if missing:
            raise ValueError(f"score_captions: hypotheses and references must have the same image ids; "
                             f"{len(missing)} differ, e.g. {sorted(missing, key=str)[:3]}")
        keys = list(hypotheses)
        hypotheses, references = [hypotheses[k] for k in keys], [references[k] for k in keys]
    hypotheses, references = list(hypotheses), list(references)
    if len(hypotheses) != len(references):
        raise ValueError(f"score_captions: {len(hypotheses)} hypotheses but {len(references)} reference lists "
                         "(one hypothesis and a list of references per image)")
    if not hypotheses:
        raise ValueError("score_captions: no images to score")
    hyps = [tokenize(h) for h in hypotheses]
    refs = []
    for i, rs in enumerate(references):
        if isinstance(rs, str) or not isinstance(rs, Sequence) or len(rs) == 0:
            raise ValueError(f"score_captions: references of image {i} must be a non-empty list of captions, "
                             f"got {rs!r:.60}")
        refs.append([tokenize(r) for r in rs])
    return hyps, refs


def score_captions(hypotheses, references, *, document_frequency: DocumentFrequency | None = None,
                   percent: bool = False) -> dict[str, float]:
    """BLEU-1..4, CIDEr-D and ROUGE-L of one hypothesis per image against all its references.

    ``document_frequency`` (from :func:`document_frequencies`, e.g. of the training
    references) replaces CIDEr-D's default, the references scored here. Returns a dict
    keyed by :data:`METRIC_NAMES`, on coco-caption's scale (x100 when ``percent``).
    """
    percent = bool_option("score_captions", "percent", percent)
    hyps, refs = align(hypotheses, references)
    bleu, _ = corpus_bleu(hyps, refs)
    cider, _ = cider_d(hyps, refs, document_frequency=document_frequency)
    rouge, _ = rouge_l(hyps, refs)
    factor = 100.0 if percent else 1.0
    return {name: float(v) * factor for name, v in zip(METRIC_NAMES, [*bleu, cider, rouge])}


__all__ = ["score_captions", "align", "corpus_bleu", "cider_d", "document_frequencies", "DocumentFrequency",
           "rouge_l", "lcs_length", "tokenize", "tokens_from_ids", "caption_diagnostics", "is_repetitive",
           "METRIC_NAMES", "DIAGNOSTIC_NAMES", "SPECIAL_TOKENS"]
