"""The course's ``cs231n/layers.py`` as assignment 3 uses it: ``affine_forward`` / ``affine_backward``.

Shapes: N batch, D = d_1 * ... * d_k input size, M output size. The work is done by
``minitorch_cap.nn.Affine``, built in the dtype of the inputs; the ``cache`` holds it.
"""

from __future__ import annotations

import numpy as np

from ..nn import Affine
from ..nn.checks import float_input
from ._adapter import Cache, build, cached_module, fresh_grads, input_dtype, weight

__all__ = ["affine_forward", "affine_backward"]


def affine_forward(x, w, b):
    """``out = x.reshape(N, D) @ w + b``: x (N, d_1, ..., d_k), w (D, M), b (M,) -> ``(out (N, M), cache)``."""
    owner = "affine_forward"
    dtype = input_dtype(owner, x, w, b)
    x = np.asarray(x)
    if x.ndim < 1:
        raise ValueError(f"{owner}: expected x of shape (N, d_1, ..., d_k), got a scalar")
    x2 = float_input(owner, "x", x.reshape(x.shape[0], -1), dtype, N=None, D=None)
    w = float_input(owner, "w", w, dtype, D=x2.shape[1], M=None)
    affine = build(Affine, dtype, *w.shape, W=w, b=weight(owner, "b", b, dtype, (w.shape[1],), ("M",)))
    return affine.forward(x2), Cache(owner, affine, x.shape)


def affine_backward(dout, cache):
    """Backward of :func:`affine_forward`: dout (N, M) -> ``(dx (N, d_1, ..., d_k), dw (D, M), db (M,))``.

    A ``cache`` not returned by ``affine_forward`` raises ``TypeError`` naming the one expected.
    """
    dx, dw, db = backward_of_affine("affine_backward", "affine_forward", dout, cache, "N")
    return dx.reshape(cache.shape), dw, db


def backward_of_affine(owner: str, forward: str, dout, cache, batch_axes: str):
    """The backward of an ``Affine``/``TemporalAffine`` cached by ``forward``: ``(dx, dw, db)``.

    ``dout`` must have the leading sizes ``batch_axes`` (``"N"`` or ``"NT"``) of the forward's
    input, read from the cache once it is known to be ``forward``'s (else ``TypeError``).
    """
    affine = cached_module(owner, cache, forward)
    dims = dict(zip(batch_axes, cache.shape))
    dout = float_input(owner, "dout", dout, affine.dtype, **dims, M=affine.out_dim)
    dx = fresh_grads(affine).backward(dout)
    return dx, affine.W.grad, affine.b.grad
