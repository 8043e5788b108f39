import numpy as np

from minitorch_cap.gradcheck import rel_error
from minitorch_cap.nn import RNN

from tests.conftest import course_linspace as linspace, set_params
from tests.course_values import RNN_FORWARD_H, RNN_STEP_NEXT_H


def test_matches_tanh_recurrence_and_course_init_order():
    np.random.seed(7)
    rnn = RNN(4, 3, dtype=np.float64)
    np.random.seed(7)
    Wx, Wh = np.random.randn(4, 3) / np.sqrt(4), np.random.randn(3, 3) / np.sqrt(3)
    np.testing.assert_array_equal(rnn.Wx.data, Wx)
    np.testing.assert_array_equal(rnn.Wh.data, Wh)
    rng = np.random.default_rng(0)
    x, h = rng.standard_normal((2, 6, 4)), rng.standard_normal((2, 3))
    out = rnn.forward(x, h)
    for t in range(6):
        h = np.tanh(x[:, t] @ Wx + h @ Wh)
        np.testing.assert_allclose(out[:, t], h, rtol=1e-12)


# --- The course's published reference values (CS231n assignment 3 notebooks): the weights set
# with np.linspace as the notebooks do, compared with the printed expectations (8 decimals).


def test_rnn_step_forward():
    N, D, H = 3, 10, 4
    rnn = RNN(D, H, dtype=np.float64)
    set_params(rnn, Wx=linspace(-0.1, 0.9, D, H), Wh=linspace(-0.3, 0.7, H, H), b=linspace(-0.2, 0.4, H))
    next_h = rnn.step(linspace(-0.4, 0.7, N, D), linspace(-0.2, 0.5, N, H))
    expected = RNN_STEP_NEXT_H
    assert rel_error(next_h, expected) < 1e-8


def test_rnn_forward():
    N, T, D, H = 2, 3, 4, 5
    rnn = RNN(D, H, dtype=np.float64)
    set_params(rnn, Wx=linspace(-0.2, 0.4, D, H), Wh=linspace(-0.4, 0.1, H, H), b=linspace(-0.7, 0.1, H))
    h = rnn.forward(linspace(-0.1, 0.3, N, T, D), linspace(-0.3, 0.1, N, H))
    expected = RNN_FORWARD_H
    assert rel_error(h, expected) < 1e-7
