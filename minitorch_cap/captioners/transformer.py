"""`CaptioningTransformer`: image features -> Transformer decoder -> words (CS231n 2021+).

Shapes: N batch, D image-feature size, K memory tokens (image regions; 1 for pooled
features), T caption length, W word-vector size (= the decoder's width), V vocabulary
size, H heads, Dh = W / H.

The course's ``CaptioningTransformer`` (``cs231n/classifiers/transformer.py``) as a
stateful module with hand-written backward::

    features (N, D) or (N, K, D) --visual_projection (Affine D->W)--> memory (N, K, W)
    captions[:, :-1] --embedding--> --positional_encoding--> x (N, T, W)
    x, memory --transformer (num_layers decoder layers, causal mask)--> h (N, T, W)
    h --output (TemporalAffine W->V)--> scores (N, T, V) --criterion ('positions')--> loss

Training computes no position after a caption's last target (the decoder's ``lengths``: with
the causal mask nothing earlier depends on them) and scores the vocabulary at the unmasked
positions only (the captioners' shared vocabulary step); loss and gradients are those of the
full padded computation.

Decoding keeps the keys and values of the positions already decoded (a
:class:`~minitorch_cap.nn.DecoderCache` flattened into the interface's state tuple), so
one step costs one position, not the whole prefix. The course's PyTorch weights are read by
:mod:`minitorch_cap.captioners.course_weights`. (About 330 lines: the interface's primitives, the course's
initialisation and the attention read-out for ``captions.png`` each need their own method.)
"""

from __future__ import annotations

import math
from typing import Mapping

import attrs

import numpy as np

from .base import Captioner, ModelKind, last_target_lengths
from ..nn import (Affine, Embedding, PositionalEncoding, TemporalAffine, TemporalSoftmaxLoss, TransformerDecoder,
                 TransformerDecoderLayer, causal_mask)
from ..nn.activation import ACTIVATIONS
from ..nn.attention import KeyValueCache
from ..nn.checks import SettingsError, choice_option, index_input, int_option, setting
from ..nn.init import as_generator
from ..nn.module import inference_mode, naming_child
from ..nn.transformer import DecoderCache
from .course_weights import course_state_dict_layout, load_course_state_dict  # noqa: F401  (the model's API)

__all__ = ["CaptioningTransformer", "load_course_state_dict", "course_state_dict_layout"]


