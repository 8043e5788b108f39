"""Fixtures of the CLI tests: one tiny training run shared by the tests, and a tiny COCO folder."""

from __future__ import annotations

import contextlib
import io
import json

import h5py
import numpy as np
import pytest

from minitorch_cap.cli import main

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


@pytest.fixture(scope="session")
def coco_dir(tmp_path_factory):
    """A COCO-format folder in the course's layout: 6 train and 3 val images, 12-d PCA features."""
    base = tmp_path_factory.mktemp("coco")
    words = ["<NULL>", "<START>", "<END>", "<UNK>", "a", "dog", "cat", "on", "the", "grass", "sofa"]
    rng = np.random.default_rng(0)

    def captions(n_images):
        rows, idxs = [], []
        for i in range(n_images):
            for _ in range(2):
                body = rng.choice(np.arange(4, len(words)), size=rng.integers(2, 6))
                row = np.zeros(8, dtype=np.int32)
                row[0], row[1:1 + len(body)], row[1 + len(body)] = 1, body, 2
                rows.append(row)
                idxs.append(i)
        return np.stack(rows), np.asarray(idxs, dtype=np.int32)

    with h5py.File(base / "coco2014_captions.h5", "w") as f:
        for split, n in (("train", 6), ("val", 3)):
            caps, idxs = captions(n)
            f[f"{split}_captions"], f[f"{split}_image_idxs"] = caps, idxs
    for split, n in (("train", 6), ("val", 3)):
        with h5py.File(base / f"{split}2014_vgg16_fc7_pca.h5", "w") as f:
            f["features"] = rng.standard_normal((n, 12)).astype(np.float32)
        (base / f"{split}2014_urls.txt").write_text(
            "".join(f"http://images.example.org/{split}2014/{i:03d}.jpg\n" for i in range(n)))
    (base / "coco2014_vocab.json").write_text(json.dumps(
        {"idx_to_word": words, "word_to_idx": {w: i for i, w in enumerate(words)}}))
    return base
