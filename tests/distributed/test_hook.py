"""minitorch_cap.distributed without MPI: the no-op hook, world detection, the minibatch split."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from minitorch_cap.distributed import DataParallel, SingleProcess, data_parallel, launched_size, world
from minitorch_cap.distributed.parallel import _val_image_part


def test_importing_and_training_alone_never_imports_mpi4py():
    code = ("import sys, numpy as np; import minitorch_cap; from minitorch_cap.distributed import world; "
            "from minitorch_cap.training.synthetic import random_caption_data; "
            "d = random_caption_data(20, input_dim=8); m = minitorch_cap.CaptioningModel(d['word_to_idx'], 8, 4, 4); "
            "t = minitorch_cap.Trainer(m, d, minitorch_cap.optim.SGD(m.named_parameters(), 1e-2), "
            "batch_size=10, num_epochs=1, verbose=False, comm=world()); t.train(); "
            "assert world() is None and 'mpi4py' not in sys.modules, sorted(sys.modules)")
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": ":".join(sys.path)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr


def test_launched_size_reads_the_launchers_variables():
    assert launched_size({}) == 1
    assert launched_size({"PMI_SIZE": "4"}) == 4
    assert launched_size({"OMPI_COMM_WORLD_SIZE": "3"}) == 3
    assert launched_size({"PMI_SIZE": "junk", "MPI_LOCALNRANKS": "2"}) == 2


def test_world_under_a_launcher_without_mpi4py_says_how_to_install(monkeypatch):
    monkeypatch.setenv("PMI_SIZE", "2")
    monkeypatch.setitem(sys.modules, "mpi4py", None)       # import mpi4py now fails
    with pytest.raises(ImportError, match=r"pip install 'minitorch-cap\[mpi\]'"):
        world()


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
