"""Dropout: seeded, inverted scaling, identity in eval, and the switch for checks (minitorch_cap/nn/dropout.py)."""

import copy

import numpy as np
import pytest

from tests.nn import contract
from minitorch_cap.nn import Dropout, MultiHeadAttention, dropout_disabled, dropout_source


def test_seeded_masks_are_reproducible_and_differ_between_calls():
    x = np.ones((50, 40))
    a, b = Dropout(0.3, rng=7, dtype=np.float64), Dropout(0.3, rng=np.random.default_rng(7), dtype=np.float64)
    first = a.forward(x)
    np.testing.assert_array_equal(first, b.forward(x))
    assert not np.array_equal(first, a.forward(x))


def test_global_state_when_rng_is_none():
    np.random.seed(3)
    first = Dropout(0.5, dtype=np.float64).forward(np.ones(100))
    np.random.seed(3)
    np.testing.assert_array_equal(Dropout(0.5, dtype=np.float64).forward(np.ones(100)), first)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_drop_rate_and_mean_scaling(dtype):
    p = 0.25
    layer = Dropout(p, rng=0, dtype=dtype)
    out = layer.forward(np.ones((400, 500)))
    assert out.dtype == dtype
    assert set(np.unique(out)) == {0.0, dtype(1 / (1 - p))}
    kept = np.mean(out != 0)
    assert abs(kept - (1 - p)) < 4 * np.sqrt(p * (1 - p) / out.size)  # 4 standard deviations
    assert abs(out.mean() - 1.0) < 0.01
    dout = np.random.default_rng(1).standard_normal(out.shape).astype(dtype)
    np.testing.assert_array_equal(layer.backward(dout), dout * out)  # same mask, same scale


def test_eval_p0_and_p1():
    x = np.random.default_rng(0).standard_normal((3, 4))
    layer = Dropout(0.5, rng=0, dtype=np.float64).eval()
    np.testing.assert_array_equal(layer.forward(x), x)
    zero = Dropout(0.0, rng=0, dtype=np.float64)
    np.testing.assert_array_equal(zero.forward(x), x)
    np.testing.assert_array_equal(zero.backward(x), x)
    assert not Dropout(1.0, rng=0, dtype=np.float64).forward(x).any()


def test_dropout_disabled_switches_off_every_dropout_inside_and_restores():
    attn = MultiHeadAttention(4, 2, dropout=0.5, dtype=np.float64, rng=0)
    with dropout_disabled(attn) as same:
        assert same is attn
        assert not attn.attn_drop.enabled and not attn.attn_drop.active
        assert "enabled=False" in repr(attn.attn_drop)
        assert not copy.deepcopy(attn).attn_drop.enabled  # what check_module does
        x = np.ones((2, 3))
        layer = Dropout(0.9)
        with dropout_disabled(layer):
            np.testing.assert_array_equal(layer.forward(x), x)
            layer.backward(x)  # training mode: a cache was kept
    assert attn.attn_drop.enabled and attn.attn_drop.active


def test_gradients_with_dropout_on_use_the_kept_mask():
    layer = Dropout(0.5, rng=0, dtype=np.float64)
    x = np.random.default_rng(1).standard_normal((4, 5))
    out = layer.forward(x)
    dout = np.random.default_rng(2).standard_normal(out.shape)
    np.testing.assert_array_equal(layer.backward(dout), dout * (out / x))
    contract.assert_gradients(Dropout(0.5, dtype=np.float64), x)  # switched off: identity


def test_bad_input():
    for p in (-0.1, 1.5, "0.1", True):
        with pytest.raises(ValueError, match="Dropout: p must be a probability"):
            Dropout(p)
    with pytest.raises(TypeError, match="Dropout: rng must be"):
        Dropout(0.1, rng="seed")
    layer = Dropout(0.1)
    layer.forward(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"Dropout.backward: expected dout of shape \(d0=2, d1=3\)"):
        layer.backward(np.zeros(6))
    with pytest.raises(TypeError, match="Dropout.forward: expected x to be a real-valued array"):
        layer.forward(np.array([True]))


def test_repr():
    assert repr(Dropout()) == "Dropout(p=0.1)"


class Recorder:
    """A mask source that hands out fixed numbers and records the shapes asked for."""

    def __init__(self, value):
        self.value, self.shapes = value, []

    def random(self, shape, dtype):
        self.shapes.append(shape)
        return np.full(shape, self.value, dtype=dtype)


def test_a_bound_source_draws_every_mask_inside_and_the_own_generators_are_untouched():
    attn = MultiHeadAttention(4, 2, dropout=0.5, dtype=np.float64, rng=np.random.default_rng(5))
    layer = attn.attn_drop
    before = layer.rng.bit_generator.state
    keep, drop = Recorder(0.9), Recorder(0.1)
    x = np.ones((2, 3))
    with dropout_source(attn, keep) as same:
        assert same is attn and layer.source is keep
        np.testing.assert_array_equal(layer.forward(x), 2 * x)          # every number >= p: all kept, scaled
        with dropout_source(layer, drop):                               # the innermost binding wins
            assert not layer.forward(x).any()
        assert layer.source is keep                                     # and the outer one is back
    assert layer.source is None and keep.shapes == [(2, 3)] and drop.shapes == [(2, 3)]
    assert layer.rng.bit_generator.state == before                      # the layer's own stream drew nothing
    twin = np.random.default_rng()
    twin.bit_generator.state = before
    expected = Dropout(0.5, rng=twin, dtype=np.float64).forward(x)
    np.testing.assert_array_equal(layer.forward(x), expected)           # and serves it afterwards, as before


def test_a_source_is_restored_when_the_block_raises():
    layer = Dropout(0.5, dtype=np.float64)
    with pytest.raises(KeyError):
        with dropout_source(layer, Recorder(0.0)):
            raise KeyError("boom")
    assert layer.source is None


def test_a_source_needs_a_random_method():
    with pytest.raises(TypeError, match="dropout_source: source must have a random"):
        with dropout_source(Dropout(0.5), np.random.random):
            pass
