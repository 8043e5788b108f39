"""A small COCO-format directory for the course's API, laid out where the course keeps it."""

import h5py
import numpy as np
import pytest
from PIL import Image

from tests.data.conftest import IDX_TO_WORD, write_coco_dir


def write_course_coco_dir(root, n_train_images=6, n_val_images=3, seed=0):
    """``root/cs231n/datasets/coco_captioning`` with the tests' COCO files, adjusted for a notebook run.

    Both captions of an image are made equal (so a model can overfit them, as the notebooks
    expect) and each URL is a ``file://`` URL of a small PNG written next to the data (no network).
    Returns (the directory, the arrays written).
    """
    base = root / "cs231n" / "datasets" / "coco_captioning"
    base.mkdir(parents=True)
    arrays = write_coco_dir(base, n_train_images=n_train_images, n_val_images=n_val_images, seed=seed)
    rng = np.random.default_rng(seed)
    with h5py.File(base / "coco2014_captions.h5", "r+") as f:
        for split in ("train", "val"):
            caps = f[f"{split}_captions"][()]
            caps[1::2] = caps[0::2]
            f[f"{split}_captions"][...] = caps
            arrays[f"{split}_captions"] = caps
    for split, n in (("train", n_train_images), ("val", n_val_images)):
        urls = []
        for i in range(n):
            path = base / f"{split}_{i}.png"
            Image.fromarray(rng.integers(0, 256, size=(4, 5, 3), dtype=np.uint8)).save(path)
            urls.append(path.as_uri())
        (base / f"{split}2014_urls.txt").write_text("".join(u + "\n" for u in urls))
        arrays[f"{split}_urls"] = urls
    return base, arrays


@pytest.fixture
def course_coco(tmp_path, monkeypatch):
    """Work in a notebook's directory: the data under ``cs231n/datasets/coco_captioning``."""
    base, arrays = write_course_coco_dir(tmp_path)
    monkeypatch.chdir(tmp_path)
    return base, arrays


__all__ = ["IDX_TO_WORD", "write_course_coco_dir"]
