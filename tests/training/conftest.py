"""Fixtures for the training tests: a small COCO-format data dict generated on the spot."""

import numpy as np
import pytest

from minitorch_cap import CaptioningModel
from minitorch_cap.optim import Adam, ExponentialLR


def make_caption_data(num_train=40, num_val=12, num_images=None, dim=12, vocab_size=12, T=9, seed=0,
                      dtype=np.float32) -> dict:
    """A dict with ``load_coco_data``'s keys: random features and random captions over a small vocabulary.

    Tokens ``<NULL>``=0, ``<START>``=1, ``<END>``=2, ``<UNK>``=3, then ``w4``, ``w5``, ...
    Each caption is ``<START> words... <END>`` padded with ``<NULL>`` to ``T`` columns.
    ``num_images`` (default: one image per caption) features are shared by the captions.
    """
    rng = np.random.default_rng(seed)
    word_to_idx = {"<NULL>": 0, "<START>": 1, "<END>": 2, "<UNK>": 3}
    word_to_idx.update({f"w{i}": i for i in range(4, vocab_size)})
    data = {"word_to_idx": word_to_idx, "idx_to_word": {i: w for w, i in word_to_idx.items()}}
    for split, n in (("train", num_train), ("val", num_val)):
        if n == 0:
            continue
        captions = np.zeros((n, T), dtype=np.int32)
        for row in captions:
            length = rng.integers(2, T - 1)
            row[0] = 1
            row[1:length + 1] = rng.integers(4, vocab_size, length)
            row[length + 1] = 2
        m = num_images or n
        data[f"{split}_captions"] = captions
        data[f"{split}_image_idxs"] = np.arange(n) % m
        data[f"{split}_features"] = rng.standard_normal((m, dim)).astype(dtype)
        data[f"{split}_urls"] = np.array([f"{split}/{i}.jpg" for i in range(m)])
    return data


@pytest.fixture
def data():
    return make_caption_data()


def make_setup(data, cell_type="lstm", lr=1e-2, gamma=0.9, hidden=16, wordvec=8, seed=0):
    """A small model, Adam and an exponential schedule, all deterministic."""
    model = CaptioningModel(data["word_to_idx"], input_dim=data["train_features"].shape[1], wordvec_dim=wordvec,
                            hidden_dim=hidden, cell_type=cell_type, rng=np.random.default_rng(seed))
    optimizer = Adam(model.named_parameters(), lr=lr)
    scheduler = ExponentialLR(optimizer, gamma) if gamma is not None else None
    return model, optimizer, scheduler
