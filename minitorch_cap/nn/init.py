"""Weight initialisation shared by the layers (CS231n's scaled Gaussians)."""

from __future__ import annotations

import numpy as np


def scaled_randn(rng: np.random.Generator | None, shape: tuple[int, ...], divisor: float) -> np.ndarray:
    """``randn(*shape) / divisor`` in float64 (the caller casts to its dtype).

    With ``rng=None`` the draw comes from numpy's global state, exactly like the course's
    ``np.random.randn``, so ``np.random.seed(231)`` reproduces a notebook's initial
    weights; pass a ``numpy.random.Generator`` for an isolated, seeded draw.
    """
    if rng is None:
        return np.random.randn(*shape) / divisor
    return rng.standard_normal(shape) / divisor
