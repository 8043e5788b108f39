"""The benchmark's baselines compute the same step as the library (else its ratios mean nothing)."""

import os
import sys

import numpy as np
import pytest

from minitorch_cap.captioners.recurrent import CaptioningModel

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "benchmarks"))
from bench_step import step_products  # noqa: E402
from reference_step import reference_loss  # noqa: E402

V = 12
W2I = {"<NULL>": 0, "<START>": 1, "<END>": 2, "<UNK>": 3, **{f"w{i}": i for i in range(4, V)}}


def problem(cell, dtype, seed=0):
    rng = np.random.default_rng(seed)
    model = CaptioningModel(W2I, input_dim=6, wordvec_dim=5, hidden_dim=7, cell_type=cell, dtype=dtype, rng=rng)
    features = rng.standard_normal((4, 6)).astype(dtype)
    captions = rng.integers(3, V, size=(4, 8))
    captions[:, 0] = W2I["<START>"]
    captions[0, 4:] = 0
    captions[1, 6] = W2I["<END>"]
    captions[1, 7:] = 0
    return model, features, captions


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_reference_step_equals_model_loss_in_float64(cell):
    model, features, captions = problem(cell, np.float64)
    loss, grads = model.loss(features, captions)
    ref_loss, ref_grads = reference_loss(model.state_dict(), features, captions, cell)
    assert ref_loss == pytest.approx(loss, rel=1e-12)
    assert set(ref_grads) == set(grads)
    for name, grad in grads.items():
        np.testing.assert_allclose(ref_grads[name], grad, rtol=1e-9, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_float32_step_within_1e_5_normwise_of_float64(cell):
    model, features, captions = problem(cell, np.float32)
    loss, grads = model.loss(features, captions)
    params64 = {k: v.astype(np.float64) for k, v in model.state_dict().items()}
    ref_loss, ref_grads = reference_loss(params64, features.astype(np.float64), captions, cell)
    assert abs(loss - ref_loss) <= 1e-5 * abs(ref_loss)
    for name, grad in grads.items():
        assert grad.dtype == np.float32, name
        assert np.linalg.norm(grad - ref_grads[name]) <= 1e-5 * np.linalg.norm(ref_grads[name]), name


def test_step_products_follow_the_packed_step():
    """The floor counts the vocabulary on the M unmasked rows, the input projections and weight
    gradients on the P pairs that run, and one product per step on the k_t rows still running."""
    lengths = np.array([3, 5, 0, 1])                  # P = 9 pairs; k_t = 3, 2, 2, 1, 1
    products = step_products("lstm", lengths, M=8)
    assert [p for p in products if p[2] == 1004 and not p[3]] == [(8, 512, 1004, False, False, 1, None)]
    assert (9, 256, 2048, False, False, 1, None) in products                   # X Wx over the pairs
    assert [p[0] for p in products if p[6] == "_hidden_product"] == [3, 2, 2, 1, 1]   # h_{t-1} Wh
    assert [p[:5] for p in products if p[6] == "_hidden_product"][0] == (3, 512, 2048, False, False)
    assert [p[0] for p in products if p[6] == "_hidden_grad"] == [3, 2, 2, 1, 1]      # da Wh^T
    assert [p[:5] for p in products if p[6] == "_hidden_grad"][0] == (3, 2048, 512, False, True)
    assert len(products) == 10 + 2 * 5


@pytest.mark.parametrize("cell, impl", [("lstm", "floor"), ("transformer", "floor")])
def test_every_benchmark_worker_builds_and_runs_its_step(cell, impl):
    """Each column's worker builds its step from the benchmark's problem and runs it (a worker
    that fails to build only shows when the whole table is measured, 25 minutes in)."""
    import bench_step

    step = bench_step.worker_step(impl, cell, 25 if cell != "transformer" else 128, 1, 1, "cpu")
    assert len(step["times"]) == 1 and step["times"][0] > 0


def test_the_version_benchmark_builds_bench_steps_problem():
    """bench_versions.py times, in each checkout, the problem bench_step.py times (same loss)."""
    import bench_step
    import bench_versions

    model, features, captions = bench_step.make_problem("lstm", 25)
    step, loss = bench_versions.build("lstm-25")
    assert loss == float(model.loss(features, captions)[0])
    assert step()[0] == loss


@pytest.mark.parametrize("script", sorted(p.stem for p in __import__("pathlib").Path(__file__).parents[2].joinpath(
    "benchmarks").glob("*.py")))
def test_every_benchmark_script_imports(script):
    """A script whose imports broke (a renamed helper of another script) fails here, not 10 minutes
    into a measurement."""
    import importlib

    assert importlib.import_module(script).__doc__


def test_the_machine_line_names_the_cpu_and_the_blas():
    import bench_step

    line = bench_step.machine_line(bench_step.worker_info())
    assert line.startswith("CPU: ") and "numpy" in line and "OPENBLAS_CORETYPE=" in line
