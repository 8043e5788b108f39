"""Sinusoidal positional encoding (Vaswani et al. 2017, section 3.5), as CS231n's ``PositionalEncoding``.

Shapes: N batch, S sequence length, E = embed_dim.
"""

from __future__ import annotations

import numpy as np

from .checks import float_input, int_option
from .dropout import Dropout
from .module import Module


def sinusoid_table(max_len: int, embed_dim: int) -> np.ndarray:
    """``P (max_len, E)`` float64: ``P[i, 2j] = sin(i * 10000^(-2j/E))``, ``P[i, 2j+1] = cos(i * 10000^(-2j/E))``.

    An odd E is allowed: the last column is a sine (the formula defines every column).
    """
    i = np.arange(max_len, dtype=np.float64)[:, None]
    rates = np.power(10000.0, -np.arange(0, embed_dim, 2, dtype=np.float64) / embed_dim)  # (ceil(E/2),)
    table = np.empty((max_len, embed_dim))
    table[:, 0::2] = np.sin(i * rates)
    table[:, 1::2] = np.cos(i * rates[: embed_dim // 2])
    return table


class PositionalEncoding(Module):
    """``x (N, S, E) -> dropout(x + P[start:start+S])`` with the sinusoid table ``P`` of
    :func:`sinusoid_table`; ``start`` (default 0) is the position of ``x``'s first row.

    No parameters (``P`` is a fixed buffer, ``pe``, kept in float64 and cast to the
    module's dtype when added). Positions may not reach ``max_len``. ``backward(dout)``
    returns ``dx`` (the dropout's backward). Child ``dropout``: Dropout(p, rng).
    Decoding one position at a time calls ``forward(x, start=P)`` under ``inference_mode()``
    (no dropout, no cache).
    """

    def __init__(self, embed_dim: int, dropout: float = 0.1, max_len: int = 5000, dtype=np.float32, rng=None):
        super().__init__(dtype)
        self.embed_dim = int_option("PositionalEncoding", "embed_dim", embed_dim)
        self.max_len = int_option("PositionalEncoding", "max_len", max_len)
        self.pe = sinusoid_table(self.max_len, self.embed_dim)
        self.dropout = Dropout(dropout, rng=rng, dtype=dtype)

    def forward(self, x, start: int = 0):
        owner = "PositionalEncoding.forward"
        start = int_option(owner, "start", start, low=0)
        x = float_input(owner, "x", x, self.dtype, N=None, S=None, E=self.embed_dim)
        S = x.shape[1]
        if start + S > self.max_len:
            raise ValueError(
                f"{owner}: positions {start}..{start + S - 1} exceed max_len={self.max_len} "
                "(build the module with a larger max_len)"
            )
        out = self.dropout.forward(x + self.pe[start:start + S].astype(self.dtype, copy=False))
        self._save_for_backward(shape=out.shape)  # the dropout child holds the mask
        return out

    def backward(self, dout):
        N, S, E = self._saved()["shape"]
        dout = float_input("PositionalEncoding.backward", "dout", dout, self.dtype, N=N, S=S, E=E)
        return self.dropout.backward(dout)

    def extra_repr(self) -> str:
        return f"embed_dim={self.embed_dim}, max_len={self.max_len}, dtype={self.dtype.name}"
