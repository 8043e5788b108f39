"""Diagnostics of a collapsed captioner."""

import pytest

from minitorch_cap.metrics import caption_diagnostics, is_repetitive


def test_hand_checked():
    d = caption_diagnostics([["a", "b"], ["a", "b"], ["c", "d", "d"]])
    assert d == pytest.approx({"distinct_captions": 2 / 3, "vocabulary_used": 4.0, "mean_length": 7 / 3,
                               "repetition_rate": 1 / 3})


def test_collapsed_captioner():
    d = caption_diagnostics([["a", "man", "a", "man"]] * 10)
    assert d["distinct_captions"] == 0.1 and d["repetition_rate"] == 1.0 and d["vocabulary_used"] == 2


@pytest.mark.parametrize("caption, expected", [
    ("a man a man", True), ("a dog dog", True), ("a man on a bench next to a dog", False), ("", False), ("a", False),
])
def test_is_repetitive(caption, expected):
    assert is_repetitive(caption.split()) is expected


def test_empty():
    with pytest.raises(ValueError, match="no captions"):
        caption_diagnostics([])
    assert caption_diagnostics([[]])["mean_length"] == 0.0
