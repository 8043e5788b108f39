"""Checks of a data dict against what reads it: the splits the Trainer uses, and a model's fit.

Both raise errors that name the key and what was expected, so a model and data that do not
belong together fail before any work instead of giving meaningless numbers.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from ..nn.checks import UserError


class DataError(UserError, ValueError):
    """The data cannot be used as asked: a missing or incomplete folder, contradictory options, data that
    does not fit the model reading it, captions a model cannot learn from."""


class MissingDataKey(DataError, KeyError):
    """Data without a key it needs (a split, a dataset of a file): a :class:`DataError` that is also
    the ``KeyError`` of a missing key, so code catching either sees it."""

    __str__ = Exception.__str__          # the message as written (KeyError would quote it)


def check_captions(owner: str, name: str, captions: np.ndarray, null_id: int, start_id: int | None) -> None:
    """The rule for captions a model trains on (the same wherever captions enter: the Trainer's
    splits, the COCO loader). Each row of ``captions (N, T)`` (word ids) must

    * begin with ``<START>`` (id ``start_id``) when the vocabulary has one: every decoder feeds
      ``<START>`` first, so a caption that begins otherwise (left-padded with ``<NULL>``, or not
      encoded with ``<START>``) trains the model on a first word it never sees when it captions;
    * hold a target: a word other than ``<NULL>`` after the first column (the loss is masked
      where the target is ``<NULL>``, so such a caption teaches nothing, and data made only of
      them trains to a zero loss).

    Raises ``DataError`` (a ``ValueError``) naming ``owner``, ``name``, the first bad row and how many there are.
    """
    captions = np.asarray(captions)
    if captions.shape[0] == 0:
        return
    problems = []
    if start_id is not None:
        problems.append((captions[:, 0] != start_id, f"do not begin with <START> (id {start_id}): each "
                         "caption is <START> w1 ... wk <END>, padded with <NULL> at the end"))
    problems.append((~(captions[:, 1:] != null_id).any(axis=1), "hold no word after their first "
                     "column, only <NULL> (nothing to learn: the loss ignores <NULL> targets)"))
    for bad, why in problems:
        if bad.any():
            rows = np.flatnonzero(bad)
            raise DataError(f"{owner}: {rows.size} of the {captions.shape[0]} rows of {name} {why}; the first is "
                             f"row {int(rows[0])}: {captions[rows[0]].tolist()}")


def check_training_data(data: Mapping[str, Any], model, owner: str = "Trainer") -> tuple[int, int]:
    """Check the splits a trainer reads; return (number of train captions, of val captions).

    ``train_captions (N, T) int`` with ``T >= 2``, each row a caption the model can learn from
    (:func:`check_captions`, with the model's ``<NULL>`` and ``<START>`` ids),
    ``train_image_idxs (N,) int`` indexing ``train_features`` (whose rows
    ``model.check_features`` accepts); ``val_*`` likewise or absent (its captions give the
    validation loss). Raises ``TypeError``, ``KeyError`` or ``ValueError``.
    """
    if not isinstance(data, Mapping):
        raise TypeError(f"{owner}: data must be a dict like load_coco_data's, got {type(data).__name__}")
    counts = []
    for split in ("train", "val"):
        keys = [f"{split}_captions", f"{split}_image_idxs", f"{split}_features"]
        present = [k in data for k in keys]
        if split == "val" and not any(present):
            counts.append(0)
            continue
        if not all(present):
            raise MissingDataKey(f"{owner}: data lacks {[k for k, p in zip(keys, present) if not p]} "
                                 f"(expected the keys of load_coco_data)")
        captions, idxs, features = np.asarray(data[keys[0]]), np.asarray(data[keys[1]]), data[keys[2]]
        if captions.ndim != 2 or not np.issubdtype(captions.dtype, np.integer) or captions.shape[1] < 2:
            raise DataError(f"{owner}: {keys[0]} must be an integer array (N, T) with T >= 2, "
                             f"got {captions.dtype} {captions.shape}")
        if idxs.shape != (captions.shape[0],) or not np.issubdtype(idxs.dtype, np.integer):
            raise DataError(f"{owner}: {keys[1]} must be integers of shape ({captions.shape[0]},), "
                             f"got {idxs.dtype} {idxs.shape}")
        if hasattr(model, "check_features"):
            model.check_features(f"{owner}: {keys[2]}", features[:1])
        if idxs.size and (idxs.min() < 0 or idxs.max() >= features.shape[0]):
            raise DataError(f"{owner}: {keys[1]} holds image ids outside [0, {features.shape[0]})")
        if split == "train" and captions.shape[0] == 0:
            raise DataError(f"{owner}: the training split is empty")
        if hasattr(model, "null_id"):
            check_captions(owner, keys[0], captions, int(model.null_id), getattr(model, "start_id", None))
        counts.append(captions.shape[0])
    return counts[0], counts[1]


def check_model_data(model, data, owner: str) -> None:
    """Raise ``ValueError`` unless ``model`` reads ``data``: same word ids, same feature size.

    A model trained with another vocabulary would run on these captions and features and
    give meaningless losses, captions and scores without any error; this makes it one.
    Data without ``word_to_idx`` (or a model without one) is checked for the feature size only.
    """
    if not isinstance(data, Mapping):
        raise TypeError(f"{owner}: data must be a dict like load_coco_data's, got {type(data).__name__}")
    input_dim = getattr(model, "input_dim", None)
    for split in ("train", "val"):
        features = data.get(f"{split}_features")
        if input_dim is not None and features is not None and np.ndim(features) >= 2 \
                and features.shape[-1] != input_dim:
            raise DataError(f"{owner}: the model expects {input_dim}-d image features but {split}_features "
                             f"are {features.shape[-1]}-d")
    vocabulary = getattr(model, "word_to_idx", None)
    if vocabulary is not None and "word_to_idx" in data:
        theirs = {str(w): int(i) for w, i in data["word_to_idx"].items()}
        if dict(vocabulary) != theirs:
            differing = sorted(w for w in set(vocabulary) | set(theirs) if vocabulary.get(w) != theirs.get(w))
            raise DataError(f"{owner}: the model's vocabulary ({len(vocabulary)} words) differs from the data's "
                             f"({len(theirs)} words), e.g. in {differing[:5]}; use the data the model was "
                             "trained on (or train a model on this data)")
