"""Multi-head scaled dot-product attention (Vaswani et al. 2017), as CS231n's ``MultiHeadAttention``.

Shapes: N batch, S query length, L key/value length, E = embed_dim, H = num_heads,
Dh = E / H (head size).
"""

from __future__ import annotations

import math

import numpy as np

from .affine import Affine
from .checks import float_input, int_option, mask_input
from .dropout import Dropout, as_generator
from .module import Module


def causal_mask(T: int) -> np.ndarray:
    """``(T, T)`` bool, True on and below the diagonal: position t may attend to positions <= t.

    The convention of :class:`MultiHeadAttention` (True = may attend; the course's
    ``torch.tril(torch.ones(T, T))``), the opposite of ``torch.nn.MultiheadAttention``'s.
    """
    T = int_option("causal_mask", "T", T, low=0)
    return np.tri(T, T, dtype=bool)


def affine_infer(layer: Affine, x2: np.ndarray) -> np.ndarray:
    """``x2 @ W + b`` for ``x2 (M, D)`` without touching the layer's cache (decoding steps)."""
    out = x2 @ layer.W.data
    out += layer.b.data
    return out


def masked_softmax(scores: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """Softmax over the last axis of ``scores (..., S, L)``, in place, where ``mask (S, L)`` is False
    the weight is 0.

    Stable: each row is shifted by its largest allowed score. A row with no allowed
    position gets all-zero weights (not NaN, which is what PyTorch gives); its output
    is then the zero vector before the output projection, and its gradient is zero.
    """
    if mask is not None:
        np.copyto(scores, -np.inf, where=~mask)
    top = scores.max(axis=-1, keepdims=True)
    if mask is not None and not mask.any(axis=-1).all():
        top[~np.isfinite(top)] = 0.0                      # fully masked rows: exp(-inf - 0) = 0
    scores -= top
    np.exp(scores, out=scores)
    total = scores.sum(axis=-1, keepdims=True)
    if mask is not None:
        total[total == 0] = 1.0
    scores /= total
    return scores


class MultiHeadAttention(Module):
    """``forward(query (N,S,E), key (N,L,E), value (N,L,E), attn_mask=None) -> (N,S,E)``.

    Children ``key``, ``query``, ``value``, ``proj``: Affine(E, E) (registered in the
    course's order), and ``attn_drop``: Dropout(p) on the attention weights. Per head h:
    ``A_h = softmax(Q_h K_h^T / sqrt(Dh))`` with ``Q = query W_q + b_q`` split into H heads
    of Dh columns (likewise K, V); ``out = concat_h(dropout(A_h) V_h) W_proj + b_proj``.
    ``attn_mask (S, L)`` bool: False = may not attend (a fully masked row gets zero weights,
    see :func:`masked_softmax`). All heads are one batched matrix product.

    ``attn_weights`` holds the softmax weights ``(N, H, S, L)`` of the last forward (before
    dropout), in eval mode too, and of the last :meth:`attend`.
    ``backward(dout)`` returns ``(dquery, dkey, dvalue)``; for self-attention the caller
    sums them.

    Initialisation: the library's Affine default (``randn / sqrt(E)``, zero biases);
    ``rng`` (Generator, int seed or None for numpy's global state) draws the weights and
    the dropout masks. The CaptioningTransformer applies the course's normal(0, 0.02).

    Decoding with a key/value cache uses :meth:`project_kv` once per new key/value and
    :meth:`attend` per query; neither keeps a cache nor applies dropout.
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.1, dtype=np.float32, rng=None):
        super().__init__(dtype)
        owner = "MultiHeadAttention"
        self.embed_dim = int_option(owner, "embed_dim", embed_dim)
        self.num_heads = int_option(owner, "num_heads", num_heads)
        if self.embed_dim % self.num_heads:
            raise ValueError(f"{owner}: embed_dim ({self.embed_dim}) must be divisible by num_heads ({self.num_heads})")
        self.head_dim = self.embed_dim // self.num_heads
        rng = as_generator(rng, owner)
        E = self.embed_dim
        self.key = Affine(E, E, dtype=dtype, rng=rng)
        self.query = Affine(E, E, dtype=dtype, rng=rng)
        self.value = Affine(E, E, dtype=dtype, rng=rng)
        self.proj = Affine(E, E, dtype=dtype, rng=rng)
        self.attn_drop = Dropout(dropout, rng=rng, dtype=dtype)
        self.attn_weights = None

    # ------------------------------------------------------------------ helpers
    def _split(self, x2: np.ndarray, N: int, S: int) -> np.ndarray:
        """``(N*S, E) -> (N, H, S, Dh)`` (a view)."""
        return x2.reshape(N, S, self.num_heads, self.head_dim).transpose(0, 2, 1, 3)

    def _merge(self, xh: np.ndarray) -> np.ndarray:
        """``(N, H, S, Dh) -> (N*S, E)`` (a copy)."""
        N, _, S, _ = xh.shape
        return xh.transpose(0, 2, 1, 3).reshape(N * S, self.embed_dim)

    def _check(self, owner: str, query, key, value, attn_mask):
        E = self.embed_dim
        query = float_input(owner, "query", query, self.dtype, N=None, S=None, E=E)
        N, S, _ = query.shape
        key = float_input(owner, "key", key, self.dtype, N=N, L=None, E=E)
        L = key.shape[1]
        value = float_input(owner, "value", value, self.dtype, N=N, L=L, E=E)
        mask = None if attn_mask is None else mask_input(owner, "attn_mask", attn_mask, S=S, L=L)
        return query, key, value, mask

    @property
    def scale(self) -> float:
        return 1.0 / math.sqrt(self.head_dim)

    # ------------------------------------------------------------------ forward / backward
    def forward(self, query, key, value, attn_mask=None):
        query, key, value, mask = self._check("MultiHeadAttention.forward", query, key, value, attn_mask)
        (N, S, E), L = query.shape, key.shape[1]
        q = self._split(self.query.forward(query.reshape(N * S, E)), N, S)   # (N, H, S, Dh)
        k = self._split(self.key.forward(key.reshape(N * L, E)), N, L)       # (N, H, L, Dh)
        v = self._split(self.value.forward(value.reshape(N * L, E)), N, L)   # (N, H, L, Dh)
        q = q * self.dtype.type(self.scale)
        weights = masked_softmax(q @ k.transpose(0, 1, 3, 2), mask)          # (N, H, S, L)
        self.attn_weights = weights
        dropped = self.attn_drop.forward(weights)
        out = self.proj.forward(self._merge(dropped @ v)).reshape(N, S, E)
        self._save_for_backward(q=q, k=k, v=v, weights=weights, dropped=dropped)
        return out

    def backward(self, dout):
        c = self._saved()
        q, k, v, weights, dropped = c["q"], c["k"], c["v"], c["weights"], c["dropped"]
        N, _, S, _ = q.shape
        L, E = k.shape[2], self.embed_dim
        dout = float_input("MultiHeadAttention.backward", "dout", dout, self.dtype, N=N, S=S, E=E)
        dheads = self._split(self.proj.backward(dout.reshape(N * S, E)), N, S)  # (N, H, S, Dh)
        dv = dropped.transpose(0, 1, 3, 2) @ dheads                             # (N, H, L, Dh)
        dweights = self.attn_drop.backward(dheads @ v.transpose(0, 1, 3, 2))    # (N, H, S, L)
        dscores = dweights - np.sum(dweights * weights, axis=-1, keepdims=True)
        dscores *= weights                                                      # softmax backward
        dq = dscores @ k
        dq *= self.dtype.type(self.scale)
        dk = dscores.transpose(0, 1, 3, 2) @ q                                  # q is already scaled
        dquery = self.query.backward(self._merge(dq)).reshape(N, S, E)
        dkey = self.key.backward(self._merge(dk)).reshape(N, L, E)
        dvalue = self.value.backward(self._merge(dv)).reshape(N, L, E)
        return dquery, dkey, dvalue

    # ------------------------------------------------------------------ decoding with a cache
    def project_kv(self, key, value) -> tuple[np.ndarray, np.ndarray]:
        """Projected keys and values split into heads, ``(k, v)`` each ``(N, H, L, Dh)``.

        No cache, no dropout. Compute once for a fixed memory; for self-attention, compute
        the new positions' and concatenate them with the earlier ones along axis 2.
        """
        owner = "MultiHeadAttention.project_kv"
        E = self.embed_dim
        key = float_input(owner, "key", key, self.dtype, N=None, L=None, E=E)
        N, L, _ = key.shape
        value = float_input(owner, "value", value, self.dtype, N=N, L=L, E=E)
        k = self._split(affine_infer(self.key, key.reshape(N * L, E)), N, L)
        v = self._split(affine_infer(self.value, value.reshape(N * L, E)), N, L)
        return k, v

    def attend(self, query, k: np.ndarray, v: np.ndarray, attn_mask=None) -> np.ndarray:
        """``query (N, S, E)`` attends to projected ``k, v (N, H, L, Dh)`` (from :meth:`project_kv`)
        -> ``(N, S, E)``; the inference path of ``forward(query, key, value, attn_mask)``:
        no cache, no dropout, whatever the mode. Sets ``attn_weights (N, H, S, L)``.
        """
        owner = "MultiHeadAttention.attend"
        E, H, Dh = self.embed_dim, self.num_heads, self.head_dim
        query = float_input(owner, "query", query, self.dtype, N=None, S=None, E=E)
        N, S, _ = query.shape
        k = float_input(owner, "k", k, self.dtype, N=N, H=H, L=None, Dh=Dh)
        L = k.shape[2]
        v = float_input(owner, "v", v, self.dtype, N=N, H=H, L=L, Dh=Dh)
        mask = None if attn_mask is None else mask_input(owner, "attn_mask", attn_mask, S=S, L=L)
        q = self._split(affine_infer(self.query, query.reshape(N * S, E)), N, S)
        q = q * self.dtype.type(self.scale)
        weights = masked_softmax(q @ k.transpose(0, 1, 3, 2), mask)
        self.attn_weights = weights
        return affine_infer(self.proj, self._merge(weights @ v)).reshape(N, S, E)

    def extra_repr(self) -> str:
        return (f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, "
                f"dropout={self.attn_drop.p:g}, dtype={self.dtype.name}")
