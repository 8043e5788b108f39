"""minitorch_cap.distributed.parallel without MPI: the no-op hook, the minibatch split and the agreement
message (with MPI: test_parallel_mpi.py)."""

from __future__ import annotations

import numpy as np
import pytest

from minitorch_cap.distributed import DataParallel, RanksDisagree, SingleProcess, data_parallel
from minitorch_cap.distributed.parallel import _val_image_part, description_differences, disagreement_message


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


def test_differences_name_the_value_on_rank_0_and_on_the_rank():
    sha_a, sha_b = "a" * 64, "b" * 64
    ours = {"data": {"num_train": 40, "train_captions_sha256": sha_a}, "optimizer": {"hyperparams": {"lr": 0.01}},
            "scheduler": None}
    theirs = {"data": {"num_train": 38, "train_captions_sha256": sha_b}, "optimizer": {"hyperparams": {"lr": 0.02}},
              "scheduler": {"gamma": 0.5}}
    found = description_differences(ours, theirs, 2)
    assert [key for key, _ in found] == ["data.num_train", "data.train_captions_sha256", "optimizer.hyperparams.lr",
                                         "scheduler", "scheduler.gamma"]
    texts = [text for _, text in found]
    assert texts[0] == "data.num_train: rank 0 has 40, rank 2 has 38"
    assert texts[1] == "data.train_captions_sha256: rank 0 has aaaaaaaaaaaa, rank 2 has bbbbbbbbbbbb"
    assert texts[2] == "optimizer.hyperparams.lr: rank 0 has 0.01, rank 2 has 0.02"
    assert texts[3] == "scheduler: rank 0 has null, rank 2 has nothing"
    assert description_differences(ours, ours, 1) == []


def test_one_message_names_every_rank_that_differs_and_how_to_fix_each_topic():
    differences = {1: [("optimizer.hyperparams.lr", "optimizer.hyperparams.lr: rank 0 has 0.01, rank 1 has 0.02")],
                   2: [(f"data.k{i}", f"data.k{i}: rank 0 has {i}, rank 2 has {-i}") for i in range(1, 9)]}
    message = disagreement_message(differences, 3, {"data": "load the same data", "optimizer": "same optimizer"})
    assert message.startswith("DataParallel: the 3 ranks of this run do not hold the same optimizer, data, so they "
                              "would not train one run; stopped before the first step. rank 1 differs from rank 0 in "
                              "optimizer.hyperparams.lr: rank 0 has 0.01, rank 1 has 0.02. rank 2 differs from rank 0 "
                              "in data.k1: rank 0 has 1, rank 2 has -1; ")
    assert "data.k6: rank 0 has 6, rank 2 has -6; and 2 more. To fix: same optimizer; load the same data" in message
    assert "data.k7" not in message
    assert "To fix: run the same code" in disagreement_message(differences, 3)      # no remedies given


def test_a_disagreement_raised_on_every_rank_sends_no_failure_notice():
    hook = _ranks(2)[0]

    class Comm:
        notified = []

        def notify(self, exc, where=None):
            self.notified.append(exc)
    hook.comm = Comm()
    hook.failed(RanksDisagree("differs", {1: ["x"]}))
    assert hook.comm.notified == []
    hook.failed(RuntimeError("boom"))
    assert len(hook.comm.notified) == 1
