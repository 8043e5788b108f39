"""data_fingerprint: what a run records of its data; fingerprint_differences says what differs."""

import numpy as np

from minitorch_cap.data import data_fingerprint, fingerprint_differences
from minitorch_cap.training.synthetic import random_caption_data


def test_the_fingerprint_tells_data_sets_apart():
    data = random_caption_data(40, 12, input_dim=6, vocab_size=10, T=7, seed=0)
    same = random_caption_data(40, 12, input_dim=6, vocab_size=10, T=7, seed=0)
    fp = data_fingerprint(data)
    assert fp == data_fingerprint(same)
    assert (fp["vocab_size"], fp["num_train"], fp["num_val"], fp["feature_dim"]) == (10, 40, 12, 6)
    assert fingerprint_differences(fp, data_fingerprint(same)) == []
    # the same values in other widths: the same fingerprint
    wide = dict(data, train_captions=data["train_captions"].astype(np.int64),
                train_features=data["train_features"].astype(np.float32))
    assert data_fingerprint(wide) == fp

    other_seed = random_caption_data(40, 12, input_dim=6, vocab_size=10, T=7, seed=1)
    assert fingerprint_differences(fp, data_fingerprint(other_seed)) == [
        "the training captions (which captions, or their word ids)", "the validation captions",
        "the training image features", "the validation image features"]
    smaller = random_caption_data(30, 12, input_dim=6, vocab_size=10, T=7, seed=0)
    assert fingerprint_differences(fp, data_fingerprint(smaller))[0] == "train captions: 40 in the run, 30 now"

    renamed = dict(data, word_to_idx={("rock" if w == "w4" else w): i for w, i in data["word_to_idx"].items()})
    assert "w4" in data["word_to_idx"]
    assert fingerprint_differences(fp, data_fingerprint(renamed)) == ["the vocabulary (the words or their ids)"]
    features = dict(data, val_features=data["val_features"].copy())
    features["val_features"][3, 2] += 1
    assert fingerprint_differences(fp, data_fingerprint(features)) == ["the validation image features"]


def test_older_fingerprints_compare_what_they_have():
    data = random_caption_data(40, 12, input_dim=6, vocab_size=10, T=7, seed=0)
    assert fingerprint_differences({"num_train": 40}, data_fingerprint(data)) == []
    assert fingerprint_differences({}, data_fingerprint(data)) == []
