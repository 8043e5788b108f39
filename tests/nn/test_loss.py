import warnings

import numpy as np
import pytest

from minitorch_cap.nn import TemporalSoftmaxLoss


def naive_loss(scores, targets, mask, normalize="batch"):
    N, T, V = scores.shape
    total = 0.0
    for n in range(N):
        for t in range(T):
            if mask[n, t]:
                s = scores[n, t] - scores[n, t].max()
                total -= s[targets[n, t]] - np.log(np.exp(s).sum())
    return total / (N if normalize == "batch" else mask.sum())


@pytest.fixture
def batch():
    rng = np.random.default_rng(0)
    scores = rng.standard_normal((3, 4, 7))
    targets = rng.integers(0, 7, size=(3, 4))
    mask = rng.random((3, 4)) > 0.3
    return scores, targets, mask


@pytest.mark.parametrize("normalize", ["batch", "tokens"])
def test_matches_naive(batch, normalize):  # gradients: tests/nn/test_contract.py
    loss = TemporalSoftmaxLoss(normalize=normalize, dtype=np.float64)
    assert abs(loss.forward(*batch) - naive_loss(*batch, normalize)) < 1e-12


def test_masked_positions_get_zero_gradient_and_dloss_scales(batch):
    scores, targets, mask = batch
    loss = TemporalSoftmaxLoss(dtype=np.float64)
    loss.forward(scores, targets, mask)
    d1 = loss.backward()
    assert not d1[~mask].any()
    np.testing.assert_allclose(loss.backward(2.5), 2.5 * d1, rtol=1e-14)
    # rows of the gradient of a softmax cross-entropy sum to zero
    np.testing.assert_allclose(d1.sum(axis=-1), 0, atol=1e-15)


def test_mask_may_be_int_or_none(batch):
    scores, targets, mask = batch
    loss = TemporalSoftmaxLoss(dtype=np.float64)
    assert loss.forward(scores, targets, mask.astype(int)) == loss.forward(scores, targets, mask)
    assert loss.forward(scores, targets) == loss.forward(scores, targets, np.ones_like(mask))


def test_stable_for_huge_scores_without_warnings():
    scores = np.array([[[1e4, -1e4, 0.0]]], dtype=np.float32)
    loss = TemporalSoftmaxLoss()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert loss.forward(scores, np.array([[0]]), np.array([[True]])) == 0.0
        assert abs(loss.forward(scores, np.array([[1]]), np.array([[True]])) - 2e4) < 1
        assert loss.backward().dtype == np.float32


def test_bad_input(batch):
    scores, targets, mask = batch
    loss = TemporalSoftmaxLoss()
    with pytest.raises(ValueError, match=r"targets holds id 7, outside the valid range \[0, 7\)"):
        loss.forward(scores, np.full((3, 4), 7), mask)
    with pytest.raises(ValueError, match=r"expected targets of shape \(N=3, T=4\)"):
        loss.forward(scores, targets[:2], mask)
    with pytest.raises(ValueError, match="mask must hold only 0/1"):
        loss.forward(scores, targets, np.full((3, 4), 2))
    with pytest.raises(TypeError, match="integer array of ids"):
        loss.forward(scores, targets.astype(float), mask)
    with pytest.raises(ValueError, match="normalize must be one of"):
        TemporalSoftmaxLoss(normalize="mean")
    with pytest.raises(RuntimeError, match="TemporalSoftmaxLoss.backward: no forward"):
        TemporalSoftmaxLoss().backward()


# --- The course's published reference values (CS231n assignment 3 notebooks): the weights set
# with np.linspace as the notebooks do, compared with the printed expectations (8 decimals).


def test_temporal_softmax_loss_sanity():
    """The notebook's sanity check: about 2.3, 23 and 2.2 for uniform-ish scores."""
    rng = np.random.default_rng(231)
    loss = TemporalSoftmaxLoss(dtype=np.float64)

    def check(N, T, V, p):
        x = 0.001 * rng.standard_normal((N, T, V))
        y = rng.integers(0, V, size=(N, T))
        mask = rng.random((N, T)) <= p
        return loss.forward(x, y, mask)

    assert abs(check(100, 1, 10, 1.0) - np.log(10)) < 0.01
    assert abs(check(100, 10, 10, 1.0) - 10 * np.log(10)) < 0.1
    assert abs(check(5000, 10, 10, 0.1) - np.log(10)) < 0.1
