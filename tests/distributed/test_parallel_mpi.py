"""Data-parallel training on 2 MPI ranks: the same run as one process, resumable with any K, no hangs.

Each test starts ``mpiexec -n 2 python tests/distributed/mpi_case.py ...`` (or the command
line) as a subprocess with a generous timeout; the one-process reference runs in this process.
Skipped without mpi4py (and mpiexec) unless MINITORCH_CAP_REQUIRE_ORACLES=1 (CI installs them).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from minitorch_cap.training import Trainer, load_checkpoint

from .mpi_case import problem, result, transformer_problem

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
TIMEOUT = 120       # seconds: far above the few seconds a case takes; a hang fails instead of blocking CI
RANKS = 2


def mpiexec() -> str:
    """The ``mpiexec`` of the MPI library mpi4py uses (pip's mpich puts it next to python)."""
    from tests.conftest import require_oracle

    require_oracle("mpi4py")
    found = shutil.which("mpiexec") or str(Path(sys.executable).parent / "mpiexec")
    if not os.path.exists(found):
        if os.environ.get("MINITORCH_CAP_REQUIRE_ORACLES"):
            raise FileNotFoundError("mpiexec not found (pip install mpich)")
        pytest.skip("mpiexec not found (pip install mpich)")
    return found


def env(**extra: str) -> dict:
    return dict(os.environ, **extra, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
                OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")


def run_ranks(*args: str, ranks: int = RANKS, timeout: float = TIMEOUT,
              **extra_env: str) -> tuple[subprocess.CompletedProcess, float]:
    start = time.monotonic()
    done = subprocess.run([mpiexec(), "-n", str(ranks), sys.executable, *args], capture_output=True, text=True,
                          timeout=timeout, env=env(**extra_env), cwd=ROOT)
    return done, time.monotonic() - start


def rel_diff(a, b) -> float:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    assert a.shape == b.shape
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(a), 1e-30)))


@pytest.mark.parametrize("dtype, tol", [("float64", 1e-12), ("float32", 1e-6)])
def test_two_ranks_reproduce_one_process_and_resume_on_one(tmp_path, dtype, tol):
    done, _ = run_ranks(str(HERE / "mpi_case.py"), "train", dtype, str(tmp_path))
    assert done.returncode == 0, done.stderr[-3000:]
    two = json.loads((tmp_path / "result.json").read_text())

    one = problem(np.dtype(dtype).type)
    one.train()
    alone = result(one)
    assert len(two["loss_history"]) == len(alone["loss_history"]) == 40
    assert rel_diff(two["loss_history"], alone["loss_history"]) < tol
    assert rel_diff(two["val_loss_history"], alone["val_loss_history"]) < tol
    for got, want in zip(two["epochs"], alone["epochs"]):       # metrics split (accuracy) or broadcast
        assert got["val_accuracy"] == want["val_accuracy"] and got["first"] == pytest.approx(want["first"])
    assert rel_diff(list(two["weights"].values()), list(alone["weights"].values())) < 100 * tol

    # the 2-rank checkpoint of epoch 1 resumes on one process and ends as the uninterrupted run
    history = json.loads((tmp_path / "history.json").read_text())     # written by rank 0: the run's
    assert history["loss_history"] == two["loss_history"]
    resumed = Trainer.resume(tmp_path / "epoch1.h5", data=one.data, metrics=one.config.metrics, out_dir=None)
    assert resumed.epoch == 1 and resumed.iteration == 20
    resumed.train()
    assert rel_diff(resumed.loss_history, alone["loss_history"]) < tol
    assert rel_diff(resumed.loss_history, two["loss_history"]) < tol


def test_one_process_checkpoint_resumes_on_two_ranks(tmp_path):
    one = problem(np.float64, out_dir=str(tmp_path / "one"), num_epochs=1)
    one.train()
    done, _ = run_ranks(str(HERE / "mpi_case.py"), "resume", "float64", str(tmp_path / "two"),
                        str(tmp_path / "one" / "checkpoint.h5"))
    assert done.returncode == 0, done.stderr[-3000:]
    resumed = json.loads((tmp_path / "two" / "result.json").read_text())
    reference = problem(np.float64)
    reference.train()
    assert len(resumed["loss_history"]) == 40
    assert rel_diff(resumed["loss_history"], reference.loss_history) < 1e-12
    assert rel_diff(resumed["val_loss_history"], reference.val_loss_history) < 1e-12


