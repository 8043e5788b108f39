"""Beam search: greedy at width 1, finds what greedy misses, log-probabilities of the loss, batching."""

import itertools

import numpy as np
import pytest

from minitorch_cap.captioners.decoding import BeamSearchResult, beam_search, decode, length_penalty

from .decoding_models import CELLS, GREEDY_TRAP, W2I, WORDS, bigram_model, random_model


def caption_logprob(model, features_row, words):
    """-loss of one caption [<START>, *words] (the SPEC's loss with N = 1 is the summed -log p)."""
    caption = np.array([[model.start_id, *words]])
    return -model.forward(features_row[None], caption)


def features(n, D=6, seed=1):
    return np.random.default_rng(seed).standard_normal((n, D))


def words_of(row, end):
    row = list(row)
    return row[:row.index(end) + 1] if end in row else row


@pytest.mark.parametrize("cell", CELLS)
def test_beam_size_one_is_greedy_exactly(cell):
    model, f = random_model(cell), features(40)
    result = beam_search(model, f, beam_size=1, max_length=12)
    assert isinstance(result, BeamSearchResult)
    greedy = model.sample(f, max_length=12)
    np.testing.assert_array_equal(result.best, greedy)
    assert 0 < result.finished.sum() < 40   # both finished and cut-off captions are covered
    np.testing.assert_array_equal(decode(model, f, beam_size=1, max_length=12), greedy)


@pytest.mark.parametrize("cell", CELLS)
def test_beam_size_one_is_greedy_in_float32(cell):
    model, f = random_model(cell, dtype=np.float32), features(40)
    np.testing.assert_array_equal(beam_search(model, f, 1, 12).best, model.sample(f, 12))


def test_beam_finds_the_caption_greedy_misses():
    model = bigram_model(GREEDY_TRAP)
    f = np.zeros((1, 2))
    end = W2I["<END>"]
    assert words_of(model.sample(f, 5)[0], end) == [W2I["a"], W2I["c"], end]
    result = beam_search(model, f, beam_size=2, max_length=5, n_best=2)
    assert words_of(result.captions[0, 0], end) == [W2I["b"], end]
    assert words_of(result.captions[0, 1], end) == [W2I["a"], W2I["c"], end]
    np.testing.assert_allclose(result.logprobs[0], [np.log(0.4), np.log(0.6 * 0.55)], atol=1e-6)
    np.testing.assert_array_equal(result.lengths[0], [2, 3])
    assert result.finished.all()


def test_length_normalisation_alpha_favours_longer_captions():
    model = bigram_model(GREEDY_TRAP)
    f = np.zeros((1, 2))
    result = beam_search(model, f, beam_size=2, max_length=5, n_best=2, alpha=3.0)
    assert words_of(result.captions[0, 0], W2I["<END>"]) == [W2I["a"], W2I["c"], W2I["<END>"]]
    np.testing.assert_allclose(result.scores[0], result.logprobs[0] / length_penalty(result.lengths[0], 3.0))
    assert result.scores[0, 0] >= result.scores[0, 1]
    assert length_penalty(2, 0.0) == 1.0 and abs(length_penalty(1, 1.0) - 1.0) < 1e-15


@pytest.mark.parametrize("cell", CELLS)
def test_logprobs_are_minus_the_loss_of_each_caption(cell):
    model, f = random_model(cell, seed=3, end_bias=-3.0), features(12, seed=4)
    result = beam_search(model, f, beam_size=3, max_length=6, n_best=3)
    checked = {True: 0, False: 0}
    for i in range(12):
        for j in range(3):
            n = result.lengths[i, j]
            words = result.captions[i, j, :n]
            assert (result.captions[i, j, n:] == model.null_id).all()
            assert (words[-1] == model.end_id) == result.finished[i, j]
            assert abs(result.logprobs[i, j] - caption_logprob(model, f[i], words)) < 1e-10
            checked[bool(result.finished[i, j])] += 1
        fin = result.finished[i]
        assert not np.any(fin[1:] & ~fin[:-1])                 # finished captions come first ...
        assert np.all(np.diff(result.scores[i][fin]) <= 0)     # ... best first
        assert np.all(np.diff(result.scores[i][~fin]) <= 0)
    assert checked[True] and checked[False]


