"""The caption checker agrees with the generator on every reference caption and rejects wrong ones."""

import re

import numpy as np
import pytest

from minitorch_cap.data import caption_accuracy, check_caption, decode_captions, load_shapes_data, parse_caption
from minitorch_cap.data.shapes_captions import COLOURS, SHAPES


@pytest.fixture(scope="module")
def references():
    data = load_shapes_data(seed=11, num_train=600, num_val=200, image_size=32)
    pairs = []
    for split in ("train", "val"):
        texts = decode_captions(data[f"{split}_captions"], data["idx_to_word"])
        attrs = data[f"{split}_attributes"]
        pairs += [(t, attrs[i]) for t, i in zip(texts, data[f"{split}_image_idxs"])]
    return pairs


def test_every_reference_caption_is_accepted(references):
    rejected = [t for t, a in references if not check_caption(t, a)]
    assert rejected == []
    assert caption_accuracy([t for t, _ in references], [a for _, a in references]) == 1.0


def _swap_word(text, choices, rng):
    words = text.split()
    spots = [i for i, w in enumerate(words) if w in choices]
    i = spots[rng.integers(len(spots))]
    words[i] = rng.choice([c for c in choices if c != words[i]])
    return " ".join(words)


FLIP = {"left": "right", "right": "left", "above": "below", "below": "above", "under": "above", "top": "top"}


def _flip_relation(text):
    if " on top of " in text:
        return text.replace(" on top of ", " below ")
    return " ".join(FLIP.get(w, w) for w in text.split())


def test_perturbed_captions_are_rejected(references):
    rng = np.random.default_rng(0)
    checked = {"colour": 0, "shape": 0, "relation": 0, "size": 0, "dropped": 0, "unknown": 0}
    for text, attrs in references[::3]:
        wrong_colour = _swap_word(text, COLOURS, rng)
        # a swapped colour can only be right if it took the other object's colour in a pair: still wrong
        assert not check_caption(wrong_colour, attrs), wrong_colour
        assert not check_caption(_swap_word(text, SHAPES, rng), attrs)
        checked["colour"] += 1
        checked["shape"] += 1
        if attrs["relation"] is not None:
            assert not check_caption(_flip_relation(text), attrs), _flip_relation(text)
            checked["relation"] += 1
            first = re.search(r"(?:(small|large) )?(%s) (%s)" % ("|".join(COLOURS), "|".join(SHAPES)), text)
            dropped = text[:first.start()] + text[first.end():]
            assert not check_caption(dropped, attrs)
            checked["dropped"] += 1
        if " small " in text or " large " in text:
            sized = text.replace(" small ", " SMALL ").replace(" large ", " small ").replace(" SMALL ", " large ")
            assert not check_caption(sized, attrs)
            checked["size"] += 1
        assert not check_caption(text.replace("<END>", "zebra <END>"), attrs)
        checked["unknown"] += 1
    assert min(checked.values()) > 20


def test_parse_examples():
    assert parse_caption("a small red circle to the left of a blue square") == {
        "objects": [{"size": "small", "colour": "red", "shape": "circle"},
                    {"size": None, "colour": "blue", "shape": "square"}], "relation": "left of"}
    assert parse_caption("a blue square with a red circle to its left")["objects"][0]["colour"] == "red"
    assert parse_caption("the green diamond is under the white triangle")["objects"][0]["colour"] == "white"
    assert parse_caption("<START> there is a yellow triangle <END> <NULL>")["relation"] is None
    for bad in ["", "a red", "a red circle left of", "a red circle left of a blue square above a green circle",
                "a red circle a blue square", "a red circle above a blue square to its right",
                "a red circle left of a blue square below it", "a circle", "red a circle", "above a red circle"]:
        assert parse_caption(bad) is None, bad


def test_accuracy_and_bad_input():
    attrs = {"objects": [{"colour": "red", "shape": "circle", "size": "small"}], "relation": None}
    assert caption_accuracy(["a red circle", "a large red circle", "a red square", "a small red circle"],
                            [attrs] * 4) == 0.5
    with pytest.raises(ValueError, match="2 captions but 1"):
        caption_accuracy(["a", "b"], [attrs])
    with pytest.raises(TypeError):
        check_caption(["a", "red", "circle"], attrs)


def test_check_caption_names_bad_attributes():
    with pytest.raises(ValueError, match="attributes must be an image's entry"):
        check_caption("a red circle", {})
