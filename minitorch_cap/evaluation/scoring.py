"""Evaluate a captioner the way papers do: decode every image of a split, score against all references.

* Decoding is free-running (greedy or beam search), never teacher forced: the model sees only
  the image features and its own previous words.
* One hypothesis per image, scored against ALL the reference captions of that image: the
  caption rows of a split are grouped by ``{split}_image_idxs``.
* Both sides are read by :func:`caption_words` (:func:`minitorch_cap.metrics.tokens_from_ids`: stop
  at ``<END>``, drop ``<NULL>``, ``<START>``, ``<END>``, ``<UNK>``) and scored by
  :func:`minitorch_cap.metrics.score_captions` (its tokenisation: lower-cased, punctuation
  dropped; BLEU-1..4, CIDEr-D and ROUGE-L on coco-caption's scale), so that
  ``score_captions(result.hypotheses, result.references)`` gives ``result.metrics``; the collapse
  diagnostics read the same tokens. On the built-in shapes data set the share of captions the checker accepts
  (``caption_accuracy``) is added, judged on the display text
  (:func:`~minitorch_cap.data.caption_text`: ``<UNK>`` kept) by
  :func:`~minitorch_cap.data.shapes.judge_captions`, the rule every command uses.

Entry points: :func:`evaluate` -> :class:`Evaluation`; :func:`make_metric` builds a
``fn(model, data) -> float`` for the Trainer's ``metrics=`` (keep-best, early stopping)::

    trainer = Trainer(model, data, optimizer, metrics={"CIDEr-D": make_metric("CIDEr-D")},
                      monitor="CIDEr-D", mode="max")
"""

from __future__ import annotations

import re
import time
from typing import Callable

import attrs
import numpy as np

from ..data.checks import MissingDataKey, check_model_data
from ..data.coco import caption_text
from ..data.shapes import judge_captions
from ..captioners.decoding import DEFAULT_MAX_LENGTH, decode
from ..nn.checks import int_option
from ..metrics import (DIAGNOSTIC_NAMES, METRIC_NAMES, DocumentFrequency, caption_diagnostics, document_frequencies,
                       score_captions, tokenize, tokens_from_ids)

#: What :func:`make_metric` accepts: the metrics, the diagnostics and the shapes checker's accuracy.
SCORE_NAMES = METRIC_NAMES + DIAGNOSTIC_NAMES + ("caption_accuracy",)


@attrs.frozen
class Evaluation:
    """Scores and captions of one decoded split.

    metrics: ``{'BLEU-1', ..., 'BLEU-4', 'CIDEr-D', 'ROUGE-L'}`` on coco-caption's scale (x100
    when ``percent``); diagnostics: ``{'distinct_captions', 'vocabulary_used', 'mean_length',
    'repetition_rate'}`` (+ ``'caption_accuracy'`` on the built-in data set); image_idxs (M,)
    feature rows of the images; image_ids: COCO ids parsed from the URLs (else the row);
    hypotheses: M strings; references: M lists of strings; decode_seconds: time spent decoding.
    """

    metrics: dict
    diagnostics: dict
    image_idxs: np.ndarray
    image_ids: list
    hypotheses: list
    references: list
    decode_seconds: float
    settings: dict

    def scores(self) -> dict:
        """Metrics and diagnostics in one flat dict."""
        return {**self.metrics, **self.diagnostics}

    def results(self) -> list[dict]:
        """The COCO results format: ``[{"image_id": ..., "caption": ...}, ...]``."""
        return [{"image_id": i, "caption": c} for i, c in zip(self.image_ids, self.hypotheses)]

    def table(self) -> str:
        """The metrics and diagnostics as a table whose header states the scale."""
        from tabulate import tabulate

        percent = self.settings["scale"] == "x100"
        scale = "x100, as papers print" if percent else "coco-caption scale: BLEU, ROUGE-L 0-1; CIDEr-D 0-10"
        rows = [(name, f"{value:.4f}") for name, value in self.metrics.items()]
        labels = {"distinct_captions": "distinct captions (share)", "vocabulary_used": "vocabulary used (words)",
                  "mean_length": "mean length (words)", "repetition_rate": "repetition rate (share)",
                  "caption_accuracy": "checker accepts (share)"}
        rows += [(labels.get(name, name), f"{value:.4f}" if name != "vocabulary_used" else f"{value:.0f}")
                 for name, value in self.diagnostics.items()]
        return tabulate(rows, headers=["score", f"value ({scale})"], colalign=("left", "right"), disable_numparse=True)

    def write(self, out_dir, **about) -> list:
        """Write ``results.json`` (COCO results format) and ``scores.json`` (scores, scale, settings and
        the ``about`` entries, e.g. the checkpoint and the data) into ``out_dir``; return the paths."""
        from pathlib import Path

        from ..data.files import write_json

        out_dir = Path(out_dir)
        scores = {**about, **self.settings,
                  "scale_note": "pycocoevalcap's scale (BLEU, ROUGE-L 0-1; CIDEr-D 0-10)"
                                + ("; multiplied by 100" if self.settings["scale"] == "x100" else ""),
                  "metrics": self.metrics, "diagnostics": self.diagnostics, "decode_seconds": self.decode_seconds}
        return [write_json(out_dir / "results.json", self.results()), write_json(out_dir / "scores.json", scores)]


