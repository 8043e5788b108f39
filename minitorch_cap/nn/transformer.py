"""Transformer decoder layer and stack (post-norm, PyTorch's default and CS231n's), with ragged
batches (rows of different lengths, the padding not computed) and a key/value cache for
decoding one position at a time.

Shapes: N batch, T target length, K memory length (image regions), E = input_dim,
F = dim_feedforward, H = num_heads, Dh = E / H, M = number of positions computed.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np

from .activation import ACTIVATIONS
from .affine import Affine
from .attention import KeyValueCache, MultiHeadAttention, causal_mask, put_rows, take_rows
from .checks import choice_option, float_input, int_option, lengths_input, mask_input
from .dropout import Dropout
from .init import as_generator
from .layernorm import LayerNorm
from .module import Module, inference_mode, naming_child


class ModuleList(Module):
    """A list of modules registered as children ``0``, ``1``, ... (PyTorch's ``nn.ModuleList``).

    A container only: it has no forward of its own. Supports ``len``, indexing and iteration.
    """

    def __init__(self, modules=(), dtype=None):
        modules = list(modules)
        super().__init__(dtype if dtype is not None else (modules[0].dtype if modules else np.float32))
        for k, module in enumerate(modules):
            if not isinstance(module, Module):
                raise TypeError(f"ModuleList: item {k} must be a Module, got {type(module).__name__}")
            setattr(self, str(k), module)

    def __len__(self) -> int:
        return len(self._modules)

    def __getitem__(self, index: int) -> Module:
        return list(self._modules.values())[index]

    def __iter__(self):
        return iter(list(self._modules.values()))

    def forward(self, *inputs):
        raise NotImplementedError("ModuleList is a container; call its items")


@dataclass(frozen=True, eq=False)
class DecoderCache:
    """The key/value caches of a :class:`TransformerDecoder` while decoding (one per attention).

    ``self_attn[l]``: layer l's self-attention keys and values of the ``length`` positions
    decoded so far; ``cross_attn[l]``: its cross-attention keys and values of the memory, each
    a :class:`~minitorch_cap.nn.attention.KeyValueCache` (arrays ``(N, H, P, Dh)``, batch on
    axis 0, so :meth:`select`, beam search's reordering and expansion, is one fancy index per
    array). A forward with ``cache=`` appends to the caches it is given; :meth:`copy` and
    :meth:`select` give new caches, and no array is ever changed in place.
    """

    self_attn: tuple
    cross_attn: tuple

    @classmethod
    def empty(cls, num_layers: int) -> "DecoderCache":
        """A cache that has read nothing (see :meth:`TransformerDecoder.start`)."""
        return cls(tuple(KeyValueCache() for _ in range(num_layers)), tuple(KeyValueCache() for _ in range(num_layers)))

    @property
    def length(self) -> int:
        """Number of positions already decoded (keys/values cached per layer)."""
        return self.self_attn[0].length

    @property
    def batch_size(self) -> int | None:
        return self.cross_attn[0].batch_size

    def copy(self) -> "DecoderCache":
        """New caches holding the same arrays (a forward on the copy leaves this one as it is)."""
        fresh = lambda caches: tuple(KeyValueCache(c.k, c.v) for c in caches)  # noqa: E731
        return DecoderCache(fresh(self.self_attn), fresh(self.cross_attn))

    def select(self, rows) -> "DecoderCache":
        """A cache holding rows ``rows`` (int array, repeats allowed) of every array, in that order."""
        rows = np.asarray(rows)
        if rows.dtype == np.bool_ or not np.issubdtype(rows.dtype, np.integer) or rows.ndim != 1:
            raise TypeError(f"DecoderCache.select: rows must be a 1-D integer array, got {rows.dtype} {rows.shape}")
        if rows.size and (rows.min() < 0 or rows.max() >= self.batch_size):
            raise ValueError(
                f"DecoderCache.select: rows must lie in [0, {self.batch_size}), got {rows.min()}..{rows.max()}"
            )
        pick = lambda caches: tuple(c.select(rows) for c in caches)  # noqa: E731
        return DecoderCache(pick(self.self_attn), pick(self.cross_attn))


def check_decoder_inputs(owner: str, E: int, dtype, tgt, memory, tgt_mask, lengths, cache):
    """The inputs of a decoder layer or stack, validated: ``(tgt, memory, mask, lengths)``.

    ``memory`` may be None only with a ``cache`` (whose cross-attention already read it);
    ``lengths`` (training) and ``cache`` (decoding) exclude each other.
    """
    tgt = float_input(owner, "tgt", tgt, dtype, N=None, T=None, E=E)
    N, T, _ = tgt.shape
    if memory is not None:
        memory = float_input(owner, "memory", memory, dtype, N=N, K=None, E=E)
    elif cache is None:
        raise ValueError(f"{owner}: memory is required (None only when decoding with a cache that holds it)")
    mask = None if tgt_mask is None else mask_input(owner, "tgt_mask", tgt_mask, S=T, L=T)
    if lengths is not None:
        if cache is not None:
            raise ValueError(f"{owner}: lengths are for training batches, not for decoding with a cache")
        lengths = lengths_input(owner, "lengths", lengths, N, T)
    return tgt, memory, mask, lengths


class TransformerDecoderLayer(Module):
    """One post-norm decoder layer, as ``torch.nn.TransformerDecoderLayer(batch_first=True)``
    and the course's (Vaswani et al. 2017, figure 1)::

        x = norm1(x + dropout1(self_attn(x, x, x, tgt_mask)))
        x = norm2(x + dropout2(multihead_attn(x, memory, memory)))
        x = norm3(x + dropout3(linear2(dropout(activation(linear1(x))))))

    ``forward(tgt (N,T,E), memory (N,K,E), tgt_mask=None (T,T) bool, False = may not
    attend) -> (N,T,E)``; ``backward(dout) -> (dtgt, dmemory)``.
    Children, with PyTorch's names and order: ``self_attn``, ``multihead_attn``
    (MultiHeadAttention), ``linear1`` Affine(E, F), ``dropout``, ``linear2`` Affine(F, E),
    ``norm1..3`` LayerNorm(E), ``dropout1..3``, and ``activation``: ReLU (``'relu'``, the
    course 2021-2024 and PyTorch's default) or GELU (``'gelu'``, exact erf form, the course
    2025+). Initialisation: each child's default; ``rng`` draws weights and dropout masks.

    Keywords:

    * ``lengths (N,)`` int (a ragged batch): row n is ``tgt[n, :lengths[n]]``. Its padding is
      not computed: the products, norms and activations run on the M real positions, the
      self-attention neither computes nor attends to padded keys, the output there is 0,
      ``dout`` there is ignored and ``dtgt`` there is 0. Each row is exactly the forward of
      the truncated row; with a causal ``tgt_mask`` it is the full forward's first rows (no
      position sees a later one), which is how a captioner skips the positions after a
      caption's last target. Dropout masks are drawn for the padded ``(N, T, ...)`` arrays,
      as without ``lengths``.
    * ``cache=(self_cache, cross_cache)``, two :class:`~minitorch_cap.nn.attention.KeyValueCache`
      (decoding, under ``inference_mode()``): ``tgt`` holds the new positions after the cached
      ones, ``tgt_mask (T, T)`` (if any) masks them among themselves; ``memory`` is read into
      the empty cross cache and is None afterwards. See :class:`TransformerDecoder`.
    """

    def __init__(self, input_dim: int, num_heads: int, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation: str = "relu", dtype=np.float32, rng=None):
        super().__init__(dtype)
        owner = "TransformerDecoderLayer"
        self.input_dim = int_option(owner, "input_dim", input_dim)
        self.dim_feedforward = int_option(owner, "dim_feedforward", dim_feedforward)
        choice_option(owner, "activation", activation, sorted(ACTIVATIONS))
        self.activation_name = activation
        rng = as_generator(rng, owner)
        E, F = self.input_dim, self.dim_feedforward
        self.self_attn = MultiHeadAttention(E, num_heads, dropout, dtype=dtype, rng=rng)
        self.multihead_attn = MultiHeadAttention(E, num_heads, dropout, dtype=dtype, rng=rng)
        self.linear1 = Affine(E, F, dtype=dtype, rng=rng)
        self.dropout = Dropout(dropout, rng=rng, dtype=dtype)
        self.linear2 = Affine(F, E, dtype=dtype, rng=rng)
        self.norm1 = LayerNorm(E, dtype=dtype)
        self.norm2 = LayerNorm(E, dtype=dtype)
        self.norm3 = LayerNorm(E, dtype=dtype)
        self.dropout1 = Dropout(dropout, rng=rng, dtype=dtype)
        self.dropout2 = Dropout(dropout, rng=rng, dtype=dtype)
        self.dropout3 = Dropout(dropout, rng=rng, dtype=dtype)
        self.activation = ACTIVATIONS[activation](dtype=dtype)

    @property
    def num_heads(self) -> int:
        return self.self_attn.num_heads

    def forward(self, tgt, memory, tgt_mask=None, *, lengths=None, cache=None):
        owner = "TransformerDecoderLayer.forward"
        x, memory, mask, lengths = check_decoder_inputs(owner, self.input_dim, self.dtype, tgt, memory, tgt_mask,
                                                        lengths, cache)
        (N, T, E), F = x.shape, self.dim_feedforward
        self_cache, cross_cache = (None, None) if cache is None else cache
        if cross_cache is not None and memory is not None and cross_cache.length:
            raise ValueError(f"{owner}: the cache already holds the memory; pass memory=None")
        keep = None if lengths is None else np.arange(T) < lengths[:, None]    # (N, T) positions computed
        rows = None if keep is None else np.flatnonzero(keep)                 # (M,) of them in N*T order
        x = self.norm1.forward(x + self.dropout1.forward(
            self.self_attn.forward(x, x, x, mask, lengths=lengths, key_lengths=lengths, cache=self_cache)))
        x = self.norm2.forward(x + self.dropout2.forward(
            self.multihead_attn.forward(x, memory, memory, lengths=lengths, cache=cross_cache)))
        h = self.activation.forward(self.linear1.forward(take_rows(x.reshape(N * T, E), rows)))     # (M, F)
        h = take_rows(self.dropout.forward(put_rows(h, rows, N * T).reshape(N, T, F)).reshape(N * T, F), rows)
        ff = put_rows(self.linear2.forward(h), rows, N * T).reshape(N, T, E)
        x = self.norm3.forward(x + self.dropout3.forward(ff))
        if keep is not None:
            x[~keep] = 0.0                                                    # the padding's output
        self._save_for_backward(shape=(N, T, E), keep=keep, rows=rows)  # the children hold the caches
        return x

    def backward(self, dout):
        c = self._saved()
        (N, T, E), keep, rows, F = c["shape"], c["keep"], c["rows"], self.dim_feedforward
        dout = float_input("TransformerDecoderLayer.backward", "dout", dout, self.dtype, N=N, T=T, E=E)
        if keep is not None:                                                      # the padding's: ignored
            dout = np.where(keep[:, :, None], dout, self.dtype.type(0))
        dx = self.norm3.backward(dout)                                            # d(x2 + ff)
        dh = self.linear2.backward(take_rows(self.dropout3.backward(dx).reshape(N * T, E), rows))   # (M, F)
        dh = take_rows(self.dropout.backward(put_rows(dh, rows, N * T).reshape(N, T, F)).reshape(N * T, F), rows)
        dh = self.activation.backward(dh)
        dx = dx + put_rows(self.linear1.backward(dh), rows, N * T).reshape(N, T, E)   # d x2
        dx = self.norm2.backward(dx)                                              # d(x1 + cross)
        dq, dmem_k, dmem_v = self.multihead_attn.backward(self.dropout2.backward(dx))
        dx = self.norm1.backward(dx + dq)                                         # d(tgt + self)
        dq, dk, dv = self.self_attn.backward(self.dropout1.backward(dx))
        dtgt = dx + dq
        dtgt += dk
        dtgt += dv
        dmemory = dmem_k + dmem_v
        return dtgt, dmemory

    def extra_repr(self) -> str:
        return (f"input_dim={self.input_dim}, num_heads={self.num_heads}, dim_feedforward={self.dim_feedforward}, "
                f"activation={self.activation_name!r}, dtype={self.dtype.name}")


class TransformerDecoder(Module):
    """``num_layers`` copies of ``decoder_layer`` applied in turn (the course's and PyTorch's
    ``TransformerDecoder(decoder_layer, num_layers)``; no final norm).

    The copies start with identical weights, as the course's ``clones`` and PyTorch
    (deep copies); the dropouts of all copies share the original's generator, so their
    masks differ. Children: ``layers`` (a :class:`ModuleList`: ``layers.0``, ``layers.1``, ...).

    ``forward(tgt (N,T,E), memory (N,K,E), tgt_mask=None, *, lengths=None, cache=None) ->
    (N,T,E)``; ``backward(dout) -> (dtgt, dmemory)``, dmemory summed over the layers.
    ``lengths`` and ``cache``: as :class:`TransformerDecoderLayer`'s, ``cache`` a
    :class:`DecoderCache`.

    Decoding with a key/value cache (one position per step)::

        cache = decoder.start(memory)               # cross-attention K/V, once
        with inference_mode():
            for t in range(T):
                y_t = decoder.forward(x[:, t:t+1], None, cache=cache)   # appends position t
        cache = cache.select(rows)                  # beam search: reorder/expand the batch

    gives the rows of ``forward(x, memory, causal_mask(T))`` in eval mode; :meth:`step` is the
    same step on a copy of the cache.
    """

    def __init__(self, decoder_layer: TransformerDecoderLayer, num_layers: int):
        if not isinstance(decoder_layer, TransformerDecoderLayer):
            raise TypeError(
                "TransformerDecoder: decoder_layer must be a TransformerDecoderLayer, "
                f"got {type(decoder_layer).__name__}"
            )
        super().__init__(decoder_layer.dtype)
        self.input_dim = decoder_layer.input_dim
        self.num_layers = int_option("TransformerDecoder", "num_layers", num_layers)
        copies = []
        for _ in range(self.num_layers):
            layer = copy.deepcopy(decoder_layer)
            for original, copied in zip(decoder_layer.modules(), layer.modules()):
                if isinstance(copied, Dropout):
                    copied.rng = original.rng  # one generator for all copies
            copies.append(layer)
        self.layers = ModuleList(copies)

    def forward(self, tgt, memory, tgt_mask=None, *, lengths=None, cache=None):
        owner = "TransformerDecoder.forward"
        x, memory, mask, lengths = check_decoder_inputs(owner, self.input_dim, self.dtype, tgt, memory, tgt_mask,
                                                        lengths, cache)
        if cache is not None and not isinstance(cache, DecoderCache):
            raise TypeError(f"{owner}: cache must be a DecoderCache (DecoderCache.empty or start()), "
                            f"got {type(cache).__name__}")
        for k, layer in enumerate(self.layers):
            layer_cache = None if cache is None else (cache.self_attn[k], cache.cross_attn[k])
            with naming_child(f"layers.{k}"):
                x = layer.forward(x, memory, mask, lengths=lengths, cache=layer_cache)
        self._save_for_backward(shape=x.shape)
        return x

    def backward(self, dout):
        N, T, E = self._saved()["shape"]
        dx = float_input("TransformerDecoder.backward", "dout", dout, self.dtype, N=N, T=T, E=E)
        dmemory = None
        for k in reversed(range(len(self.layers))):
            with naming_child(f"layers.{k}"):
                dx, dmem = self.layers[k].backward(dx)
            dmemory = dmem if dmemory is None else dmemory + dmem
        return dx, dmemory

    # ------------------------------------------------------------------ decoding with a cache
    def start(self, memory) -> DecoderCache:
        """The cache before any position: the stack run over no position, which reads every
        layer's cross-attention keys/values of ``memory (N, K, E)``."""
        memory = float_input("TransformerDecoder.start", "memory", memory, self.dtype, N=None, K=None, E=self.input_dim)
        cache = DecoderCache.empty(self.num_layers)
        with inference_mode():
            self.forward(np.zeros((memory.shape[0], 0, self.input_dim), self.dtype), memory, cache=cache)
        return cache

    def step(self, x, cache: DecoderCache) -> tuple[np.ndarray, DecoderCache]:
        """``x (N, S, E)`` at positions ``cache.length ...`` (causal among themselves) ->
        ``(y (N, S, E), new cache)``: :meth:`forward` under ``inference_mode()`` on a copy of
        ``cache`` (no module cache, no dropout, whatever the mode; ``cache`` is not modified).
        """
        if not isinstance(cache, DecoderCache):
            raise TypeError(
                f"TransformerDecoder.step: cache must be a DecoderCache (from start()), got {type(cache).__name__}"
            )
        x = float_input("TransformerDecoder.step", "x", x, self.dtype, N=cache.batch_size, S=None, E=self.input_dim)
        cache = cache.copy()
        S = x.shape[1]
        with inference_mode():
            y = self.forward(x, None, causal_mask(S) if S > 1 else None, cache=cache)
        return y, cache

    def extra_repr(self) -> str:
        return f"num_layers={self.num_layers}, dtype={self.dtype.name}"
