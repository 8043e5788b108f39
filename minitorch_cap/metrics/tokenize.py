"""Caption tokenisation shared by every metric: one documented rule, applied to both sides.

The COCO caption evaluation (coco-caption / pycocoevalcap) runs the Stanford PTB
tokenizer in Java, lower-cases, and then drops the punctuation tokens. :func:`tokenize`
is a pure-Python approximation of that pipeline for plain English captions:

0. one spelling per word (:func:`normalize_text`): Unicode NFKC normalisation, then the
   typographic apostrophes, quotes and hyphens are mapped to their ASCII forms and
   invisible characters (soft hyphen, zero-width space, BOM) are removed, so that
   ``"a man\u2019s hat"`` tokenises as ``"a man's hat"`` and ``"cafe\u0301"`` as ``"café"``;
1. the special tokens ``<NULL>``, ``<START>``, ``<END>`` and ``<UNK>`` are removed (any
   case): they are not words, and a ``<UNK>`` in a hypothesis matching a ``<UNK>`` in a
   reference (two different rare words) would be unearned credit;
2. the text is lower-cased;
3. the English clitics are split off as PTB does (``man's`` -> ``man 's``,
   ``don't`` -> ``do n't``, ``cannot`` -> ``can not``);
4. the tokens are the maximal runs of letters, digits and combining marks, joined by
   inner hyphens, apostrophes or dots (``t-shirt``, ``o'clock``, ``3.5`` stay one token);
   everything else (``. , ! ? ; : " ( ) -`` ...) is punctuation and is dropped.

Why NFKC rather than NFC: both compose ``e`` + U+0301 into ``é``; NFKC also folds the
*compatibility* variants that people and web pages type for ASCII (full-width letters
and U+FF07 ``＇``, ligatures such as ``ﬁ``, non-breaking spaces, ``…``), which NFC keeps
as different words. It is SentencePiece's default (``nmt_nfkc``). What it changes beyond
that (``x²`` -> ``x2``, ``½`` -> ``1⁄2``) does not occur in captions as a distinct word.

Checked against coco-caption's own pipeline (pycocoevalcap's ``PTBTokenizer``, Stanford
CoreNLP 3.4.1, ``-lowerCase``, punctuation list removed) in
``tests/metrics/test_tokenize.py``. Where the two differ on purpose: PTB keeps U+2019
inside a word (``o’clock``) and U+02BC as a letter (``manʼs``), and reads U+2018 as an
opening quote; here all three are the apostrophe, as their writers meant. coco-caption
keeps runs of punctuation absent from its list (``!!!``) and brackets (PTB writes
``-LRB-``, lower-cased to ``-lrb-``, which its list does not match) as tokens; here they
are dropped. PTB splits
``gonna``, ``wanna`` and the like; here only ``cannot`` is split.

Captions that are already token lists (for instance ids decoded by
:func:`tokens_from_ids`) are only normalised (step 0, without splitting) and filtered:
special tokens are removed and nothing else changes, so pre-tokenised ASCII fixtures are
scored exactly as pycocoevalcap scores the same space-joined strings.
"""

from __future__ import annotations

import functools
import re
import sys
import unicodedata
from typing import Iterable, Mapping, Sequence

from ..tokens import END, SPECIAL_TOKENS

#: Characters written for the ASCII apostrophe, quote and hyphen, and invisible ones
#: (NFKC already maps the full-width U+FF07 and U+FF02 to ASCII).
TYPOGRAPHIC = {
    **dict.fromkeys("\u2018\u2019\u201a\u201b\u2032\u02bc\u02b9\u00b4\u0060", "'"),  # ‘ ’ ‚ ‛ ′ ʼ ʹ ´ `
    **dict.fromkeys("\u201c\u201d\u201e\u201f\u2033\u00ab\u00bb", '"'),               # “ ” „ ‟ ″ « »
    **dict.fromkeys("\u2010\u2011\u2212", "-"),                                        # hyphens, minus
    **dict.fromkeys("\u00ad\u200b\u2060\ufeff", ""),                                  # soft hyphen, zero-width
}
_TYPOGRAPHIC_TABLE = str.maketrans(TYPOGRAPHIC)

_SPECIAL_RE = re.compile(r"<(?:null|start|end|unk)>", re.IGNORECASE)
_CLITIC_RE = re.compile(r"(?<=[^\W_])(n't|'s|'re|'ve|'ll|'d|'m)\b|(?<=\bcan)(?=not\b)")


def normalize_text(text: str) -> str:
    """One spelling per word: NFKC, typographic apostrophes/quotes/hyphens to ASCII, invisibles removed.

    >>> normalize_text("a man\u2019s cafe\u0301") == "a man's caf\u00e9"
    True
    """
    # mapped first: NFKC would turn the acute accent typed for an apostrophe into " \u0301"
    return unicodedata.normalize("NFKC", text.translate(_TYPOGRAPHIC_TABLE))


@functools.lru_cache(maxsize=1)
def _token_re() -> re.Pattern:
    """Tokens: clitics, or letter/digit runs that may carry combining marks (``\\w`` alone
    splits ``हिंदी`` or an accent NFKC cannot compose), joined by inner ``- ' .``."""
    marks, start = [], None
    for cp in range(sys.maxunicode + 1):
        is_mark = unicodedata.category(chr(cp))[0] == "M"
        if is_mark and start is None:
            start = cp
        elif not is_mark and start is not None:
            marks.append((start, cp - 1))
            start = None
    mark = "".join(re.escape(chr(a)) + ("-" + re.escape(chr(b)) if b > a else "") for a, b in marks)
    word = rf"[^\W_][\w{mark}]*"      # one character class (fast); tokenize() has turned "_" into spaces
    return re.compile(rf"n't|'(?:s|re|ve|ll|d|m)\b|{word}(?:[-'.]{word})*")


def tokenize(caption) -> list[str]:
    """One caption (a string, or an already tokenised sequence of strings) -> list of tokens.

    >>> tokenize("A man's dog, sitting on a T-shirt. <END>")
    ['a', 'man', "'s", 'dog', 'sitting', 'on', 'a', 't-shirt']
    """
    if isinstance(caption, str):
        text = _SPECIAL_RE.sub(" ", normalize_text(caption)).lower().replace("_", " ")
        text = _CLITIC_RE.sub(lambda m: " " + (m.group(1) or ""), text)
        return _token_re().findall(text)
    if isinstance(caption, Sequence) and all(isinstance(w, str) for w in caption):
        if any(not w or w != w.strip() or len(w.split()) != 1 for w in caption):
            raise ValueError("tokenize: a token list holds an empty token or one with spaces; give a caption as "
                             "one string or as a list of single words (not a list of caption strings such "
                             f"as coco-caption's {{id: [caption]}}), got {list(caption)[:3]!r}")
        return [w for w in map(normalize_text, caption) if w and w not in SPECIAL_TOKENS]
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
