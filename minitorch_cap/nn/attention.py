"""Multi-head scaled dot-product attention (Vaswani et al. 2017), as CS231n's ``MultiHeadAttention``.

Shapes: N batch, S query length, L key/value length, E = embed_dim, H = num_heads,
Dh = E / H (head size), P positions held by a decoding cache, M rows actually computed.
"""

from __future__ import annotations

import math

import numpy as np

from .affine import Affine
from .checks import SettingsError, float_input, int_option, lengths_input, mask_input
from .dropout import Dropout
from .init import as_generator
from .module import Module, inference_enabled


def causal_mask(T: int) -> np.ndarray:
    """``(T, T)`` bool, True on and below the diagonal: position t may attend to positions <= t.

    The convention of :class:`MultiHeadAttention` (True = may attend; the course's
    ``torch.tril(torch.ones(T, T))``), the opposite of ``torch.nn.MultiheadAttention``'s.
    """
    T = int_option("causal_mask", "T", T, low=0)
    return np.tri(T, T, dtype=bool)


# ---------------------------------------------------------------------------- ragged batches
# A batch of sequences of lengths (N,) padded to T is computed on its M = sum(lengths) real
# positions only: the position-wise products take those rows of the (N*T, D) layout, and the
# results go back into zeros of that layout where a per-sequence step (attention, dropout)
# needs it.

def length_rows(lengths: np.ndarray | None, T: int) -> np.ndarray | None:
    """Flat indices, in ``N*T`` order, of the positions ``t < lengths[n]`` (None: every position)."""
    if lengths is None:
        return None
    return np.flatnonzero(np.arange(T) < lengths[:, None])


def take_rows(x2: np.ndarray, rows: np.ndarray | None) -> np.ndarray:
    """Rows ``rows`` of ``x2 (N*T, D)`` -> ``(M, D)``; ``x2`` itself when ``rows`` is None."""
    return x2 if rows is None else x2[rows]


def put_rows(values: np.ndarray, rows: np.ndarray | None, n: int) -> np.ndarray:
    """``values (M, D)`` at rows ``rows`` of ``n`` rows of zeros -> ``(n, D)``; ``values`` when ``rows`` is None."""
    if rows is None:
        return values
    out = np.zeros((n,) + values.shape[1:], dtype=values.dtype)
    out[rows] = values
    return out


