"""Weight initialisation shared by the layers (CS231n's scaled Gaussians)."""

from __future__ import annotations

import numbers

import numpy as np


def as_generator(rng, owner: str) -> np.random.Generator | None:
    """The one rule for an ``rng`` argument: ``None`` (numpy's global state), an int seed or a
    ``numpy.random.Generator`` -> a Generator or None; ``TypeError`` naming ``owner`` otherwise.

    A constructor calls it once, so that an int seed starts one stream for all its draws.
    """
    if rng is None or isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool):
        return np.random.default_rng(int(rng))
    raise TypeError(f"{owner}: rng must be None, an int seed or a numpy.random.Generator, got {type(rng).__name__}")


def scaled_randn(rng: np.random.Generator | None, shape: tuple[int, ...], divisor: float) -> np.ndarray:
    """``randn(*shape) / divisor`` in float64 (the caller casts to its dtype).

    With ``rng=None`` the draw comes from numpy's global state, exactly like the course's
    ``np.random.randn``, so ``np.random.seed(231)`` reproduces a notebook's initial
    weights; pass a ``numpy.random.Generator`` for an isolated, seeded draw.
    """
    if rng is None:
        return np.random.randn(*shape) / divisor
    return as_generator(rng, "scaled_randn").standard_normal(shape) / divisor
