"""BLEU: hand-checked clipping, brevity penalty, closest reference length, corpus sums, edge cases."""

import math

import pytest

from minitorch_cap.metrics import corpus_bleu


def bleu(hyps, refs):
    return corpus_bleu([h.split() for h in hyps], [[r.split() for r in rs] for rs in refs])[0]


def test_identical_caption_scores_one():
    assert bleu(["the cat sat on the mat"], [["the cat sat on the mat"]]) == pytest.approx([1.0] * 4, abs=1e-8)


def test_counts_are_clipped_by_the_references():
    assert bleu(["the the the the"], [["the cat"]])[0] == pytest.approx(0.25, abs=1e-9)


def test_brevity_penalty():
    scores = bleu(["the cat"], [["the cat sat on the mat"]])
    assert scores[0] == pytest.approx(math.exp(1 - 6 / 2), abs=1e-9)
    assert scores[1] == pytest.approx(math.exp(1 - 6 / 2), abs=1e-9)


def test_closest_reference_length_prefers_the_shorter_on_a_tie():
    # |h| = 4, references of 3 and 5 words: the tie goes to 3, so no brevity penalty.
    assert bleu(["a b c d"], [["a b c", "a b c d e"]])[0] == pytest.approx(1.0, abs=1e-8)
    # closest is 5 here: penalty exp(1 - 5/4)
    assert bleu(["a b c d"], [["a b", "a b c d e"]])[0] == pytest.approx(math.exp(1 - 5 / 4), abs=1e-8)


def test_corpus_bleu_sums_counts_over_images():
    scores = bleu(["a b", "c d"], [["a b"], ["x y"]])
    assert scores[0] == pytest.approx(0.5, abs=1e-9)        # 2 of 4 words, not a mean of per-image scores
    assert scores[1] == pytest.approx(math.sqrt(0.5 * 0.5), abs=1e-9)


def test_no_smoothing_and_empty_hypothesis():
    scores = bleu(["a b c d"], [["a b x y"]])
    assert scores[2] < 1e-4 and scores[3] < 1e-3          # no matching 3- and 4-grams: ~0, not smoothed
    assert bleu([""], [["a cat"]]) == pytest.approx([0.0] * 4, abs=1e-12)


def test_hypothesis_longer_than_every_reference_has_no_penalty():
    scores = bleu(["a red square and a red square"], [["a red square"]])
    assert scores[0] == pytest.approx(3 / 7, abs=1e-9)   # each word clipped at its 1 reference count
    assert scores[1] == pytest.approx(math.sqrt(3 / 7 * 2 / 6), abs=1e-9)
