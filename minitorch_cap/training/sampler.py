"""`MinibatchSampler`: which training captions each iteration uses.

``'replacement'`` (CS231n's solver): every iteration draws ``batch_size`` caption indices at
random with replacement, ``max(num_train // batch_size, 1)`` iterations an epoch.
``'shuffle'``: every caption once per epoch in a fresh random order,
``ceil(num_train / batch_size)`` iterations, the last one smaller.

One ``numpy.random.Generator`` drives it: the run's minibatch stream, which the Trainer owns
and saves (:mod:`.randomness`); a shuffled epoch's order is the sampler's own part of a
checkpoint. So a resumed run draws exactly the captions the uninterrupted run would have drawn.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np


class MinibatchSampler:
    """Caption indices for each iteration: ``batch(epoch_iteration) -> (B,) int``."""

    def __init__(self, num_train: int, batch_size: int, sampling: str = "replacement", seed: int | None = None, *,
                 rng: np.random.Generator | None = None):
        """``rng``: the generator to draw from (the Trainer passes its run's); else ``default_rng(seed)``."""
        self.num_train, self.batch_size, self.sampling = int(num_train), int(batch_size), sampling
        self.rng = rng if rng is not None else np.random.default_rng(seed)
        self.epoch_order: np.ndarray | None = None     # this epoch's caption order ('shuffle')

    @property
    def iterations_per_epoch(self) -> int:
        if self.sampling == "shuffle":
            return max(-(-self.num_train // self.batch_size), 1)
        return max(self.num_train // self.batch_size, 1)

    def begin_epoch(self) -> None:
        if self.sampling == "shuffle":
            self.epoch_order = self.rng.permutation(self.num_train)

    def end_epoch(self) -> None:
        self.epoch_order = None

    def batch(self, epoch_iteration: int) -> np.ndarray:
        """Indices into the training captions for iteration ``epoch_iteration`` (0-based) of the epoch."""
        B = self.batch_size
        if self.sampling == "shuffle":
            return self.epoch_order[epoch_iteration * B:(epoch_iteration + 1) * B]
        return self.rng.choice(self.num_train, B)

    # ------------------------------------------------------------------ checkpoint state
    def state(self) -> dict[str, Any]:
        """The epoch order of a shuffled epoch in progress (the generator's state is the run's, see :mod:`.randomness`)."""
        state: dict[str, Any] = {}
        if self.epoch_order is not None:
            state["epoch_order"] = np.asarray(self.epoch_order, dtype=np.int64)
        return state

    def load_state(self, state: Mapping[str, Any], mid_epoch: bool) -> None:
        """Restore :meth:`state`; ``mid_epoch``: the checkpoint was written inside an epoch."""
        order = state.get("epoch_order")
        self.epoch_order = np.asarray(order) if order is not None else None
        if self.sampling == "shuffle" and mid_epoch and self.epoch_order is None:
            raise ValueError("a mid-epoch checkpoint of a shuffled run lacks its epoch order")


def validation_subset(num_val: int, size: int | None) -> np.ndarray:
    """A fixed subset: ``size`` indices evenly spaced over the val split (all of it for ``None``)."""
    if num_val == 0 or size == 0:
        return np.zeros(0, dtype=np.int64)
    if size is None or size >= num_val:
        return np.arange(num_val)
    return np.linspace(0, num_val - 1, size).round().astype(np.int64)
