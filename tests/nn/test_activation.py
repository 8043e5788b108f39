"""ReLU, GELU (exact erf form) and the fdlibm erf they rely on (minitorch_cap/nn/activation.py)."""

import math

import numpy as np
import pytest

from tests.conftest import require_oracle
from tests.nn import contract
from minitorch_cap.nn import GELU, ReLU
from minitorch_cap.nn.activation import erf, erfc

X = np.random.default_rng(0).standard_normal((3, 4, 5)) * 2


def test_erf_matches_the_c_library_to_a_unit_in_the_last_place():
    rng = np.random.default_rng(1)
    x = np.concatenate([rng.standard_normal(20000) * 3, np.linspace(-7, 7, 7001),
                        [0.0, -0.0, 0.84375, 1.25, 2.857, 6.0, -6.0, 1e-300, 40.0, np.inf, -np.inf]])
    expected = np.array([math.erf(v) for v in x])
    np.testing.assert_allclose(erf(x), expected, rtol=3e-16, atol=2e-16)
    assert np.isnan(erf(np.array([np.nan]))).all()
    assert erf(x.reshape(-1, 1)).shape == (x.size, 1)


def test_erf_in_float32_stays_float32_and_is_accurate_to_float32():
    x = np.linspace(-7, 7, 14001, dtype=np.float32)
    expected = np.array([math.erf(float(v)) for v in x])
    out = erf(x)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, expected, rtol=2.5e-7, atol=1e-7)


@pytest.mark.parametrize("cls", [ReLU, GELU])
def test_gradients(cls):
    x = X.copy()
    x[0, 0, :2] = [1e-2, -1e-2]  # near ReLU's kink: within the stencil, so check_module takes its small step
    contract.assert_gradients(cls(dtype=np.float64), x)


def test_relu_values_and_gradient_at_zero():
    relu = ReLU(dtype=np.float64)
    out = relu.forward(np.array([-1.0, 0.0, 2.0]))
    np.testing.assert_array_equal(out, [0, 0, 2])
    np.testing.assert_array_equal(relu.backward(np.ones(3)), [0, 0, 1])


def test_gelu_is_the_erf_form_not_the_tanh_approximation():
    x = np.linspace(-5, 5, 101)
    expected = np.array([v * 0.5 * math.erfc(-v / math.sqrt(2)) for v in x])   # = v (1 + erf(v / sqrt 2)) / 2
    np.testing.assert_allclose(GELU(dtype=np.float64).forward(x), expected, rtol=1e-14, atol=1e-16)


def test_erfc_matches_the_c_library_without_cancellation():
    rng = np.random.default_rng(4)
    x = np.concatenate([rng.standard_normal(20000) * 6, np.linspace(-30, 30, 60001),
                        [0.0, -0.0, 0.25, -0.25, 0.84375, -0.84375, 1.25, -1.25, 2.857, 6.0, -6.0, 27.0, 28.0,
                         -28.0, 40.0, 1e-300, np.inf, -np.inf]])
    expected = np.array([math.erfc(v) for v in x])
    np.testing.assert_allclose(erfc(x), expected, rtol=1e-15, atol=1e-320)   # relative, far into the tail
    assert erfc(np.array([10.0]))[0] == pytest.approx(2.088487583762545e-45, rel=1e-15)
    assert np.isnan(erfc(np.array([np.nan]))).all()


def test_erfc_in_float32_stays_float32_and_keeps_its_relative_precision():
    x = np.linspace(-9, 9.1, 18101, dtype=np.float32)      # erfc(9.1) ~ 1.3e-37: still a normal float32
    expected = np.array([math.erfc(float(v)) for v in x])
    out = erfc(x)
    assert out.dtype == np.float32
    rel = np.abs(out - expected) / expected
    assert (rel <= 2 * 2.0 ** -24 * (1 + x.astype(np.float64) ** 2)).all(), rel.max()   # exp(-x^2) in float32


@pytest.mark.parametrize("dtype, tol", [(np.float32, 8e-8), (np.float64, 3e-16)])
def test_gelu_keeps_its_relative_precision_in_the_negative_tail(dtype, tol):
    """Issue 24: (1 + erf) cancelled below x = -5 (float32: 57% off at -5.5, exactly 0 from -6)."""
    x = np.array([-3.0, -5.5, -6.0, -8.0, -10.0, -12.0, -13.0], dtype=dtype)
    gelu = GELU(dtype=dtype)
    out, dx = gelu.forward(x), gelu.backward(np.ones_like(x))
    v = x.astype(np.float64)
    expected = np.array([0.5 * u * math.erfc(-u / math.sqrt(2)) for u in v])
    dexpected = np.array([0.5 * math.erfc(-u / math.sqrt(2)) + u * math.exp(-u * u / 2) / math.sqrt(2 * math.pi)
                          for u in v])
    assert out.dtype == dtype and (out < 0).all()
    bound = tol * (1 + v ** 2)            # the rounding of x / sqrt(2), amplified by d log erfc / dz = -2z
    assert (np.abs(out / expected - 1) <= bound).all(), np.abs(out / expected - 1)
    assert (np.abs(dx / dexpected - 1) <= bound).all(), np.abs(dx / dexpected - 1)


def test_gelu_matches_torch():
    torch = require_oracle("torch")
    x = np.random.default_rng(2).standard_normal(1000) * 4
    dout = np.random.default_rng(3).standard_normal(1000)
    gelu = GELU(dtype=np.float64)
    out = gelu.forward(x)
    dx = gelu.backward(dout)
    tx = torch.tensor(x, requires_grad=True)
    tout = torch.nn.GELU()(tx)
    tout.backward(torch.tensor(dout))
    np.testing.assert_allclose(out, tout.detach().numpy(), rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("cls", [ReLU, GELU])
def test_bad_input(cls):
    name = cls.__name__
    with pytest.raises(TypeError, match=f"{name}.forward: expected x to be a real-valued array"):
        cls().forward(np.array(["a"]))
    layer = cls()
    layer.forward(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=rf"{name}.backward: expected dout of shape \(d0=2, d1=3\)"):
        layer.backward(np.zeros((3, 2)))
    with pytest.raises(RuntimeError, match=f"{name}.backward: no forward"):
        cls().backward(np.zeros(2))


def test_repr():
    assert repr(ReLU()) == "ReLU(dtype=float32)"
    assert repr(GELU(dtype=np.float64)) == "GELU(dtype=float64)"
