"""Affine layers: ``y = x @ W + b`` on a batch of vectors or of sequences.

Shapes: N batch, T time steps, D input size, M output size.
"""

from __future__ import annotations

import numpy as np

from .checks import float_input, int_option
from .init import as_generator, scaled_randn
from .module import Module
from .parameter import Parameter


class Affine(Module):
    """``x (N, D) -> x @ W + b (N, M)``; weights ``W (D, M)``, ``b (M,)``.

    ``W`` starts as ``randn(D, M) / sqrt(D)`` (CS231n), ``b`` as zeros. ``in_dim`` and
    ``out_dim`` must be integers >= 1 (``ValueError`` otherwise). A batch of N = 0 rows works.
    """

    def __init__(self, in_dim: int, out_dim: int, dtype=np.float32, rng=None):
        super().__init__(dtype)
        owner = type(self).__name__
        self.in_dim, self.out_dim = int_option(owner, "in_dim", in_dim), int_option(owner, "out_dim", out_dim)
        self.W = Parameter(scaled_randn(as_generator(rng, owner), (self.in_dim, self.out_dim), np.sqrt(self.in_dim)), self.dtype)
        self.b = Parameter(np.zeros(self.out_dim), self.dtype)

    def forward(self, x):
        x = float_input("Affine.forward", "x", x, self.dtype, N=None, D=self.in_dim)
        self._save_for_backward(x=x)  # x (N, D)
        out = x @ self.W.data
        out += self.b.data
        return out

    def backward(self, dout):
        x = self._saved()["x"]
        dout = float_input("Affine.backward", "dout", dout, self.dtype, N=x.shape[0], M=self.out_dim)
        self.W.grad += x.T @ dout
        self.b.grad += dout.sum(axis=0)
        return dout @ self.W.data.T

    def extra_repr(self) -> str:
        return f"in_dim={self.in_dim}, out_dim={self.out_dim}, dtype={self.dtype.name}"


class TemporalAffine(Affine):
    """``x (N, T, D) -> x @ W + b (N, T, M)``: one Affine applied at every time step.

    Same parameters as :class:`Affine`; the whole sequence is one matrix product.
    """

    def forward(self, x):
        x = float_input("TemporalAffine.forward", "x", x, self.dtype, N=None, T=None, D=self.in_dim)
        N, T, D = x.shape
        x2 = x.reshape(N * T, D)
        self._save_for_backward(x2=x2, N=N, T=T)  # x2 (N*T, D)
        out = x2 @ self.W.data
        out += self.b.data
        return out.reshape(N, T, self.out_dim)

    def backward(self, dout):
        cache = self._saved()
        x2, N, T = cache["x2"], cache["N"], cache["T"]
        dout = float_input("TemporalAffine.backward", "dout", dout, self.dtype, N=N, T=T, M=self.out_dim)
        dout2 = dout.reshape(N * T, self.out_dim)
        self.W.grad += x2.T @ dout2
        self.b.grad += dout2.sum(axis=0)
        return (dout2 @ self.W.data.T).reshape(N, T, self.in_dim)
