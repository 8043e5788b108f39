"""Temperature and top-k sampling: seeded, greedy at the limits, the right distribution."""

import numpy as np
import pytest

from minitorch_cap.captioners.decoding import sample_stochastic

from .decoding_models import CELLS, W2I, bigram_model, random_model


def features(n, seed=1):
    return np.random.default_rng(seed).standard_normal((n, 6))


@pytest.mark.parametrize("cell", CELLS)
def test_seeded_sampling_is_reproducible(cell):
    model, f = random_model(cell), features(30)
    a = sample_stochastic(model, f, 10, rng=123)
    b = sample_stochastic(model, f, 10, rng=np.random.default_rng(123))
    np.testing.assert_array_equal(a, b)
    assert (a != sample_stochastic(model, f, 10, rng=124)).any()
    assert (a != model.sample(f, 10)).any()


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("options", [{"top_k": 1}, {"temperature": 0.0}, {"temperature": 1e-6}])
def test_greedy_limits(cell, options):
    model, f = random_model(cell), features(30)
    np.testing.assert_array_equal(sample_stochastic(model, f, 10, rng=0, **options), model.sample(f, 10))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("top_k", [None, 3])
@pytest.mark.parametrize("temperature", [1e-300, 1e-320, 5e-324])
def test_tiny_temperatures_give_the_greedy_captions(dtype, top_k, temperature):
    """Issue 24: scores / T overflowed below T ~ max|score| / 1.8e308: every positive score became +inf
    and the draw an argmax over ties, filling captions with <NULL> and <START>."""
    model, f = random_model("lstm", dtype=dtype), features(30)
    drawn = sample_stochastic(model, f, 10, rng=0, temperature=temperature, top_k=top_k)
    np.testing.assert_array_equal(drawn, model.sample(f, 10))


def test_a_huge_temperature_draws_uniformly():
    model = bigram_model({"<START>": {"a": 0.98, "b": 0.01, "c": 0.01}, "a": {"<END>": 1.0}, "b": {"<END>": 1.0},
                          "c": {"<END>": 1.0}})
    first = sample_stochastic(model, np.zeros((6000, 2)), 2, rng=0, temperature=1e300, top_k=3)[:, 0]
    np.testing.assert_allclose([np.mean(first == W2I[w]) for w in "abc"], [1 / 3] * 3, atol=0.03)


def test_layout_matches_sample():
    model, f = random_model("rnn"), features(30)
    captions = sample_stochastic(model, f, 10, rng=0)
    assert captions.shape == (30, 10) and captions.dtype == np.int64
    for row in captions:
        ends = np.flatnonzero(row == model.end_id)
        if ends.size:
            assert (row[ends[0] + 1:] == model.null_id).all()


def test_frequencies_follow_the_model_temperature_and_top_k():
    model = bigram_model({"<START>": {"a": 0.5, "b": 0.3, "c": 0.2}, "a": {"<END>": 1.0}, "b": {"<END>": 1.0},
                          "c": {"<END>": 1.0}})
    f = np.zeros((4000, 2))

    def share(first):
        return [np.mean(first == W2I[w]) for w in "abc"]

    np.testing.assert_allclose(share(sample_stochastic(model, f, 2, rng=0)[:, 0]), [0.5, 0.3, 0.2], atol=0.03)
    hot = np.sqrt([0.5, 0.3, 0.2])           # temperature 2: p ** (1/2), renormalised
    np.testing.assert_allclose(share(sample_stochastic(model, f, 2, rng=0, temperature=2.0)[:, 0]),
                               hot / hot.sum(), atol=0.03)
    top2 = share(sample_stochastic(model, f, 2, rng=0, top_k=2)[:, 0])
    assert top2[2] == 0.0
    np.testing.assert_allclose(top2[:2], [0.5 / 0.8, 0.3 / 0.8], atol=0.03)


def test_block_unk():
    model = bigram_model({"<START>": {"<UNK>": 0.9, "a": 0.1}, "a": {"<END>": 1.0}})
    captions = sample_stochastic(model, np.zeros((200, 2)), 3, rng=0, block_unk=True)
    assert W2I["<UNK>"] not in captions


@pytest.mark.parametrize("kwargs, error", [
    ({"temperature": -1.0}, ValueError), ({"temperature": float("nan")}, ValueError),
    ({"top_k": 0}, ValueError), ({"rng": "seed"}, TypeError),
])
def test_bad_options(kwargs, error):
    with pytest.raises(error):
        sample_stochastic(random_model("rnn"), features(2), 5, **kwargs)
