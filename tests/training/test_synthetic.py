"""random_caption_data: the COCO-format random set used by sanity checks."""

import numpy as np
import pytest

from minitorch_cap.training.synthetic import random_caption_data


def test_format_matches_load_coco_data():
    data = random_caption_data(30, 6, input_dim=8, vocab_size=10, T=9, words=(3, 5), seed=1)
    assert set(data) == {"word_to_idx", "idx_to_word", *(f"{s}_{k}" for s in ("train", "val")
                                                          for k in ("captions", "image_idxs", "features", "urls"))}
    assert [data["idx_to_word"][i] for i in range(4)] == ["<NULL>", "<START>", "<END>", "<UNK>"]
    captions = data["train_captions"]
    assert captions.shape == (30, 9) and captions.dtype == np.int32
    assert (captions[:, 0] == 1).all()
    lengths = (captions != 0).sum(axis=1) - 2                   # words between <START> and <END>
    assert lengths.min() >= 3 and lengths.max() <= 5
    assert (captions[np.arange(30), lengths + 1] == 2).all()
    assert (captions[:, 1:][captions[:, 1:] != 0] >= 2).all() and captions.max() < 10
    assert data["train_features"].shape == (30, 8) and data["train_features"].dtype == np.float32
    np.testing.assert_array_equal(data["val_image_idxs"], np.arange(6))


def test_seeded_and_val_split_optional():
    a, b = random_caption_data(5, seed=3), random_caption_data(5, seed=3)
    np.testing.assert_array_equal(a["train_captions"], b["train_captions"])
    assert "val_captions" not in a
    assert not np.array_equal(random_caption_data(5, seed=4)["train_features"], a["train_features"])


def test_bad_sizes():
    with pytest.raises(ValueError, match="vocab_size > 4"):
        random_caption_data(5, vocab_size=4)
    with pytest.raises(ValueError, match="words must satisfy"):
        random_caption_data(5, T=9, words=(3, 8))
