"""Captions of the built-in shapes data set: the templates that write them and the checker that reads them.

Attributes of one image (JSON-able, as stored in ``data["train_attributes"]``)::

    {"objects": [{"colour": "red", "shape": "circle", "size": "large", "x": 12.5, "y": 30.0}, ...],
     "relation": None | "left of" | "above"}

With two objects, ``objects[0]`` is the one on the left (``"left of"``) or on top
(``"above"``). Every reference caption names each object by colour and shape (sometimes
also size) exactly once, and the relation by one phrase, in one of several word orders.

:func:`check_caption` parses a caption back into attributes: it is correct when it names
exactly the image's objects (colour, shape, and size when it mentions one) and their
relation, and uses only words of the templates.
"""

from __future__ import annotations

import re
from typing import Mapping, Sequence

import numpy as np

COLOURS = ("red", "green", "blue", "yellow", "purple", "white")
SHAPES = ("circle", "square", "triangle", "diamond")
SIZES = ("small", "large")
RELATIONS = ("left of", "above")

# {A} and {B} are object phrases; with a relation, A is left of / above B.
SINGLE_TEMPLATES = (
    "a {A}", "there is a {A}", "a single {A}", "one {A} on a black background",
    "the picture shows a {A}", "a {A} alone", "an image of a {A}",
)
PAIR_TEMPLATES = {
    "left of": (
        "a {A} to the left of a {B}", "a {B} to the right of a {A}", "there is a {A} left of a {B}",
        "the {B} is right of the {A}", "a {A} with a {B} to its right", "a {B} with a {A} to its left",
    ),
    "above": (
        "a {A} above a {B}", "a {B} below a {A}", "there is a {A} on top of a {B}",
        "the {B} is under the {A}", "a {A} with a {B} below it", "a {B} with a {A} above it",
    ),
}
SIZE_MENTION_PROBABILITY = 0.3

# Relation phrases. BETWEEN: "X <phrase> Y"; AFTER: "X ... Y <phrase>" (phrase about Y and X).
# Each maps to (relation, first_is_x): first_is_x tells whether X is the left/upper object.
_BETWEEN = {"to the left of": ("left of", True), "left of": ("left of", True),
            "to the right of": ("left of", False), "right of": ("left of", False),
            "on top of": ("above", True), "above": ("above", True),
            "below": ("above", False), "under": ("above", False)}
_AFTER = {"to its right": ("left of", True), "to its left": ("left of", False),
          "above it": ("above", False), "below it": ("above", True)}

_OBJECT = re.compile(r"\b(?:(%s) )?(%s) (%s)\b" % ("|".join(SIZES), "|".join(COLOURS), "|".join(SHAPES)))
_ATTRIBUTE_WORDS = set(COLOURS) | set(SHAPES) | set(SIZES)
_IGNORED = {"<NULL>", "<START>", "<END>"}


def _template_words() -> set[str]:
    words = set()
    for t in SINGLE_TEMPLATES + sum(PAIR_TEMPLATES.values(), ()):
        words.update(t.replace("{A}", " ").replace("{B}", " ").split())
    return words | _ATTRIBUTE_WORDS


TEMPLATE_WORDS = frozenset(_template_words())


def object_phrase(obj: Mapping, with_size: bool) -> str:
    """``{"colour": "red", "shape": "circle", "size": "large"} -> "large red circle"`` (or "red circle")."""
    return f"{obj['size']} {obj['colour']} {obj['shape']}" if with_size else f"{obj['colour']} {obj['shape']}"


def reference_captions(attributes: Mapping, rng: np.random.Generator, count: int = 5) -> list[str]:
    """``count`` distinct captions of one image, from distinct templates chosen by ``rng``."""
    objects, relation = attributes["objects"], attributes["relation"]
    templates = SINGLE_TEMPLATES if relation is None else PAIR_TEMPLATES[relation]
    if count > len(templates):
        raise ValueError(f"reference_captions: at most {len(templates)} captions per image, asked for {count}")
    chosen = rng.choice(len(templates), size=count, replace=False)
    captions = []
    for k in chosen:
        sized = rng.random(len(objects)) < SIZE_MENTION_PROBABILITY
        fields = {"A": object_phrase(objects[0], sized[0])}
        if relation is not None:
            fields["B"] = object_phrase(objects[1], sized[1])
        captions.append(templates[k].format(**fields))
    return captions


