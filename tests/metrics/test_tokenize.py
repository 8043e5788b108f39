"""Tokenisation: lower-case, punctuation dropped, clitics split, special tokens removed."""

import pytest

from minitorch_cap.metrics import tokenize, tokens_from_ids


@pytest.mark.parametrize("text, tokens", [
    ("A man's dog, sitting on a T-shirt. <END>", ["a", "man", "'s", "dog", "sitting", "on", "a", "t-shirt"]),
    ("<START> a red square <END> <NULL> <NULL>", ["a", "red", "square"]),
    ("a <unk> on a Bench!!", ["a", "on", "a", "bench"]),
    ("Don't touch the 3.5 inch (small) disk; it's 5 o'clock.",
     ["do", "n't", "touch", "the", "3.5", "inch", "small", "disk", "it", "'s", "5", "o'clock"]),
    ("  ", []),
    ("", []),
])
def test_strings(text, tokens):
    assert tokenize(text) == tokens


def test_token_lists_are_only_filtered():
    assert tokenize(["A", "Dog", "<END>", "<UNK>", "."]) == ["A", "Dog", "."]
    assert tokenize(()) == []


def test_bad_input():
    with pytest.raises(TypeError, match="caption"):
        tokenize(3)
    with pytest.raises(TypeError, match="caption"):
        tokenize(["a", 1])
    with pytest.raises(ValueError, match="list of caption strings"):
        tokenize(["a dog runs"])          # coco-caption's {id: [caption]} given as a hypothesis
    with pytest.raises(ValueError, match="empty token"):
        tokenize(["a", ""])


def test_tokens_from_ids():
    words = ["<NULL>", "<START>", "<END>", "<UNK>", "a", "dog"]
    assert tokens_from_ids([1, 4, 3, 5, 2, 4, 0], words) == ["a", "dog"]      # stops at <END>
    assert tokens_from_ids([4, 5, 0, 0], dict(enumerate(words))) == ["a", "dog"]
