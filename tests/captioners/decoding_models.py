"""Models for the decoding tests: random ones of every cell type and a hand-built bigram model."""

import numpy as np

from minitorch_cap import CaptioningModel

WORDS = ["<NULL>", "<START>", "<END>", "<UNK>", "a", "b", "c"]
W2I = {w: i for i, w in enumerate(WORDS)}
CELLS = ["rnn", "lstm", "gru"]


def random_model(cell, seed=0, words=WORDS, D=6, W=5, H=8, scale=1.0, dtype=np.float64, end_bias=1.0):
    """Weights with unit-scale entries and a push towards <END>, so that captions vary and end at
    various lengths (some not within a short max_length). Like a trained model, it never
    says <NULL> or <START> (the loss masks <NULL> targets, so they would break the comparisons)."""
    rng = np.random.default_rng(seed)
    model = CaptioningModel({w: i for i, w in enumerate(words)}, input_dim=D, wordvec_dim=W, hidden_dim=H,
                            cell_type=cell, dtype=dtype, rng=rng)
    for _, p in model.named_parameters():
        p.data[...] = scale * rng.standard_normal(p.shape)
    if model.end_id is not None:
        model.vocab.b.data[model.end_id] += end_bias
    model.vocab.b.data[[model.null_id, model.start_id]] = -40.0
    return model


def bigram_model(next_word_probs, dtype=np.float64):
    """An RNN whose next-word distribution depends only on the previous word.

    ``next_word_probs[prev] = {word: probability}`` (unlisted words get 1e-9). The hidden
    state is tanh(20 * one-hot(previous word)) = one-hot to float64 precision, and the
    vocabulary weights hold the log-probabilities.
    """
    V = len(WORDS)
    model = CaptioningModel(W2I, input_dim=2, wordvec_dim=V, hidden_dim=V, cell_type="rnn", dtype=dtype,
                            rng=np.random.default_rng(0))
    for _, p in model.named_parameters():
        p.data[...] = 0.0
    model.embed.W.data[...] = 20.0 * np.eye(V)
    model.rnn.Wx.data[...] = np.eye(V)
    logits = np.full((V, V), np.log(1e-9))
    for prev, probs in next_word_probs.items():
        for word, prob in probs.items():
            logits[W2I[prev], W2I[word]] = np.log(prob)
    model.vocab.W.data[...] = logits
    return model


# Greedy takes "a" (0.6) and then "c" (0.55): "a c" has probability 0.6 * 0.55 = 0.33,
# but "b" <END> has 0.4 * 1.0 = 0.4: greedy is suboptimal, beam search of width 2 is not.
GREEDY_TRAP = {
    "<START>": {"a": 0.6, "b": 0.4},
    "a": {"c": 0.55, "<END>": 0.45},
    "b": {"<END>": 1.0},
    "c": {"<END>": 1.0},
}
