"""`CaptioningModel`: image features -> RNN/LSTM/GRU -> words (CS231n's ``CaptioningRNN``).

Shapes: N batch, D image-feature size, T caption length (with ``<START>``), W word-vector
size, H hidden size, V vocabulary size.

Two streams meet in the recurrent cell::

    features (N, D) --proj (Affine)--> h0 (N, H) --------------------+
    captions[:, :-1] (N, T-1) --embed (Embedding)--> x (N, T-1, W) --rnn--> h (N, T-1, H)
    h --vocab (TemporalAffine)--> scores (N, T-1, V) --criterion (TemporalSoftmaxLoss)--> loss
"""

from __future__ import annotations

from collections import Counter
from typing import Mapping

import numpy as np

from .nn import GRU, LSTM, RNN, Affine, Embedding, Module, TemporalAffine, TemporalSoftmaxLoss
from .nn.checks import check_finite, float_input, index_input, int_option
from .nn.module import naming_child

CELLS = {"rnn": RNN, "lstm": LSTM, "gru": GRU}

NULL, START, END, UNK = "<NULL>", "<START>", "<END>", "<UNK>"


class CaptioningModel(Module):
    """Image captioner with the signature of CS231n's ``CaptioningRNN``.

    Children, in order: ``proj`` (Affine D->H, features to h0, no nonlinearity),
    ``embed`` (Embedding V->W), ``rnn`` (RNN, LSTM or GRU W->H), ``vocab``
    (TemporalAffine H->V) and ``criterion`` (TemporalSoftmaxLoss). Its eight parameters
    are ``proj.W (D,H)``, ``proj.b (H,)``, ``embed.W (V,W)``, ``rnn.Wx``, ``rnn.Wh``,
    ``rnn.b``, ``vocab.W (H,V)``, ``vocab.b (V,)``.

    Initial weights follow the course: drawn from numpy's global random state in the
    course's order (embedding, projection, Wx, Wh, vocabulary) unless ``rng`` (a
    ``numpy.random.Generator``) is given.

    ``forward(features, captions)`` returns the loss; ``backward(dloss=1.0)`` adds every
    parameter gradient and returns ``dfeatures (N, D)``.
    """

    def __init__(self, word_to_idx: Mapping[str, int], input_dim: int = 512, wordvec_dim: int = 128,
                 hidden_dim: int = 128, cell_type: str = "rnn", dtype=np.float32, rng=None):
        super().__init__(dtype)
        if cell_type not in CELLS:
            raise ValueError(f"CaptioningModel: cell_type must be one of {sorted(CELLS)}, got {cell_type!r}")
        if NULL not in word_to_idx:
            raise ValueError(f"CaptioningModel: word_to_idx must contain {NULL!r} (the padding token)")
        # The course's own example vocabulary ({'<NULL>': 0, 'cat': 2, 'dog': 3}, V = 3) has ids
        # beyond V, so only what would break decoding is refused: a shared id, special tokens >= V.
        ids = [int(i) for i in word_to_idx.values()]
        repeated = sorted(i for i, n in Counter(ids).items() if n > 1)
        if repeated:
            raise ValueError(f"CaptioningModel: word_to_idx gives several words the same id {repeated[:5]}")
        for token in (NULL, START, END, "<UNK>"):
            if token in word_to_idx and not 0 <= int(word_to_idx[token]) < len(ids):
                raise ValueError(f"CaptioningModel: {token} has id {word_to_idx[token]}, outside [0, V) with "
                                 f"V = len(word_to_idx) = {len(ids)}")
        self.word_to_idx = {str(w): int(i) for w, i in word_to_idx.items()}
        self.idx_to_word = {i: w for w, i in self.word_to_idx.items()}
        self.cell_type = cell_type
        self.input_dim, self.wordvec_dim, self.hidden_dim = (
            int_option("CaptioningModel", name, value)
            for name, value in (("input_dim", input_dim), ("wordvec_dim", wordvec_dim), ("hidden_dim", hidden_dim)))
        self.vocab_size = len(self.word_to_idx)
        self.null_id = int(self.word_to_idx[NULL])
        self.start_id = self.word_to_idx.get(START)
        self.end_id = self.word_to_idx.get(END)
        V = self.vocab_size
        # Drawn in the course's order so a seeded global state gives the course's weights ...
        embed = Embedding(V, wordvec_dim, dtype=dtype, rng=rng)
        proj = Affine(input_dim, hidden_dim, dtype=dtype, rng=rng)
        rnn = CELLS[cell_type](wordvec_dim, hidden_dim, dtype=dtype, rng=rng)
        vocab = TemporalAffine(hidden_dim, V, dtype=dtype, rng=rng)
        # ... and registered in the order data flows.
        self.proj, self.embed, self.rnn, self.vocab = proj, embed, rnn, vocab
        self.criterion = TemporalSoftmaxLoss(dtype=dtype)

    def config(self) -> dict:
        """Constructor arguments (without ``word_to_idx``) as plain JSON-able values."""
        return {"input_dim": self.input_dim, "wordvec_dim": self.wordvec_dim, "hidden_dim": self.hidden_dim,
                "cell_type": self.cell_type, "dtype": self.dtype.name}

    # ------------------------------------------------------------------ training
    def _check_features(self, owner: str, features) -> np.ndarray:
        features = float_input(owner, "features", features, self.dtype, N=None, D=self.input_dim)
        check_finite(owner, "features", features)
        return features

    def forward(self, features, captions) -> float:
        """features (N, D), captions (N, T) int with T >= 2 -> loss (float)."""
        owner = "CaptioningModel.forward"
        features = self._check_features(owner, features)
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
        # Masked positions add nothing to the loss or to any gradient, so only the M unmasked
        # rows of h reach the vocabulary projection and the softmax (V is the widest axis).
        # They pass through as one sequence (1, M); the summed loss is then divided by N.
        N, T, H = h.shape
        rows = np.flatnonzero(mask)                               # (M,) positions in N*T order
        h_rows = h.reshape(N * T, H)[rows][None]                  # (1, M, H)
        with naming_child("vocab"):
            scores = self.vocab.forward(h_rows)                   # (1, M, V)
        with naming_child("criterion"):
            loss = self.criterion.forward(scores, targets.reshape(-1)[rows][None])
        # 'batch' normalisation divided by the batch size 1 of that sequence; 'tokens' by M already
        divisor = N if self.criterion.normalize == "batch" else 1
        self._save_for_backward(rows=rows, shape=h.shape, divisor=divisor)
        return loss / divisor

    def backward(self, dloss=1.0) -> np.ndarray:
        """Add every parameter's gradient of ``dloss * loss``; return dfeatures (N, D)."""
        cache = self._saved()
        rows, (N, T, H) = cache["rows"], cache["shape"]
        with naming_child("criterion"):
            dscores = self.criterion.backward(float(dloss) / cache["divisor"])
        with naming_child("vocab"):
            dh_rows = self.vocab.backward(dscores)[0]             # (M, H)
        dh = np.zeros((N * T, H), dtype=self.dtype)               # masked positions: zero gradient
        dh[rows] = dh_rows
        dh = dh.reshape(N, T, H)
        with naming_child("rnn"):
            dx, dh0 = self.rnn.backward(dh)
        with naming_child("embed"):
            self.embed.backward(dx)
        with naming_child("proj"):
            return self.proj.backward(dh0)

    def loss(self, features, captions) -> tuple[float, dict[str, np.ndarray]]:
        """CS231n's ``loss``: the loss and the gradient of every parameter, by dotted name.

        The gradients are computed afresh: each call gives every parameter a new zero
        ``.grad`` array, so the dict returned is also what ``p.grad`` holds, and a later call
        never changes it (the course's numerical checks call ``loss`` again and again while
        holding one ``grads``).
        """
        for param in self.parameters():
            param.grad = np.zeros_like(param.data)
        loss = self.forward(features, captions)
        self.backward(1.0)
        return loss, {name: p.grad for name, p in self.named_parameters()}

    # ------------------------------------------------------------------ decoding
    def initial_state(self, features) -> tuple[np.ndarray, ...]:
        """The recurrent state before the first word: ``(h0,)``, or ``(h0, c0)`` for an LSTM; each (N, H)."""
        features = self._check_features("CaptioningModel.initial_state", features)
        h0 = features @ self.proj.W.data
        h0 += self.proj.b.data
        if self.cell_type == "lstm":
            return h0, np.zeros_like(h0)
        return (h0,)

    def decode_step(self, words, state: tuple[np.ndarray, ...]) -> tuple[np.ndarray, tuple[np.ndarray, ...]]:
        """Feed one word per row: words (K,) int, state of K rows -> (scores (K, V), next state).

        No cache is kept; the model's training caches are left untouched.
        """
        x = self.embed.W.data[index_input("CaptioningModel.decode_step", "words", words, self.vocab_size, K=None)]
        if self.cell_type == "lstm":
            h, c = self.rnn.step(x, *state)
            state = (h, c)
        else:
            h = self.rnn.step(x, state[0])
            state = (h,)
        scores = h @ self.vocab.W.data
        scores += self.vocab.b.data
        return scores, state

    def sample(self, features, max_length: int = 30) -> np.ndarray:
        """Greedy captions: features (N, D) -> word ids (N, max_length).

        The first input is ``<START>``; column t holds the t-th generated word. Once a row
        emits ``<END>`` the rest of it is ``<NULL>`` and the row is dropped from the work.
        """
        if self.start_id is None:
            raise ValueError(f"CaptioningModel.sample: word_to_idx has no {START!r} token to begin a caption with")
        max_length = int_option("CaptioningModel.sample", "max_length", max_length)
        state = self.initial_state(features)
        N = state[0].shape[0]
        captions = np.full((N, max_length), self.null_id, dtype=np.int64)
        rows = np.arange(N)                                  # rows still generating
        words = np.full(N, self.start_id, dtype=np.int64)
        for t in range(max_length):
            scores, state = self.decode_step(words, state)
            words = scores.argmax(axis=1)
            captions[rows, t] = words
            if self.end_id is not None:
                going = words != self.end_id
                if not going.all():
                    rows, words = rows[going], words[going]
                    state = tuple(s[going] for s in state)
                    if rows.size == 0:
                        break
        return captions

    def extra_repr(self) -> str:
        return f"cell_type={self.cell_type!r}, vocab_size={self.vocab_size}, dtype={self.dtype.name}"


# ---------------------------------------------------------------------------------------------
# Decoding methods (owned by the decoding helper): thin delegations to minitorch_cap.decoding,
# where the algorithms and their documentation live. Greedy ``sample`` above stays the default.
def _beam_search(self, features, beam_size: int = 3, max_length: int = 30, **options):
    """Batched beam search; see :func:`minitorch_cap.decoding.beam_search` -> ``BeamSearchResult``."""
    from .decoding import beam_search
    return beam_search(self, features, beam_size, max_length, **options)


def _sample_stochastic(self, features, max_length: int = 30, **options):
    """Temperature / top-k sampling; see :func:`minitorch_cap.decoding.sample_stochastic` -> (N, max_length)."""
    from .decoding import sample_stochastic
    return sample_stochastic(self, features, max_length, **options)


for _name, _method in (("beam_search", _beam_search), ("sample_stochastic", _sample_stochastic)):
    _method.__name__, _method.__qualname__ = _name, f"CaptioningModel.{_name}"
    setattr(CaptioningModel, _name, _method)
del _name, _method
# ---------------------------------------------------------------------------------------------

