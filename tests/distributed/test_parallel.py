"""minitorch_cap.distributed.parallel without MPI: the no-op hook and the minibatch split (with MPI: test_parallel_mpi.py)."""

from __future__ import annotations

import numpy as np
import pytest

from minitorch_cap.distributed import DataParallel, SingleProcess, data_parallel
from minitorch_cap.distributed.parallel import _val_image_part


def test_one_process_hook_is_the_identity():
    hook = data_parallel(None)
    assert isinstance(hook, SingleProcess) and hook.is_writer and hook.size == 1
    idx = np.arange(7)
    part, share = hook.split(idx)
    assert part is idx and share == 1.0 and hook.part(idx) is idx
    assert hook.reduce_gradients(None, 2.5, 1.0) == 2.5 and hook.sum(3.0) == 3.0
    assert hook.metric(lambda model, data: 0.25, None, {}) == 0.25


def test_trainer_alone_uses_the_no_op_hook(tiny_trainer):
    assert isinstance(tiny_trainer.parallel, SingleProcess)


@pytest.fixture
def tiny_trainer():
    from minitorch_cap import CaptioningModel, Trainer
    from minitorch_cap.optim import SGD
    from minitorch_cap.training.synthetic import random_caption_data

    data = random_caption_data(20, input_dim=8)
    model = CaptioningModel(data["word_to_idx"], 8, 4, 4)
    return Trainer(model, data, SGD(model.named_parameters(), 1e-2), batch_size=10, verbose=False)


def _ranks(K: int) -> list[DataParallel]:
    hooks = []
    for k in range(K):          # the split needs only rank and size: no communicator
        hook = DataParallel.__new__(DataParallel)
        hook.rank, hook.size = k, K
        hooks.append(hook)
    return hooks


@pytest.mark.parametrize("B, K", [(100, 2), (7, 3), (5, 5), (2, 3)])
def test_split_gives_contiguous_parts_whose_shares_sum_to_one(B, K):
    idx = np.random.default_rng(0).integers(0, 1000, B)
    parts = [h.split(idx) for h in _ranks(K)]
    used = [p for p, share in parts if share > 0]
    assert np.array_equal(np.concatenate(used), idx)                       # same order, nothing twice
    assert sum(share for _, share in parts) == pytest.approx(1.0)
    for part, share in parts:
        assert share == (len(part) / B if share else 0.0)
    assert np.array_equal(np.concatenate([h.part(idx) for h in _ranks(K)]), idx)


def test_val_image_part_keeps_each_images_captions():
    data = {"val_features": np.arange(10)[:, None] * 1.0, "val_attributes": list("abcdefghij"),
            "val_image_idxs": np.array([0, 3, 3, 5, 9, 9, 1]), "val_captions": np.arange(7)[:, None],
            "val_urls": np.array([f"u{i}" for i in range(10)]), "train_captions": np.zeros((2, 3))}
    parts = [_val_image_part(data, k, 2) for k in range(2)]
    assert [count for _, count in parts] == [3, 2]             # images with captions in each share
    second = parts[1][0]
    assert second["val_attributes"] == list("fghij") and list(second["val_urls"]) == ["u5", "u6", "u7", "u8", "u9"]
    assert list(second["val_image_idxs"]) == [0, 4, 4] and list(second["val_captions"][:, 0]) == [3, 4, 5]
    assert second["train_captions"] is data["train_captions"]


@pytest.mark.parametrize("B, K", [(100, 2), (7, 3), (5, 5), (2, 3), (1, 3)])
def test_rows_are_the_rows_split_gives(B, K):
    idx = np.arange(100, 100 + B)
    for hook in _ranks(K):
        lo, hi = hook.rows(B)
        part, share = hook.split(idx)
        assert np.array_equal(idx[lo:hi], part)
        assert (share == 0) == (B * hook.rank // K == B * (hook.rank + 1) // K)     # an empty part: row 0, share 0
    assert SingleProcess().rows(B) == (0, B)

