"""A tiny COCO-format directory, written the way CS231n's files are laid out."""

import json

import h5py
import numpy as np
import pytest

IDX_TO_WORD = ["<NULL>", "<START>", "<END>", "<UNK>", "a", "cat", "dog", "on", "mat"]


def write_coco_dir(path, n_train_images=6, n_val_images=3, D_pca=8, D_full=16, T=7, seed=0):
    """Write every file ``load_coco_data`` reads; return the arrays written, by key."""
    rng = np.random.default_rng(seed)
    V = len(IDX_TO_WORD)
    arrays = {}
    for split, n in (("train", n_train_images), ("val", n_val_images)):
        caps = np.zeros((2 * n, T), dtype=np.int32)
        caps[:, 0] = 1
        caps[:, 1:4] = rng.integers(4, V, size=(2 * n, 3))
        caps[:, 4] = 2
        arrays[f"{split}_captions"] = caps
        arrays[f"{split}_image_idxs"] = np.repeat(np.arange(n, dtype=np.int32), 2)
        arrays[f"{split}_features_pca"] = rng.standard_normal((n, D_pca)).astype(np.float32)
        arrays[f"{split}_features_full"] = rng.standard_normal((n, D_full)).astype(np.float32)
        arrays[f"{split}_urls"] = [f"http://images.example/{split}/{i}.jpg" for i in range(n)]
    with h5py.File(path / "coco2014_captions.h5", "w") as f:
        for split in ("train", "val"):
            f[f"{split}_captions"] = arrays[f"{split}_captions"]
            f[f"{split}_image_idxs"] = arrays[f"{split}_image_idxs"]
    for split in ("train", "val"):
        with h5py.File(path / f"{split}2014_vgg16_fc7_pca.h5", "w") as f:
            f["features"] = arrays[f"{split}_features_pca"]
        with h5py.File(path / f"{split}2014_vgg16_fc7.h5", "w") as f:
            f["features"] = arrays[f"{split}_features_full"]
        (path / f"{split}2014_urls.txt").write_text("".join(u + "\n" for u in arrays[f"{split}_urls"]))
    (path / "coco2014_vocab.json").write_text(json.dumps(
        {"idx_to_word": IDX_TO_WORD, "word_to_idx": {w: i for i, w in enumerate(IDX_TO_WORD)}}))
    return arrays


@pytest.fixture
def coco_dir(tmp_path):
    arrays = write_coco_dir(tmp_path)
    return tmp_path, arrays
