"""LayerNorm over the last axis, as PyTorch's (minitorch_cap/nn/layernorm.py)."""

import numpy as np
import pytest

from tests.conftest import require_oracle
from tests.nn import contract
from minitorch_cap.nn import LayerNorm

E = 6
X = np.random.default_rng(0).standard_normal((2, 3, E)) * 3 + 1


def make(dtype, seed=0):
    rng = np.random.default_rng(seed)
    norm = LayerNorm(E, dtype=dtype)
    norm.gamma.data[...] = 1 + 0.5 * rng.standard_normal(E)
    norm.beta.data[...] = rng.standard_normal(E)
    return norm


def test_init_and_normalisation():
    norm = LayerNorm(E, dtype=np.float64)
    np.testing.assert_array_equal(norm.gamma.data, np.ones(E))
    np.testing.assert_array_equal(norm.beta.data, np.zeros(E))
    out = norm.forward(X)
    np.testing.assert_allclose(out.mean(axis=-1), 0, atol=1e-14)
    np.testing.assert_allclose(out.var(axis=-1), X.var(axis=-1) / (X.var(axis=-1) + 1e-5), rtol=1e-12)  # biased


@pytest.mark.parametrize("shape", [(4, E), (2, 3, E)])
def test_gradients(shape):
    contract.assert_gradients(make(np.float64), X.reshape(-1, E)[: int(np.prod(shape[:-1]))].reshape(shape))


def test_contract():
    contract.assert_two_backwards_double_parameter_grads(make(np.float64), X)
    contract.assert_state_dict_round_trip(make, X)
    contract.assert_float32_agrees_with_float64(make, X)
    contract.assert_eval_keeps_no_cache(make(np.float64), X)


def test_matches_torch():
    torch = require_oracle("torch")
    norm = make(np.float64)
    dout = np.random.default_rng(1).standard_normal(X.shape)
    out = norm.forward(X)
    dx = norm.backward(dout)
    ref = torch.nn.LayerNorm(E, dtype=torch.float64)
    with torch.no_grad():
        ref.weight.copy_(torch.tensor(norm.gamma.data))
        ref.bias.copy_(torch.tensor(norm.beta.data))
    tx = torch.tensor(X, requires_grad=True)
    tout = ref(tx)
    tout.backward(torch.tensor(dout))
    np.testing.assert_allclose(out, tout.detach().numpy(), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=1e-11, atol=1e-12)
    np.testing.assert_allclose(norm.gamma.grad, ref.weight.grad.numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(norm.beta.grad, ref.bias.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_bad_input():
    with pytest.raises(ValueError, match="LayerNorm: dim must be an integer >= 1"):
        LayerNorm(0)
    with pytest.raises(ValueError, match="LayerNorm: eps must be a positive number"):
        LayerNorm(4, eps=0)
    with pytest.raises(ValueError, match=r"LayerNorm.forward: expected x of shape \(\.\.\., E=4\), got shape \(2, 3\)"):
        LayerNorm(4).forward(np.zeros((2, 3)))
    norm = LayerNorm(4)
    norm.forward(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="LayerNorm.backward: expected dout of shape"):
        norm.backward(np.zeros((2, 5)))


def test_repr():
    assert repr(LayerNorm(8)) == "LayerNorm(dim=8, eps=1e-05, dtype=float32)"
