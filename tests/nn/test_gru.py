import numpy as np

from minitorch_cap.nn import GRU
from minitorch_cap.nn.functional import sigmoid


def test_matches_the_issue_equations_step_by_step():
    """r, z, n as PyTorch: n = tanh(x Wx_n + b_n + r * (h Wh_n)), h' = (1 - z) n + z h."""
    rng = np.random.default_rng(0)
    D, H = 4, 3
    gru = GRU(D, H, dtype=np.float64, rng=rng)
    gru.b.data[...] = rng.standard_normal(3 * H)
    x, h = rng.standard_normal((2, 5, D)), rng.standard_normal((2, H))
    out = gru.forward(x, h)
    Wx, Wh, b = gru.Wx.data, gru.Wh.data, gru.b.data
    blk = lambda a, k: a[..., k * H:(k + 1) * H]  # noqa: E731
    for t in range(5):
        r = sigmoid(blk(x[:, t] @ Wx, 0) + blk(h @ Wh, 0) + blk(b, 0))
        z = sigmoid(blk(x[:, t] @ Wx, 1) + blk(h @ Wh, 1) + blk(b, 1))
        n = np.tanh(blk(x[:, t] @ Wx, 2) + blk(b, 2) + r * blk(h @ Wh, 2))
        h = (1 - z) * n + z * h
        np.testing.assert_allclose(out[:, t], h, rtol=1e-12, atol=1e-14)
