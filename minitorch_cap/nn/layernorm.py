"""Layer normalisation over the last axis (Ba, Kiros and Hinton 2016; PyTorch's ``nn.LayerNorm``).

Shapes: ``x (..., E)`` (for example ``(N, T, E)``), E = ``dim``.
"""

from __future__ import annotations

import numpy as np

from .checks import float_array, int_option
from .module import Module
from .parameter import Parameter


class LayerNorm(Module):
    """``y = (x - mean) / sqrt(var + eps) * gamma + beta`` over the last axis of ``x (..., E)``.

    The variance is the biased one (divided by E), as PyTorch. ``gamma (E,)`` starts at ones,
    ``beta (E,)`` at zeros. ``backward(dout)`` returns ``dx`` and adds into ``gamma.grad``
    and ``beta.grad``:
    ``dx = rstd * (g - mean(g) - xhat * mean(g * xhat))`` with ``g = dout * gamma``.
    """

    def __init__(self, dim: int, eps: float = 1e-5, dtype=np.float32):
        super().__init__(dtype)
        self.dim = int_option("LayerNorm", "dim", dim)
        if not (isinstance(eps, (int, float)) and not isinstance(eps, bool) and eps > 0):
            raise ValueError(f"LayerNorm: eps must be a positive number, got {eps!r}")
        self.eps = float(eps)
        self.gamma = Parameter(np.ones(self.dim), self.dtype)
        self.beta = Parameter(np.zeros(self.dim), self.dtype)

    def _check(self, owner: str, x) -> np.ndarray:
        x = float_array(owner, "x", x, self.dtype)
        if x.ndim < 1 or x.shape[-1] != self.dim:
            raise ValueError(f"{owner}: expected x of shape (..., E={self.dim}), got shape {x.shape}")
        return x

    @staticmethod
    def _mean_of_products(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """``mean(a * b)`` over the last axis, shape ``(..., 1)``, without forming ``a * b``."""
        return (np.einsum("...i,...i->...", a, b) / a.shape[-1])[..., None]

    def _normalize(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(xhat, rstd)``: the normalised input and ``1 / sqrt(var + eps)`` (shape ``(..., 1)``)."""
        xhat = x - x.mean(axis=-1, keepdims=True)
        var = self._mean_of_products(xhat, xhat)
        var += self.dtype.type(self.eps)
        rstd = 1.0 / np.sqrt(var)
        xhat *= rstd
        return xhat, rstd

    def forward(self, x):
        x = self._check("LayerNorm.forward", x)
        xhat, rstd = self._normalize(x)
        self._save_for_backward(xhat=xhat, rstd=rstd)
        out = xhat * self.gamma.data
        out += self.beta.data
        return out

    def backward(self, dout):
        cache = self._saved()
        xhat, rstd = cache["xhat"], cache["rstd"]
        dout = float_array("LayerNorm.backward", "dout", dout, self.dtype, xhat.shape)
        dout2, xhat2 = dout.reshape(-1, self.dim), xhat.reshape(-1, self.dim)
        self.gamma.grad += np.einsum("ij,ij->j", dout2, xhat2)              # sum over the rows of dout * xhat
        self.beta.grad += dout2.sum(axis=0)
        g = dout * self.gamma.data
        dx = g - g.mean(axis=-1, keepdims=True)
        dx -= xhat * self._mean_of_products(g, xhat)
        dx *= rstd
        return dx

    def extra_repr(self) -> str:
        return f"dim={self.dim}, eps={self.eps:g}, dtype={self.dtype.name}"
