import numpy as np

from minitorch_cap.nn import RNN


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
