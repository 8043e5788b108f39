"""What RNN, LSTM and GRU share (minitorch_cap/nn/recurrent.py): weight shapes, forward = a loop of step,
the caller's dh untouched, errors, PyTorch as the oracle. The module contract is tests/nn/test_contract.py."""

import numpy as np
import pytest

from tests.conftest import require_oracle
from minitorch_cap.nn import GRU, LSTM, RNN

CELLS = [RNN, LSTM, GRU]
N, T, D, H = 3, 5, 4, 6


def make(cls, dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    cell = cls(D, H, dtype=dtype, rng=rng)
    cell.b.data[...] = 0.3 * rng.standard_normal(cell.b.shape)
    return cell


def inputs(seed=1):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((N, T, D)), 0.5 * rng.standard_normal((N, H))


def run_steps(cell, x, h0):
    state = (h0, np.zeros_like(h0)) if isinstance(cell, LSTM) else (h0,)
    hs = []
    for t in range(x.shape[1]):
        state = cell.step(x[:, t], *state)
        state = state if isinstance(state, tuple) else (state,)
        hs.append(state[0])
    return np.stack(hs, axis=1)


@pytest.mark.parametrize("cls", CELLS)
def test_shapes_of_the_weights(cls):
    G = len(cls.GATES)
    cell = cls(D, H)
    assert [(n, p.shape) for n, p in cell.named_parameters()] == [
        ("Wx", (D, G * H)), ("Wh", (H, G * H)), ("b", (G * H,))]


@pytest.mark.parametrize("cls", CELLS)
def test_sequence_forward_equals_a_loop_of_step(cls):
    cell = make(cls)
    x, h0 = inputs()
    np.testing.assert_allclose(cell.forward(x, h0), run_steps(cell, x, h0), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("cls", CELLS)
@pytest.mark.parametrize("layout", ["batch-major", "time-major view"])
def test_backward_leaves_the_callers_dh_untouched(cls, layout):
    cell = make(cls)
    x, h0 = inputs()
    dh_given = np.random.default_rng(5).standard_normal((N, T, H))
    # A (T, N, H) array seen through a transpose is the case np.ascontiguousarray would alias.
    dh = dh_given.copy() if layout == "batch-major" else np.ascontiguousarray(dh_given.transpose(1, 0, 2)).transpose(1, 0, 2)
    cell.forward(x, h0)
    cell.backward(dh)
    np.testing.assert_array_equal(dh, dh_given)


@pytest.mark.parametrize("cls", CELLS)
def test_bad_input(cls):
    name = cls.__name__
    cell = cls(D, H)
    x, h0 = inputs()
    with pytest.raises(ValueError, match=rf"{name}.forward: expected x of shape \(N, T, D={D}\), got shape \(3, 4\)"):
        cell.forward(x[:, 0], h0)
    with pytest.raises(ValueError, match=rf"expected x of shape \(N, T, D={D}\), got shape \(3, 5, 2\)"):
        cell.forward(x[:, :, :2], h0)
    with pytest.raises(ValueError, match=rf"{name}.forward: expected h0 of shape \(N=3, H={H}\), got shape \(2, {H}\)"):
        cell.forward(x, h0[:2])
    with pytest.raises(ValueError, match="no time steps"):
        cell.forward(x[:, :0], h0)
    with pytest.raises(TypeError, match="real-valued"):
        cell.forward(x > 0, h0)
    with pytest.raises(RuntimeError, match=f"{name}.backward: no forward"):
        cell.backward(np.zeros((N, T, H)))
    cell.forward(x, h0)
    with pytest.raises(ValueError, match=rf"{name}.backward: expected dh of shape \(N=3, T=5, H={H}\)"):
        cell.backward(np.zeros((N, T - 1, H)))
    cell.eval()
    cell.forward(x, h0)
    with pytest.raises(RuntimeError, match=f"{name}.backward: the module is in eval mode"):
        cell.backward(np.zeros((N, T, H)))
    with pytest.raises(ValueError, match=rf"{name}.step: expected prev_h of shape \(N=3, H={H}\)"):
        cell.step(x[:, 0], *([h0[:1]] * (2 if cls is LSTM else 1)))


def _to_torch(torch, cell):
    """The same cell built from torch.nn with our weights (PyTorch orders LSTM gates i, f, g, o)."""
    G, Hh = len(cell.GATES), cell.hidden_dim
    blocks = {"RNN": [0], "GRU": [0, 1, 2], "LSTM": [0, 1, 3, 2]}[type(cell).__name__]
    Wx = np.concatenate([cell.Wx.data[:, k * Hh:(k + 1) * Hh] for k in blocks], axis=1)
    Wh = np.concatenate([cell.Wh.data[:, k * Hh:(k + 1) * Hh] for k in blocks], axis=1)
    b = np.concatenate([cell.b.data[k * Hh:(k + 1) * Hh] for k in blocks])
    ctor = {"RNN": lambda: torch.nn.RNN(D, H, nonlinearity="tanh", batch_first=True),
            "GRU": lambda: torch.nn.GRU(D, H, batch_first=True),
            "LSTM": lambda: torch.nn.LSTM(D, H, batch_first=True)}[type(cell).__name__]
    net = ctor().double()
    with torch.no_grad():
        net.weight_ih_l0.copy_(torch.from_numpy(Wx.T.copy()))
        net.weight_hh_l0.copy_(torch.from_numpy(Wh.T.copy()))
        net.bias_ih_l0.copy_(torch.from_numpy(b))
        net.bias_hh_l0.zero_()
    return net, blocks, G


@pytest.mark.parametrize("cls", CELLS)
def test_agrees_with_pytorch(cls):
    torch = require_oracle("torch")
    cell = make(cls)
    x, h0 = inputs()
    dh = np.random.default_rng(5).standard_normal((N, T, H))
    net, blocks, G = _to_torch(torch, cell)
    tx = torch.tensor(x, requires_grad=True)
    th0 = torch.tensor(h0[None], requires_grad=True)
    state = (th0, torch.zeros_like(th0)) if cls is LSTM else th0
    out, _ = net(tx, state)
    out.backward(torch.from_numpy(dh))
    h = cell.forward(x, h0)
    dx, dh0 = cell.backward(dh)
    np.testing.assert_allclose(h, out.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dh0, th0.grad.numpy()[0], rtol=1e-10, atol=1e-12)
    inverse = np.argsort(blocks)
    H_ = H

    def ours(torch_grad):  # torch (G*H, in) in torch's gate order -> ours (in, G*H)
        parts = [torch_grad[k * H_:(k + 1) * H_] for k in range(G)]
        return np.concatenate([parts[j] for j in inverse], axis=0).T

    np.testing.assert_allclose(cell.Wx.grad, ours(net.weight_ih_l0.grad.numpy()), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(cell.Wh.grad, ours(net.weight_hh_l0.grad.numpy()), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(cell.b.grad, ours(net.bias_ih_l0.grad.numpy()[:, None])[0], rtol=1e-10, atol=1e-12)
