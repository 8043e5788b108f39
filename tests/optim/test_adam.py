"""Adam: a hand-computed step, the course's bias-corrected formula, PyTorch, state and checks."""

import numpy as np
import pytest

from minitorch_cap.nn import Parameter
from minitorch_cap.optim import Adam
from tests.conftest import require_oracle

from .conftest import LRS, random_run, torch_trajectory, trajectory


def test_first_steps_by_hand():
    # step 1: m = 0.05, v = 0.00025; bias-corrected 0.5 and 0.25; w = 1 - 0.1 * 0.5 / (0.5 + eps)
    w = trajectory(lambda p: Adam(p, lr=0.1), np.array([1.0]), [np.array([0.5]), np.array([0.5])])
    np.testing.assert_allclose(w[0], [1.0 - 0.1 * 0.5 / (0.5 + 1e-8)], rtol=1e-15)
    # a constant gradient keeps the corrected ratio at 1: each step moves by lr
    np.testing.assert_allclose(w[1], [0.8], rtol=1e-7)


def reference(w0, grads, lrs, b1, b2, eps, wd=0.0):
    """Bias-corrected Adam as PyTorch writes it (t counts steps, m and v start at zeros)."""
    w, m, v, out = w0.copy(), np.zeros_like(w0), np.zeros_like(w0), []
    for t, (g, lr) in enumerate(zip(grads, lrs), start=1):
        g = g + wd * w
        m = b1 * m + (1 - b1) * g
        mt = m / (1 - b1 ** t)
        v = b2 * v + (1 - b2) * (g ** 2)
        vt = v / (1 - b2 ** t)
        w = w - lr * mt / (np.sqrt(vt) + eps)
        out.append(w)
    return np.stack(out)


@pytest.mark.parametrize("betas, eps, wd", [((0.9, 0.999), 1e-8, 0.0), ((0.5, 0.9), 1e-3, 0.1)])
def test_matches_the_bias_corrected_formula(betas, eps, wd):
    w0, grads = random_run()
    got = trajectory(lambda p: Adam(p, lr=1.0, betas=betas, eps=eps, weight_decay=wd), w0, grads, LRS)
    np.testing.assert_allclose(got, reference(w0, grads, LRS, *betas, eps, wd), rtol=1e-12)


def test_agrees_with_pytorch():
    torch = require_oracle("torch")
    w0, grads = random_run(5)
    ours = trajectory(lambda p: Adam(p, lr=1.0, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.01), w0, grads, LRS)
    theirs = torch_trajectory(torch, lambda p: torch.optim.Adam(p, lr=1.0, betas=(0.8, 0.99), eps=1e-6,
                                                                 weight_decay=0.01), w0, grads, LRS)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def test_state_is_lazy_per_parameter_and_round_trips():
    a, b = Parameter(np.ones((2, 3), np.float32)), Parameter(np.ones(3, np.float32))
    opt = Adam([("a", a), ("b", b)], lr=0.1)
    assert opt.state == {}
    a.grad[...] = 1.0
    opt.step()
    assert set(opt.state) == {"a", "b"} and opt.state["a"]["step"] == 1
    assert opt.state["a"]["m"].dtype == np.float32 and a.data.dtype == np.float32
    saved = opt.state_dict()
    assert saved["type"] == "Adam" and saved["hyperparams"] == {"lr": 0.1, "betas": [0.9, 0.999], "eps": 1e-8,
                                                                "weight_decay": 0.0, "formula": "pytorch"}
    opt2 = Adam([("a", Parameter(a.data)), ("b", Parameter(b.data))])
    opt2.load_state_dict(saved)
    assert opt2.betas == (0.9, 0.999) and opt2.state["a"]["step"] == 1
    np.testing.assert_array_equal(opt2.state["a"]["v"], opt.state["a"]["v"])


def test_load_state_dict_checks_everything_before_changing_anything():
    a = Parameter(np.ones(3))
    opt = Adam([("a", a)], lr=0.1)
    a.grad[...] = 1.0
    opt.step()
    good = opt.state_dict()
    other = Adam([("a", Parameter(np.ones(3)))], lr=0.5)
    bad_shape = opt.state_dict()
    bad_shape["state"]["a"]["m"] = np.zeros(4)
    with pytest.raises(ValueError, match=r"state 'a'/'m' expected float64\(3,\), got float64\(4,\)"):
        other.load_state_dict(bad_shape)
    unknown = opt.state_dict()
    unknown["state"]["zzz"] = unknown["state"].pop("a")
    with pytest.raises(ValueError, match="unknown parameter 'zzz'"):
        other.load_state_dict(unknown)
    bad_hyper = opt.state_dict()
    bad_hyper["hyperparams"]["betas"] = [0.9, 1.5]
    with pytest.raises(ValueError, match=r"betas\[1\] must be in"):
        other.load_state_dict(bad_hyper)
    assert other.lr == 0.5 and other.state == {}
    other.load_state_dict(good)
    assert other.lr == 0.1


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(betas=(0.9,)), TypeError, "betas must be a pair"),
    (dict(betas=(1.0, 0.999)), ValueError, r"betas\[0\] must be in \[0.0, 1.0\)"),
    (dict(eps=-1e-8), ValueError, "eps must be in"),
    (dict(lr=-1e-3), ValueError, "lr must be in"),
    (dict(formula="tf"), ValueError, r"formula must be one of \('pytorch', 'cs231n'\), got 'tf'"),
])
def test_hyperparameters_are_validated(kwargs, error, message):
    with pytest.raises(error, match=message):
        Adam([Parameter(np.zeros(2))], **kwargs)


def course_reference(w0, grads, lrs, b1, b2, eps):
    """The course's optim.adam, written out: alpha = lr sqrt(1 - b2^t) / (1 - b1^t), eps outside."""
    w, m, v, out = w0.copy(), np.zeros_like(w0), np.zeros_like(w0), []
    for t, (g, lr) in enumerate(zip(grads, lrs), start=1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * (g * g)
        w = w - lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t) * (m / (np.sqrt(v) + eps))
        out.append(w)
    return np.stack(out)


@pytest.mark.parametrize("optimizer", ["Adam", "AdamW"])
def test_the_course_formula_is_an_option(optimizer):
    from minitorch_cap import optim
    w0, grads = random_run(3)
    grads[2] *= 1e-9                                 # gradients near eps: where the formulas part
    cls = getattr(optim, optimizer)
    got = trajectory(lambda p: cls(p, lr=1.0, betas=(0.8, 0.99), eps=1e-8, weight_decay=0.0, formula="cs231n"),
                     w0, grads, LRS)
    np.testing.assert_allclose(got, course_reference(w0, grads, LRS, 0.8, 0.99, 1e-8), rtol=1e-12)
    default = trajectory(lambda p: cls(p, lr=1.0, betas=(0.8, 0.99), eps=1e-8, weight_decay=0.0), w0, grads, LRS)
    assert not np.allclose(default, got, rtol=1e-9, atol=0)
    opt = cls([("w", Parameter(w0))], formula="cs231n")
    restored = cls([("w", Parameter(w0))])
    restored.load_state_dict(opt.state_dict())
    assert restored.formula == "cs231n"
