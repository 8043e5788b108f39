"""Batched beam search agrees with a slow, one-image, no-early-stopping reference written from the definition."""

import numpy as np
import pytest

from minitorch_cap.captioners.decoding import beam_search, length_penalty
from minitorch_cap.nn.functional import log_softmax

from .decoding_models import CELLS, random_model


def reference_beam(model, features_row, K, L, alpha):
    """Show-and-Tell beam search for one image, run to max_length, as plain Python lists."""
    beams = [(0.0, [], model.initial_state(features_row[None]))]
    finished = []
    for t in range(L):
        proposals = []
        for logprob, words, state in beams:
            scores, next_state = model.decode_step(np.array([words[-1] if words else model.start_id]), state)
            logp = log_softmax(scores.astype(np.float64))[0]
            best = sorted(range(model.vocab_size), key=lambda w: (-scores[0, w], w))[:K]
            for w in best:
                proposals.append((logprob + logp[w], words + [w], next_state))
        live = []
        for logprob, words, state in proposals:   # in (beam, word rank) order: ties keep it
            if words[-1] == model.end_id:
                finished.append((logprob / float(length_penalty(len(words), alpha)), logprob, words))
            else:
                live.append((logprob, words, state))
        beams = sorted(live, key=lambda b: -b[0])[:K]
    finished.sort(key=lambda f: -f[0])
    unfinished = [(lp / float(length_penalty(L, alpha)), lp, w) for lp, w, _ in beams]
    return (finished + unfinished)[:K]


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("alpha", [0.0, 0.8])
def test_agrees_with_the_reference(cell, alpha):
    model = random_model(cell, seed=11, end_bias=0.5)
    f = np.random.default_rng(12).standard_normal((8, 6))
    K, L = 3, 7
    result = beam_search(model, f, beam_size=K, max_length=L, n_best=K, alpha=alpha)
    best = beam_search(model, f, beam_size=K, max_length=L, n_best=1, alpha=alpha)   # stops earlier
    for i in range(8):
        expected = reference_beam(model, f[i], K, L, alpha)
        assert list(best.captions[i, 0, :best.lengths[i, 0]]) == expected[0][2]
        assert abs(best.logprobs[i, 0] - expected[0][1]) < 1e-10
        for j, (score, logprob, words) in enumerate(expected):
            assert list(result.captions[i, j, :result.lengths[i, j]]) == words
            assert abs(result.logprobs[i, j] - logprob) < 1e-10
            assert abs(result.scores[i, j] - score) < 1e-10