def _split_keys(data, split: str) -> None:
    for key in (f"{split}_captions", f"{split}_image_idxs", f"{split}_features", "idx_to_word"):
        if key not in data:
            raise MissingDataKey(f"evaluate: the data dict has no {key!r} (expected the keys of load_coco_data; "
                                 f"split {split!r})")


def split_references(data: dict, split: str = "val", max_images: int | None = None, *, text=tokens_from_ids):
    """The distinct images of a split (sorted) and all their references: the one grouping rule.

    Returns ``(image_idxs (M,), references)``, ``references[m]`` the captions of image
    ``image_idxs[m]``, each made by ``text(ids, idx_to_word)``: token lists for scoring
    (:func:`~minitorch_cap.metrics.tokens_from_ids`, the default), or display strings
    (:func:`~minitorch_cap.data.caption_text`). ``max_images`` keeps the first M images.
    """
    images = split_images(data, split, max_images)
    idxs = np.asarray(data[f"{split}_image_idxs"])
    position = {int(i): m for m, i in enumerate(images)}
    references = [[] for _ in images]
    captions, idx_to_word = data[f"{split}_captions"], data["idx_to_word"]
    for row in np.flatnonzero(np.isin(idxs, images)):
        references[position[int(idxs[row])]].append(text(captions[row], idx_to_word))
    return images, references


def split_images(data: dict, split: str = "val", max_images: int | None = None) -> np.ndarray:
    """The distinct images of a split, sorted (the first ``max_images`` of them): image_idxs (M,)."""
    _split_keys(data, split)
    images = np.unique(np.asarray(data[f"{split}_image_idxs"]))
    if max_images is not None:
        images = images[:int_option("evaluate", "max_images", max_images)]
    return images


_COCO_ID = re.compile(r"(\d+)\.[A-Za-z]+$")


def image_ids(data: dict, split: str, image_idxs) -> list[int]:
    """COCO image ids parsed from ``{split}_urls`` (``..._000000391895.jpg`` -> 391895), else the rows."""
    urls = data.get(f"{split}_urls")
    out = []
    for i in image_idxs:
        match = _COCO_ID.search(str(urls[int(i)])) if urls is not None else None
        out.append(int(match.group(1)) if match else int(i))
    return out


def decode_images(model, features, *, beam_size: int = 1, max_length: int = DEFAULT_MAX_LENGTH, alpha: float = 0.0,
                  block_unk: bool = False, batch_size: int = 500) -> np.ndarray:
    """Decode features (M, D) in batches -> word ids (M, max_length), free-running."""
    batch_size = int_option("decode_images", "batch_size", batch_size)
    parts = [decode(model, features[s:s + batch_size], beam_size=beam_size, max_length=max_length, alpha=alpha,
                    block_unk=block_unk) for s in range(0, len(features), batch_size)]
    return np.concatenate(parts) if parts else np.zeros((0, max_length), dtype=np.int64)


