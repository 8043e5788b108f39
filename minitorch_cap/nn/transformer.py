"""Transformer decoder layer and stack (post-norm, PyTorch's default and CS231n's), with a
key/value cache for decoding one position at a time.

Shapes: N batch, T target length, K memory length (image regions), E = input_dim,
F = dim_feedforward, H = num_heads, Dh = E / H.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np

from .activation import ACTIVATIONS
from .affine import Affine
from .attention import MultiHeadAttention, affine_infer
from .checks import choice_option, float_input, int_option, mask_input
from .dropout import Dropout, as_generator
from .layernorm import LayerNorm
from .module import Module, naming_child


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
    """What :meth:`TransformerDecoder.step` needs of the positions decoded so far.

    ``memory_kv[l] = (k, v)``: layer l's cross-attention keys and values of the memory,
    each ``(N, H, K, Dh)``, computed once by :meth:`TransformerDecoder.start`.
    ``self_kv[l] = (k, v)``: layer l's self-attention keys and values of the ``length``
    positions decoded so far, each ``(N, H, length, Dh)``.
    Every array has the batch on axis 0, so :meth:`select` (beam search's reordering and
    expansion) is one fancy index per array. A cache is never modified in place;
    ``step`` returns a new one.
    """

    memory_kv: tuple
    self_kv: tuple

    @property
    def length(self) -> int:
        """Number of positions already decoded (keys/values cached per layer)."""
        return int(self.self_kv[0][0].shape[2])

    @property
    def batch_size(self) -> int:
        return int(self.memory_kv[0][0].shape[0])

    def select(self, rows) -> "DecoderCache":
        """A cache holding rows ``rows`` (int array, repeats allowed) of every array, in that order."""
        rows = np.asarray(rows)
        if rows.dtype == np.bool_ or not np.issubdtype(rows.dtype, np.integer) or rows.ndim != 1:
            raise TypeError(f"DecoderCache.select: rows must be a 1-D integer array, got {rows.dtype} {rows.shape}")
        if rows.size and (rows.min() < 0 or rows.max() >= self.batch_size):
            raise ValueError(
                f"DecoderCache.select: rows must lie in [0, {self.batch_size}), got {rows.min()}..{rows.max()}"
            )
        pick = lambda pairs: tuple((k[rows], v[rows]) for k, v in pairs)  # noqa: E731
        return DecoderCache(pick(self.memory_kv), pick(self.self_kv))


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

    Decoding with a cache: :meth:`memory_kv` once, then :meth:`step` per new position(s).
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

    def _check(self, owner: str, tgt, memory, tgt_mask):
        E = self.input_dim
        tgt = float_input(owner, "tgt", tgt, self.dtype, N=None, T=None, E=E)
        N, T, _ = tgt.shape
        memory = float_input(owner, "memory", memory, self.dtype, N=N, K=None, E=E)
        mask = None if tgt_mask is None else mask_input(owner, "tgt_mask", tgt_mask, S=T, L=T)
        return tgt, memory, mask

    def forward(self, tgt, memory, tgt_mask=None):
        x, memory, mask = self._check("TransformerDecoderLayer.forward", tgt, memory, tgt_mask)
        N, T, E = x.shape
        x = self.norm1.forward(x + self.dropout1.forward(self.self_attn.forward(x, x, x, mask)))
        x = self.norm2.forward(x + self.dropout2.forward(self.multihead_attn.forward(x, memory, memory)))
        h = self.dropout.forward(self.activation.forward(self.linear1.forward(x.reshape(N * T, E))))
        x = self.norm3.forward(x + self.dropout3.forward(self.linear2.forward(h).reshape(N, T, E)))
        self._save_for_backward(shape=(N, T, E))  # the children hold the caches
        return x

    def backward(self, dout):
        N, T, E = self._saved()["shape"]
        dout = float_input("TransformerDecoderLayer.backward", "dout", dout, self.dtype, N=N, T=T, E=E)
        dx = self.norm3.backward(dout)                                            # d(x2 + ff)
        dh = self.linear2.backward(self.dropout3.backward(dx).reshape(N * T, E))
        dh = self.activation.backward(self.dropout.backward(dh))
        dx = dx + self.linear1.backward(dh).reshape(N, T, E)                      # d x2
        dx = self.norm2.backward(dx)                                              # d(x1 + cross)
        dq, dmem_k, dmem_v = self.multihead_attn.backward(self.dropout2.backward(dx))
        dx = self.norm1.backward(dx + dq)                                         # d(tgt + self)
        dq, dk, dv = self.self_attn.backward(self.dropout1.backward(dx))
        dtgt = dx + dq
        dtgt += dk
        dtgt += dv
        dmemory = dmem_k + dmem_v
        return dtgt, dmemory

    # ------------------------------------------------------------------ decoding with a cache
    def memory_kv(self, memory) -> tuple[np.ndarray, np.ndarray]:
        """Cross-attention keys and values of ``memory (N, K, E)``: ``(k, v)`` each ``(N, H, K, Dh)``."""
        return self.multihead_attn.project_kv(memory, memory)

    def empty_kv(self, N: int) -> tuple[np.ndarray, np.ndarray]:
        """Self-attention keys and values of no position: ``(k, v)`` each ``(N, H, 0, Dh)``."""
        shape = (N, self.num_heads, 0, self.self_attn.head_dim)
        return np.zeros(shape, self.dtype), np.zeros(shape, self.dtype)

    def step(self, x, memory_kv, past_kv) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
        """Decode new positions given the cached earlier ones: ``(y, (k, v))``.

        ``x (N, S, E)``: the inputs at positions ``P .. P+S-1`` (usually S = 1);
        ``memory_kv``: from :meth:`memory_kv`; ``past_kv = (k, v)``, each ``(N, H, P, Dh)``
        (:meth:`empty_kv` for P = 0). Returns ``y (N, S, E)``, equal to rows ``P .. P+S-1``
        of ``forward`` with a causal mask over the whole prefix (in eval mode), and the
        self-attention keys/values of positions ``0 .. P+S-1``. No cache, no dropout,
        whatever the mode; ``self_attn.attn_weights`` and ``multihead_attn.attn_weights``
        hold the step's weights.
        """
        owner = "TransformerDecoderLayer.step"
        E, H, Dh = self.input_dim, self.num_heads, self.self_attn.head_dim
        x = float_input(owner, "x", x, self.dtype, N=None, S=None, E=E)
        N, S, _ = x.shape
        past_k = float_input(owner, "past_kv[0]", past_kv[0], self.dtype, N=N, H=H, P=None, Dh=Dh)
        P = past_k.shape[2]
        past_v = float_input(owner, "past_kv[1]", past_kv[1], self.dtype, N=N, H=H, P=P, Dh=Dh)
        k_new, v_new = self.self_attn.project_kv(x, x)
        k = np.concatenate([past_k, k_new], axis=2)
        v = np.concatenate([past_v, v_new], axis=2)
        mask = None if S == 1 else np.tri(S, P + S, P, dtype=bool)  # new position i sees 0 .. P+i
        x = self.norm1._infer(x + self.self_attn.attend(x, k, v, mask))
        x = self.norm2._infer(x + self.multihead_attn.attend(x, *memory_kv))
        h = self.activation._infer(affine_infer(self.linear1, x.reshape(N * S, E)))
        x = self.norm3._infer(x + affine_infer(self.linear2, h).reshape(N, S, E))
        return x, (k, v)

    def extra_repr(self) -> str:
        return (f"input_dim={self.input_dim}, num_heads={self.num_heads}, dim_feedforward={self.dim_feedforward}, "
                f"activation={self.activation_name!r}, dtype={self.dtype.name}")


class TransformerDecoder(Module):
    """``num_layers`` copies of ``decoder_layer`` applied in turn (the course's and PyTorch's
    ``TransformerDecoder(decoder_layer, num_layers)``; no final norm).

    The copies start with identical weights, as the course's ``clones`` and PyTorch
    (deep copies); the dropouts of all copies share the original's generator, so their
    masks differ. Children: ``layers`` (a :class:`ModuleList`: ``layers.0``, ``layers.1``, ...).

    ``forward(tgt (N,T,E), memory (N,K,E), tgt_mask=None) -> (N,T,E)``;
    ``backward(dout) -> (dtgt, dmemory)``, dmemory summed over the layers.

    Decoding with a key/value cache::

        cache = decoder.start(memory)               # cross-attention K/V, once
        for t in range(T):
            y_t, cache = decoder.step(x[:, t:t+1], cache)
        cache = cache.select(rows)                  # beam search: reorder/expand the batch

    gives the rows of ``forward(x, memory, causal_mask(T))`` in eval mode.
    """

    def __init__(self, decoder_layer: TransformerDecoderLayer, num_layers: int):
        if not isinstance(decoder_layer, TransformerDecoderLayer):
            raise TypeError(
                "TransformerDecoder: decoder_layer must be a TransformerDecoderLayer, "
                f"got {type(decoder_layer).__name__}"
            )
        super().__init__(decoder_layer.dtype)
        self.num_layers = int_option("TransformerDecoder", "num_layers", num_layers)
        copies = []
        for _ in range(self.num_layers):
            layer = copy.deepcopy(decoder_layer)
            for original, copied in zip(decoder_layer.modules(), layer.modules()):
                if isinstance(copied, Dropout):
                    copied.rng = original.rng  # one generator for all copies
            copies.append(layer)
        self.layers = ModuleList(copies)

    @property
    def input_dim(self) -> int:
        return self.layers[0].input_dim

    def forward(self, tgt, memory, tgt_mask=None):
        x, memory, mask = self.layers[0]._check("TransformerDecoder.forward", tgt, memory, tgt_mask)
        for k, layer in enumerate(self.layers):
            with naming_child(f"layers.{k}"):
                x = layer.forward(x, memory, mask)
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
        """The cache before any position: every layer's cross-attention K/V of ``memory (N, K, E)``."""
        memory = float_input("TransformerDecoder.start", "memory", memory, self.dtype, N=None, K=None, E=self.input_dim)
        N = memory.shape[0]
        return DecoderCache(tuple(layer.memory_kv(memory) for layer in self.layers),
                            tuple(layer.empty_kv(N) for layer in self.layers))

    def step(self, x, cache: DecoderCache) -> tuple[np.ndarray, DecoderCache]:
        """``x (N, S, E)`` at positions ``cache.length ...`` -> ``(y (N, S, E), new cache)``.

        No cache on the modules, no dropout, whatever the mode (see
        :meth:`TransformerDecoderLayer.step`); the given ``cache`` is not modified.
        """
        if not isinstance(cache, DecoderCache):
            raise TypeError(
                f"TransformerDecoder.step: cache must be a DecoderCache (from start()), got {type(cache).__name__}"
            )
        x = float_input("TransformerDecoder.step", "x", x, self.dtype, N=cache.batch_size, S=None, E=self.input_dim)
        new_kv = []
        for k, layer in enumerate(self.layers):
            with naming_child(f"layers.{k}"):
                x, kv = layer.step(x, cache.memory_kv[k], cache.self_kv[k])
            new_kv.append(kv)
        return x, DecoderCache(cache.memory_kv, tuple(new_kv))

    def extra_repr(self) -> str:
        return f"num_layers={self.num_layers}, dtype={self.dtype.name}"
