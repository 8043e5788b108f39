"""The built-in captioning data set: one or two coloured shapes, five captions each, no download.

``load_shapes_data(seed=0)`` generates, deterministically from ``seed`` and in a few
seconds, a dict in the format of :func:`minitorch_cap.data.load_coco_data`
(``train_captions`` int32 (N, 17), ``train_image_idxs``, ``train_features`` float32,
``idx_to_word``, ``word_to_idx``, ``train_urls`` and the same for ``val``) plus:

* ``train_images`` / ``val_images``: uint8 (N_images, S, S, 3);
* ``train_attributes`` / ``val_attributes``: per image ``{"objects": [...], "relation": ...}``
  (see :mod:`minitorch_cap.data.shapes_captions`), what :func:`check_caption` compares with.

Images: a near-black S x S picture (S = 48 by default) with one object (a third of the
images) or two (the rest) among ``COLOURS`` x ``SHAPES`` x ``SIZES``; a pair is side by side
(``"left of"``) or stacked (``"above"``), with a gap of empty pixels between the two
objects and two different colours, so that the extractor's segmentation is exact. Colours
are jittered per object and pixels carry a little noise. Train and val are drawn from
independent streams, and no val image equals a train image.

Features come from the pixels alone through the fixed extractor of
:mod:`minitorch_cap.data.shapes_features`. The vocabulary is fixed: the special tokens,
then every word of the caption templates in alphabetical order (``VOCABULARY``), so word
ids do not depend on the seed or the split sizes and a model trained on one draw of the
data reads any other.

Honest by construction: only about two thirds of the val images show a combination of
colours, shapes, sizes and relation that occurs in train, and captioning each val image
with the caption of its nearest training image in feature space (perfect memorisation)
is fully correct for only about 63% of them; a captioner must compose.

``DEFAULT_SIZES`` holds the sizes ``minitorch-cap train`` generates (4000 training and 500
validation images); the training presets live with the model kinds (``minitorch_cap.runs``).
"""

from __future__ import annotations

import hashlib

import numpy as np

from .shapes_captions import (COLOURS, RELATIONS, SHAPES, SIZES, TEMPLATE_WORDS, caption_accuracy,
                              check_caption, parse_caption, reference_captions)
from ..nn.checks import check_memory, int_option
from .shapes_features import extract_features
from .vocabulary import SPECIAL_TOKENS, Vocabulary

__all__ = ["load_shapes_data", "generate_images", "check_caption", "caption_accuracy", "parse_caption",
           "judge_captions", "DEFAULT_SIZES", "COLOURS", "SHAPES", "SIZES", "RELATIONS"]

#: The built-in data set's sizes: what ``load_shapes_data()`` and ``minitorch-cap train`` generate.
DEFAULT_SIZES = {"num_train": 4000, "num_val": 500, "image_size": 48, "captions_per_image": 5}

MAX_LENGTH = 17                      # as COCO: <START> + up to 15 words + <END>
#: The fixed word list: special tokens, then the template words alphabetically (41 words).
VOCABULARY = Vocabulary(list(SPECIAL_TOKENS) + sorted(TEMPLATE_WORDS))

BASE_COLOURS = {"red": (220, 40, 40), "green": (50, 190, 60), "blue": (50, 90, 235),
                "yellow": (235, 215, 50), "purple": (150, 70, 210), "white": (235, 235, 235)}
COLOUR_JITTER = 18                   # per channel, uniform, per object
PIXEL_NOISE = 12                     # per pixel and channel, uniform in [0, PIXEL_NOISE)
SINGLE_FRACTION = 1 / 3
GAP = 3                              # empty pixels at least between the two objects of a pair
MARGIN = 1


def _radius_ranges(S: int) -> dict[str, tuple[float, float]]:
    """Object "radius" (half the extent) per size word, for an S-pixel image."""
    return {"small": (0.09 * S, 0.12 * S), "large": (0.18 * S, 0.21 * S)}


