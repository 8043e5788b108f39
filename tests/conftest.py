"""Shared test helpers and the fixtures used across folders, each built once per session.

- ``require_oracle``: the optional oracles (PyTorch, pycocoevalcap);
- ``run_cli``, ``TINY`` and the session fixture ``tiny_run``: one tiny ``minitorch-cap train`` run
  shared by the tests of the commands (tests/cli/) and of runs.py (tests/test_runs.py);
- ``write_coco_dir``, ``IDX_TO_WORD``: a tiny COCO folder with every file ``load_coco_data`` reads,
  for the data tests (tests/data/), the course's API (tests/cs231n/) and, as the session fixture
  ``small_coco_dir``, the commands;
- ``make_caption_data``, ``make_setup`` and ``data``: small random caption data and a model for the
  Trainer's tests (tests/training/) and the loss-curve plot (tests/test_plots_loss_curve.py);
- ``course_linspace``, ``set_params``: weights set as the course's notebooks set them.

Nothing here generates the built-in data set at its default size: the commands' tests use the
tiny run's data (``DataSpec.load`` caches it per process).
"""

from __future__ import annotations

import contextlib
import importlib
import io
import json
import os

import h5py
import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from minitorch_cap import CaptioningModel
from minitorch_cap.cli import main
from minitorch_cap.optim import Adam, ExponentialLR
from minitorch_cap.training.synthetic import random_caption_data

# The suite's matrices are small: one BLAS thread is as fast on an idle machine and 5-20x faster
# on a shared one, where several BLAS threads spin against the other processes.
threadpool_limits(limits=1, user_api="blas")


def require_oracle(name: str):
    """Import an optional test oracle; skip when absent, but fail in CI, which installs it.

    ``.ci/run`` sets MINITORCH_CAP_REQUIRE_ORACLES=1 so that a check against PyTorch or
    pycocoevalcap can never pass there by being skipped.
    """
    try:
        return importlib.import_module(name)
    except ImportError:
        if os.environ.get("MINITORCH_CAP_REQUIRE_ORACLES"):
            raise
        pytest.skip(f"{name} is not installed (CI installs it)")


# --- The command line: one tiny training run ----------------------------------------

#: A configuration that trains in about a second: 40 training images, 6 validation images.
TINY = ["--max-train", "40", "--max-val", "6", "--epochs", "2", "--batch-size", "50", "--hidden-dim", "16",
        "--wordvec-dim", "8", "--num-images", "4", "--no-progress", "--seed", "3"]


def run_cli(argv) -> tuple[int, str, str]:
    """``minitorch_cap.cli.main(argv)`` -> (exit code, stdout, stderr); argparse exits become codes."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main([str(a) for a in argv])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """The output folder of ``minitorch-cap train`` on the tiny configuration, with its output."""
    out = tmp_path_factory.mktemp("tiny-run")
    code, stdout, stderr = run_cli(["train", *TINY, "--out", out])
    assert code == 0, stderr
    return out, stdout


# --- The data loaders and the course's API: every file of a COCO folder ----------
IDX_TO_WORD = ["<NULL>", "<START>", "<END>", "<UNK>", "a", "cat", "dog", "on", "mat"]


def write_coco_dir(path, n_train_images=6, n_val_images=3, D_pca=8, D_full=16, T=7, seed=0):
    """Write every file ``load_coco_data`` reads into ``path``; return the arrays written, by key."""
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


@pytest.fixture(scope="session")
def small_coco_dir(tmp_path_factory):
    """A COCO-format folder in the course's layout for the commands: 6 train and 3 val images, 12-d PCA
    features (and 16-d full ones), 9 words (``IDX_TO_WORD``)."""
    base = tmp_path_factory.mktemp("coco")
    write_coco_dir(base, D_pca=12)
    return base


# --- The Trainer's tests: small random data and a small model ----------------------


def make_caption_data(num_train=40, num_val=12, dim=12, vocab_size=12, T=9, seed=0, **kwargs) -> dict:
    """Small random data (``random_caption_data``) with the sizes most tests use."""
    return random_caption_data(num_train, num_val, input_dim=dim, vocab_size=vocab_size, T=T, seed=seed, **kwargs)


@pytest.fixture
def data():
    return make_caption_data()


#: Trainer options of a test run: no epoch lines, no bar.
QUIET = dict(verbose=False, progress=False)


class Interrupted(Exception):
    """A crash inside train() (raised by :func:`interrupt_after`)."""


def interrupt_after(optimizer, steps):
    """Make ``optimizer.step`` raise ``Interrupted`` after ``steps`` successful calls (a crash mid-run)."""
    original, count = optimizer.step, [0]

    def step():
        if count[0] == steps:
            raise Interrupted
        count[0] += 1
        original()

    optimizer.step = step


def make_setup(data, cell_type="lstm", lr=1e-2, gamma=0.9, hidden=16, wordvec=8, seed=0):
    """A small model, Adam and an exponential schedule, all deterministic."""
    model = CaptioningModel(data["word_to_idx"], input_dim=data["train_features"].shape[1], wordvec_dim=wordvec,
                            hidden_dim=hidden, cell_type=cell_type, rng=np.random.default_rng(seed))
    optimizer = Adam(model.named_parameters(), lr=lr)
    scheduler = ExponentialLR(optimizer, gamma) if gamma is not None else None
    return model, optimizer, scheduler


# --- The course's reference values: weights set as the notebooks set them -----------
def course_linspace(lo, hi, *shape):
    """``np.linspace(lo, hi)`` reshaped to ``shape``, as the course's notebooks build their weights."""
    return np.linspace(lo, hi, num=int(np.prod(shape))).reshape(*shape)


def set_params(module, **arrays):
    """Set parameters of ``module`` by name, in place."""
    for name, value in arrays.items():
        getattr(module, name).data[...] = value