def masked_softmax(scores: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """Softmax over the last axis of ``scores (..., S, L)``, in place; where ``mask`` (``(S, L)``,
    or any shape that broadcasts to ``scores``, e.g. ``(N, 1, S, L)``) is False the weight is 0.

    Stable: each row is shifted by its largest allowed score. A row with no allowed
    position gets all-zero weights (not NaN, which is what PyTorch gives); its output
    is then the zero vector before the output projection, and its gradient is zero.
    """
    if scores.size == 0:
        return scores
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


class KeyValueCache:
    """What one :class:`MultiHeadAttention` keeps while decoding: the projected keys and values
    ``k``, ``v`` (each ``(N, H, P, Dh)``) of the P positions it has read (``None`` when empty).

    ``attn.forward(query, key, value, cache=c)`` under ``inference_mode()`` appends the
    projections of ``key`` and ``value`` to ``c`` and lets the query attend to every position
    in ``c``; with ``key = value = None`` it appends nothing. Self-attention passes its new
    positions at each step, cross-attention its memory once and ``None`` afterwards, so each
    projection is computed once. A forward rebinds ``c.k`` and ``c.v`` to new arrays: an array
    read from a cache is never changed in place (beam search shares them between beams).
    """

    def __init__(self, k: np.ndarray | None = None, v: np.ndarray | None = None):
        if (k is None) != (v is None):
            raise ValueError("KeyValueCache: k and v go together (both arrays or both None)")
        self.k, self.v = k, v

    @property
    def length(self) -> int:
        """P, the number of positions held."""
        return 0 if self.k is None else int(self.k.shape[2])

    @property
    def batch_size(self) -> int | None:
        """N, or None for a cache that has read nothing yet."""
        return None if self.k is None else int(self.k.shape[0])

    def append(self, k: np.ndarray, v: np.ndarray) -> None:
        """Add the keys and values ``(N, H, S, Dh)`` of S more positions (new arrays, see above)."""
        if self.k is None:
            self.k, self.v = k, v
        else:
            self.k = np.concatenate([self.k, k], axis=2)
            self.v = np.concatenate([self.v, v], axis=2)

    def select(self, rows: np.ndarray) -> "KeyValueCache":
        """A cache of rows ``rows`` (int array, repeats allowed) of this one, in that order."""
        return KeyValueCache() if self.k is None else KeyValueCache(self.k[rows], self.v[rows])


class MultiHeadAttention(Module):
    """``forward(query (N,S,E), key (N,L,E), value (N,L,E), attn_mask=None) -> (N,S,E)``.

    Children ``key``, ``query``, ``value``, ``proj``: Affine(E, E) (registered in the
    course's order), and ``attn_drop``: Dropout(p) on the attention weights. Per head h:
    ``A_h = softmax(Q_h K_h^T / sqrt(Dh))`` with ``Q = query W_q + b_q`` split into H heads
    of Dh columns (likewise K, V); ``out = concat_h(dropout(A_h) V_h) W_proj + b_proj``.
    ``attn_mask (S, L)`` bool: False = may not attend (a fully masked row gets zero weights,
    see :func:`masked_softmax`). All heads are one batched matrix product. With one key
    (L = 1: a single memory token) its weight is exactly 1 whatever the scores, so the queries
    and keys are not projected; their gradients (``dquery``, ``dkey``, and those of the
    ``query`` and ``key`` weights) are exactly 0.

    Ragged batches (keywords): ``lengths (N,)`` int: query row n has ``lengths[n]`` positions;
    ``key_lengths (N,)``: key/value row n has ``key_lengths[n]`` positions. Positions beyond
    are neither projected nor attended to: their output rows are 0, ``dout`` there is ignored
    and their input gradients are 0. Row n is then exactly the forward of the truncated row.

    Decoding (keyword ``cache``, a :class:`KeyValueCache`, under ``inference_mode()`` only):
    ``key`` and ``value`` (or None) are the new positions, appended to the cache; the query
    attends to every cached position, ``attn_mask (S, L)`` (if any) covering the new ones (the
    earlier ones are all visible).

    ``attn_weights`` holds the softmax weights ``(N, H, S, L)`` of the last forward (before
    dropout), under ``inference_mode`` and in eval mode too (rows of positions beyond
    ``lengths`` are not meaningful). ``backward(dout)`` returns ``(dquery, dkey, dvalue)``; for
    self-attention the caller sums them.

    Initialisation: the library's Affine default (``randn / sqrt(E)``, zero biases);
    ``rng`` (Generator, int seed or None for numpy's global state) draws the weights and
    the dropout masks. The CaptioningTransformer applies the course's normal(0, 0.02).
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.1, dtype=np.float32, rng=None):
        super().__init__(dtype)
        owner = "MultiHeadAttention"
        self.embed_dim = int_option(owner, "embed_dim", embed_dim)
        self.num_heads = int_option(owner, "num_heads", num_heads)
        if self.embed_dim % self.num_heads:
            raise SettingsError(f"{owner}: embed_dim ({self.embed_dim}) must be divisible by num_heads "
                                f"({self.num_heads})")
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

    @staticmethod
    def _project(layer: Affine, x2: np.ndarray, rows: np.ndarray | None) -> np.ndarray:
        """``layer`` on rows ``rows`` of ``x2 (n, E)`` -> ``(n, E)``, zero on the other rows."""
        return put_rows(layer.forward(take_rows(x2, rows)), rows, x2.shape[0])

    @staticmethod
    def _project_backward(layer: Affine, d2: np.ndarray, rows: np.ndarray | None) -> np.ndarray:
        """The backward of :meth:`_project`: ``d2 (n, E)`` -> the input gradient ``(n, E)``."""
        return put_rows(layer.backward(take_rows(d2, rows)), rows, d2.shape[0])

    @property
    def scale(self) -> float:
        return 1.0 / math.sqrt(self.head_dim)

    # ------------------------------------------------------------------ forward / backward
    def forward(self, query, key, value, attn_mask=None, *, lengths=None, key_lengths=None, cache=None):
        owner = "MultiHeadAttention.forward"
        E = self.embed_dim
        query = float_input(owner, "query", query, self.dtype, N=None, S=None, E=E)
        N, S, _ = query.shape
        if cache is not None:
            if lengths is not None or key_lengths is not None:
                raise ValueError(f"{owner}: lengths are for training batches, not for decoding with a cache")
            q_rows = k_rows = None
            k, v, mask = self._cached_keys(owner, cache, key, value, attn_mask, N, S)
        else:
            key = float_input(owner, "key", key, self.dtype, N=N, L=None, E=E)
            L = key.shape[1]
            value = float_input(owner, "value", value, self.dtype, N=N, L=L, E=E)
            mask = None if attn_mask is None else mask_input(owner, "attn_mask", attn_mask, S=S, L=L)
            q_rows = None if lengths is None else length_rows(lengths_input(owner, "lengths", lengths, N, S), S)
            k_rows = None
            if key_lengths is not None:
                key_lengths = lengths_input(owner, "key_lengths", key_lengths, N, L)
                k_rows = length_rows(key_lengths, L)
                padding = (np.arange(L) < key_lengths[:, None])[:, None, None, :]   # (N, 1, 1, L)
                mask = padding if mask is None else padding & mask                   # (N, 1, S, L)
            k = None if L == 1 else self._split(self._project(self.key, key.reshape(N * L, E), k_rows), N, L)
            v = self._split(self._project(self.value, value.reshape(N * L, E), k_rows), N, L)  # (N, H, L, Dh)
        if v.shape[2] == 1:
            # One key: its softmax weight is exactly 1 (0 where masked) whatever the scores, so the
            # queries and keys influence nothing and their gradients are exactly 0: neither is
            # projected (a single memory token, the captioners' pooled image features).
            q = None
            weights = np.broadcast_to(True if mask is None else mask, (N, self.num_heads, S, 1)).astype(self.dtype)
        else:
            q2 = self._project(self.query, query.reshape(N * S, E), q_rows)
            q2 *= self.dtype.type(self.scale)                 # the projection's own output array
            q = self._split(q2, N, S)                                                          # (N, H, S, Dh)
            weights = masked_softmax(q @ k.transpose(0, 1, 3, 2), mask)                        # (N, H, S, L)
        self.attn_weights = weights
        dropped = self.attn_drop.forward(weights)
        context = dropped * v if q is None else dropped @ v                                   # (N, H, S, Dh)
        out = self._project(self.proj, self._merge(context), q_rows).reshape(N, S, E)
        self._save_for_backward(q=q, k=k, v=v, weights=weights, dropped=dropped, q_rows=q_rows, k_rows=k_rows)
        return out

    def _cached_keys(self, owner: str, cache, key, value, attn_mask, N: int, S: int):
        """Append the new keys/values to ``cache``; ``(k, v, mask)`` over every cached position."""
        if not isinstance(cache, KeyValueCache):
            raise TypeError(f"{owner}: cache must be a KeyValueCache, got {type(cache).__name__}")
        if not inference_enabled():
            raise RuntimeError(f"{owner}: a key/value cache is for decoding; call forward under inference_mode()")
        if cache.batch_size not in (None, N):
            raise ValueError(f"{owner}: the cache holds {cache.batch_size} rows, the query {N}")
        P, E = cache.length, self.embed_dim
        if key is None or value is None:
            if key is not value or attn_mask is not None:
                raise ValueError(f"{owner}: with a cache, key and value are both given (new positions) or both "
                                 "None (the cached ones only, then without attn_mask)")
            if cache.k is None:
                raise ValueError(f"{owner}: key and value are None and the cache is empty: nothing to attend to")
            return cache.k, cache.v, None
        key = float_input(owner, "key", key, self.dtype, N=N, L=None, E=E)
        L = key.shape[1]
        value = float_input(owner, "value", value, self.dtype, N=N, L=L, E=E)
        mask = None if attn_mask is None else mask_input(owner, "attn_mask", attn_mask, S=S, L=L)
        cache.append(self._split(self.key.forward(key.reshape(N * L, E)), N, L),
                     self._split(self.value.forward(value.reshape(N * L, E)), N, L))
        if mask is not None and P:
            mask = np.concatenate([np.ones((S, P), dtype=bool), mask], axis=1)   # earlier positions: visible
        return cache.k, cache.v, mask

    def backward(self, dout):
        c = self._saved()
        q, k, v, weights, dropped = c["q"], c["k"], c["v"], c["weights"], c["dropped"]
        q_rows, k_rows = c["q_rows"], c["k_rows"]
        N, _, S, L = dropped.shape
        E = self.embed_dim
        dout = float_input("MultiHeadAttention.backward", "dout", dout, self.dtype, N=N, S=S, E=E)
        dheads = self._split(self._project_backward(self.proj, dout.reshape(N * S, E), q_rows), N, S)  # (N, H, S, Dh)
        dv = dropped.transpose(0, 1, 3, 2) @ dheads                             # (N, H, L, Dh)
        dvalue = self._project_backward(self.value, self._merge(dv), k_rows).reshape(N, L, E)
        if q is None:                                                           # one key (see forward)
            return np.zeros((N, S, E), self.dtype), np.zeros((N, L, E), self.dtype), dvalue
        dweights = self.attn_drop.backward(dheads @ v.transpose(0, 1, 3, 2))    # (N, H, S, L)
        dscores = dweights - np.sum(dweights * weights, axis=-1, keepdims=True)
        dscores *= weights                                                      # softmax backward
        dq = dscores @ k
        dq *= self.dtype.type(self.scale)
        dk = dscores.transpose(0, 1, 3, 2) @ q                                  # q is already scaled
        dquery = self._project_backward(self.query, self._merge(dq), q_rows).reshape(N, S, E)
        dkey = self._project_backward(self.key, self._merge(dk), k_rows).reshape(N, L, E)
        return dquery, dkey, dvalue

    def extra_repr(self) -> str:
        return (f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, "
                f"dropout={self.attn_drop.p:g}, dtype={self.dtype.name}")