def _shape_mask(shape: str, dx: np.ndarray, dy: np.ndarray, r: np.ndarray) -> np.ndarray:
    """Pixels inside a shape of radius r centred at the origin; dx, dy offsets of pixel centres."""
    if shape == "circle":
        return dx * dx + dy * dy <= (0.95 * r) ** 2
    if shape == "square":
        return (np.abs(dx) <= 0.8 * r) & (np.abs(dy) <= 0.8 * r)
    if shape == "diamond":
        return np.abs(dx) + np.abs(dy) <= 1.05 * r
    if shape == "triangle":                           # point up, base at 0.75 r
        return (dy <= 0.75 * r) & (np.abs(dx) <= 0.95 * (dy + r) / 1.75)
    raise ValueError(f"unknown shape {shape!r}")


def _sample_layouts(n: int, S: int, rng: np.random.Generator) -> list[dict]:
    """Attributes (objects with centres, relation) of n images."""
    ranges = _radius_ranges(S)
    layouts = []
    for _ in range(n):
        count = 1 if rng.random() < SINGLE_FRACTION else 2
        colours = rng.choice(len(COLOURS), size=count, replace=False)
        objects = []
        for c in colours:
            size = SIZES[rng.integers(len(SIZES))]
            objects.append({"colour": COLOURS[c], "shape": SHAPES[rng.integers(len(SHAPES))], "size": size,
                            "r": float(rng.uniform(*ranges[size]))})
        relation = None
        if count == 1:
            r = objects[0]["r"]
            objects[0]["x"], objects[0]["y"] = (float(v) for v in rng.uniform(MARGIN + r, S - MARGIN - r, size=2))
        else:
            relation = RELATIONS[rng.integers(2)]
            r1, r2 = objects[0]["r"], objects[1]["r"]
            # along the relation axis: object 1 first, then a gap, then object 2
            a1 = rng.uniform(MARGIN + r1, S - MARGIN - 2 * r2 - GAP - r1)
            a2 = rng.uniform(a1 + r1 + GAP + r2, S - MARGIN - r2)
            # across it: overlapping extents, so that only one cut separates them
            rmax = max(r1, r2)
            centre = rng.uniform(MARGIN + rmax, S - MARGIN - rmax)
            spread = 0.5 * min(r1, r2)
            b1, b2 = np.clip(centre + rng.uniform(-spread, spread, size=2), [MARGIN + r1, MARGIN + r2],
                             [S - MARGIN - r1, S - MARGIN - r2])
            if relation == "left of":
                (objects[0]["x"], objects[0]["y"]), (objects[1]["x"], objects[1]["y"]) = (a1, b1), (a2, b2)
            else:
                (objects[0]["x"], objects[0]["y"]), (objects[1]["x"], objects[1]["y"]) = (b1, a1), (b2, a2)
            for o in objects:
                o["x"], o["y"] = float(o["x"]), float(o["y"])
        layouts.append({"objects": objects, "relation": relation})
    return layouts


def generate_images(layouts: list[dict], S: int, rng: np.random.Generator) -> np.ndarray:
    """Render attributes to uint8 images (N, S, S, 3): near-black noisy background, jittered colours."""
    N = len(layouts)
    images = rng.integers(0, PIXEL_NOISE, size=(N, S, S, 3), dtype=np.int16)
    grid = np.arange(S) + 0.5
    for i, layout in enumerate(layouts):
        for o in layout["objects"]:
            r = o["r"]
            x0, x1 = max(int(o["x"] - r) - 1, 0), min(int(o["x"] + r) + 2, S)
            y0, y1 = max(int(o["y"] - r) - 1, 0), min(int(o["y"] + r) + 2, S)
            dx = grid[None, x0:x1] - o["x"]
            dy = grid[y0:y1, None] - o["y"]
            mask = _shape_mask(o["shape"], dx, dy, r)
            colour = np.array(BASE_COLOURS[o["colour"]]) + rng.integers(-COLOUR_JITTER, COLOUR_JITTER + 1, size=3)
            patch = images[i, y0:y1, x0:x1]
            patch[mask] = colour + patch[mask]
    return np.clip(images, 0, 255).astype(np.uint8)


def _public(layout: dict) -> dict:
    """Attributes as stored in the data dict: centres rounded, radius dropped."""
    return {"objects": [{"colour": o["colour"], "shape": o["shape"], "size": o["size"],
                         "x": round(o["x"], 2), "y": round(o["y"], 2)} for o in layout["objects"]],
            "relation": layout["relation"]}


