"""Elementwise helpers shared by the recurrent cells and the loss."""

from __future__ import annotations

import numpy as np


def sigmoid_(a: np.ndarray) -> np.ndarray:
    """Logistic sigmoid computed in place and returned.

    Uses ``sigmoid(a) = 0.5 * tanh(0.5 * a) + 0.5``: one transcendental call per element,
    no overflow and no warning for any finite ``a`` (``exp(-a)`` would overflow for
    a < -88 in float32), and the dtype is kept.
    """
    a *= 0.5
    np.tanh(a, out=a)
    a *= 0.5
    a += 0.5
    return a


def sigmoid(a: np.ndarray) -> np.ndarray:
    """Out-of-place :func:`sigmoid_` (keeps the dtype of ``a``)."""
    return sigmoid_(np.array(a, copy=True))


def log_softmax(scores: np.ndarray) -> np.ndarray:
    """Numerically stable log-softmax along the last axis (shift by the row maximum)."""
    shifted = scores - scores.max(axis=-1, keepdims=True)
    shifted -= np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    return shifted