@pytest.mark.parametrize("fault", ["raise", "kill", "stuck", "drift", "early"])
def test_a_failing_rank_ends_the_run_without_hanging(tmp_path, fault):
    # rank 1 fails in its 25th minibatch, after the epoch-1 checkpoint (20 iterations per epoch);
    # a stuck rank is given up on after MINITORCH_CAP_MPI_TIMEOUT seconds
    timeout = {"MINITORCH_CAP_MPI_TIMEOUT": "4"} if fault == "stuck" else {}
    done, seconds = run_ranks(str(HERE / "mpi_case.py"), fault, "float64", str(tmp_path), "25", **timeout)
    assert done.returncode != 0
    assert seconds < 60, f"the run took {seconds:.0f} s to end"
    if fault == "early":   # rank 0 stops as soon as it needs rank 1, at the start of training
        assert ("rank 1 of 2 failed (uncaught) with RuntimeError: injected fault in rank 1 before training"
                in done.stderr)
        assert not (tmp_path / "checkpoint.h5").exists()
        return
    if fault == "raise":   # rank 0 names the rank and its error
        assert "rank 1 of 2 failed with RuntimeError: injected fault in rank 1" in done.stderr
        assert "the last checkpoint" in done.stderr
    if fault == "stuck":
        assert "rank 0 of 2 waited 4 s in the gradient all-reduce" in done.stderr
    if fault == "drift":   # found at the end of epoch 2, on every rank
        assert ("WeightsDrifted: DataParallel: the weights of ranks [1] differ from rank 0's after epoch 2"
                in done.stderr)
    assert not (tmp_path / "result.json").exists()
    saved = load_checkpoint(tmp_path / "checkpoint.h5")
    assert saved["trainer"]["epoch"] == 1
    resumed = Trainer.resume(tmp_path / "checkpoint.h5", data=problem(np.float64).data, out_dir=None)
    resumed.train()
    reference = problem(np.float64)
    reference.train()
    assert rel_diff(resumed.loss_history, reference.loss_history) < 1e-12


def test_command_line_under_mpiexec_and_ctrl_c(tmp_path):
    """`mpiexec -n 2 minitorch-cap train` trains data-parallel, rank 0 alone prints, and Ctrl-C on
    mpiexec ends every rank as on one process: exit 130, the last checkpoint loadable."""
    out = tmp_path / "run"
    args = [mpiexec(), "-n", str(RANKS), sys.executable, "-m", "minitorch_cap.cli", "train", "--max-train", "200",
            "--max-val", "20", "--hidden-dim", "16", "--wordvec-dim", "16", "--epochs", "1000", "--no-progress",
            "--out", str(out)]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env(), cwd=ROOT)
    try:
        deadline = time.monotonic() + TIMEOUT
        while not (out / "history.json").exists() and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert proc.poll() is None, proc.communicate()[1][-3000:]
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, stderr[-3000:]
    assert stdout.count("training from scratch") == 1                  # rank 0 alone prints
    assert "data-parallel: each minibatch is split over 2 MPI ranks" in stdout
    assert stderr.count("minitorch-cap train: interrupted") == 1
    assert "continue with `minitorch-cap train --resume" in stderr
    assert load_checkpoint(out / "checkpoint.h5")["trainer"]["epoch"] >= 1


