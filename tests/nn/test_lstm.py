import numpy as np
import pytest

from minitorch_cap.gradcheck import rel_error
from minitorch_cap.nn import LSTM

from tests.conftest import course_linspace as linspace, set_params
from tests.course_values import LSTM_FORWARD_H, LSTM_STEP_NEXT_C, LSTM_STEP_NEXT_H


def make(seed=0):
    rng = np.random.default_rng(seed)
    lstm = LSTM(4, 3, dtype=np.float64, rng=rng)
    lstm.b.data[...] = 0.3 * rng.standard_normal(12)
    return lstm, rng


def test_gate_order_is_i_f_o_g():
    lstm, rng = make()
    assert LSTM.GATES == ("i", "f", "o", "g")
    x, h0 = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 3))
    lstm.b.data[6:9] = -1e4  # the output gate is the third block: closing it zeroes h
    np.testing.assert_allclose(lstm.forward(x, h0), 0, atol=1e-300)


def test_c0_gradient_is_returned_when_c0_is_given():  # and checked: tests/nn/test_contract.py
    lstm, rng = make()
    x, h0, c0 = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    lstm.forward(x, h0, c0)
    assert [g.shape for g in lstm.backward(np.ones((2, 3, 3)))] == [(2, 3, 4), (2, 3), (2, 3)]
    lstm.forward(x, h0)
    assert len(lstm.backward(np.ones((2, 3, 3)))) == 2


def test_default_c0_is_zeros():
    lstm, rng = make()
    x, h0 = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 3))
    np.testing.assert_array_equal(lstm.forward(x, h0), lstm.forward(x, h0, np.zeros((2, 3))))


def test_step_returns_h_and_c_and_checks_prev_c():
    lstm, rng = make()
    next_h, next_c = lstm.step(rng.standard_normal((2, 4)), np.zeros((2, 3)), np.zeros((2, 3)))
    assert next_h.shape == next_c.shape == (2, 3)
    with pytest.raises(ValueError, match=r"LSTM.step: expected prev_c of shape \(N=2, H=3\)"):
        lstm.step(np.zeros((2, 4)), np.zeros((2, 3)), np.zeros((1, 3)))


def test_large_preactivations_do_not_warn():
    lstm, rng = make()
    lstm.Wx.data[...] *= 1e4
    with np.errstate(all="raise"):
        h = lstm.forward(rng.standard_normal((2, 3, 4)), np.zeros((2, 3)))
    assert np.isfinite(h).all()


def test_final_cell_and_its_gradient_dc():
    """backward(dh, dc) is the gradient of sum(dh * h) + sum(dc * c_T); final_cell() is c_T."""
    lstm, rng = make()
    x, h0, c0 = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    dh, dc = rng.standard_normal((2, 3, 3)), rng.standard_normal((2, 3))
    h = lstm.forward(x, h0, c0)
    np.testing.assert_allclose(h[:, -1], lstm.step(*_last_step_inputs(lstm, x, h0, c0))[0], rtol=1e-12)
    c_T = lstm.final_cell()
    lstm.zero_grad()
    dx, dh0, dc0 = lstm.backward(dh, dc)
    dc_kept = dc.copy()

    def objective(x_, h0_, c0_):
        return float(np.sum(lstm.forward(x_, h0_, c0_) * dh) + np.sum(lstm.final_cell() * dc))

    from minitorch_cap.gradcheck import fourth_order_gradient, rel_error
    for analytic, k in ((dx, 0), (dh0, 1), (dc0, 2)):
        args = [x.copy(), h0.copy(), c0.copy()]
        numeric = fourth_order_gradient(lambda a: objective(*args), args[k])
        assert rel_error(analytic, numeric) < 1e-8
    np.testing.assert_array_equal(dc, dc_kept)          # the caller's dc is not overwritten
    lstm.forward(x, h0, c0)
    np.testing.assert_array_equal(lstm.final_cell(), c_T)
    with pytest.raises(ValueError, match=r"LSTM.backward: expected dc of shape \(N=2, H=3\)"):
        lstm.backward(dh, np.zeros((3, 3)))


def _last_step_inputs(lstm, x, h0, c0):
    """Inputs of the last step, by running the steps one at a time."""
    h, c = h0, c0
    for t in range(x.shape[1] - 1):
        h, c = lstm.step(x[:, t], h, c)
    return x[:, -1], h, c


# --- The course's published reference values (CS231n assignment 3 notebooks): the weights set
# with np.linspace as the notebooks do, compared with the printed expectations (8 decimals).


def test_lstm_step_forward():
    N, D, H = 3, 4, 5
    lstm = LSTM(D, H, dtype=np.float64)
    set_params(lstm, Wx=linspace(-2.1, 1.3, D, 4 * H), Wh=linspace(-0.7, 2.2, H, 4 * H), b=linspace(0.3, 0.7, 4 * H))
    next_h, next_c = lstm.step(linspace(-0.4, 1.2, N, D), linspace(-0.3, 0.7, N, H), linspace(-0.4, 0.9, N, H))
    expected_h = LSTM_STEP_NEXT_H
    expected_c = LSTM_STEP_NEXT_C
    assert rel_error(next_h, expected_h) < 1e-7
    assert rel_error(next_c, expected_c) < 1e-7


def test_lstm_forward():
    N, D, H, T = 2, 5, 4, 3
    lstm = LSTM(D, H, dtype=np.float64)
    set_params(lstm, Wx=linspace(-0.2, 0.9, D, 4 * H), Wh=linspace(-0.3, 0.6, H, 4 * H), b=linspace(0.2, 0.7, 4 * H))
    h = lstm.forward(linspace(-0.4, 0.6, N, T, D), linspace(-0.4, 0.8, N, H))
    expected = LSTM_FORWARD_H
    assert rel_error(h, expected) < 1e-7


def test_final_cell_with_lengths_is_each_rows_last_cell_and_dc_reaches_it():
    """With lengths, final_cell()[n] is c_{lengths[n]} (c0 for a row of length 0), and
    backward(dh, dc) is the gradient of sum(dh * h) + sum(dc * final_cell())."""
    lstm, rng = make()
    N, T = 4, 5
    x, h0, c0 = rng.standard_normal((N, T, 4)), rng.standard_normal((N, 3)), rng.standard_normal((N, 3))
    dh, dc = rng.standard_normal((N, T, 3)), rng.standard_normal((N, 3))
    lengths = np.array([2, 5, 0, 3])
    lstm.forward(x, h0, c0, lengths=lengths)
    c_last = lstm.final_cell()
    for n, L in enumerate(lengths):
        h, c = h0[n:n + 1], c0[n:n + 1]
        for t in range(L):
            h, c = lstm.step(x[n:n + 1, t], h, c)
        np.testing.assert_allclose(c_last[n], c[0], rtol=1e-12)
    lstm.zero_grad()
    dx, dh0, dc0 = lstm.backward(dh, dc)
    np.testing.assert_array_equal(dc0[2], dc[2])           # length 0: c0 is the final cell
    assert not dh0[2].any()

    def objective(x_, h0_, c0_):
        return float(np.sum(lstm.forward(x_, h0_, c0_, lengths=lengths) * dh) + np.sum(lstm.final_cell() * dc))

    from minitorch_cap.gradcheck import fourth_order_gradient
    for analytic, k in ((dx, 0), (dh0, 1), (dc0, 2)):
        args = [x.copy(), h0.copy(), c0.copy()]
        numeric = fourth_order_gradient(lambda a: objective(*args), args[k])
        np.testing.assert_allclose(analytic, numeric, rtol=1e-7, atol=1e-9)