@pytest.mark.parametrize("cell", CELLS)
def test_batched_equals_one_by_one(cell):
    model, f = random_model(cell, seed=5), features(10, seed=6)
    batched = beam_search(model, f, beam_size=3, max_length=10, n_best=2, alpha=0.7)
    for i in range(10):
        alone = beam_search(model, f[i:i + 1], beam_size=3, max_length=10, n_best=2, alpha=0.7)
        np.testing.assert_array_equal(alone.captions[0], batched.captions[i])
        np.testing.assert_allclose(alone.logprobs[0], batched.logprobs[i], rtol=0, atol=1e-12)
        np.testing.assert_array_equal(alone.finished[0], batched.finished[i])


@pytest.mark.parametrize("alpha", [0.0, 1.0])
def test_a_wide_beam_finds_the_exhaustive_best(alpha):
    model, f = random_model("lstm", seed=7, scale=1.5), features(3, seed=8)
    end, V, L = model.end_id, model.vocab_size, 3
    result = beam_search(model, f, beam_size=45, max_length=L, n_best=5, alpha=alpha)
    others = [w for w in range(V) if w not in (end, model.null_id, model.start_id)]
    for i in range(3):
        candidates = [(*prefix, end) for k in range(L) for prefix in itertools.product(others, repeat=k)]
        scored = sorted(((caption_logprob(model, f[i], c) / length_penalty(len(c), alpha), c) for c in candidates),
                        reverse=True)
        for j in range(5):
            assert tuple(result.captions[i, j, :result.lengths[i, j]]) == scored[j][1]
            assert abs(result.scores[i, j] - scored[j][0]) < 1e-10


def test_always_returns_a_caption_when_no_beam_ends():
    model = bigram_model({"<START>": {"a": 0.5, "b": 0.5}, "a": {"a": 0.7, "b": 0.3}, "b": {"a": 0.5, "b": 0.5}})
    model.vocab.W.data[:, W2I["<END>"]] = -1e3   # <END> never wins
    result = beam_search(model, np.zeros((2, 2)), beam_size=3, max_length=4, n_best=3)
    assert not result.finished.any()
    np.testing.assert_array_equal(result.lengths, 4)
    np.testing.assert_array_equal(result.captions[:, 0], [[W2I["a"]] * 4] * 2)
    np.testing.assert_allclose(result.logprobs[:, 0], np.log(0.5 * 0.7 ** 3), atol=1e-6)
    assert np.isfinite(result.logprobs).all()


def test_a_vocabulary_without_end():
    words = [w for w in WORDS if w != "<END>"]
    model = random_model("gru", words=words)
    result = beam_search(model, features(4), beam_size=2, max_length=5)
    assert result.best.shape == (4, 5) and (result.lengths == 5).all() and not result.finished.any()


def test_block_unk():
    model = bigram_model({"<START>": {"<UNK>": 0.5, "a": 0.3, "b": 0.2}, "<UNK>": {"<END>": 1.0},
                          "a": {"<UNK>": 0.9, "<END>": 0.1}, "b": {"<END>": 1.0}})
    f = np.zeros((1, 2))
    unk = W2I["<UNK>"]
    assert unk in beam_search(model, f, beam_size=2, max_length=4).best
    result = beam_search(model, f, beam_size=2, max_length=4, n_best=2, block_unk=True)
    assert unk not in result.captions
    assert words_of(result.captions[0, 0], W2I["<END>"]) == [W2I["b"], W2I["<END>"]]
    np.testing.assert_allclose(result.logprobs[0, 0], np.log(0.2), atol=1e-6)   # the model's probability
    assert unk not in decode(model, f, block_unk=True, max_length=4)


@pytest.mark.parametrize("kwargs, message", [
    ({"beam_size": 0}, "beam_size"),
    ({"beam_size": 2.0}, "beam_size"),
    ({"beam_size": 2, "n_best": 3}, "n_best"),
    ({"alpha": -0.5}, "alpha"),
    ({"max_length": 0}, "max_length"),
])
def test_bad_options_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        beam_search(random_model("rnn"), features(2), **kwargs)


def test_bad_features_are_refused_by_the_model():
    with pytest.raises(ValueError, match="features"):
        beam_search(random_model("rnn"), np.zeros((2, 5)), beam_size=2)


def test_model_methods_delegate():
    model, f = random_model("lstm"), features(5)
    np.testing.assert_array_equal(model.beam_search(f, 2, 6, alpha=0.5).captions,
                                  beam_search(model, f, 2, 6, alpha=0.5).captions)
    np.testing.assert_array_equal(model.sample_stochastic(f, 6, rng=3), model.sample_stochastic(f, 6, rng=3))
