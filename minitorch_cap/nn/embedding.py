"""Word embedding: a lookup table of word vectors.

Shapes: N batch, T time steps, V vocabulary size, D word-vector size.
"""

from __future__ import annotations

import numpy as np

from .checks import float_input, index_input, int_option
from .init import as_generator, scaled_randn
from .module import Module
from .parameter import Parameter


class Embedding(Module):
    """``idx (N, T) int -> W[idx] (N, T, D)``; weights ``W (V, D)``, initialised ``randn / 100``.

    Ids must lie in ``[0, V)``; negative ids are refused rather than wrapped around.
    ``vocab_size`` and ``dim`` must be integers >= 1 (``ValueError`` otherwise).
    ``backward(dout)`` scatter-adds ``dout`` into ``W.grad`` and returns ``None``
    (an integer input has no gradient).

    ``padding_idx`` (keyword, default None), as PyTorch's ``nn.Embedding``: the id of the
    padding word (the captioners' ``<NULL>``), an integer in ``[0, V)``. Its row starts as
    zeros and gets no gradient: positions holding it add nothing to ``W.grad`` (the
    course's Transformer captioner embeds its words this way; CS231n's CaptioningRNN does not).
    """

    def __init__(self, vocab_size: int, dim: int, dtype=np.float32, rng=None, *, padding_idx: int | None = None):
        super().__init__(dtype)
        self.vocab_size = int_option("Embedding", "vocab_size", vocab_size)
        self.dim = int_option("Embedding", "dim", dim)
        if padding_idx is not None:
            padding_idx = int_option("Embedding", "padding_idx", padding_idx, low=0)
            if padding_idx >= self.vocab_size:
                raise ValueError(f"Embedding: padding_idx must lie in [0, vocab_size={self.vocab_size}), "
                                 f"got {padding_idx}")
        self.padding_idx = padding_idx
        self.W = Parameter(scaled_randn(as_generator(rng, "Embedding"), (self.vocab_size, self.dim), 100.0), self.dtype)
        if padding_idx is not None:
            self.W.data[padding_idx] = 0.0

    def forward(self, idx):
        idx = index_input("Embedding.forward", "idx", idx, self.vocab_size, N=None, T=None)
        self._save_for_backward(idx=idx)  # idx (N, T)
        return self.W.data[idx]

    def backward(self, dout):
        idx = self._saved()["idx"]
        N, T = idx.shape
        dout = float_input("Embedding.backward", "dout", dout, self.dtype, N=N, T=T, D=self.dim)
        ids, dout = idx.reshape(-1), dout.reshape(N * T, self.dim)
        if self.padding_idx is not None:
            used = np.flatnonzero(ids != self.padding_idx)     # padding positions add no gradient
            ids, dout = ids[used], dout[used]
        scatter_add_rows(self.W.grad, ids, dout)
        return None

    def extra_repr(self) -> str:
        padding = "" if self.padding_idx is None else f", padding_idx={self.padding_idx}"
        return f"vocab_size={self.vocab_size}, dim={self.dim}{padding}, dtype={self.dtype.name}"


def scatter_add_rows(target: np.ndarray, rows: np.ndarray, values: np.ndarray) -> None:
    """``target[rows[k]] += values[k]`` for every k, with repeated rows summed (in place).

    target (V, D), rows (K,) int, values (K, D).
    Sorts the rows once and sums each run of equal rows with ``np.add.reduceat``: the same
    sums as ``np.add.at`` (up to float rounding order), several times faster.
    """
    if rows.size == 0:
        return
    order = np.argsort(rows, kind="stable")
    sorted_rows = rows[order]
    starts = np.flatnonzero(np.r_[True, sorted_rows[1:] != sorted_rows[:-1]])  # first k of each run
    target[sorted_rows[starts]] += np.add.reduceat(values[order], starts, axis=0)
