"""PositionalEncoding (minitorch_cap/nn/positional.py)."""

import math

import numpy as np
import pytest

from tests.conftest import require_oracle
from minitorch_cap.gradcheck import rel_error
from minitorch_cap.nn import PositionalEncoding, inference_mode
from minitorch_cap.nn.positional import sinusoid_table

X = np.random.default_rng(0).standard_normal((2, 4, 6))


def test_the_table_is_the_formula():
    table = sinusoid_table(7, 6)
    for i in range(7):
        for j in range(3):
            assert table[i, 2 * j] == pytest.approx(math.sin(i * 10000 ** (-2 * j / 6)), abs=1e-15)
            assert table[i, 2 * j + 1] == pytest.approx(math.cos(i * 10000 ** (-2 * j / 6)), abs=1e-15)


def test_odd_embed_dim_ends_with_a_sine():
    table = sinusoid_table(5, 5)
    np.testing.assert_allclose(table[:, 4], np.sin(np.arange(5) * 10000 ** (-4 / 5)), atol=1e-15)


def test_forward_adds_the_first_S_rows_or_the_rows_from_start():
    enc = PositionalEncoding(6, dropout=0.0, max_len=10, dtype=np.float64)
    np.testing.assert_array_equal(enc.forward(X), X + enc.pe[:4])
    np.testing.assert_array_equal(enc.forward(X[:, :1], start=3), X[:, :1] + enc.pe[3])
    np.testing.assert_array_equal(enc.forward(X, start=6), X + enc.pe[6:])
    enc.to(np.float32)
    assert enc.forward(X).dtype == np.float32


def test_dropout_in_training_only():
    enc = PositionalEncoding(6, dropout=0.5, rng=0, dtype=np.float64)
    out = enc.forward(X)
    assert (out == 0).any()
    with inference_mode():                       # a prediction: no dropout, the training cache kept
        np.testing.assert_array_equal(enc.forward(X[:, :1], start=2), X[:, :1] + enc.pe[2])
    np.testing.assert_array_equal(enc.backward(np.ones_like(out)), (out != 0) * 2.0)
    enc.eval()
    np.testing.assert_array_equal(enc.forward(X), X + enc.pe[:4])


def test_bad_input():
    enc = PositionalEncoding(6, max_len=3)
    with pytest.raises(ValueError, match=r"PositionalEncoding.forward: positions 0..3 exceed max_len=3"):
        enc.forward(X)
    with pytest.raises(ValueError, match=r"PositionalEncoding.forward: expected x of shape \(N, S, E=6\)"):
        enc.forward(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="PositionalEncoding.forward: start must be an integer >= 0"):
        enc.forward(X[:, :1], start=-1)
    with pytest.raises(ValueError, match=r"PositionalEncoding.forward: positions 2..3 exceed max_len=3"):
        enc.forward(X[:, :2], start=2)
    with pytest.raises(ValueError, match="PositionalEncoding: embed_dim must be an integer >= 1"):
        PositionalEncoding(0)
    enc.forward(X[:, :2])
    with pytest.raises(ValueError, match=r"PositionalEncoding.backward: expected dout of shape \(N=2, S=2, E=6\)"):
        enc.backward(np.zeros((2, 3, 6)))


def test_repr():
    text = repr(PositionalEncoding(6))
    assert text.splitlines()[0] == "PositionalEncoding(embed_dim=6, max_len=5000, dtype=float32"
    assert "(dropout): Dropout(p=0.1)" in text


def test_the_course_notebook_check():
    """Transformer_Captioning.ipynb's PositionalEncoding check (torch.manual_seed(231) data, train mode).

    The notebook's output went through PyTorch's dropout (p=0.1): the dropped entry prints as
    -0.0000 and the kept ones are scaled by 1/0.9. Everything that does not depend on
    PyTorch's dropout stream is reproduced at the notebook's threshold (rel_error < 1e-3).
    """
    torch = require_oracle("torch")
    torch.manual_seed(231)
    data = torch.randn(1, 2, 6).numpy().astype(np.float64)
    expected = np.asarray([[[-1.2340, 1.1127, 1.6978, -0.0865, -0.0000, 1.2728],
                            [0.9028, -0.4781, 0.5535, 0.8133, 1.2644, 1.7034]]])
    out = PositionalEncoding(6, dtype=np.float64).eval().forward(data) / 0.9
    kept = expected != 0
    assert kept.sum() == 11
    assert rel_error(expected[kept], out[kept]) < 1e-3
