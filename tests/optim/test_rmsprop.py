"""RMSProp: a hand-computed step, the course's formula, PyTorch, state and checks."""

import numpy as np
import pytest

from minitorch_cap.nn import Parameter
from minitorch_cap.optim import RMSProp
from tests.conftest import require_oracle

from .conftest import LRS, random_run, torch_trajectory, trajectory


def test_first_step_by_hand():
    # cache = 0.01 * 4 = 0.04, sqrt = 0.2: w = 1 - 0.1 * 2 / 0.2 = 0
    w = trajectory(lambda p: RMSProp(p, lr=0.1, decay=0.99, eps=0.0 + 1e-300), np.array([1.0]), [np.array([2.0])])
    np.testing.assert_allclose(w[0], [0.0], atol=1e-14)


def reference(w0, grads, lrs, decay, eps, wd=0.0):
    """CS231n's rmsprop."""
    w, cache, out = w0.copy(), np.zeros_like(w0), []
    for g, lr in zip(grads, lrs):
        g = g + wd * w
        cache = decay * cache + (1 - decay) * g ** 2
        w = w - lr * g / (np.sqrt(cache) + eps)
        out.append(w)
    return np.stack(out)


@pytest.mark.parametrize("decay, eps, wd", [(0.99, 1e-8, 0.0), (0.9, 1e-4, 0.05)])
def test_matches_the_course_formula(decay, eps, wd):
    w0, grads = random_run()
    got = trajectory(lambda p: RMSProp(p, lr=1.0, decay=decay, eps=eps, weight_decay=wd), w0, grads, LRS)
    np.testing.assert_allclose(got, reference(w0, grads, LRS, decay, eps, wd), rtol=1e-13)


def test_agrees_with_pytorch():
    torch = require_oracle("torch")
    w0, grads = random_run(4)
    ours = trajectory(lambda p: RMSProp(p, lr=1.0, decay=0.95, eps=1e-6, weight_decay=0.01), w0, grads, LRS)
    theirs = torch_trajectory(torch, lambda p: torch.optim.RMSprop(p, lr=1.0, alpha=0.95, eps=1e-6, weight_decay=0.01),
                              w0, grads, LRS)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)


def test_float32_stays_float32_and_state_round_trips():
    w0, grads = random_run(dtype=np.float32)
    assert trajectory(lambda p: RMSProp(p, lr=0.1), w0, grads).dtype == np.float32
    p = Parameter(w0)
    opt = RMSProp([("w", p)], lr=0.1, decay=0.9)
    p.grad[...] = grads[0]
    opt.step()
    state = opt.state_dict()
    assert state["state"]["w"]["cache"].dtype == np.float32
    opt2 = RMSProp([("w", Parameter(w0))], lr=1.0)
    opt2.load_state_dict(state)
    assert opt2.decay == 0.9 and opt2.lr == 0.1
    np.testing.assert_array_equal(opt2.state["w"]["cache"], opt.state["w"]["cache"])


@pytest.mark.parametrize("kwargs, message", [
    (dict(decay=1.0), r"decay must be in \[0.0, 1.0\)"),
    (dict(eps=0.0), r"eps must be in \(0.0, inf\)"),
    (dict(weight_decay=-1.0), "weight_decay must be"),
])
def test_hyperparameters_are_validated(kwargs, message):
    with pytest.raises(ValueError, match=message):
        RMSProp([Parameter(np.zeros(2))], lr=0.1, **kwargs)