class CaptioningTransformer(Captioner):
    """Image captioner with the signature and initialisation of CS231n's ``CaptioningTransformer``.

    ``CaptioningTransformer(word_to_idx, input_dim, wordvec_dim, num_heads=4, num_layers=2,
    max_length=50, dropout=0.1, activation='relu', dtype=np.float32, rng=None, *,
    dim_feedforward=2048)`` (the course's signature; ``dim_feedforward`` is the course's
    ``TransformerDecoderLayer`` default, a keyword here for smaller models).

    Children, in the course's order: ``visual_projection`` (Affine D->W), ``embedding``
    (Embedding V->W with ``padding_idx=<NULL>``: the ``<NULL>`` row gets no gradient, as the
    course's), ``positional_encoding`` (PositionalEncoding, ``max_len=max_length``),
    ``transformer`` (TransformerDecoder of ``num_layers`` TransformerDecoderLayer(W,
    num_heads, dim_feedforward, dropout, activation)), ``output`` (TemporalAffine W->V: the
    course's Linear over every position) and
    ``criterion`` (TemporalSoftmaxLoss, ``normalize='positions'``: the course's solver
    averages the masked cross-entropy over all N*T positions).

    ``activation``: ``'relu'`` (course 2021-2024) or ``'gelu'`` (course 2025+).
    Initialisation (the course's ``_init_weights``): every Affine and Embedding weight
    normal(0, 0.02), biases zero, LayerNorm gamma one and beta zero; the output Affine keeps
    PyTorch's default Linear init, weight and bias uniform in ``+-1/sqrt(W)``. ``rng``: a
    ``numpy.random.Generator``, an int seed, or None (numpy's global state); it also
    draws the dropout masks in training mode.

    Features ``(N, D)`` give one memory token, region features ``(N, K, D)`` K tokens.
    ``forward(features, captions) -> loss`` (inputs ``captions[:, :-1]``, targets
    ``captions[:, 1:]``, ``<NULL>`` targets masked); ``backward(dloss=1.0) -> dfeatures``
    (the shape of ``features``). ``scores(features, captions) -> (N, T, V)`` is the course's
    ``forward``. Decoding state (see :meth:`initial_state`): every layer's cross-attention
    keys/values of the memory and self-attention keys/values of the decoded positions.
    Positions are bounded by ``max_length``: a decoding step beyond it raises ``ValueError``.
    """

    VOCABULARY = "output"

    def __init__(self, word_to_idx: Mapping[str, int], input_dim: int, wordvec_dim: int, num_heads: int = 4,
                 num_layers: int = 2, max_length: int = 50, dropout: float = 0.1, activation: str = "relu",
                 dtype=np.float32, rng=None, *, dim_feedforward: int = 2048):
        owner = "CaptioningTransformer"
        input_dim, wordvec_dim, num_heads, num_layers, max_length, dim_feedforward = (
            int_option(owner, name, value) for name, value in (
                ("input_dim", input_dim), ("wordvec_dim", wordvec_dim), ("num_heads", num_heads),
                ("num_layers", num_layers), ("max_length", max_length), ("dim_feedforward", dim_feedforward)))
        choice_option(owner, "activation", activation, sorted(ACTIVATIONS))
        if wordvec_dim % num_heads:
            raise SettingsError(f"{owner}: wordvec_dim ({wordvec_dim}) must be divisible by num_heads ({num_heads})")
        super().__init__(word_to_idx, input_dim, dtype)
        self.wordvec_dim, self.num_heads, self.num_layers = wordvec_dim, num_heads, num_layers
        self.max_length, self.dropout, self.activation = max_length, float(dropout), activation
        self.dim_feedforward = dim_feedforward
        rng = as_generator(rng, owner)
        V, W = self.vocab_size, wordvec_dim
        self.visual_projection = Affine(input_dim, W, dtype=dtype, rng=rng)
        self.embedding = Embedding(V, W, dtype=dtype, rng=rng, padding_idx=self.null_id)
        self.positional_encoding = PositionalEncoding(W, dropout, max_len=max_length, dtype=dtype, rng=rng)
        layer = TransformerDecoderLayer(W, num_heads, dim_feedforward, dropout, activation, dtype=dtype, rng=rng)
        self.transformer = TransformerDecoder(layer, num_layers)
        self.output = TemporalAffine(W, V, dtype=dtype, rng=rng)
        self.criterion = TemporalSoftmaxLoss(normalize="positions", dtype=dtype)
        self._init_weights(rng)

    def _init_weights(self, rng) -> None:
        """The course's ``self.apply(_init_weights)``, then its freshly created output Linear."""
        normal = (lambda shape: np.random.normal(0.0, 0.02, shape)) if rng is None else \
            (lambda shape: rng.normal(0.0, 0.02, shape))
        for module in self.modules():
            if module is self.output:
                continue
            if isinstance(module, Affine):
                module.W.data[...] = normal(module.W.shape)
                module.b.data[...] = 0.0
            elif isinstance(module, Embedding):
                module.W.data[...] = normal(module.W.shape)
        bound = 1.0 / math.sqrt(self.wordvec_dim)
        uniform = np.random.uniform if rng is None else rng.uniform
        self.output.W.data[...] = uniform(-bound, bound, self.output.W.shape)
        self.output.b.data[...] = uniform(-bound, bound, self.output.b.shape)

    def config(self) -> dict:
        """Constructor arguments (without ``word_to_idx``) as plain JSON-able values."""
        return {"input_dim": self.input_dim, "wordvec_dim": self.wordvec_dim, "num_heads": self.num_heads,
                "num_layers": self.num_layers, "max_length": self.max_length, "dropout": self.dropout,
                "activation": self.activation, "dim_feedforward": self.dim_feedforward, "dtype": self.dtype.name}

    # ------------------------------------------------------------------ shared pieces
    def _memory(self, features: np.ndarray) -> np.ndarray:
        """features (N, D) or (N, K, D) -> memory (N, K, W) through ``visual_projection``."""
        N, D = features.shape[0], self.input_dim
        K = 1 if features.ndim == 2 else features.shape[1]
        with naming_child("visual_projection"):
            return self.visual_projection.forward(features.reshape(N * K, D)).reshape(N, K, self.wordvec_dim)

    def _check_length(self, owner: str, T: int) -> None:
        if T > self.max_length:
            raise ValueError(f"{owner}: {T} input positions exceed max_length={self.max_length} "
                             "(build the model with a larger max_length)")

    def _decode_all(self, features: np.ndarray, words: np.ndarray, lengths: np.ndarray | None = None) -> np.ndarray:
        """The decoder output h (N, T, W) for input words (N, T), rows computed up to ``lengths``
        (all when None; zeros beyond), the children keeping their caches (outside ``inference_mode``)."""
        T = words.shape[1]
        memory = self._memory(features)
        with naming_child("embedding"):
            x = self.embedding.forward(words)
        with naming_child("positional_encoding"):
            x = self.positional_encoding.forward(x)
        with naming_child("transformer"):
            return self.transformer.forward(x, memory, causal_mask(T), lengths=lengths)

    # ------------------------------------------------------------------ training
    def forward(self, features, captions) -> float:
        """features (N, D) or (N, K, D), captions (N, T) int with T >= 2 -> loss (float)."""
        owner = "CaptioningTransformer.forward"
        features = self.check_features(owner, features)
        captions = index_input(owner, "captions", captions, self.vocab_size, N=features.shape[0], T=None)
        if captions.shape[1] < 2:
            raise ValueError(f"{owner}: captions need T >= 2 columns (an input word and a target), "
                             f"got T={captions.shape[1]}")
        words_in, targets = captions[:, :-1], captions[:, 1:]
        self._check_length(owner, words_in.shape[1])
        mask = targets != self.null_id
        # With the causal mask, no position after a row's last target reaches the loss or any
        # earlier position: the decoder does not compute them.
        h = self._decode_all(features, words_in, last_target_lengths(mask))
        loss, rows = self._vocabulary_loss(h, targets, mask)     # output and criterion, unmasked rows only
        self._save_for_backward(rows=rows, shape=h.shape, features_shape=features.shape)
        return loss

    def backward(self, dloss=1.0) -> np.ndarray:
        """Add every parameter's gradient of ``dloss * loss``; return dfeatures (shape of ``features``)."""
        cache = self._saved()
        dh = self._vocabulary_backward(cache["rows"], cache["shape"], dloss)   # masked positions: zero
        W = dh.shape[2]
        with naming_child("transformer"):
            dx, dmemory = self.transformer.backward(dh)
        with naming_child("positional_encoding"):
            dx = self.positional_encoding.backward(dx)
        with naming_child("embedding"):
            self.embedding.backward(dx)
        with naming_child("visual_projection"):
            dfeatures = self.visual_projection.backward(dmemory.reshape(-1, W))
        return dfeatures.reshape(cache["features_shape"])

    def scores(self, features, captions) -> np.ndarray:
        """The course's ``forward``: scores (N, T, V) for every input word of ``captions (N, T)``.

        A prediction: it runs under ``inference_mode()``, so it keeps no cache (the training
        caches are untouched) and applies no dropout, in training mode too (the course's
        ``forward`` in training mode would apply dropout; these are its eval-mode scores).
        """
        owner = "CaptioningTransformer.scores"
        features = self.check_features(owner, features)
        captions = index_input(owner, "captions", captions, self.vocab_size, N=features.shape[0], T=None)
        self._check_length(owner, captions.shape[1])
        with inference_mode(), naming_child("output"):
            return self.output.forward(self._decode_all(features, captions))

    # ------------------------------------------------------------------ decoding primitives
    def initial_state(self, features) -> tuple[np.ndarray, ...]:
        """The state before the first word: ``2 * num_layers`` cross-attention arrays (keys, values
        of the memory per layer, each (N, H, K, Dh)), then ``2 * num_layers`` self-attention
        arrays (keys, values of the decoded positions per layer, each (N, H, P, Dh), P = 0 here).
        """
        features = self.check_features("CaptioningTransformer.initial_state", features)
        with inference_mode():
            memory = self._memory(features)
        with naming_child("transformer"):
            return _flatten(self.transformer.start(memory))

    def decode_step(self, words, state: tuple[np.ndarray, ...]) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
        """Feed one word per row at position P (= the state's decoded length): words (R,) int,
        state of R rows -> (scores (R, V), the state with position P's keys/values appended).

        The children's forward under ``inference_mode()``: no dropout and no cache, whatever the
        mode; the training caches are left untouched, and so are the state's arrays (the new
        state holds new ones). ``self.transformer.layers[-1].multihead_attn.attn_weights`` then holds the step's
        cross-attention weights (R, H, 1, K). Raises ``ValueError`` when P >= max_length.
        """
        owner = "CaptioningTransformer.decode_step"
        words = index_input(owner, "words", words, self.vocab_size, R=None)
        cache = _unflatten(owner, state, self.num_layers)
        if cache.batch_size != words.shape[0]:
            raise ValueError(f"{owner}: {words.shape[0]} words for a state of {cache.batch_size} rows")
        P = cache.length
        if P >= self.max_length:
            raise ValueError(f"{owner}: position {P} is beyond max_length={self.max_length} (positions "
                             f"0..{self.max_length - 1}); decode at most {self.max_length} words or build the "
                             "model with a larger max_length")
        with inference_mode():
            with naming_child("embedding"):
                x = self.embedding.forward(words[:, None])                          # (R, 1, W)
            with naming_child("positional_encoding"):
                x = self.positional_encoding.forward(x, start=P)
            with naming_child("transformer"):
                y = self.transformer.forward(x, None, cache=cache)                 # appends position P
            with naming_child("output"):
                scores = self.output.forward(y)[:, 0]                               # (R, V)
        return scores, _flatten(cache)

    attends = True      # attention_sample (the captioner interface) reads step_attention

    def step_attention(self) -> np.ndarray:
        """The last decoder layer's cross-attention over the K memory tokens at the last
        ``decode_step``, averaged over heads: (R, K), rows summing to 1."""
        return self.transformer.layers[-1].multihead_attn.attn_weights[:, :, 0].mean(axis=1)   # of (R, H, 1, K)

    @classmethod
    def from_course_state_dict(cls, word_to_idx: Mapping[str, int], state_dict: Mapping[str, np.ndarray],
                               num_heads: int, dtype=np.float64, **options) -> "CaptioningTransformer":
        """A model holding the weights of the course's PyTorch model (see :func:`load_course_state_dict`).

        ``input_dim``, ``wordvec_dim``, ``num_layers``, ``max_length``, ``dim_feedforward``
        and the activation are read from the state dict's shapes and names; ``num_heads``
        cannot be (give the course's value); ``options`` go to the constructor (``dropout``).
        """
        state = {k: np.asarray(v) for k, v in state_dict.items()}
        W, D = state["visual_projection.weight"].shape
        layers = {int(k.split(".")[2]) for k in state if k.startswith("transformer.layers.")}
        gelu = any(".cross_attn." in k for k in state)
        fc1 = "transformer.layers.0." + ("ffn.fc1" if gelu else "linear1") + ".weight"
        max_length = state["positional_encoding.pe"].reshape(-1, W).shape[0] if "positional_encoding.pe" in state \
            else options.pop("max_length", 50)
        model = cls(word_to_idx, D, W, num_heads=num_heads, num_layers=len(layers), max_length=max_length,
                    activation="gelu" if gelu else "relu", dim_feedforward=state[fc1].shape[0], dtype=dtype,
                    rng=np.random.default_rng(0), **options)
        load_course_state_dict(model, state)
        return model

    def extra_repr(self) -> str:
        return (f"vocab_size={self.vocab_size}, wordvec_dim={self.wordvec_dim}, num_heads={self.num_heads}, "
                f"num_layers={self.num_layers}, activation={self.activation!r}, dtype={self.dtype.name}")


