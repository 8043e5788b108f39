"""The course's ``cs231n/coco_utils.py``: ``load_coco_data``, ``sample_coco_minibatch``, ``decode_captions``.

``sample_coco_minibatch`` and ``decode_captions`` are the library's (:mod:`minitorch_cap.data.coco`),
which already behave as the course's: minibatches are drawn with ``np.random.choice`` from
numpy's global random state, and decoded captions keep ``<START>`` and ``<END>``.
``load_coco_data`` is the library's loader (every file validated, the same places searched
without ``base_dir``) that prints the folder it read, as the course's does.
"""

from __future__ import annotations

from ..data.coco import COCO_DIRS, decode_captions, find_coco_dir, sample_coco_minibatch
from ..data.coco import load_coco_data as _load_coco_data

__all__ = ["load_coco_data", "sample_coco_minibatch", "decode_captions", "BASE_DIRS"]

BASE_DIRS = COCO_DIRS
"""Where ``load_coco_data()`` looks, in order, relative to the working directory (the notebook's):
the course's ``cs231n/datasets/coco_captioning``, the ECNU copies' ``daseCV/datasets/coco_captioning``
and ``input/datasets/coco_captioning``, then the library's ``datasets/coco_captioning``."""


def load_coco_data(base_dir=None, max_train=None, pca_features=True):
    """The course's data dict (see :func:`minitorch_cap.data.load_coco_data` for keys, shapes and checks).

    ``base_dir=None`` looks in :data:`BASE_DIRS` (the course's place first). Prints the
    directory used, as the course does. ``max_train`` subsamples the training captions with
    ``np.random.randint`` (numpy's global random state), as the course does.
    """
    if base_dir is None:
        base_dir = find_coco_dir()
    print("base dir ", base_dir)
    return _load_coco_data(base_dir, max_train=max_train, pca_features=pca_features)
