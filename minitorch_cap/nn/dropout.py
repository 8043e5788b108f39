"""Inverted dropout with a seeded generator, the switch that turns it off for checks, and the
binding through which a training run draws every mask from its own stream.

Shapes: any; the output has the shape and dtype of the input.
"""

from __future__ import annotations

import contextlib
import numbers
from typing import Iterator

import numpy as np

from .checks import float_array
from .init import as_generator
from .module import Module, inference_enabled


class Dropout(Module):
    """Inverted dropout: in training, each element is zeroed with probability ``p`` and the
    survivors are scaled by ``1 / (1 - p)`` (so the expected output is the input); in eval
    mode, under ``inference_mode()`` (prediction: no mask is drawn), with ``p = 0`` or while
    switched off, the input is returned unchanged.

    ``rng``: a ``numpy.random.Generator``, an int seed, or ``None`` for numpy's global state
    (so ``np.random.seed`` makes a run repeatable, as the library's initialisers do).
    ``p = 1`` zeroes everything.

    Where the uniform numbers come from: ``source`` when one is bound (``None`` at
    creation; :func:`dropout_source` binds one for the duration of a ``with`` block: the
    ``Trainer`` binds its run's mask stream around each training step), else ``rng``, else
    numpy's global state. A source is any object with ``random(shape, dtype) -> array`` of
    uniform numbers in ``[0, 1)``; an element is dropped where its number is below ``p``.
    The Trainer's source draws by rows of the minibatch: a Dropout input must hold the batch
    (one row per caption) on axis 0, possibly flattened with the axes after it (``(N, T, E)``,
    ``(N * T, F)``, ``(N, H, S, L)``), never time-major.

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
        self.source = None      # bound by dropout_source(); takes precedence over rng
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
            scale = (self._uniform(x.shape) >= self.p).astype(self.dtype)
            scale *= self.dtype.type(1.0 / (1.0 - self.p))
        self._save_for_backward(scale=scale, shape=x.shape)
        return x * scale

    def _uniform(self, shape: tuple[int, ...]) -> np.ndarray:
        """Uniform numbers in [0, 1) of ``shape``: from the bound source, else ``rng``, else numpy's global state."""
        if self.source is not None:
            return self.source.random(shape, self.dtype)
        if self.rng is None:
            return np.random.random_sample(shape)
        return self.rng.random(shape, dtype=self.dtype)

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
def _every_dropout(module: Module, attribute: str, value):
    """Set ``attribute`` of every Dropout inside ``module`` to ``value`` for a with-block; restored on exit."""
    layers = list(dropouts(module))
    before = [getattr(layer, attribute) for layer in layers]
    for layer in layers:
        setattr(layer, attribute, value)
    try:
        yield module
    finally:
        for layer, previous in zip(layers, before):
            setattr(layer, attribute, previous)


def dropout_disabled(module: Module):
    """``with dropout_disabled(model): ...`` runs every Dropout inside ``model`` as the identity,
    in training mode too (caches are kept, so backward works); the previous settings are
    restored on exit. A copy made inside the block (``check_module`` deep-copies) keeps
    dropout off.
    """
    return _every_dropout(module, "enabled", False)


def dropout_source(module: Module, source):
    """``with dropout_source(model, source): ...`` makes every Dropout inside ``model`` draw its
    masks from ``source`` (an object with ``random(shape, dtype)``, see :class:`Dropout`)
    instead of its own ``rng``; the previous sources are restored on exit, so the model's own
    generator (or numpy's global state) is untouched and serves it again afterwards.

    The ``Trainer`` binds its run's mask stream this way around each training step
    (:mod:`minitorch_cap.training.randomness`). Returns ``module``.
    """
    if not callable(getattr(source, "random", None)):
        raise TypeError(f"dropout_source: source must have a random(shape, dtype) method, got {type(source).__name__}")
    return _every_dropout(module, "source", source)
