"""Gradient clipping by global norm and by value."""

import math

import numpy as np
import pytest

from minitorch_cap.nn import Parameter
from minitorch_cap.optim import clip_grad_norm_, clip_grad_value_, grad_norm
from tests.conftest import require_oracle


def params_with(*grads, dtype=np.float64):
    out = []
    for g in grads:
        p = Parameter(np.zeros(np.shape(g), dtype=dtype))
        p.grad[...] = g
        out.append(p)
    return out


def test_norm_by_hand_and_clipping_scales_every_gradient_together():
    ps = params_with([3.0, 0.0], [[4.0]])
    assert grad_norm(ps) == 5.0
    assert clip_grad_norm_(ps, 1.0) == 5.0                       # the norm before clipping
    np.testing.assert_allclose(ps[0].grad, [3.0 / (5.0 + 1e-6), 0.0], rtol=1e-15)
    np.testing.assert_allclose(ps[1].grad, [[4.0 / (5.0 + 1e-6)]], rtol=1e-15)
    assert grad_norm(ps) == pytest.approx(1.0, rel=1e-6)


def test_small_gradients_are_left_alone():
    ps = params_with([0.3, 0.4])
    assert clip_grad_norm_(ps, 1.0) == pytest.approx(0.5)
    np.testing.assert_array_equal(ps[0].grad, [0.3, 0.4])


def test_works_with_named_parameters_and_keeps_float32():
    ps = params_with(np.full(4, 10.0), dtype=np.float32)
    norm = clip_grad_norm_([("a", ps[0])], 2.0)
    assert norm == pytest.approx(20.0) and ps[0].grad.dtype == np.float32
    assert grad_norm(ps) == pytest.approx(2.0, rel=1e-5)


def test_non_finite_norm_is_reported_and_gradients_untouched():
    ps = params_with([np.inf, 1.0])
    assert math.isinf(clip_grad_norm_(ps, 1.0))
    assert ps[0].grad[1] == 1.0


def test_clip_by_value():
    ps = params_with([-3.0, 0.5, 2.0])
    clip_grad_value_(ps, 1.0)
    np.testing.assert_array_equal(ps[0].grad, [-1.0, 0.5, 1.0])


def test_agrees_with_pytorch():
    torch = require_oracle("torch")
    rng = np.random.default_rng(0)
    grads = [rng.standard_normal((3, 4)), rng.standard_normal(5)]
    ours = params_with(*grads)
    theirs = [torch.nn.Parameter(torch.zeros(g.shape, dtype=torch.float64)) for g in grads]
    for t, g in zip(theirs, grads):
        t.grad = torch.tensor(g)
    assert clip_grad_norm_(ours, 0.7) == pytest.approx(float(torch.nn.utils.clip_grad_norm_(theirs, 0.7)), rel=1e-12)
    for p, t in zip(ours, theirs):
        np.testing.assert_allclose(p.grad, t.grad.numpy(), rtol=1e-12)


def test_bad_arguments():
    ps = params_with([1.0])
    with pytest.raises(ValueError, match="max_norm must be in"):
        clip_grad_norm_(ps, 0.0)
    with pytest.raises(ValueError, match="clip_value must be in"):
        clip_grad_value_(ps, -1.0)
    with pytest.raises(TypeError, match="single Parameter"):
        clip_grad_norm_(ps[0], 1.0)
