"""SGD: hand-computed steps, the reference formulas, momentum and Nesterov, weight decay, state, checks."""

import numpy as np
import pytest

from minitorch_cap.optim import SGD
from tests.conftest import require_oracle

from .conftest import LRS, random_run, torch_trajectory, trajectory


def test_plain_step_by_hand():
    w = trajectory(lambda p: SGD(p, lr=0.1), np.array([1.0, -2.0]), [np.array([0.5, -1.0])])
    np.testing.assert_allclose(w[0], [0.95, -1.9], rtol=1e-15)


def test_momentum_steps_by_hand():
    grads = [np.array([1.0]), np.array([1.0])]
    w = trajectory(lambda p: SGD(p, lr=0.1, momentum=0.9), np.array([1.0]), grads)
    np.testing.assert_allclose(w[:, 0], [0.9, 0.71], rtol=1e-14)       # v = 1, then 1.9
    w = trajectory(lambda p: SGD(p, lr=0.1, momentum=0.9, nesterov=True), np.array([1.0]), grads)
    np.testing.assert_allclose(w[:, 0], [0.81, 0.539], rtol=1e-14)     # steps 1.9, then 1 + 0.9 * 1.9


def test_weight_decay_by_hand():
    w = trajectory(lambda p: SGD(p, lr=0.1, weight_decay=0.5), np.array([2.0]), [np.array([1.0])])
    np.testing.assert_allclose(w[0], [2.0 - 0.1 * (1.0 + 0.5 * 2.0)], rtol=1e-15)


def reference(w0, grads, lrs, mu, nesterov=False, wd=0.0):
    w, v, out = w0.copy(), np.zeros_like(w0), []
    for g, lr in zip(grads, lrs):
        g = g + wd * w
        v = mu * v + g
        w = w - lr * (g + mu * v if nesterov else v)
        out.append(w)
    return np.stack(out)


@pytest.mark.parametrize("mu, nesterov, wd", [(0.0, False, 0.0), (0.9, False, 0.0), (0.9, True, 1e-2), (0.5, False, 0.1)])
def test_matches_the_reference_formula(mu, nesterov, wd):
    w0, grads = random_run()
    got = trajectory(lambda p: SGD(p, lr=1.0, momentum=mu, nesterov=nesterov, weight_decay=wd), w0, grads, LRS)
    np.testing.assert_allclose(got, reference(w0, grads, LRS, mu, nesterov, wd), rtol=1e-13, atol=1e-15)


def test_constant_rate_equals_the_course_momentum_update():
    """CS231n's sgd_momentum: v = mu * v - lr * dw; w += v."""
    w0, grads = random_run(1)
    w, v = w0.copy(), np.zeros_like(w0)
    for g in grads:
        v = 0.9 * v - 0.01 * g
        w = w + v
    got = trajectory(lambda p: SGD(p, lr=0.01, momentum=0.9), w0, grads)
    np.testing.assert_allclose(got[-1], w, rtol=1e-12)


@pytest.mark.parametrize("mu, nesterov, wd", [(0.0, False, 0.0), (0.9, True, 1e-2), (0.8, False, 0.1)])
def test_agrees_with_pytorch(mu, nesterov, wd):
    torch = require_oracle("torch")
    w0, grads = random_run(2)
    ours = trajectory(lambda p: SGD(p, lr=1.0, momentum=mu, nesterov=nesterov, weight_decay=wd), w0, grads, LRS)
    theirs = torch_trajectory(torch, lambda p: torch.optim.SGD(p, lr=1.0, momentum=mu, nesterov=nesterov,
                                                                weight_decay=wd), w0, grads, LRS)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-14)


def test_float32_stays_float32():
    w0, grads = random_run(dtype=np.float32)
    assert trajectory(lambda p: SGD(p, lr=0.1, momentum=0.9), w0, grads).dtype == np.float32


def test_state_dict_round_trip_continues_identically():
    w0, grads = random_run(3)
    full = trajectory(lambda p: SGD(p, lr=0.1, momentum=0.9), w0, grads)
    from minitorch_cap.nn import Parameter
    p = Parameter(w0)
    opt = SGD([("w", p)], lr=0.1, momentum=0.9)
    for g in grads[:3]:
        p.grad[...] = g
        opt.step()
    state = opt.state_dict()
    q = Parameter(p.data)
    opt2 = SGD([("w", q)], lr=0.5)
    opt2.load_state_dict(state)
    assert opt2.momentum == 0.9 and opt2.lr == 0.1
    state["state"]["w"]["velocity"][...] = 99     # the loaded state is a copy
    for g in grads[3:]:
        q.grad[...] = g
        opt2.step()
    np.testing.assert_array_equal(q.data, full[-1])


@pytest.mark.parametrize("kwargs, message", [
    (dict(lr=-1.0), r"lr must be in \[0.0, inf\)"),
    (dict(lr=float("nan")), "lr must be"),
    (dict(lr=0.1, momentum=1.0), r"momentum must be in \[0.0, 1.0\)"),
    (dict(lr=0.1, nesterov=True), "nesterov=True needs momentum > 0"),
    (dict(lr=0.1, weight_decay=-0.1), "weight_decay must be"),
])
def test_hyperparameters_are_validated(kwargs, message):
    from minitorch_cap.nn import Parameter
    with pytest.raises(ValueError, match=message):
        SGD([Parameter(np.zeros(2))], **kwargs)
    with pytest.raises(TypeError, match="lr must be a real number"):
        SGD([Parameter(np.zeros(2))], lr="0.1")
