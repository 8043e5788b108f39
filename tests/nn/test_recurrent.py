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


# --- Length-aware recurrence: forward(..., lengths=) runs row n for lengths[n] steps only.

LENGTHS = {"mixed": [3, 5, 0, 1], "equal": [4, 4, 4, 4], "full": [T, T, T, T], "ones": [1, 1, 1, 1],
           "zeros": [0, 0, 0, 0], "full-and-empty": [T, 0, T, 2]}


def valid_steps(lengths, T_=T):
    """(N, T) True where a row runs."""
    return np.arange(T_)[None, :] < np.asarray(lengths)[:, None]


def run_cell(cell, x, h0, dh, **kwargs):
    """forward then backward from zeroed gradients -> (h, input gradients, parameter gradients)."""
    cell.zero_grad()
    h = cell.forward(x, h0, **kwargs)
    grads = cell.backward(dh)
    return h, grads, {n: p.grad.copy() for n, p in cell.named_parameters()}


@pytest.mark.parametrize("cls", CELLS)
@pytest.mark.parametrize("case", list(LENGTHS))
def test_lengths_give_the_full_sequence_gradients_of_the_steps_that_run(cls, case):
    """The cell without lengths, its dh zeroed where a row does not run, has the same outputs at the
    steps that run and exactly the same dx, dh0 and weight gradients (float64 to 1e-12): nothing
    after a row's length reaches them. With lengths, h is exactly 0 after each row's length."""
    lengths = np.array(LENGTHS[case])
    rng = np.random.default_rng(2)
    x, h0 = rng.standard_normal((4, T, D)), rng.standard_normal((4, H))
    dh = rng.standard_normal((4, T, H))
    keep = valid_steps(lengths)[:, :, None]
    h_full, g_full, p_full = run_cell(make(cls), x, h0, dh * keep)
    h, g, p = run_cell(make(cls), x, h0, dh, lengths=lengths)
    np.testing.assert_allclose(h, h_full * keep, rtol=1e-12, atol=1e-14)
    assert not h[~keep[:, :, 0]].any()                       # exactly 0 after each length
    assert not g[0][~keep[:, :, 0]].any()                    # dx exactly 0 there
    assert not g[1][lengths == 0].any()                      # a row of length 0: its h0 does nothing
    for a, b in zip(g, g_full):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13)
    for name in p:
        np.testing.assert_allclose(p[name], p_full[name], rtol=1e-12, atol=1e-13, err_msg=name)


