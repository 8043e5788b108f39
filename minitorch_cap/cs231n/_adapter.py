"""How the course's functions sit on the library's modules: one module instance per call.

A course function such as ``rnn_forward(x, h0, Wx, Wh, b) -> (h, cache)`` builds the
library's module (here ``RNN``) in the dtype of its inputs, copies the given weights into
it, runs the module's ``forward`` and returns that module inside the :class:`Cache`. The
matching backward runs the module's ``backward`` and returns its input gradients and the
weight gradients it accumulated. The maths lives only in the modules.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..nn.checks import float_input
from ..nn.module import Module


@dataclass(frozen=True)
class Cache:
    """What a course forward function hands to its backward.

    ``made_by`` names the forward function, ``module`` is the library module that ran the
    forward (it keeps what its backward needs), ``shape`` the shape of the forward's main input.
    """

    made_by: str
    module: Module
    shape: tuple

    def __repr__(self) -> str:
        return f"Cache(made_by={self.made_by!r}, module={type(self.module).__name__}, shape={self.shape})"


def input_dtype(owner: str, *arrays) -> np.dtype:
    """The module dtype for these inputs: numpy's promotion of their dtypes, float32 or float64.

    float64 whenever one input is float64 (the course's gradient checks) or an integer array;
    float32 only when every real input is float32 or narrower. Never a silent cast to float32.
    Inputs that are not numbers raise ``TypeError`` naming ``owner``.
    """
    dtypes = [np.asarray(a).dtype for a in arrays]
    try:
        dtype = np.result_type(*dtypes)
    except TypeError:
        raise TypeError(f"{owner}: expected real-valued arrays, got dtypes {[d.name for d in dtypes]}") from None
    if np.issubdtype(dtype, np.floating) and dtype.itemsize <= 4:
        return np.dtype(np.float32)
    return np.dtype(np.float64)


def weight(owner: str, name: str, value, dtype, shape: tuple, letters: tuple) -> np.ndarray:
    """A real-valued array of exactly ``shape`` (read as ``letters``, e.g. ``("D", "4H")``) in ``dtype``."""
    array = np.asarray(value)
    if array.shape != tuple(shape):
        raise ValueError(f"{owner}: expected {name} of shape ({', '.join(letters)}) = {tuple(shape)}, "
                         f"got shape {array.shape}")
    return float_input(owner, name, array, dtype, **{f"axis{i}": n for i, n in enumerate(shape)})


def build(cls, dtype, *dims, **weights) -> Module:
    """``cls(*dims, dtype=dtype)`` holding the given (already checked) weight arrays; numpy's global
    random state is left untouched."""
    # a private generator: building the module leaves numpy's global random state (which the
    # course's notebooks seed before every check) as it was; its draws are replaced below
    module = cls(*dims, dtype=dtype, rng=np.random.default_rng(0))
    for name, array in weights.items():
        getattr(module, name).data[...] = array
    return module


def cached_module(owner: str, cache, made_by: str) -> Module:
    """The module of a cache made by ``made_by``, or a clear ``TypeError``.

    Every course backward calls this before it reads anything from ``cache`` (its shape
    included), so that any other value (the cache of another function, the tuple a student's
    own forward returns) is named, never an ``AttributeError`` from inside.
    """
    if not isinstance(cache, Cache) or cache.made_by != made_by:
        got = repr(cache.made_by) if isinstance(cache, Cache) else f"a {type(cache).__name__}"
        raise TypeError(f"{owner}: expected the cache returned by {made_by}, got {got}")
    return cache.module


def fresh_grads(module: Module) -> Module:
    """Give every parameter a new zero ``.grad`` so a backward returns this call's gradients only.

    New arrays (not zeroed in place): gradients returned by an earlier backward stay as they were.
    """
    for param in module.parameters():
        param.grad = np.zeros_like(param.data)
    return module
