"""The fixed, object-centric feature extractor of the built-in shapes data set.

It sees pixels only (never the generator's labels) and works in the spirit of region
features: find the objects, then describe each one.

1. **Foreground.** A pixel is foreground when its brightest channel exceeds
   ``FOREGROUND_THRESHOLD`` (the background is near black).
2. **Slots (XY-cut).** If some empty column separates foreground columns, the image is cut
   there into a left and a right slot; otherwise, if an empty row separates foreground
   rows, into an upper and a lower slot; otherwise all foreground is slot 1 and slot 2 is
   empty. Slots are therefore ordered in space (left before right, top before bottom).
3. **Per slot** (``SLOT_FEATURES``, 22 numbers): present flag; size (square root of the
   area); mean and standard deviation of R, G, B; centroid x, y; bounding-box width,
   height; fill ratio (area / box area); aspect (width / height); compactness
   (4 pi area / perimeter^2, perimeter = boundary pixels); second-order normalised
   central moments eta20, eta02, eta11; third-order eta30, eta03, eta21, eta12
   (orientation and asymmetry: the triangle's point). Lengths are in units of the image
   size, colours of 255, and each column then goes through a FIXED affine map that brings
   it to magnitude about 1 (see ``_describe``; nothing is estimated from data). An empty
   slot is all zeros.
4. **Pair** (``PAIR_FEATURES``, 5 numbers): cut direction (vertical cut, horizontal cut),
   centroid offset dx, dy from slot 1 to slot 2 (in [-2, 2]), and the log size ratio log(size2 / size1).

``extract_features(images)`` maps uint8 (N, S, S, 3) to float32 (N, 49), in batches, in a
fraction of a second per thousand images; ``extract_features(images, regions=True)`` gives
the same numbers as K = 3 region tokens (slot 1, slot 2, pair), float32 (N, 3, 30), for
models that attend over regions (``CaptioningTransformer``).
"""

from __future__ import annotations

import numpy as np

FOREGROUND_THRESHOLD = 80
SLOT_FEATURES = ("present", "size", "mean_r", "mean_g", "mean_b", "std_r", "std_g", "std_b", "x", "y",
                 "width", "height", "fill", "aspect", "compactness", "eta20", "eta02", "eta11",
                 "eta30", "eta03", "eta21", "eta12")
PAIR_FEATURES = ("cut_vertical", "cut_horizontal", "dx", "dy", "log_size_ratio")
FEATURE_NAMES = tuple(f"slot{k}_{name}" for k in (1, 2) for name in SLOT_FEATURES) + PAIR_FEATURES
FEATURE_DIM = len(FEATURE_NAMES)


def _cut(occupied: np.ndarray) -> np.ndarray:
    """occupied (N, S) bool profile -> index of the first empty line inside the foreground span, or -1."""
    N, S = occupied.shape
    idx = np.arange(S)
    first = np.where(occupied.any(1), occupied.argmax(1), S)
    last = np.where(occupied.any(1), S - 1 - occupied[:, ::-1].argmax(1), -1)
    inside_gap = ~occupied & (idx > first[:, None]) & (idx < last[:, None])
    return np.where(inside_gap.any(1), inside_gap.argmax(1), -1)