@pytest.mark.parametrize("cls", CELLS)
def test_each_row_equals_its_own_shorter_sequence(cls):
    """Row n with lengths[n] = L is the cell run on x[n, :L] alone: rows do not mix."""
    lengths = np.array([3, 5, 1, 4])
    rng = np.random.default_rng(3)
    x, h0 = rng.standard_normal((4, T, D)), rng.standard_normal((4, H))
    cell = make(cls)
    h = cell.forward(x, h0, lengths=lengths)
    for n, L in enumerate(lengths):
        np.testing.assert_allclose(h[n, :L], cell.forward(x[n:n + 1, :L], h0[n:n + 1])[0], rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("cls", CELLS)
def test_lengths_none_and_all_T_are_the_plain_forward(cls):
    cell = make(cls)
    x, h0 = inputs()
    np.testing.assert_array_equal(cell.forward(x, h0, lengths=np.full(N, T)), cell.forward(x, h0))
    np.testing.assert_array_equal(cell.forward(x, h0, lengths=None), cell.forward(x, h0))


@pytest.mark.parametrize("cls", CELLS)
def test_gradient_check_with_mixed_lengths(cls):
    from tests.nn.contract import assert_gradients

    rng = np.random.default_rng(4)
    x, h0 = rng.standard_normal((4, T, D)), rng.standard_normal((4, H))
    lengths = np.array([2, 5, 0, 3])
    if cls is LSTM:
        assert_gradients(make(cls), x, h0, rng.standard_normal((4, H)), lengths)
    else:
        assert_gradients(make(cls), x, h0, lengths)


@pytest.mark.parametrize("cls", CELLS)
@pytest.mark.parametrize("shape", [(0, T), (3, 1)], ids=["N=0", "T=1"])
def test_lengths_at_the_edges(cls, shape):
    N_, T_ = shape
    rng = np.random.default_rng(6)
    x, h0 = rng.standard_normal((N_, T_, D)), rng.standard_normal((N_, H))
    lengths = np.array([1, 0, 1][:N_], dtype=np.int64)
    cell = make(cls)
    h = cell.forward(x, h0, lengths=lengths)
    assert h.shape == (N_, T_, H)
    dx, dh0 = cell.backward(np.ones_like(h))[:2]
    assert dx.shape == x.shape and dh0.shape == h0.shape
    np.testing.assert_allclose(h, cell.forward(x, h0) * valid_steps(lengths, T_)[:, :, None], rtol=1e-12)


@pytest.mark.parametrize("cls", CELLS)
def test_all_rows_of_length_zero_run_nothing(cls):
    cell = make(cls)
    x, h0 = inputs()
    cell.zero_grad()
    h = cell.forward(x, h0, lengths=np.zeros(N, dtype=int))
    dx, dh0 = cell.backward(np.ones_like(h))[:2]
    assert not h.any() and not dx.any() and not dh0.any()
    assert not any(p.grad.any() for p in cell.parameters())


@pytest.mark.parametrize("cls", CELLS)
def test_bad_lengths_are_refused_by_name(cls):
    name = cls.__name__
    cell = make(cls)
    x, h0 = inputs()
    with pytest.raises(ValueError, match=rf"{name}.forward: lengths must lie in \[0, T={T}\], got values in \[0, 6\]"):
        cell.forward(x, h0, lengths=[0, 6, 2])
    with pytest.raises(ValueError, match=rf"{name}.forward: lengths must lie in \[0, T={T}\], got values in \[-1, 2\]"):
        cell.forward(x, h0, lengths=np.array([-1, 2, 2]))
    with pytest.raises(ValueError, match=rf"{name}.forward: expected lengths of shape \(N=3\)"):
        cell.forward(x, h0, lengths=[1, 2])
    with pytest.raises(TypeError, match=rf"{name}.forward: expected lengths to be an integer array"):
        cell.forward(x, h0, lengths=np.array([1.0, 2.0, 3.0]))
    with pytest.raises(TypeError, match=rf"{name}.forward: expected lengths to be an integer array"):
        cell.forward(x, h0, lengths=np.array([True, False, True]))


@pytest.mark.parametrize("cls", CELLS)
def test_agrees_with_pytorch_packed_sequences(cls):
    """torch.nn.utils.rnn.pack_padded_sequence (unsorted lengths) as the oracle: outputs padded with
    zeros, every gradient (lengths >= 1: PyTorch refuses empty sequences)."""
    torch = require_oracle("torch")
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    cell = make(cls)
    rng = np.random.default_rng(7)
    x, h0 = rng.standard_normal((4, T, D)), rng.standard_normal((4, H))
    dh = rng.standard_normal((4, T, H))
    lengths = np.array([2, 5, 1, 3])
    net, blocks, G = _to_torch(torch, cell)
    tx = torch.tensor(x, requires_grad=True)
    th0 = torch.tensor(h0[None], requires_grad=True)
    state = (th0, torch.zeros_like(th0)) if cls is LSTM else th0
    packed = pack_padded_sequence(tx, torch.tensor(lengths), batch_first=True, enforce_sorted=False)
    out, _ = pad_packed_sequence(net(packed, state)[0], batch_first=True, total_length=T)
    out.backward(torch.from_numpy(dh))
    h, (dx, dh0) = cell.forward(x, h0, lengths=lengths), cell.backward(dh)
    np.testing.assert_allclose(h, out.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dh0, th0.grad.numpy()[0], rtol=1e-10, atol=1e-12)
    inverse = np.argsort(blocks)
    ours = lambda g: np.concatenate([g[j * H:(j + 1) * H] for j in inverse], axis=0).T  # noqa: E731
    np.testing.assert_allclose(cell.Wh.grad, ours(net.weight_hh_l0.grad.numpy()), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(cell.Wx.grad, ours(net.weight_ih_l0.grad.numpy()), rtol=1e-10, atol=1e-12)


# --- The per-step products by blocks of Wh (Recurrent._hidden_product and _hidden_grad).

@pytest.mark.parametrize("cls", CELLS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_per_step_products_by_blocks_equal_the_whole_products(cls, dtype):
    """At the COCO size H=512, for every step of 1 to 40 rows (column blocks with the remainder as
    the last four rows, row blocks, or the whole product): h Wh and da Wh^T, every entry written."""
    rng = np.random.default_rng(8)
    cell = cls(4, 512, dtype=dtype, rng=rng)
    Wh = cell.Wh.data
    tol = {np.float64: 1e-12, np.float32: 1e-5}[dtype]
    ks = range(1, 41)
    for k in ks:
        h, da = rng.standard_normal((k, 512)).astype(dtype), rng.standard_normal((k, Wh.shape[1])).astype(dtype)
        forward, backward = np.full((k, Wh.shape[1]), np.nan, dtype), np.full((k, 512), np.nan, dtype)
        cell._hidden_product(h, forward)
        cell._hidden_grad(da, backward)
        for got, want in ((forward, h.astype(np.float64) @ Wh), (backward, da.astype(np.float64) @ Wh.T)):
            assert got.dtype == dtype
            assert np.abs(got - want).max() <= tol * np.abs(want).max(), k
    # Both layouts were exercised, the COCO step (k=25) by blocks.
    assert cell._by_column_blocks(25) and cell._by_row_blocks(25)
    assert not all(cell._by_column_blocks(k) for k in ks) and not cell._by_row_blocks(1)


@pytest.mark.parametrize("cls", CELLS)
def test_cell_with_block_products_equals_the_cell_with_whole_products(cls):
    """H=256, N=24 rows of mixed lengths: the steps with many rows go by blocks, the last ones
    whole; output, dx, dh0 and every weight gradient equal those with every product whole
    (SMALL_PRODUCT = 0), float64 to 1e-12."""
    rng = np.random.default_rng(9)
    N_, T_, H_ = 24, 5, 256
    x, h0, dh = rng.standard_normal((N_, T_, D)), rng.standard_normal((N_, H_)), rng.standard_normal((N_, T_, H_))
    lengths = rng.integers(0, T_ + 1, size=N_)
    lengths[:20] = T_
    blocks, whole = cls(D, H_, dtype=np.float64, rng=np.random.default_rng(1)), cls(D, H_, dtype=np.float64,
                                                                                   rng=np.random.default_rng(1))
    whole.SMALL_PRODUCT = 0
    assert blocks._by_column_blocks(20) and blocks._by_row_blocks(20)
    assert not whole._by_column_blocks(20) and not whole._by_row_blocks(20)
    got, want = run_cell(blocks, x, h0, dh, lengths=lengths), run_cell(whole, x, h0, dh, lengths=lengths)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-12, atol=1e-14)
    for a, b in zip(got[1], want[1]):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13)
    for name in got[2]:
        np.testing.assert_allclose(got[2][name], want[2][name], rtol=1e-12, atol=1e-12, err_msg=name)
    state = blocks.initial_state(h0)                               # one step without cache (decoding)
    for a, b in zip(blocks.step_state(x[:, 0], state)[1], whole.step_state(x[:, 0], state)[1]):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_calling_a_cell_passes_keywords_to_forward():
    """``lstm(x, h0, lengths=L)`` is ``lstm.forward(x, h0, lengths=L)`` (a TypeError before)."""
    rng = np.random.default_rng(0)
    lstm = LSTM(3, 4, dtype=np.float64, rng=rng)
    x, h0, lengths = rng.standard_normal((2, 5, 3)), rng.standard_normal((2, 4)), np.array([5, 2])
    np.testing.assert_array_equal(lstm(x, h0, lengths=lengths), lstm.forward(x, h0, lengths=lengths))