# --------------------------------------------------------------------- randomness is run state (issue 22)
@pytest.mark.parametrize("ranks, sampling", [(2, "replacement"), (3, "replacement"), (3, "shuffle")])
def test_k_ranks_with_dropout_reproduce_one_process(tmp_path, ranks, sampling):
    """The masks are drawn for the global minibatch and each rank keeps its rows: K ranks are the
    one-process run with dropout 0.3 (shuffle: the last minibatch of each epoch holds 1 caption, so
    2 of the 3 ranks compute with share 0)."""
    done, _ = run_ranks(str(HERE / "mpi_case.py"), "dropout", "float64", str(tmp_path), sampling, ranks=ranks)
    assert done.returncode == 0, done.stderr[-3000:]
    got = json.loads((tmp_path / "result.json").read_text())
    one = transformer_problem(np.float64, sampling=sampling)
    one.train()
    alone = result(one)
    assert len(got["loss_history"]) == len(alone["loss_history"]) == (40 if sampling == "replacement" else 20)
    assert rel_diff(got["loss_history"], alone["loss_history"]) < 1e-12
    # sums of |weights|; the key biases get no gradient (softmax ignores a shift), so theirs are ~1e-12 of rounding
    np.testing.assert_allclose(list(got["weights"].values()), list(alone["weights"].values()), rtol=1e-10, atol=1e-10)
    # the control: other masks (another seed) part the runs at the first step
    assert abs(alone["loss_history"][0] - transformer_problem(np.float64, sampling=sampling, seed=6).train()[
        "loss_history"][0]) > 1e-6
    # the K-rank checkpoint of epoch 1 resumes on one process with the masks of the uninterrupted run
    resumed = Trainer.resume(tmp_path / "epoch1.h5", data=one.data, out_dir=None)
    resumed.train()
    assert rel_diff(resumed.loss_history, alone["loss_history"]) < 1e-12


@pytest.mark.parametrize("what, expected", [
    ("data", "rank 1 differs from rank 0 in data.num_train: rank 0 has 1000, rank 1 has 998; "
             "data.train_captions_sha256: rank 0 has "),
    ("lr", "rank 1 differs from rank 0 in optimizer.hyperparams.lr: rank 0 has 0.02, rank 1 has 0.03. To fix: "
           "build the same optimizer"),
])
def test_ranks_that_disagree_all_stop_before_the_first_step_naming_what_differs(tmp_path, what, expected):
    done, _ = run_ranks(str(HERE / "mpi_case.py"), "disagree", "float64", str(tmp_path), what)
    assert done.returncode == 0, done.stderr[-3000:]
    outcomes = [(tmp_path / f"rank{k}.txt").read_text() for k in range(RANKS)]
    assert outcomes[0] == outcomes[1]                            # one error, the same on every rank
    assert outcomes[0].startswith("RanksDisagree: DataParallel: the 2 ranks of this run do not hold the same ")
    assert expected in outcomes[0]
    assert "WeightsDrifted" not in outcomes[0]
    assert not (tmp_path / "run").exists()                       # before any step, before the run folder


def test_command_line_ranks_given_different_settings_stop_with_one_message(tmp_path):
    """`mpiexec -n 1 minitorch-cap train --lr A : -n 1 minitorch-cap train --lr B` (MPMD: each rank its
    own arguments): exit 2 with one error line naming the setting and both values, no traceback."""
    common = ["--max-train", "40", "--max-val", "6", "--hidden-dim", "8", "--wordvec-dim", "8", "--epochs", "1",
              "--no-progress", "--out", str(tmp_path / "run")]
    cli = [sys.executable, "-m", "minitorch_cap.cli", "train", *common]
    done = subprocess.run([mpiexec(), "-n", "1", *cli, "--lr", "0.01", ":", "-n", "1", *cli, "--lr", "0.02",
                           "--max-train", "38"], capture_output=True, text=True, timeout=TIMEOUT, env=env(), cwd=ROOT)
    assert done.returncode == 2, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    assert done.stderr.count("minitorch-cap train: error: DataParallel: the 2 ranks of this run do not hold the same ") == 1
    assert "optimizer.hyperparams.lr: rank 0 has 0.01, rank 1 has 0.02" in done.stderr
    assert "data.num_train: rank 0 has 200, rank 1 has 190" in done.stderr
    assert not (tmp_path / "run" / "checkpoint.h5").exists()
