"""The course's ``cs231n/coco_utils.py``: ``load_coco_data``, ``sample_coco_minibatch``, ``decode_captions``.

``sample_coco_minibatch`` and ``decode_captions`` are the library's (:mod:`minitorch_cap.data.coco`),
which already behave as the course's: minibatches are drawn with ``np.random.choice`` from
numpy's global random state, and decoded captions keep ``<START>`` and ``<END>``.
``load_coco_data`` is the library's loader (every file validated) that also looks where the
course keeps the data.
"""

from __future__ import annotations

import os

from ..data.coco import CAPTIONS_FILE, HOW_TO_GET, decode_captions, sample_coco_minibatch
from ..data.coco import load_coco_data as _load_coco_data

__all__ = ["load_coco_data", "sample_coco_minibatch", "decode_captions", "BASE_DIRS"]

BASE_DIRS = (
    os.path.join("cs231n", "datasets", "coco_captioning"),   # the course's, next to the notebook
    os.path.join("datasets", "coco_captioning"),             # the library's default
)
"""Where ``load_coco_data()`` looks, in order, relative to the working directory (the notebook's)."""


def find_coco_dir() -> str:
    """The first of :data:`BASE_DIRS` holding ``coco2014_captions.h5``; ``FileNotFoundError`` otherwise."""
    for base_dir in BASE_DIRS:
        if os.path.isfile(os.path.join(base_dir, CAPTIONS_FILE)):
            return base_dir
    tried = ", ".join(repr(os.path.abspath(d)) for d in BASE_DIRS)
    raise FileNotFoundError(f"load_coco_data: no {CAPTIONS_FILE} in {tried}. {HOW_TO_GET} "
                            "Or pass base_dir= the directory that holds the files.")


def load_coco_data(base_dir=None, max_train=None, pca_features=True):
    """The course's data dict (see :func:`minitorch_cap.data.load_coco_data` for keys, shapes and checks).

    ``base_dir=None`` looks in ``cs231n/datasets/coco_captioning`` (the course's place) and then
    ``datasets/coco_captioning`` (the library's), relative to the working directory. Prints the
    directory used, as the course does. ``max_train`` subsamples the training captions with
    ``np.random.randint`` (numpy's global random state), as the course does.
    """
    if base_dir is None:
        base_dir = find_coco_dir()
    print("base dir ", base_dir)
    return _load_coco_data(base_dir, max_train=max_train, pca_features=pca_features)
