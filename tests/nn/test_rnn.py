import numpy as np

from minitorch_cap.gradcheck import rel_error
from minitorch_cap.nn import RNN

from tests.conftest import course_linspace as linspace, set_params


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
    expected = np.asarray([
        [-0.58172089, -0.50182032, -0.41232771, -0.31410098],
        [0.66854692, 0.79562378, 0.87755553, 0.92795967],
        [0.97934501, 0.99144213, 0.99646691, 0.99854353]])
    assert rel_error(next_h, expected) < 1e-8


def test_rnn_forward():
    N, T, D, H = 2, 3, 4, 5
    rnn = RNN(D, H, dtype=np.float64)
    set_params(rnn, Wx=linspace(-0.2, 0.4, D, H), Wh=linspace(-0.4, 0.1, H, H), b=linspace(-0.7, 0.1, H))
    h = rnn.forward(linspace(-0.1, 0.3, N, T, D), linspace(-0.3, 0.1, N, H))
    expected = np.asarray([
        [[-0.42070749, -0.27279261, -0.11074945, 0.05740409, 0.22236251],
         [-0.39525808, -0.22554661, -0.0409454, 0.14649412, 0.32397316],
         [-0.42305111, -0.24223728, -0.04287027, 0.15997045, 0.35014525]],
        [[-0.55857474, -0.39065825, -0.19198182, 0.02378408, 0.23735671],
         [-0.27150199, -0.07088804, 0.13562939, 0.33099728, 0.50158768],
         [-0.51014825, -0.30524429, -0.06755202, 0.17806392, 0.40333043]]])
    assert rel_error(h, expected) < 1e-7
