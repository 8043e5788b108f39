import numpy as np
import pytest

from minitorch_cap.gradcheck import check_module, rel_error
from minitorch_cap.nn import Embedding

from tests.conftest import course_linspace as linspace


def test_lookup_and_scatter_add_with_repeats():
    emb = Embedding(5, 3, dtype=np.float64)
    idx = np.array([[0, 3, 3], [3, 1, 0]])
    out = emb.forward(idx)
    np.testing.assert_array_equal(out, emb.W.data[idx])
    assert emb.backward(np.ones((2, 3, 3))) is None
    np.testing.assert_array_equal(emb.W.grad[:, 0], [2, 1, 0, 3, 0])


def test_padding_idx_row_starts_at_zero_and_gets_no_gradient():
    np.random.seed(0)
    emb = Embedding(5, 3, dtype=np.float64, padding_idx=0)
    np.random.seed(0)
    expected = np.random.randn(5, 3) / 100          # the same draws, the padding row then zeroed
    expected[0] = 0.0
    np.testing.assert_array_equal(emb.W.data, expected)
    emb.W.data[0] = 1.0                              # a trained or loaded padding row is looked up as any other
    idx = np.array([[0, 3, 0], [3, 1, 0]])
    np.testing.assert_array_equal(emb.forward(idx)[0, 0], [1.0, 1.0, 1.0])
    emb.backward(np.ones((2, 3, 3)))
    np.testing.assert_array_equal(emb.W.grad[:, 0], [0, 1, 0, 2, 0])   # as PyTorch's padding_idx
    assert repr(emb) == "Embedding(vocab_size=5, dim=3, padding_idx=0, dtype=float64)"
    for bad, error in ((5, ValueError), (-1, ValueError), (1.0, ValueError)):
        with pytest.raises(error, match="Embedding: padding_idx must"):
            Embedding(5, 3, padding_idx=bad)


def test_gradient_check_skips_integer_input():
    rng = np.random.default_rng(0)
    emb = Embedding(6, 4, dtype=np.float64, rng=rng)
    report = check_module(emb, rng.integers(0, 6, size=(3, 5)))
    assert report.skipped == ["input[0]"] and set(report.errors) == {"W"}
    report.assert_close(1e-7)


def test_init_is_randn_over_100():
    np.random.seed(0)
    emb = Embedding(4, 2, dtype=np.float64)
    np.random.seed(0)
    np.testing.assert_array_equal(emb.W.data, np.random.randn(4, 2) / 100)


@pytest.mark.parametrize("idx, error, message", [
    (np.array([[0, -1]]), ValueError, r"id -1, outside the valid range \[0, 5\)"),
    (np.array([[0, 5]]), ValueError, r"id 5, outside the valid range \[0, 5\)"),
    (np.array([[0.0, 1.0]]), TypeError, "integer array of ids, got dtype float64"),
    (np.array([[True, False]]), TypeError, "integer array of ids, got dtype bool"),
    (np.array([0, 1]), ValueError, r"expected idx of shape \(N, T\), got shape \(2,\)"),
])
def test_bad_ids(idx, error, message):
    with pytest.raises(error, match="Embedding.forward: .*" + message):
        Embedding(5, 2).forward(idx)


def test_backward_shape_is_checked():
    emb = Embedding(5, 2)
    emb.forward(np.zeros((2, 3), dtype=int))
    with pytest.raises(ValueError, match=r"expected dout of shape \(N=2, T=3, D=2\)"):
        emb.backward(np.zeros((2, 3, 4)))


# --- The course's published reference values (CS231n assignment 3 notebooks): the weights set
# with np.linspace as the notebooks do, compared with the printed expectations (8 decimals).


def test_word_embedding_forward():
    V, D = 5, 3
    emb = Embedding(V, D, dtype=np.float64)
    emb.W.data[...] = linspace(0, 1, V, D)
    out = emb.forward(np.asarray([[0, 3, 1, 2], [2, 1, 0, 3]]))
    expected = np.asarray([
        [[0., 0.07142857, 0.14285714], [0.64285714, 0.71428571, 0.78571429],
         [0.21428571, 0.28571429, 0.35714286], [0.42857143, 0.5, 0.57142857]],
        [[0.42857143, 0.5, 0.57142857], [0.21428571, 0.28571429, 0.35714286],
         [0., 0.07142857, 0.14285714], [0.64285714, 0.71428571, 0.78571429]]])
    assert rel_error(out, expected) < 1e-7