_TRAIN_DF: list = [None, None]      # the training captions last seen and their document frequencies


def train_document_frequency(data: dict) -> DocumentFrequency:
    """CIDEr-D document frequencies of the training references, tokenised as :func:`score_captions`
    tokenises what it scores (computed once per data dict)."""
    captions = data.get("train_captions")
    if captions is None or _TRAIN_DF[0] is not captions:
        references = split_references(data, "train", text=lambda ids, words: tokenize(caption_words(ids, words)))
        _TRAIN_DF[:] = [captions, document_frequencies(references[1])]
    return _TRAIN_DF[1]


def caption_words(ids, idx_to_word) -> str:
    """One caption's ids as :func:`evaluate` records and scores them: :func:`tokens_from_ids`, joined by spaces."""
    return " ".join(tokens_from_ids(ids, idx_to_word))


def evaluate(model, data: dict, split: str = "val", *, beam_size: int = 1, max_length: int = DEFAULT_MAX_LENGTH,
             alpha: float = 0.0, block_unk: bool = False, max_images: int | None = None,
             cider_df: str | DocumentFrequency = "split", percent: bool = False,
             batch_size: int = 500) -> Evaluation:
    """Decode the images of ``split`` and score them; see the module docstring.

    ``cider_df``: ``'split'`` (coco-caption's choice: the references scored), ``'train'`` (the
    training references; needed for small evaluations) or a :class:`DocumentFrequency`.
    """
    check_model_data(model, data, "evaluate")
    images, references = split_references(data, split, max_images, text=caption_words)
    started = time.perf_counter()
    ids = decode_images(model, data[f"{split}_features"][images], beam_size=beam_size, max_length=max_length,
                        alpha=alpha, block_unk=block_unk, batch_size=batch_size)
    seconds = time.perf_counter() - started
    texts = [caption_words(row, data["idx_to_word"]) for row in ids]
    if isinstance(cider_df, DocumentFrequency):
        df = cider_df
    elif cider_df == "split":
        df = None
    elif cider_df == "train":
        df = train_document_frequency(data)
    else:
        raise ValueError(f"evaluate: cider_df must be 'split', 'train' or a DocumentFrequency, got {cider_df!r}")
    metrics = score_captions(texts, references, document_frequency=df, percent=percent)
    diagnostics = caption_diagnostics([tokenize(text) for text in texts])
    correct = judge_captions(data, split, images, caption_text(ids, data["idx_to_word"]))
    if correct is not None:
        diagnostics["caption_accuracy"] = float(np.mean(correct)) if correct else float("nan")
    settings = {"split": split, "images": int(len(images)), "beam_size": int(beam_size), "max_length": int(max_length),
                "alpha": float(alpha), "block_unk": bool(block_unk),
                "cider_df": cider_df if isinstance(cider_df, str) else "given",
                "scale": "x100" if percent else "coco-caption"}
    return Evaluation(metrics, diagnostics, images, image_ids(data, split, images), texts, references, seconds,
                      settings)


def make_metric(name: str = "CIDEr-D", *, split: str = "val", beam_size: int = 1, max_images: int | None = None,
                max_length: int = DEFAULT_MAX_LENGTH, **options) -> Callable[[object, dict], float]:
    """A ``fn(model, data) -> float`` computing one score of :func:`evaluate` (for the Trainer's ``metrics=``).

    ``name`` is one of :data:`SCORE_NAMES`; the other arguments go to :func:`evaluate`
    (``max_images`` keeps each epoch's evaluation short).
    """
    if name not in SCORE_NAMES:
        raise ValueError(f"make_metric: unknown score {name!r}; expected one of {list(SCORE_NAMES)}")

    def metric(model, data) -> float:
        result = evaluate(model, data, split, beam_size=beam_size, max_images=max_images, max_length=max_length,
                          **options)
        scores = result.scores()
        if name not in scores:
            raise ValueError(f"{name} is only available on the built-in shapes data set")
        return float(scores[name])

    metric.__name__ = metric.__qualname__ = f"{name}@{split}" + (f"/beam{beam_size}" if beam_size > 1 else "")
    return metric
