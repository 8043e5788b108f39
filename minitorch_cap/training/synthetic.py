"""Random captioning data in ``load_coco_data``'s format, for sanity checks such as overfitting.

The captions carry no meaning: a model can only memorise them. That is exactly what the
course's "overfit a small data set" check needs, with no files to download.
"""

from __future__ import annotations

import numpy as np

from ..tokens import SPECIAL_TOKENS


def random_caption_data(num_train: int = 50, num_val: int = 0, *, input_dim: int = 512, vocab_size: int = 40,
                        T: int = 17, words: tuple[int, int] | None = None, num_images: int | None = None,
                        seed: int = 0, dtype=np.float32) -> dict:
    """A dict with ``load_coco_data``'s keys: random features and random captions over a small vocabulary.

    Tokens ``<NULL>``=0, ``<START>``=1, ``<END>``=2, ``<UNK>``=3, then ``w4``, ``w5``, ...
    Each caption (``T`` columns, int32) is ``<START> w... <END>`` padded with ``<NULL>``; its
    number of words is uniform in ``words = (low, high)`` (default ``(2, T - 2)``).
    Features are standard normal ``(num_images, input_dim)``; by default each caption has
    its own image. A split with no captions is left out (no ``val_*`` keys for ``num_val=0``).
    """
    if vocab_size <= len(SPECIAL_TOKENS) or T < 4:
        raise ValueError(f"random_caption_data: need vocab_size > 4 and T >= 4, got {vocab_size} and {T}")
    low, high = words or (2, T - 2)
    if not 1 <= low <= high <= T - 2:
        raise ValueError(f"random_caption_data: words must satisfy 1 <= low <= high <= T - 2 = {T - 2}, got {words}")
    rng = np.random.default_rng(seed)
    word_to_idx = {w: i for i, w in enumerate(SPECIAL_TOKENS)}
    word_to_idx.update({f"w{i}": i for i in range(len(SPECIAL_TOKENS), vocab_size)})
    data = {"word_to_idx": word_to_idx, "idx_to_word": {i: w for w, i in word_to_idx.items()}}
    for split, n in (("train", num_train), ("val", num_val)):
        if n == 0:
            continue
        captions = np.zeros((n, T), dtype=np.int32)
        for row in captions:
            length = rng.integers(low, high + 1)
            row[0] = 1
            row[1:length + 1] = rng.integers(len(SPECIAL_TOKENS), vocab_size, length)
            row[length + 1] = 2
        m = num_images or n
        data[f"{split}_captions"] = captions
        data[f"{split}_image_idxs"] = (np.arange(n) % m).astype(np.int32)
        data[f"{split}_features"] = rng.standard_normal((m, input_dim)).astype(dtype)
        data[f"{split}_urls"] = np.array([f"random/{split}/{i}.jpg" for i in range(m)])
    return data
