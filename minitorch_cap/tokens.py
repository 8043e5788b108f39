"""The special tokens and the one rule a vocabulary must satisfy.

Token ids follow CS231n's ``coco2014_vocab.json``: ``<NULL>`` (padding) = 0, ``<START>`` = 1,
``<END>`` = 2, ``<UNK>`` = 3 in every vocabulary this library builds.

The rule (:func:`check_word_to_idx`), used by the models, checkpoints, the COCO loader and
:class:`~minitorch_cap.data.Vocabulary` alike:

* words are strings, ids are integers ``>= 0``, and no two words share an id;
* every word can be stored: it is valid Unicode (UTF-8 encodable: no lone surrogate such as
  ``"\\ud800"``, which a byte string decoded with ``surrogateescape`` may hold) and holds no NUL
  character (HDF5 strings end at NUL; h5py refuses them), so any vocabulary a model accepts is
  written to a checkpoint and to a vocabulary JSON file and read back equal;
* ``<NULL>`` is present (captions are padded with it);
* every special token present has an id ``< V = len(word_to_idx)``, so that the model's
  ``V`` scores include it (a model could never emit an ``<END>`` with id ``V``);
* other words may have any id: gaps are allowed, because the course's own example
  vocabulary ``{'<NULL>': 0, 'cat': 2, 'dog': 3}`` (V = 3) has one and its published
  reference values depend on it. Such a word simply cannot be embedded or generated.
"""

from __future__ import annotations

from collections import Counter
from typing import Mapping

NULL, START, END, UNK = "<NULL>", "<START>", "<END>", "<UNK>"
SPECIAL_TOKENS = (NULL, START, END, UNK)


def check_word(owner: str, word: str) -> str:
    """A vocabulary word that a checkpoint can store (see the rule above), else ``ValueError``
    naming ``owner`` and the word."""
    if "\0" in word:
        raise ValueError(f"{owner}: the word {word!r} holds a NUL character (\\x00), which a checkpoint cannot "
                         "store; remove it from the vocabulary")
    try:
        word.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError(f"{owner}: the word {word!r} is not valid Unicode ({exc.reason} at position "
                         f"{exc.start}: a lone surrogate, e.g. from text decoded with errors='surrogateescape'), "
                         "which a checkpoint cannot store; fix its encoding") from None
    return word


def check_word_to_idx(owner: str, word_to_idx, *, required=(NULL,)) -> dict[str, int]:
    """Validate a ``word_to_idx`` map by the rule above; return it as a plain ``{str: int}`` dict.

    ``required``: the special tokens that must be present (``<NULL>`` always; a loader of
    training data also asks for ``<START>`` and ``<END>``, which sampling needs).
    Raises ``TypeError`` for a non-mapping or non-integer ids, ``ValueError`` otherwise;
    messages start with ``owner``.
    """
    if not isinstance(word_to_idx, Mapping):
        raise TypeError(f"{owner}: word_to_idx must be a mapping word -> id, got {type(word_to_idx).__name__}")
    clean: dict[str, int] = {}
    for word, idx in word_to_idx.items():
        if isinstance(idx, bool) or not hasattr(idx, "__index__"):
            raise TypeError(f"{owner}: word_to_idx[{word!r}] must be an integer id, got {idx!r}")
        if int(idx) < 0:
            raise ValueError(f"{owner}: word_to_idx[{word!r}] = {int(idx)} is negative; ids are >= 0")
        clean[check_word(owner, str(word))] = int(idx)
    repeated = sorted(i for i, n in Counter(clean.values()).items() if n > 1)
    if repeated:
        words = sorted(w for w, i in clean.items() if i == repeated[0])
        raise ValueError(f"{owner}: word_to_idx gives several words the same id {repeated[0]} ({words[:4]}); "
                         "each word needs its own id")
    for token in (NULL, *required):
        if token not in clean:
            raise ValueError(f"{owner}: word_to_idx has no {token!r} token (expected the special tokens "
                             f"{list(SPECIAL_TOKENS)}, as CS231n's vocabulary has)")
    V = len(clean)
    for token in SPECIAL_TOKENS:
        if token in clean and clean[token] >= V:
            raise ValueError(f"{owner}: {token} has id {clean[token]}, outside [0, V) with V = len(word_to_idx) "
                             f"= {V}; special tokens must have ids below V")
    return clean