def parse_caption(caption: str) -> dict | None:
    """A caption -> ``{"objects": [{"colour", "shape", "size" (or None)}...], "relation": ...}``.

    Objects come back in canonical order (left/upper object first). Returns ``None`` when
    the caption cannot be read as a description of one or two objects: an unknown word, a
    colour, shape or size word outside an object phrase, a missing or extra relation, or
    more than two objects.
    """
    words = [w.lower() for w in caption.split() if w not in _IGNORED]
    if not words or any(w not in TEMPLATE_WORDS for w in words):
        return None
    text = " ".join(words)
    matches = list(_OBJECT.finditer(text))
    if not 1 <= len(matches) <= 2:
        return None
    # every colour/shape/size word must sit inside an object phrase
    outside = " ".join([text[:matches[0].start()]] + [text[a.end():b.start()] for a, b in zip(matches, matches[1:])]
                       + [text[matches[-1].end():]])
    if any(w in _ATTRIBUTE_WORDS for w in outside.split()):
        return None
    objects = [{"size": m.group(1), "colour": m.group(2), "shape": m.group(3)} for m in matches]
    head = _find_phrases(f" {text[:matches[0].start()]} ")
    tail = _find_phrases(f" {text[matches[-1].end():]} ")
    middle = _find_phrases(f" {text[matches[0].end():matches[1].start()]} ") if len(matches) == 2 else []
    if len(matches) == 1:
        return None if head or tail else {"objects": objects, "relation": None}
    # exactly one relation phrase: "X <between> Y" or "X ... Y <after>"
    if head or len(middle) + len(tail) != 1 or (middle and middle[0] not in _BETWEEN) or (tail and tail[0] not in _AFTER):
        return None
    relation, x_first = _BETWEEN[middle[0]] if middle else _AFTER[tail[0]]
    return {"objects": objects if x_first else objects[::-1], "relation": relation}


_PHRASES = sorted(set(_BETWEEN) | set(_AFTER), key=len, reverse=True)


def _find_phrases(text: str) -> list[str]:
    """Relation phrases in ``text`` (padded with spaces), in no particular order; a longer
    phrase hides the shorter ones inside it ("to the left of" is not also "left of")."""
    found, spans = [], []
    for phrase in _PHRASES:
        for m in re.finditer(r"(?<= )%s(?= )" % re.escape(phrase), text):
            if any(a < m.end() and m.start() < b for a, b in spans):
                continue
            spans.append((m.start(), m.end()))
            found.append(phrase)
    return found


def check_caption(caption: str, attributes: Mapping) -> bool:
    """Does ``caption`` state every colour, shape and relation of the image correctly?

    ``caption`` is text (``<START>``/``<END>``/``<NULL>`` are ignored, so the output of
    ``decode_captions`` can be passed as is); ``attributes`` is the image's entry of
    ``data["train_attributes"]`` or ``data["val_attributes"]``. A size word, when present,
    must be right too.
    """
    if not isinstance(caption, str):
        raise TypeError(f"check_caption: expected a caption string, got {type(caption).__name__}")
    if not isinstance(attributes, Mapping) or not {"objects", "relation"} <= set(attributes):
        raise ValueError("check_caption: attributes must be an image's entry of data['val_attributes'] "
                         f"(a dict with 'objects' and 'relation'), got {attributes!r}")
    parsed = parse_caption(caption)
    if parsed is None or parsed["relation"] != attributes["relation"]:
        return False
    truth = attributes["objects"]
    if len(parsed["objects"]) != len(truth):
        return False
    for said, real in zip(parsed["objects"], truth):
        if said["colour"] != real["colour"] or said["shape"] != real["shape"]:
            return False
        if said["size"] is not None and said["size"] != real["size"]:
            return False
    return True


def caption_accuracy(captions: Sequence[str], attributes: Sequence[Mapping]) -> float:
    """Fraction of ``captions[i]`` that :func:`check_caption` accepts for ``attributes[i]``."""
    if len(captions) != len(attributes):
        raise ValueError(f"caption_accuracy: {len(captions)} captions but {len(attributes)} attribute entries")
    if not len(captions):
        raise ValueError("caption_accuracy: no captions given")
    return sum(check_caption(c, a) for c, a in zip(captions, attributes)) / len(captions)
