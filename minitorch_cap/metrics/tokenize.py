"""Caption tokenisation shared by every metric: one documented rule, applied to both sides.

The COCO caption evaluation (coco-caption / pycocoevalcap) runs the Stanford PTB
tokenizer in Java, lower-cases, and then drops the punctuation tokens. :func:`tokenize`
is a pure-Python approximation of that pipeline for plain English captions:

1. the special tokens ``<NULL>``, ``<START>``, ``<END>`` and ``<UNK>`` are removed (any
   case): they are not words, and a ``<UNK>`` in a hypothesis matching a ``<UNK>`` in a
   reference (two different rare words) would be unearned credit;
2. the text is lower-cased;
3. the English clitics are split off as PTB does (``man's`` -> ``man 's``,
   ``don't`` -> ``do n't``);
4. the tokens are the maximal runs of letters and digits, joined by inner hyphens,
   apostrophes or dots (``t-shirt``, ``o'clock``, ``3.5`` stay one token); everything
   else (``. , ! ? ; : " ( ) -`` ...) is punctuation and is dropped.

Captions that are already token lists (for instance ids decoded by
:func:`tokens_from_ids`) are only filtered: special tokens are removed and nothing else
changes, so pre-tokenised fixtures are scored exactly as pycocoevalcap scores the same
space-joined strings.
"""

from __future__ import annotations

import re
from typing import Iterable, Mapping, Sequence

from ..tokens import END, SPECIAL_TOKENS

_SPECIAL_RE = re.compile(r"<(?:null|start|end|unk)>", re.IGNORECASE)
_CLITIC_RE = re.compile(r"(?<=[^\W_])(n't|'s|'re|'ve|'ll|'d|'m)\b")
_TOKEN_RE = re.compile(r"n't|'(?:s|re|ve|ll|d|m)\b|[^\W_]+(?:[-'.][^\W_]+)*")


def tokenize(caption) -> list[str]:
    """One caption (a string, or an already tokenised sequence of strings) -> list of tokens.

    >>> tokenize("A man's dog, sitting on a T-shirt. <END>")
    ['a', 'man', "'s", 'dog', 'sitting', 'on', 'a', 't-shirt']
    """
    if isinstance(caption, str):
        text = _SPECIAL_RE.sub(" ", caption).lower()
        text = _CLITIC_RE.sub(r" \1", text)
        return _TOKEN_RE.findall(text)
    if isinstance(caption, Sequence) and all(isinstance(w, str) for w in caption):
        if any(not w or w != w.strip() or len(w.split()) != 1 for w in caption):
            raise ValueError("tokenize: a token list holds an empty token or one with spaces; give a caption as "
                             "one string or as a list of single words (not a list of caption strings such "
                             f"as coco-caption's {{id: [caption]}}), got {list(caption)[:3]!r}")
        return [w for w in caption if w not in SPECIAL_TOKENS]
    raise TypeError(f"tokenize: expected a caption string or a sequence of token strings, got {type(caption).__name__}")


def tokens_from_ids(ids: Iterable[int], idx_to_word: Mapping[int, str]) -> list[str]:
    """Word ids of one caption -> its words: stops at ``<END>``, drops every special token.

    Works for a row of ``model.sample`` output (no ``<START>``) and for a data-set caption
    row (``<START> w1 ... <END> <NULL> ...``) alike.
    """
    words = []
    for i in ids:
        word = idx_to_word[int(i)]
        if word == END:
            break
        if word not in SPECIAL_TOKENS:
            words.append(word)
    return words
