"""A data set's fingerprint: what a run records of its data, so that it can tell other data apart.

``data_fingerprint(data)`` summarises a ``load_coco_data``-style dict in a few JSON-able
values: the vocabulary (size and SHA-256 of its words in id order), the split sizes, the
feature size, and the SHA-256 of each split's caption ids (captions and image ids) and of
each split's features. ``Trainer`` stores it in its checkpoints and ``Trainer.resume``
refuses data whose fingerprint differs, saying what differs (``fingerprint_differences``).

Hashing reads every byte once (SHA-256, about 0.5-1 GB/s): ~0.2 s for COCO's 512-d PCA
features, ~2 s for the 4096-d ones.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Mapping

import numpy as np

SPLITS = ("train", "val")


def sha256_arrays(*arrays) -> str:
    """SHA-256 of arrays: each one's dtype, shape and bytes (the one rule for hashing arrays)."""
    digest = hashlib.sha256()
    for array in arrays:
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype.str}{array.shape};".encode())
        digest.update(memoryview(array).cast("B"))
    return digest.hexdigest()


def data_fingerprint(data: Mapping[str, Any]) -> dict[str, Any]:
    """The fingerprint of a data dict (keys ``{split}_captions``, ``{split}_image_idxs``,
    ``{split}_features``, optionally ``word_to_idx``); a split that is absent gets ``None`` values.

    Returns ``{"vocab_size", "vocab_sha256", "feature_dim", "num_train", "num_val",
    "train_captions_sha256", "val_captions_sha256", "train_features_sha256", "val_features_sha256"}``.
    Captions are hashed as int64 and features as float32, so the same values in another
    integer or float width give the same fingerprint.
    """
    fingerprint: dict[str, Any] = {"vocab_size": None, "vocab_sha256": None, "feature_dim": None}
    word_to_idx = data.get("word_to_idx")
    if word_to_idx is not None:
        words = sorted(((int(i), str(w)) for w, i in word_to_idx.items()))
        fingerprint["vocab_size"] = len(words)
        fingerprint["vocab_sha256"] = hashlib.sha256(json.dumps(words).encode("utf-8")).hexdigest()
    for split in SPLITS:
        captions = data.get(f"{split}_captions")
        features = data.get(f"{split}_features")
        fingerprint[f"num_{split}"] = None if captions is None else int(np.shape(captions)[0])
        fingerprint[f"{split}_captions_sha256"] = None if captions is None else sha256_arrays(
            np.asarray(captions, dtype=np.int64), np.asarray(data[f"{split}_image_idxs"], dtype=np.int64))
        fingerprint[f"{split}_features_sha256"] = None if features is None else sha256_arrays(
            np.asarray(features, dtype=np.float32))
        if features is not None:
            fingerprint["feature_dim"] = int(np.shape(features)[-1])
    return fingerprint


_WHAT = {
    "vocab_sha256": "the vocabulary (the words or their ids)",
    "feature_dim": "the feature size",
    "train_captions_sha256": "the training captions (which captions, or their word ids)",
    "val_captions_sha256": "the validation captions",
    "train_features_sha256": "the training image features",
    "val_features_sha256": "the validation image features",
}


def fingerprint_differences(saved: Mapping[str, Any], current: Mapping[str, Any]) -> list[str]:
    """What differs between two fingerprints, in words (empty when they agree).

    Keys missing from ``saved`` (fingerprints of older versions) are not compared.
    """
    differences = []
    for split in SPLITS:
        key = f"num_{split}"
        if saved.get(key) is not None and saved.get(key) != current.get(key):
            differences.append(f"{split} captions: {saved[key]} in the run, {current.get(key)} now")
    if saved.get("vocab_size") is not None and saved.get("vocab_size") != current.get("vocab_size"):
        differences.append(f"vocabulary: {saved['vocab_size']} words in the run, {current.get('vocab_size')} now")
    elif saved.get("vocab_sha256") is not None and saved["vocab_sha256"] != current.get("vocab_sha256"):
        differences.append(_WHAT["vocab_sha256"])
    for key, what in _WHAT.items():
        if key == "vocab_sha256" or saved.get(key) is None or saved.get(key) == current.get(key):
            continue
        if key.startswith(("train_captions", "val_captions")) and any(
                d.startswith(key.split("_")[0] + " captions:") for d in differences):
            continue                           # already said: another number of captions
        differences.append(what if key != "feature_dim" else
                           f"feature size: {saved[key]} in the run, {current.get(key)} now")
    return differences
