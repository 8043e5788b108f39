"""`Vocabulary`: words <-> ids with the course's special tokens, built from raw caption text.

Ids 0..3 are always ``<NULL>`` (padding), ``<START>``, ``<END>`` and ``<UNK>``, as in
CS231n's ``coco2014_vocab.json``; the JSON written by :meth:`Vocabulary.save` has that
file's two keys (``idx_to_word`` list, ``word_to_idx`` map), so either loads the other.

Encoded captions follow the course layout: ``<START> w1 ... wk <END> <NULL> ...`` in an
int32 row of ``max_length`` ids (17 for COCO); captions longer than ``max_length - 2``
words are truncated and still end with ``<END>``.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from typing import Iterable, Mapping, Sequence

import numpy as np

from ..metrics.tokenize import tokenize
from ..nn.checks import int_option

from ..tokens import END, NULL, SPECIAL_TOKENS, START, UNK, check_word_to_idx
from . import files
from .files import read_json


class Vocabulary:
    """An ordered list of words; ``idx_to_word[:4]`` are ``<NULL>, <START>, <END>, <UNK>``.

    Build one from the training captions with :meth:`build`, or wrap an existing mapping
    with :meth:`from_word_to_idx`. ``encode`` turns text into id rows, ``decode`` back.
    """

    def __init__(self, idx_to_word: Sequence[str]):
        words = [str(w) for w in idx_to_word]
        if tuple(words[:4]) != SPECIAL_TOKENS:      # the course's layout, which encoded rows rely on
            raise ValueError(f"Vocabulary: the first four words must be {list(SPECIAL_TOKENS)} (ids 0-3, as "
                             f"coco2014_vocab.json), got {words[:4]}")
        seen = set()
        for w in words:
            if w in seen:
                raise ValueError(f"Vocabulary: word {w!r} appears twice")
            seen.add(w)
        self.idx_to_word: list[str] = words
        # the library's one vocabulary rule, with every special token (a data set needs them all)
        self.word_to_idx: dict[str, int] = check_word_to_idx(
            "Vocabulary", {w: i for i, w in enumerate(words)}, required=SPECIAL_TOKENS)

    # ------------------------------------------------------------------ construction
    @classmethod
    def build(cls, captions: Iterable[str], min_count: int = 1, max_size: int | None = None) -> "Vocabulary":
        """Vocabulary of the words seen at least ``min_count`` times in ``captions``.

        Pass the TRAINING captions only (raw text, tokenised by
        :func:`minitorch_cap.metrics.tokenize`, the rule the caption metrics use, so that
        generated words and reference tokens match). Words are ordered by
        decreasing count, ties alphabetically; ``max_size`` caps the total size
        (special tokens included).
        """
        captions = caption_texts("Vocabulary.build", captions)
        min_count = int_option("Vocabulary.build", "min_count", min_count)
        if max_size is not None:
            max_size = int_option("Vocabulary.build", "max_size", max_size, low=len(SPECIAL_TOKENS))
        counts = Counter(w for text in captions for w in tokenize(text))
        words = sorted((w for w, c in counts.items() if c >= int(min_count)), key=lambda w: (-counts[w], w))
        if max_size is not None:
            words = words[: int(max_size) - len(SPECIAL_TOKENS)]
        return cls(list(SPECIAL_TOKENS) + words)

    @classmethod
    def from_word_to_idx(cls, word_to_idx: Mapping[str, int]) -> "Vocabulary":
        """Wrap a ``word_to_idx`` map whose ids are exactly ``0..V-1``."""
        ids = sorted(int(i) for i in word_to_idx.values())
        if ids != list(range(len(ids))):
            raise ValueError("Vocabulary.from_word_to_idx: ids must be exactly 0..V-1 with no gap or repeat")
        idx_to_word = [""] * len(ids)
        for w, i in word_to_idx.items():
            idx_to_word[int(i)] = w
        return cls(idx_to_word)

    # ------------------------------------------------------------------ queries
    def __len__(self) -> int:
        return len(self.idx_to_word)

    def __contains__(self, word: str) -> bool:
        return word in self.word_to_idx

    def __eq__(self, other) -> bool:
        return isinstance(other, Vocabulary) and self.idx_to_word == other.idx_to_word

    def __repr__(self) -> str:
        shown = ", ".join(self.idx_to_word[4:10])
        return f"Vocabulary(size={len(self)}, words=[{shown}{', ...' if len(self) > 10 else ''}])"

    null_id = property(lambda self: self.word_to_idx[NULL], doc="The id of ``<NULL>`` (padding).")
    start_id = property(lambda self: self.word_to_idx[START], doc="The id of ``<START>``.")
    end_id = property(lambda self: self.word_to_idx[END], doc="The id of ``<END>``.")
    unk_id = property(lambda self: self.word_to_idx[UNK], doc="The id of ``<UNK>`` (words not in the vocabulary).")

    # ------------------------------------------------------------------ encoding
    def encode(self, text: str, max_length: int = 17) -> np.ndarray:
        """One caption -> int32 (max_length,): ``<START> words <END> <NULL>...``; unknown words -> ``<UNK>``."""
        max_length = int_option("Vocabulary.encode", "max_length (<START>, a word, <END>)", max_length, low=3)
        words = tokenize(text)[: int(max_length) - 2]
        row = np.zeros(int(max_length), dtype=np.int32)
        row[0] = self.start_id
        row[1:1 + len(words)] = [self.word_to_idx.get(w, self.unk_id) for w in words]
        row[1 + len(words)] = self.end_id
        return row

    def encode_batch(self, texts: Sequence[str], max_length: int = 17) -> np.ndarray:
        """Captions -> int32 (N, max_length), rows as :meth:`encode`."""
        out = np.zeros((len(texts), int(max_length)), dtype=np.int32)
        for i, text in enumerate(texts):
            out[i] = self.encode(text, max_length)
        return out

    def decode(self, captions) -> str | list[str]:
        """Ids -> text exactly as :func:`minitorch_cap.data.decode_captions` (1-D -> one string)."""
        from .coco import decode_captions
        return decode_captions(captions, self.idx_to_word)

    def report(self, texts: Iterable[str], max_length: int = 17) -> dict:
        """How well this vocabulary covers ``texts``: token counts, ``<UNK>`` rate, truncations.

        Returns ``{"captions", "tokens", "unk_tokens", "unk_rate", "truncated", "empty", "vocab_size"}``;
        ``unk_rate`` is the fraction of word tokens (kept after truncation) that are unknown;
        ``empty`` counts captions with no word at all (only punctuation or symbols: ``"!!!"``).
        """
        texts = caption_texts("Vocabulary.report", texts)
        captions = tokens = unk = truncated = empty = 0
        keep = int(max_length) - 2
        for text in texts:
            words = tokenize(text)
            captions += 1
            empty += not words
            truncated += len(words) > keep
            words = words[:keep]
            tokens += len(words)
            unk += sum(w not in self.word_to_idx for w in words)
        return {"captions": captions, "tokens": tokens, "unk_tokens": unk,
                "unk_rate": unk / tokens if tokens else 0.0, "truncated": truncated, "empty": empty,
                "vocab_size": len(self)}

    # ------------------------------------------------------------------ JSON
    def to_json_dict(self) -> dict:
        """``{"idx_to_word": [...], "word_to_idx": {...}}`` — the layout of ``coco2014_vocab.json``."""
        return {"idx_to_word": list(self.idx_to_word), "word_to_idx": dict(self.word_to_idx)}

    def save(self, path: str | os.PathLike) -> None:
        """Write the vocabulary as JSON (the course's ``coco2014_vocab.json`` layout), atomically:
        ``WriteError`` naming the folder on a full or failing disk, the previous file intact."""
        files.atomic_write_bytes(path, json.dumps(self.to_json_dict(), ensure_ascii=False).encode("utf-8"))

    @classmethod
    def load(cls, path: str | os.PathLike) -> "Vocabulary":
        """Read a JSON vocabulary (ours or the course's ``coco2014_vocab.json``)."""
        payload = read_json(path, "Vocabulary.load", "vocabulary file")
        if not isinstance(payload, dict) or "idx_to_word" not in payload:
            raise ValueError(f"Vocabulary.load: {os.fspath(path)!r} must hold a JSON object with an 'idx_to_word' list")
        vocab = cls(payload["idx_to_word"])
        if "word_to_idx" in payload and {w: int(i) for w, i in payload["word_to_idx"].items()} != vocab.word_to_idx:
            raise ValueError(f"Vocabulary.load: in {os.fspath(path)!r}, 'word_to_idx' and 'idx_to_word' disagree")
        return vocab


def caption_texts(owner: str, captions) -> list:
    """``captions`` as a list of caption strings; a bare string (which would be read letter by
    letter) or a non-iterable raises ``TypeError``."""
    if isinstance(captions, (str, bytes)) or not hasattr(captions, "__iter__"):
        raise TypeError(f"{owner}: expected a list of caption strings, got {type(captions).__name__} "
                        f"{str(captions)[:40]!r}")
    return list(captions)