def _digest(image: np.ndarray) -> bytes:
    return hashlib.sha1(image.tobytes()).digest()


def _make_split(n: int, S: int, rng: np.random.Generator, captions_per_image: int, exclude: set[bytes]):
    layouts = _sample_layouts(n, S, rng)
    images = generate_images(layouts, S, rng)
    for i in range(n):                                  # redraw the (practically impossible) repeats
        while _digest(images[i]) in exclude:
            layouts[i] = _sample_layouts(1, S, rng)[0]
            images[i] = generate_images([layouts[i]], S, rng)[0]
    attributes = [_public(l) for l in layouts]
    texts = [reference_captions(a, rng, captions_per_image) for a in attributes]
    return images, attributes, texts


def load_shapes_data(seed: int = 0, num_train: int = DEFAULT_SIZES["num_train"],
                     num_val: int = DEFAULT_SIZES["num_val"], image_size: int = DEFAULT_SIZES["image_size"],
                     captions_per_image: int = DEFAULT_SIZES["captions_per_image"], *,
                     region_features: bool = False) -> dict:
    """Generate the built-in data set: the ``load_coco_data`` dict plus images and attributes.

    ``num_train`` / ``num_val`` count images; each has ``captions_per_image`` (at most 6)
    caption rows. Same ``seed`` and arguments give identical arrays.
    ``region_features=True``: ``train_features`` / ``val_features`` are region tokens
    float32 (N_images, 3, 30) (slot 1, slot 2, pair: ``extract_features(..., regions=True)``,
    the same extractor pass and numbers) instead of the flat (N_images, 49); the rest of the
    dict is unchanged. For models that attend over regions (``CaptioningTransformer``).
    """
    seed, num_train, num_val, image_size, captions_per_image = (
        int_option("load_shapes_data", name, value, low)
        for name, value, low in (("seed", seed, 0), ("num_train", num_train, 1), ("num_val", num_val, 1),
                                 ("image_size", image_size, 24), ("captions_per_image", captions_per_image, 1)))
    if captions_per_image > 6:
        raise ValueError(f"load_shapes_data: captions_per_image must be <= 6 (the single-object templates), got {captions_per_image}")
    S = int(image_size)
    images = int(num_train) + int(num_val)      # uint8 pixels plus the float working copies of the extractor
    check_memory("load_shapes_data", images * S * S * 3 * 4, f"{images:,} images of {S}x{S}", "ask for fewer images")
    train = _make_split(int(num_train), S, np.random.default_rng([seed, 0]), captions_per_image, set())
    train_digests = {_digest(im) for im in train[0]}
    val = _make_split(int(num_val), S, np.random.default_rng([seed, 1]), captions_per_image, train_digests)

    vocab = VOCABULARY
    data = {"idx_to_word": list(vocab.idx_to_word), "word_to_idx": dict(vocab.word_to_idx)}
    for split, (images, attributes, texts) in (("train", train), ("val", val)):
        flat = [t for per_image in texts for t in per_image]
        data[f"{split}_captions"] = vocab.encode_batch(flat, MAX_LENGTH)
        data[f"{split}_image_idxs"] = np.repeat(np.arange(len(images), dtype=np.int32), captions_per_image)
        data[f"{split}_features"] = extract_features(images, regions=region_features)
        data[f"{split}_urls"] = np.array([f"shapes-seed{seed}-{split}-{i:05d}.png" for i in range(len(images))])
        data[f"{split}_images"] = images
        data[f"{split}_attributes"] = attributes
    return data


def judge_captions(data: dict, split: str, image_idxs, texts) -> list[bool] | None:
    """Whether each caption ``texts[m]`` (display text) is fully correct for image ``image_idxs[m]``.

    The one caption-accuracy rule of the library (``train``, ``sample``, ``evaluate`` and the
    Trainer metric all use it): :func:`check_caption` on the text of
    :func:`~minitorch_cap.data.caption_text`, so a caption holding ``<UNK>`` is wrong.
    Returns ``None`` for data without ``{split}_attributes`` (not the built-in data set).
    """
    attributes = data.get(f"{split}_attributes")
    if attributes is None:
        return None
    return [bool(check_caption(text, attributes[int(i)])) for text, i in zip(texts, image_idxs)]