@attrs.frozen(kw_only=True)
class TransformerSettings:
    """The sizes of a ``CaptioningTransformer`` a run chooses (its constructor's keywords)."""

    wordvec_dim: int = setting(int, low=1, metavar="W", help="word-vector size W (the decoder's width)")
    num_heads: int = setting(int, low=1, metavar="HEADS", help="attention heads (they must divide W)")
    num_layers: int = setting(int, low=1, metavar="L", help="decoder layers")
    dim_feedforward: int = setting(int, low=1, metavar="F", help="feed-forward units per layer")
    dropout: float = setting(float, low=0.0, high=1.0, high_open=True, metavar="P", help="dropout probability")


class TransformerKind(ModelKind):
    kind = "transformer"
    captioner = CaptioningTransformer
    settings = TransformerSettings
    reads_regions = True

    @classmethod
    def parameters(cls, settings, vocab_size: int, input_dim: int) -> int:
        E, F, L, V, D = (settings.wordvec_dim, settings.dim_feedforward, settings.num_layers, vocab_size,
                         input_dim)
        layer = 2 * 4 * (E * E + E) + 2 * E * F + F + E + 3 * 2 * E        # two attentions, feed-forward, norms
        return (D + 1) * E + V * E + L * layer + (E + 1) * V

    @classmethod
    def activations(cls, settings, batch_size, length, vocab_size, input_dim, regions) -> int:
        E, F, L, heads = settings.wordvec_dim, settings.dim_feedforward, settings.num_layers, settings.num_heads
        layer = 20 * E + 3 * F + 3 * heads * (length + regions)           # per position: caches and gradients
        return 2 * batch_size * (length * (L * layer + 3 * vocab_size + 2 * E) + regions * (input_dim + 2 * E))
    #: Built-in data (with region features): 99.6-99.8% held-out accuracy for weight/data seeds 0 and 1
    #: (5 and 10 epochs, about 7 s each on two idle cores); COCO: the course's model.
    presets = {"shapes": {"num_heads": 4, "num_layers": 2, "dim_feedforward": 256, "dropout": 0.0, "wordvec_dim": 64,
                          "lr": 1e-3, "epochs": 10, "lr_decay": 0.85},
               "coco": {"num_heads": 4, "num_layers": 2, "dim_feedforward": 2048, "dropout": 0.1, "wordvec_dim": 256,
                        "lr": 1e-3, "epochs": 1, "lr_decay": 1.0}}


def _flatten(cache: DecoderCache) -> tuple[np.ndarray, ...]:
    """The decoding state: every layer's cross-attention (k, v), then every layer's self-attention (k, v)."""
    return tuple(a for c in cache.cross_attn + cache.self_attn for a in (c.k, c.v))


def _unflatten(owner: str, state, num_layers: int) -> DecoderCache:
    """A fresh :class:`DecoderCache` over the arrays of ``state`` (which a forward leaves unchanged)."""
    state = tuple(state)
    if len(state) != 4 * num_layers:
        raise ValueError(f"{owner}: expected a state of {4 * num_layers} arrays (from initial_state), got {len(state)}")
    caches = [KeyValueCache(state[2 * i], state[2 * i + 1]) for i in range(2 * num_layers)]
    return DecoderCache(self_attn=tuple(caches[num_layers:]), cross_attn=tuple(caches[:num_layers]))


# ---------------------------------------------------------------------- the course's PyTorch weights
#: Our name of a decoder-layer child -> its names in the course's PyTorch layer (2021-2024, 2025+).
