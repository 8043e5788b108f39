"""ROUGE-L: LCS, beta = 1.2, best precision and recall over references."""

import pytest

from minitorch_cap.metrics import lcs_length, rouge_l


def test_lcs_length():
    assert lcs_length(list("abcbdab"), list("bdcaba")) == 4
    assert lcs_length([], list("abc")) == 0
    assert lcs_length(list("abc"), list("abc")) == 3


def test_hand_checked_score():
    # LCS("a b c d", "a c d e f") = 3: P = 3/4, R = 3/5
    p, r = 3 / 4, 3 / 5
    expected = (1 + 1.2 ** 2) * p * r / (r + 1.2 ** 2 * p)
    score, per_image = rouge_l([["a", "b", "c", "d"]], [[["a", "c", "d", "e", "f"]]])
    assert score == pytest.approx(expected, abs=1e-12) and per_image == [score]


def test_precision_and_recall_are_maximised_separately():
    # ref1 gives P = 2/2, R = 2/4; ref2 gives P = 1/2, R = 1/1: coco-caption combines P = 1, R = 1
    score, _ = rouge_l([["a", "b"]], [[["a", "b", "c", "d"], ["a"]]])
    assert score == pytest.approx(1.0, abs=1e-12)


def test_edge_cases():
    assert rouge_l([[]], [[["a"]]])[0] == 0.0
    assert rouge_l([["x"]], [[["a"]]])[0] == 0.0
    assert rouge_l([["a", "b"], ["c"]], [[["a", "b"]], [["d"]]])[0] == pytest.approx(0.5)