def _slot_masks(fg: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """fg (N, S, S) -> (slot1, slot2 masks (N, S, S), cut_vertical (N,), cut_horizontal (N,))."""
    N, S, _ = fg.shape
    col_cut = _cut(fg.any(1))                        # a vertical line of empty pixels: left | right
    row_cut = _cut(fg.any(2))                        # a horizontal line: top / bottom
    vertical = col_cut >= 0
    horizontal = ~vertical & (row_cut >= 0)
    idx = np.arange(S)
    first = np.ones((N, S, S), dtype=bool)
    first &= ~(vertical[:, None, None] & (idx[None, None, :] >= col_cut[:, None, None]))
    first &= ~(horizontal[:, None, None] & (idx[None, :, None] >= row_cut[:, None, None]))
    return fg & first, fg & ~first, vertical, horizontal


def _describe(mask: np.ndarray, images: np.ndarray) -> np.ndarray:
    """One slot: mask (N, S, S) bool, images (N, S, S, 3) float -> (N, len(SLOT_FEATURES))."""
    N, S, _ = mask.shape
    m = mask.astype(np.float64)
    area = m.sum((1, 2))
    present = area > 0
    safe = np.maximum(area, 1.0)
    coords = (np.arange(S) + 0.5) / S
    ys, xs = coords[None, :, None], coords[None, None, :]
    cx = (m * xs).sum((1, 2)) / safe
    cy = (m * ys).sum((1, 2)) / safe
    colour_sum = np.einsum("nij,nijc->nc", m, images)
    mean = colour_sum / safe[:, None]
    sq = np.einsum("nij,nijc->nc", m, images * images) / safe[:, None]
    std = np.sqrt(np.maximum(sq - mean * mean, 0.0))
    cols, rows = mask.any(1), mask.any(2)
    width = np.where(present, S - cols.argmax(1) - cols[:, ::-1].argmax(1), 0) / S
    height = np.where(present, S - rows.argmax(1) - rows[:, ::-1].argmax(1), 0) / S
    box = np.maximum(width * height * S * S, 1.0)
    fill = area / box
    aspect = np.where(present, width / np.maximum(height, 1.0 / S), 0.0)
    # boundary pixels: in the mask with a 4-neighbour outside it (image border counts as outside)
    padded = np.pad(mask, ((0, 0), (1, 1), (1, 1)))
    interior = padded[:, :-2, 1:-1] & padded[:, 2:, 1:-1] & padded[:, 1:-1, :-2] & padded[:, 1:-1, 2:]
    perimeter = (mask & ~interior).sum((1, 2))
    compactness = 4 * np.pi * area / np.maximum(perimeter, 1.0) ** 2
    # normalised central moments eta_pq = mu_pq / area^(1 + (p+q)/2), in pixel units
    dx = (xs - cx[:, None, None]) * S
    dy = (ys - cy[:, None, None]) * S

    def eta(p, q):
        mu = (m * dx ** p * dy ** q).sum((1, 2))
        return mu / safe ** (1 + (p + q) / 2)

    # fixed scales bring every column to magnitude ~1 (a linear projection reads them all alike)
    feats = [present, 4 * np.sqrt(area) / S, *(2 * mean / 255 - 1).T, *(10 * std / 255).T, 2 * cx - 1, 2 * cy - 1,
             2 * width, 2 * height, 2 * fill - 1, aspect - 1, compactness - 1, 10 * eta(2, 0), 10 * eta(0, 2),
             10 * eta(1, 1), 100 * eta(3, 0), 100 * eta(0, 3), 100 * eta(2, 1), 100 * eta(1, 2)]
    out = np.stack(feats, axis=1)
    out[~present] = 0.0
    return out


def slot_boxes(images: np.ndarray, batch_size: int = 1000) -> np.ndarray:
    """The extractor's two slots as pixel boxes: uint8 images (N, S, S, 3) -> float (N, 2, 4)
    ``(x0, y0, x1, y1)`` (x1, y1 exclusive), NaN for an empty slot. Same segmentation as
    :func:`extract_features` (for drawing which region a model attended to)."""
    images = np.asarray(images)
    boxes = np.full((images.shape[0], 2, 4), np.nan)
    for start in range(0, images.shape[0], batch_size):
        fg = images[start:start + batch_size].max(axis=3) > FOREGROUND_THRESHOLD
        for j, mask in enumerate(_slot_masks(fg)[:2]):
            cols, rows = mask.any(1), mask.any(2)
            S = mask.shape[1]
            present = cols.any(1)
            box = np.stack([cols.argmax(1), rows.argmax(1),
                            S - cols[:, ::-1].argmax(1), S - rows[:, ::-1].argmax(1)], 1)
            boxes[start:start + mask.shape[0], j] = np.where(present[:, None], box, np.nan)
    return boxes


def _extract(images: np.ndarray, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
    """The one extractor pass: uint8 images (N, S, S, 3) -> (slots (N, 2, len(SLOT_FEATURES)), pair
    (N, len(PAIR_FEATURES))), float64."""
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[3] != 3 or images.shape[1] != images.shape[2]:
        raise ValueError(f"extract_features: expected uint8 images of shape (N, S, S, 3), got {images.dtype} {images.shape}")
    slots = np.zeros((images.shape[0], 2, len(SLOT_FEATURES)))
    pairs = np.zeros((images.shape[0], len(PAIR_FEATURES)))
    for start in range(0, images.shape[0], batch_size):
        batch = images[start:start + batch_size].astype(np.float64)
        fg = batch.max(axis=3) > FOREGROUND_THRESHOLD
        slot1, slot2, vertical, horizontal = _slot_masks(fg)
        d1, d2 = _describe(slot1, batch), _describe(slot2, batch)
        both = (d1[:, 0] > 0) & (d2[:, 0] > 0)
        i_x, i_y, i_size = SLOT_FEATURES.index("x"), SLOT_FEATURES.index("y"), SLOT_FEATURES.index("size")
        pair = np.stack([vertical, horizontal,
                         np.where(both, d2[:, i_x] - d1[:, i_x], 0.0), np.where(both, d2[:, i_y] - d1[:, i_y], 0.0),
                         np.where(both, np.log(np.maximum(d2[:, i_size], 1e-9) / np.maximum(d1[:, i_size], 1e-9)), 0.0)],
                        axis=1)
        stop = start + batch.shape[0]
        slots[start:stop, 0], slots[start:stop, 1], pairs[start:stop] = d1, d2, pair
    return slots, pairs


def extract_features(images: np.ndarray, batch_size: int = 1000, *, regions: bool = False) -> np.ndarray:
    """Object-centric features: uint8 images (N, S, S, 3) -> float32 (N, FEATURE_DIM).

    Deterministic, from the pixels alone; see the module docstring for every column
    (``FEATURE_NAMES``).

    ``regions=True`` gives the same numbers as region tokens, float32 (N, K=3, REGION_DIM):
    token 0 and 1 are slot 1 and slot 2 (their ``SLOT_FEATURES`` in the first columns, an
    empty slot all zeros there), token 2 the pair (``PAIR_FEATURES`` in the next columns);
    the last three columns say which token it is (one-hot), so a token is recognisable
    without its position. ``REGION_NAMES`` names the columns.
    """
    slots, pairs = _extract(images, batch_size)
    N = slots.shape[0]
    if not regions:
        return np.concatenate([slots[:, 0], slots[:, 1], pairs], axis=1).astype(np.float32)
    out = np.zeros((N, REGION_TOKENS, REGION_DIM), dtype=np.float32)
    S, P = len(SLOT_FEATURES), len(PAIR_FEATURES)
    out[:, :2, :S] = slots
    out[:, 2, S:S + P] = pairs
    out[:, np.arange(REGION_TOKENS), S + P + np.arange(REGION_TOKENS)] = 1.0
    return out


#: Region tokens of ``extract_features(..., regions=True)``: slot 1, slot 2, the pair.
REGION_TOKENS = 3
REGION_NAMES = SLOT_FEATURES + PAIR_FEATURES + ("is_slot1", "is_slot2", "is_pair")
REGION_DIM = len(REGION_NAMES)
