"""Inverted dropout with a seeded generator, and the switch that turns it off for checks.

Shapes: any; the output has the shape and dtype of the input.
"""

from __future__ import annotations

import contextlib
import numbers
from typing import Iterator

import numpy as np

from .checks import float_array
from .module import Module, inference_enabled


def as_generator(rng, owner: str) -> np.random.Generator | None:
    """``None`` (numpy's global state), an int seed or a ``numpy.random.Generator`` -> Generator or None."""
    if rng is None or isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool):
        return np.random.default_rng(int(rng))
    raise TypeError(f"{owner}: rng must be None, an int seed or a numpy.random.Generator, got {type(rng).__name__}")


class Dropout(Module):
    """Inverted dropout: in training, each element is zeroed with probability ``p`` and the
    survivors are scaled by ``1 / (1 - p)`` (so the expected output is the input); in eval
    mode, under ``inference_mode()`` (prediction: no mask is drawn), with ``p = 0`` or while
    switched off, the input is returned unchanged.

    ``rng``: a ``numpy.random.Generator``, an int seed, or ``None`` for numpy's global state
    (so ``np.random.seed`` makes a run repeatable, as the library's initialisers do).
    ``p = 1`` zeroes everything.

    Switching off for checks: ``enabled`` (True at creation) makes a training-mode forward
    the identity when False; :func:`dropout_disabled` sets it on every Dropout inside a
    module for the duration of a ``with`` block (gradient checks and oracle comparisons run
    in training mode, where a cache is kept, but need a deterministic function).

    ``backward(dout)`` returns ``dout`` times the mask of the last forward.
    """

    def __init__(self, p: float = 0.1, rng=None, dtype=np.float32):
        super().__init__(dtype)
        if isinstance(p, bool) or not isinstance(p, numbers.Real) or not 0.0 <= float(p) <= 1.0:
            raise ValueError(f"Dropout: p must be a probability in [0, 1], got {p!r}")
        self.p = float(p)
        self.rng = as_generator(rng, "Dropout")
        self.enabled = True

    @property
    def active(self) -> bool:
        """True when a forward would drop elements (training, enabled, ``p > 0``, no ``inference_mode``)."""
        return self.training and self.enabled and self.p > 0.0 and not inference_enabled()

    def forward(self, x):
        x = float_array("Dropout.forward", "x", x, self.dtype)
        if not self.active:
            self._save_for_backward(scale=None, shape=x.shape)
            return x
        if self.p >= 1.0:
            scale = np.zeros(x.shape, dtype=self.dtype)
        else:
            draw = np.random.random_sample(x.shape) if self.rng is None else self.rng.random(x.shape, dtype=self.dtype)
            scale = (draw >= self.p).astype(self.dtype)
            scale *= self.dtype.type(1.0 / (1.0 - self.p))
        self._save_for_backward(scale=scale, shape=x.shape)
        return x * scale

    def backward(self, dout):
        cache = self._saved()
        dout = float_array("Dropout.backward", "dout", dout, self.dtype, cache["shape"])
        return dout if cache["scale"] is None else dout * cache["scale"]

    def extra_repr(self) -> str:
        return f"p={self.p:g}" + ("" if self.enabled else ", enabled=False")


def dropouts(module: Module) -> Iterator[Dropout]:
    """Every :class:`Dropout` inside ``module`` (itself included)."""
    return (m for m in module.modules() if isinstance(m, Dropout))


@contextlib.contextmanager
def dropout_disabled(module: Module):
    """``with dropout_disabled(model): ...`` runs every Dropout inside ``model`` as the identity,
    in training mode too (caches are kept, so backward works); the previous settings are
    restored on exit. A copy made inside the block (``check_module`` deep-copies) keeps
    dropout off.
    """
    layers = list(dropouts(module))
    before = [layer.enabled for layer in layers]
    for layer in layers:
        layer.enabled = False
    try:
        yield module
    finally:
        for layer, enabled in zip(layers, before):
            layer.enabled = enabled
