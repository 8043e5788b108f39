"""`CaptioningModel`: image features -> RNN/LSTM/GRU -> words (CS231n's ``CaptioningRNN``).

Shapes: N batch, D image-feature size, T caption length (with ``<START>``), W word-vector
size, H hidden size, V vocabulary size.

Two streams meet in the recurrent cell::

    features (N, D) --proj (Affine)--> h0 (N, H) --------------------+
    captions[:, :-1] (N, T-1) --embed (Embedding)--> x (N, T-1, W) --rnn--> h (N, T-1, H)
    h --vocab (TemporalAffine)--> scores (N, T-1, V) --criterion (TemporalSoftmaxLoss)--> loss
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from .base import Captioner
from ..nn import GRU, LSTM, RNN, Affine, Embedding, TemporalAffine, TemporalSoftmaxLoss
from ..nn.checks import index_input, int_option
from ..nn.module import inference_mode, naming_child

CELLS = {"rnn": RNN, "lstm": LSTM, "gru": GRU}


class CaptioningModel(Captioner):
    """Image captioner with the signature of CS231n's ``CaptioningRNN``.

    Children, in order: ``proj`` (Affine D->H, features to h0, no nonlinearity),
    ``embed`` (Embedding V->W), ``rnn`` (RNN, LSTM or GRU W->H), ``vocab``
    (TemporalAffine H->V) and ``criterion`` (TemporalSoftmaxLoss, normalised by the batch
    size). Its eight parameters are ``proj.W (D,H)``, ``proj.b (H,)``, ``embed.W (V,W)``,
    ``rnn.Wx``, ``rnn.Wh``, ``rnn.b``, ``vocab.W (H,V)``, ``vocab.b (V,)``.

    Initial weights follow the course: drawn from numpy's global random state in the
    course's order (embedding, projection, Wx, Wh, vocabulary) unless ``rng`` (a
    ``numpy.random.Generator``) is given.

    It implements the captioner interface (:mod:`minitorch_cap.captioners.base`):
    ``forward(features, captions)`` returns the loss; ``backward(dloss=1.0)`` adds every
    parameter gradient and returns ``dfeatures (N, D)``; the decoding state is the
    recurrent cell's (``(h,)``, or ``(h, c)`` for an LSTM).
    """

    def __init__(self, word_to_idx: Mapping[str, int], input_dim: int = 512, wordvec_dim: int = 128,
                 hidden_dim: int = 128, cell_type: str = "rnn", dtype=np.float32, rng=None):
        if cell_type not in CELLS:
            raise ValueError(f"CaptioningModel: cell_type must be one of {sorted(CELLS)}, got {cell_type!r}")
        input_dim, wordvec_dim, hidden_dim = (
            int_option("CaptioningModel", name, value)
            for name, value in (("input_dim", input_dim), ("wordvec_dim", wordvec_dim), ("hidden_dim", hidden_dim)))
        super().__init__(word_to_idx, input_dim, dtype)
        self.cell_type = cell_type
        self.wordvec_dim, self.hidden_dim = wordvec_dim, hidden_dim
        V = self.vocab_size
        # Drawn in the course's order so a seeded global state gives the course's weights ...
        embed = Embedding(V, wordvec_dim, dtype=dtype, rng=rng)
        proj = Affine(input_dim, hidden_dim, dtype=dtype, rng=rng)
        rnn = CELLS[cell_type](wordvec_dim, hidden_dim, dtype=dtype, rng=rng)
        vocab = TemporalAffine(hidden_dim, V, dtype=dtype, rng=rng)
        # ... and registered in the order data flows.
        self.proj, self.embed, self.rnn, self.vocab = proj, embed, rnn, vocab
        self.criterion = TemporalSoftmaxLoss(normalize="batch", dtype=dtype)

    def config(self) -> dict:
        """Constructor arguments (without ``word_to_idx``) as plain JSON-able values."""
        return {"input_dim": self.input_dim, "wordvec_dim": self.wordvec_dim, "hidden_dim": self.hidden_dim,
                "cell_type": self.cell_type, "dtype": self.dtype.name}

    # ------------------------------------------------------------------ training
    def forward(self, features, captions) -> float:
        """features (N, D), captions (N, T) int with T >= 2 -> loss (float)."""
        owner = "CaptioningModel.forward"
        features = self.check_features(owner, features)
        captions = index_input(owner, "captions", captions, self.vocab_size, N=features.shape[0], T=None)
        if captions.shape[1] < 2:
            raise ValueError(f"{owner}: captions need T >= 2 columns (an input word and a target), got T={captions.shape[1]}")
        words_in, targets = captions[:, :-1], captions[:, 1:]
        mask = targets != self.null_id
        with naming_child("proj"):
            h0 = self.proj.forward(features)
        with naming_child("embed"):
            x = self.embed.forward(words_in)
        with naming_child("rnn"):
            h = self.rnn.forward(x, h0)
        loss, rows = self._vocabulary_loss(h, targets, mask)     # vocab and criterion, unmasked rows only
        self._save_for_backward(rows=rows, shape=h.shape)
        return loss

    def backward(self, dloss=1.0) -> np.ndarray:
        """Add every parameter's gradient of ``dloss * loss``; return dfeatures (N, D)."""
        cache = self._saved()
        dh = self._vocabulary_backward(cache["rows"], cache["shape"], dloss)   # masked positions: zero
        with naming_child("rnn"):
            dx, dh0 = self.rnn.backward(dh)
        with naming_child("embed"):
            self.embed.backward(dx)
        with naming_child("proj"):
            return self.proj.backward(dh0)

    # ------------------------------------------------------------------ decoding primitives
    def initial_state(self, features) -> tuple[np.ndarray, ...]:
        """The recurrent state before the first word (the cell's state API), each (N, H)."""
        features = self.check_features("CaptioningModel.initial_state", features)
        with inference_mode(), naming_child("proj"):
            return self.rnn.initial_state(self.proj.forward(features))

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

    def extra_repr(self) -> str:
        return f"cell_type={self.cell_type!r}, vocab_size={self.vocab_size}, dtype={self.dtype.name}"
