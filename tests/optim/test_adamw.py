"""AdamW: decoupled weight decay, by hand, against the formula and PyTorch."""

import numpy as np
import pytest

from minitorch_cap.nn import Parameter
from minitorch_cap.optim import Adam, AdamW
from tests.conftest import require_oracle

from .conftest import LRS, random_run, torch_trajectory, trajectory


def test_decay_is_decoupled_from_the_moments_by_hand():
    # w shrinks by lr * wd first, then Adam's first step moves it by lr (g / |g| = 1)
    w = trajectory(lambda p: AdamW(p, lr=0.1, weight_decay=0.5), np.array([2.0]), [np.array([3.0])])
    np.testing.assert_allclose(w[0], [2.0 * (1 - 0.05) - 0.1 * 3.0 / (3.0 + 1e-8)], rtol=1e-15)


def test_without_decay_it_is_adam():
    w0, grads = random_run()
    np.testing.assert_array_equal(trajectory(lambda p: AdamW(p, lr=0.1, weight_decay=0.0), w0, grads),
                                  trajectory(lambda p: Adam(p, lr=0.1), w0, grads))


def test_matches_the_formula():
    w0, grads = random_run(6)
    w, m, v, out = w0.copy(), np.zeros_like(w0), np.zeros_like(w0), []
    b1, b2, eps, wd = 0.9, 0.999, 1e-8, 0.05
    for t, (g, lr) in enumerate(zip(grads, LRS), start=1):
        w = w * (1 - lr * wd)
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g ** 2
        w = w - lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)
        out.append(w)
    got = trajectory(lambda p: AdamW(p, lr=1.0, weight_decay=wd), w0, grads, LRS)
    np.testing.assert_allclose(got, np.stack(out), rtol=1e-12)


def test_agrees_with_pytorch():
    torch = require_oracle("torch")
    w0, grads = random_run(7)
    ours = trajectory(lambda p: AdamW(p, lr=1.0, weight_decay=0.1), w0, grads, LRS)
    theirs = torch_trajectory(torch, lambda p: torch.optim.AdamW(p, lr=1.0, weight_decay=0.1), w0, grads, LRS)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def test_state_dict_names_the_class():
    opt = AdamW([("w", Parameter(np.zeros(2)))])
    assert opt.state_dict()["type"] == "AdamW" and opt.weight_decay == 1e-2
    with pytest.raises(ValueError, match="belongs to a AdamW optimizer, not Adam"):
        Adam([("w", Parameter(np.zeros(2)))]).load_state_dict(opt.state_dict())
