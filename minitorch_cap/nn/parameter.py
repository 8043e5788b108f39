"""`Parameter`: a trainable array and the gradient accumulated into it."""

from __future__ import annotations

import numpy as np


class Parameter:
    """A trainable array ``data`` with a gradient buffer ``grad`` of the same shape and dtype.

    ``grad`` starts at zeros. Modules *add* into it during ``backward`` (as in Torch);
    ``zero_grad()`` resets it. Writing into ``p.data[...]`` in place changes the model
    that owns the parameter.
    """

    __slots__ = ("data", "grad")

    def __init__(self, data: np.ndarray, dtype=None):
        array = np.array(data, dtype=dtype, copy=True)
        if not np.issubdtype(array.dtype, np.floating):
            raise TypeError(f"Parameter: expected floating-point data, got dtype {array.dtype}")
        self.data = array
        self.grad = np.zeros_like(array)

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def size(self) -> int:
        return self.data.size

    def zero_grad(self) -> None:
        self.grad.fill(0)

    def astype(self, dtype) -> None:
        """Convert data and gradient to ``dtype`` in place (the object keeps its identity)."""
        self.data = self.data.astype(dtype)
        self.grad = self.grad.astype(dtype)

    def __repr__(self) -> str:
        return f"Parameter(shape={self.data.shape}, dtype={self.data.dtype})"
