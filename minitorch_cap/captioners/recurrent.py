"""`CaptioningModel`: image features -> RNN/LSTM/GRU/attention LSTM -> words (CS231n's ``CaptioningRNN``).

Shapes: N batch, D image-feature size, T caption length (with ``<START>``), W word-vector
size, H hidden size, V vocabulary size, P image regions.

Two streams meet in the recurrent cell::

    features (N, D) --proj (Affine)--> h0 (N, H) --------------------+
    captions[:, :-1] (N, T-1) --embed (Embedding)--> x (N, T-1, W) --rnn--> h (N, T-1, H)
    h --vocab (TemporalAffine)--> scores (N, T-1, V) --criterion (TemporalSoftmaxLoss)--> loss

With ``cell_type='attention'`` (EECS 498-007 A4; Show, Attend and Tell) the projection
is applied region by region, ``features (N, P, D) --proj--> regions (N, P, H)``, and the
:class:`~minitorch_cap.nn.AttentionLSTM` reads the regions at every step (its initial state is
their mean); ``attention_reg`` adds Show, Attend and Tell's doubly stochastic penalty.
"""

from __future__ import annotations

from typing import ClassVar, Mapping

import attrs
import numpy as np

from .base import KINDS, Captioner, ModelKind, last_target_lengths
from ..nn import GRU, LSTM, RNN, Affine, Embedding, TemporalAffine, TemporalSoftmaxLoss
from ..nn.checks import SettingsError, float_option, index_input, int_option, setting
from ..nn.init import as_generator
from ..nn.module import inference_mode, naming_child


