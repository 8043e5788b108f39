"""Tokenisation: lower-case, punctuation dropped, clitics split, special tokens removed."""

import os
import shutil
import unicodedata

import pytest

from minitorch_cap.data import Vocabulary
from minitorch_cap.metrics import score_captions, tokenize, tokens_from_ids
from minitorch_cap.metrics.tokenize import normalize_text
from tests.conftest import require_oracle


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
    assert tokenize(["man\u2019s", "cafe\u0301", "\u200b"]) == ["man's", "caf\u00e9"]  # one spelling, no split


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


# (typed by a person or scraped from the web, as ASCII would type it)
SPELLINGS = [
    ("a man\u2019s hat", "a man's hat"),                  # right single quotation mark
    ("a man\u02bcs hat", "a man's hat"),                  # modifier letter apostrophe
    ("a man\uff07s hat", "a man's hat"),                  # full-width apostrophe (NFKC)
    ("a man\u2018s hat", "a man's hat"),                  # left quote typed for an apostrophe
    ("a man\u00b4s hat", "a man's hat"),                  # acute accent typed for an apostrophe
    ("don\u2019t, can\u2019t, won\u2019t", "don't, can't, won't"),
    ("I\u2019m sure we\u2019re, they\u2019ve, you\u2019ll, he\u2019d", "I'm sure we're, they've, you'll, he'd"),
    ("the dogs\u2019 toys at 5 o\u2019clock", "the dogs' toys at 5 o'clock"),
    ("\u201cthe\u201d \u2018best\u2019 \u00abcake\u00bb", '"the" \'best\' "cake"'),
    ("a t\u2010shirt and a t\u2011shirt", "a t-shirt and a t-shirt"),
    ("a do\u200bg on a so\u00adfa\ufeff", "a dog on a sofa"),
    ("\uff21 \ufb01sh\u00a0bowl\u2026", "A fish bowl..."),  # full-width letter, ligature, nbsp, ellipsis
    ("a cafe\u0301 latte", "a caf\u00e9 latte"),         # combining accent keeps its accent
]


@pytest.mark.parametrize("typed, ascii_form", SPELLINGS)
def test_typographic_and_unicode_spellings_tokenise_as_their_plain_form(typed, ascii_form):
    assert tokenize(typed) == tokenize(ascii_form)


def test_the_issue_examples():
    assert tokenize("a man\u2019s hat") == ["a", "man", "'s", "hat"]
    assert tokenize("don\u2019t") == ["do", "n't"]
    assert tokenize("cafe\u0301") == ["caf\u00e9"] and unicodedata.is_normalized("NFC", tokenize("cafe\u0301")[0])
    assert tokenize("\u0939\u093f\u0902\u0926\u0940 \u092e\u0947\u0902") == ["\u0939\u093f\u0902\u0926\u0940", "\u092e\u0947\u0902"]  # marks stay in words
    assert tokenize("I cannot") == ["i", "can", "not"] and tokenize("a canopy") == ["a", "canopy"]


def test_bleu_of_a_caption_against_itself_typed_with_u2019_is_one():
    plain = "a man's dog doesn't like the cat's toy on the woman's lap"
    typed = plain.replace("'", "\u2019")
    scores = score_captions([typed], [[plain]])
    assert scores["BLEU-4"] == pytest.approx(1.0)  # 0.26 before normalisation (coco-caption: 1.0)
    assert scores["CIDEr-D"] == score_captions([plain], [[plain]])["CIDEr-D"]


def test_vocabulary_sees_one_spelling():
    vocab = Vocabulary.build(["a man\u2019s hat", "a man's hat", "don\u2019t run", "don't run", "cafe\u0301",
                              "caf\u00e9"])
    assert {"s", "t", "don"}.isdisjoint(vocab.word_to_idx)
    assert vocab.idx_to_word[4:] == ["'s", "a", "caf\u00e9", "do", "hat", "man", "n't", "run"]
    assert (vocab.encode("a man\u2019s hat") == vocab.encode("a man's hat")).all()
    assert vocab.report(["don\u2019t run", "cafe\u0301"], 17)["unk_rate"] == 0.0


# Captions for the comparison with coco-caption's own tokeniser. Left out, where the two
# differ on purpose (tokenize.py's docstring): U+02BC and U+2018 as apostrophes, "!!!", and
# brackets, which PTB turns into -LRB- and -lowerCase into -lrb-, a token coco-caption keeps.
PTB_CASES = [
    "A man's hat, on the table.", "a man\u2019s hat", "Don't touch it!", "don\u2019t", "Two dogs\u2014running.",
    "I\u2019m, we\u2019re, they\u2019ve, you\u2019ll, he\u2019d", "can\u2019t won\u2019t", "I cannot see",
    "it\u2019s 3.5 o\u2019clock", "the dogs\u2019 toys", "\u201cquoted\u201d words", "\u2018single\u2019 quotes",
    "A T-shirt and jeans; a cafe\u0301?", "caf\u00e9 na\u00efve", "\uff21\uff22 wide",
    "A woman's umbrella: blue - and a dog's ball...",
]


def ptb_tokens(captions):
    """coco-caption's pipeline: Stanford PTBTokenizer (Java) -lowerCase, then its punctuation list removed."""
    require_oracle("pycocoevalcap")
    if shutil.which("java") is None:
        if os.environ.get("MINITORCH_CAP_REQUIRE_ORACLES"):
            raise RuntimeError("java is not installed: pycocoevalcap's PTBTokenizer (the oracle) needs it")
        pytest.skip("java is not installed: pycocoevalcap's PTBTokenizer needs it")
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer
    out = PTBTokenizer().tokenize({i: [{"caption": c}] for i, c in enumerate(captions)})
    return [out[i][0].split() for i in range(len(captions))]


def test_tokens_agree_with_pycocoevalcap_ptb_tokenizer():
    for caption, expected in zip(PTB_CASES, ptb_tokens(PTB_CASES)):
        # PTB keeps the characters it is given (o\u2019clock, NFD accents): compare one spelling
        assert tokenize(caption) == [normalize_text(t) for t in expected], caption
