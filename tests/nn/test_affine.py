import numpy as np
import pytest

from minitorch_cap.nn import Affine, TemporalAffine


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.mark.parametrize("cls, shape", [(Affine, (4, 5)), (TemporalAffine, (3, 4, 5))])
def test_forward_is_x_W_plus_b_and_accumulates(cls, shape, rng):
    layer = cls(5, 6, dtype=np.float64, rng=rng)
    layer.b.data[...] = rng.standard_normal(6)
    x = rng.standard_normal(shape)
    out = layer.forward(x)
    np.testing.assert_allclose(out, x @ layer.W.data + layer.b.data, rtol=1e-13)
    dout = rng.standard_normal(out.shape)
    dx = layer.backward(dout)
    np.testing.assert_allclose(dx, dout @ layer.W.data.T, rtol=1e-13)
    first = layer.W.grad.copy()
    layer.backward(dout)
    np.testing.assert_allclose(layer.W.grad, 2 * first, rtol=1e-14)


def test_init_follows_the_course():
    np.random.seed(231)
    layer = Affine(8, 3, dtype=np.float64)
    np.random.seed(231)
    np.testing.assert_array_equal(layer.W.data, np.random.randn(8, 3) / np.sqrt(8))
    assert not layer.b.data.any()


def test_bad_input():
    with pytest.raises(ValueError, match=r"Affine.forward: expected x of shape \(N, D=5\), got shape \(2, 4\)"):
        Affine(5, 3).forward(np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"TemporalAffine.forward: expected x of shape \(N, T, D=5\)"):
        TemporalAffine(5, 3).forward(np.zeros((2, 5)))
    with pytest.raises(TypeError, match="real-valued"):
        Affine(2, 3).forward(np.array([["a", "b"]]))
    layer = TemporalAffine(5, 3)
    layer.forward(np.zeros((2, 4, 5)))
    with pytest.raises(ValueError, match=r"TemporalAffine.backward: expected dout of shape \(N=2, T=4, M=3\)"):
        layer.backward(np.zeros((2, 3, 3)))


def test_repr():
    assert repr(TemporalAffine(4, 7)) == "TemporalAffine(in_dim=4, out_dim=7, dtype=float32)"