class CaptioningModel(Captioner):
    """Image captioner with the signature of CS231n's ``CaptioningRNN``.

    Children, in order: ``proj`` (Affine D->H, features to h0, no nonlinearity),
    ``embed`` (Embedding V->W), ``rnn`` (RNN, LSTM or GRU W->H), ``vocab``
    (TemporalAffine H->V) and ``criterion`` (TemporalSoftmaxLoss, normalised by the batch
    size). Its eight parameters are ``proj.W (D,H)``, ``proj.b (H,)``, ``embed.W (V,W)``,
    ``rnn.Wx``, ``rnn.Wh``, ``rnn.b``, ``vocab.W (H,V)``, ``vocab.b (V,)``.

    ``cell_type='attention'`` (keyword options ``attention='dot'|'additive'``,
    ``attention_dim=None``, ``attention_reg=0.0``, refused for the other cells): ``rnn`` is an
    :class:`~minitorch_cap.nn.AttentionLSTM`, which adds ``rnn.Wattn (H,4H)`` after ``rnn.Wh``
    (and ``rnn.Wq``, ``rnn.Wk``, ``rnn.ba``, ``rnn.v``, ``rnn.Wbeta``, ``rnn.bbeta`` for
    ``additive``). Features are region features ``(N, P, D)`` (``(N, D)`` is one region),
    projected region by region by ``proj`` to ``regions (N, P, H)``. ``attention_reg = lambda
    >= 0`` adds Show, Attend and Tell's doubly stochastic penalty (Xu et al. 2015, eq. 14)
    ``lambda * (1/N) * sum_n sum_p (1 - sum_t alpha[n,t,p])^2`` to the loss, the inner sum over
    the unmasked steps (targets that are not ``<NULL>``).

    Initial weights follow the course: drawn from numpy's global random state in the
    course's order (embedding, projection, Wx, Wh, vocabulary) unless ``rng`` (a
    ``numpy.random.Generator`` or an int seed, :func:`~minitorch_cap.nn.init.as_generator`) is given.

    It implements the captioner interface (:mod:`minitorch_cap.captioners.base`):
    ``forward(features, captions)`` returns the loss; ``backward(dloss=1.0)`` adds every
    parameter gradient and returns ``dfeatures (N, D)``; the decoding state is the
    recurrent cell's (``(h,)``, or ``(h, c)`` for an LSTM, ``(h, c, regions[, keys])`` for the
    attention LSTM).
    """

    def __init__(self, word_to_idx: Mapping[str, int], input_dim: int = 512, wordvec_dim: int = 128,
                 hidden_dim: int = 128, cell_type: str = "rnn", dtype=np.float32, rng=None, *,
                 attention: str = "dot", attention_dim: int | None = None, attention_reg: float = 0.0):
        owner = "CaptioningModel"
        kind = KINDS.get(cell_type) if isinstance(cell_type, str) else None
        if kind is None or not issubclass(kind, RecurrentKind):
            raise SettingsError(f"{owner}: cell_type must be one of {RecurrentKind.cells()}, got {cell_type!r}")
        input_dim, wordvec_dim, hidden_dim = (
            int_option(owner, name, value)
            for name, value in (("input_dim", input_dim), ("wordvec_dim", wordvec_dim), ("hidden_dim", hidden_dim)))
        attention_reg = float_option(owner, "attention_reg", attention_reg, low=0.0)
        if not kind.reads_regions and (attention != "dot" or attention_dim is not None or attention_reg):
            attending = " or ".join(f"cell_type={k!r}" for k in RecurrentKind.cells() if KINDS[k].reads_regions)
            raise SettingsError(f"{owner}: attention, attention_dim and attention_reg apply to {attending} only, "
                                f"got cell_type={cell_type!r}")
        super().__init__(word_to_idx, input_dim, dtype)
        self.attends = kind.reads_regions
        self.cell_type = cell_type
        self.wordvec_dim, self.hidden_dim = wordvec_dim, hidden_dim
        self.attention_reg = attention_reg
        V = self.vocab_size
        rng = as_generator(rng, owner)          # an int seed: one stream for every weight
        # Drawn in the course's order so a seeded global state gives the course's weights ...
        embed = Embedding(V, wordvec_dim, dtype=dtype, rng=rng)
        proj = Affine(input_dim, hidden_dim, dtype=dtype, rng=rng)
        options = {"attention": attention, "attention_dim": attention_dim} if self.attends else {}
        with naming_child("rnn"):
            rnn = kind.cell(wordvec_dim, hidden_dim, dtype=dtype, rng=rng, **options)
        vocab = TemporalAffine(hidden_dim, V, dtype=dtype, rng=rng)
        # ... and registered in the order data flows.
        self.proj, self.embed, self.rnn, self.vocab = proj, embed, rnn, vocab
        self.criterion = TemporalSoftmaxLoss(normalize="batch", dtype=dtype)

    def config(self) -> dict:
        """Constructor arguments (without ``word_to_idx``) as plain JSON-able values (the attention
        options only for ``cell_type='attention'``: the other cells' records are unchanged)."""
        config = {"input_dim": self.input_dim, "wordvec_dim": self.wordvec_dim, "hidden_dim": self.hidden_dim,
                  "cell_type": self.cell_type, "dtype": self.dtype.name}
        if self.attends:
            config.update(attention=self.rnn.attention, attention_dim=self.rnn.attention_dim,
                          attention_reg=self.attention_reg)
        return config

    def _project(self, features: np.ndarray) -> np.ndarray:
        """features -> h0 (N, H) through ``proj``; for the attention cell, regions (N, P, H), region by region."""
        if not self.attends:
            return self.proj.forward(features)
        N, P = features.shape[0], 1 if features.ndim == 2 else features.shape[1]
        return self.proj.forward(features.reshape(N * P, self.input_dim)).reshape(N, P, self.hidden_dim)

    # ------------------------------------------------------------------ training
    def forward(self, features, captions) -> float:
        """features (N, D) (or (N, P, D) for the attention cell), captions (N, T) int with T >= 2 -> loss (float)."""
        owner = "CaptioningModel.forward"
        features = self.check_features(owner, features)
        captions = index_input(owner, "captions", captions, self.vocab_size, N=features.shape[0], T=None)
        if captions.shape[1] < 2:
            raise ValueError(f"{owner}: captions need T >= 2 columns (an input word and a target), got T={captions.shape[1]}")
        words_in, targets = captions[:, :-1], captions[:, 1:]
        mask = targets != self.null_id
        with naming_child("proj"):
            h0 = self._project(features)                          # (N, H); regions (N, P, H) for attention
        with naming_child("embed"):
            x = self.embed.forward(words_in)
        with naming_child("rnn"):
            h = self.rnn.forward(x, h0, lengths=last_target_lengths(mask))
        loss, rows = self._vocabulary_loss(h, targets, mask)     # vocab and criterion, unmasked rows only
        dattn = None
        if self.attention_reg:
            penalty, dattn = self._attention_penalty(mask)
            loss += penalty
        self._save_for_backward(rows=rows, shape=h.shape, features_shape=features.shape, dattn=dattn)
        return loss

    def _attention_penalty(self, mask: np.ndarray) -> tuple[float, np.ndarray]:
        """Show, Attend and Tell's doubly stochastic penalty and its gradient dattn (N, T, P).

        ``coverage[n, p] = sum_t mask[n, t] alpha[n, t, p]``;
        ``penalty = lambda / N * sum_{n,p} (1 - coverage[n, p])^2``;
        ``d penalty / d alpha[n, t, p] = 2 lambda / N * (coverage[n, p] - 1) * mask[n, t]``.
        """
        alpha = self.rnn.attn_weights                                # (N, T, P)
        N = alpha.shape[0]
        weight = mask[:, :, None].astype(self.dtype)
        coverage = (alpha * weight).sum(axis=1)                      # (N, P)
        penalty = self.attention_reg / N * float(np.sum((1.0 - coverage) ** 2))
        dattn = (2.0 * self.attention_reg / N) * (coverage - 1.0)[:, None, :] * weight
        return penalty, dattn.astype(self.dtype, copy=False)

    def backward(self, dloss=1.0) -> np.ndarray:
        """Add every parameter's gradient of ``dloss * loss``; return dfeatures (the shape of ``features``)."""
        cache = self._saved()
        dh = self._vocabulary_backward(cache["rows"], cache["shape"], dloss)   # masked positions: zero
        with naming_child("rnn"):
            if self.attends:
                dattn = None if cache["dattn"] is None else dloss * cache["dattn"]
                dx, dh0 = self.rnn.backward(dh, dattn)                  # dh0: dregions (N, P, H)
            else:
                dx, dh0 = self.rnn.backward(dh)
        with naming_child("embed"):
            self.embed.backward(dx)
        with naming_child("proj"):
            dfeatures = self.proj.backward(dh0.reshape(-1, dh0.shape[-1]))
        return dfeatures.reshape(cache["features_shape"])

    # ------------------------------------------------------------------ decoding primitives
    def initial_state(self, features) -> tuple[np.ndarray, ...]:
        """The recurrent state before the first word (the cell's state API; axis 0 is the image)."""
        features = self.check_features("CaptioningModel.initial_state", features)
        with inference_mode(), naming_child("proj"):
            return self.rnn.initial_state(self._project(features))

    def decode_step(self, words, state: tuple[np.ndarray, ...]) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
        """Feed one word per row: words (K,) int, state of K rows -> (scores (K, V), next state).

        No cache is kept; the model's training caches are left untouched.
        """
        words = index_input("CaptioningModel.decode_step", "words", words, self.vocab_size, K=None)
        with inference_mode():
            x = self.embed.forward(words[:, None])[:, 0]                     # (K, W)
            h, state = self.rnn.step_state(x, state)
            scores = self.vocab.forward(h[:, None])[:, 0]                    # (K, V)
        return scores, state

    def step_attention(self) -> np.ndarray:
        """The attention cell's weights over the regions (K, P) at the last ``decode_step``."""
        if not self.attends:
            return super().step_attention()
        return self.rnn.step_attn_weights

    def extra_repr(self) -> str:
        attention = f", attention={self.rnn.attention!r}" if self.attends else ""
        return f"cell_type={self.cell_type!r}{attention}, vocab_size={self.vocab_size}, dtype={self.dtype.name}"

