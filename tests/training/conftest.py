"""Fixtures for the training tests: a small COCO-format data dict generated on the spot."""

import numpy as np
import pytest

from minitorch_cap import CaptioningModel
from minitorch_cap.optim import Adam, ExponentialLR
from minitorch_cap.training.synthetic import random_caption_data


def make_caption_data(num_train=40, num_val=12, dim=12, vocab_size=12, T=9, seed=0, **kwargs) -> dict:
    """Small random data (``random_caption_data``) with the sizes most tests use."""
    return random_caption_data(num_train, num_val, input_dim=dim, vocab_size=vocab_size, T=T, seed=seed, **kwargs)


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