# ---------------------------------------------------------------------------- the model kinds
@attrs.frozen(kw_only=True)
class RecurrentSettings:
    """The sizes of a ``CaptioningModel`` a run chooses (its constructor's keywords)."""

    hidden_dim: int = setting(int, low=1, metavar="H", help="hidden size H")
    wordvec_dim: int = setting(int, low=1, metavar="W", help="word-vector size W")


class RecurrentKind(ModelKind):
    """``CaptioningModel`` with one recurrent cell; each subclass names a cell (``cell_type``)."""

    captioner = CaptioningModel
    settings = RecurrentSettings
    cell: ClassVar[type]
    #: Built-in data: measured 98.2-99.4% held-out accuracy for the LSTM over the (weight, data) seeds
    #: (0, 0), (1, 0), (0, 1), (2, 2), ~20 s on 2 idle cores (a vanilla RNN ~83%, a GRU ~99%); COCO: the course's.
    presets = {"shapes": {"hidden_dim": 128, "wordvec_dim": 64}, "coco": {"hidden_dim": 512, "wordvec_dim": 256}}

    @classmethod
    def arguments(cls, settings) -> dict:
        return {**attrs.asdict(settings), "cell_type": cls.kind}

    @classmethod
    def matches(cls, config) -> bool:
        return config.get("cell_type") == cls.kind

    @classmethod
    def parameters(cls, settings, vocab_size: int, input_dim: int) -> int:
        H, W, G, V, D = settings.hidden_dim, settings.wordvec_dim, len(cls.cell.GATES), vocab_size, input_dim
        return (D + 1) * H + V * W + G * H * (W + H + 1) + (H + 1) * V      # proj, embed, rnn, vocab

    @classmethod
    def activations(cls, settings, batch_size, length, vocab_size, input_dim, regions) -> int:
        H, W, G, V = settings.hidden_dim, settings.wordvec_dim, len(cls.cell.GATES), vocab_size
        per_step = 2 * W + 2 * G * H + 4 * H + 3 * V        # x, gates, h, c, tanh c, their gradients, scores
        return 2 * batch_size * (length * per_step + regions * (input_dim + 2 * H))    # temporaries: twice over

    @staticmethod
    def cells() -> list[str]:
        """The ``cell_type`` values ``CaptioningModel`` takes."""
        return sorted(name for name, kind in KINDS.items() if issubclass(kind, RecurrentKind))


class RNNKind(RecurrentKind):
    kind = "rnn"
    cell = RNN


class LSTMKind(RecurrentKind):
    kind = "lstm"
    cell = LSTM
    default = True


class GRUKind(RecurrentKind):
    kind = "gru"
    cell = GRU


