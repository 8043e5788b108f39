"""`BestTracker`: the monitored value's best so far, for keep-best and early stopping.

"Better" is :func:`minitorch_cap.optim.is_better` (the rule ``ReduceLROnPlateau`` uses too),
with ``min_delta`` as an absolute margin, as Keras' ``EarlyStopping`` and ``ModelCheckpoint``.
"""

from __future__ import annotations

import math
from typing import Any, Mapping

from ..optim import is_better


class BestTracker:
    """``update(value, epoch) -> improved``; ``best_value``, ``best_epoch``, ``bad_epochs``."""

    def __init__(self, monitor: str, mode: str = "min", min_delta: float = 0.0):
        self.monitor, self.mode, self.min_delta = monitor, mode, float(min_delta)
        self.best_value: float | None = None
        self.best_epoch: int | None = None
        self.bad_epochs = 0

    def update(self, value, epoch: int) -> bool:
        """Record epoch ``epoch``'s value (None or NaN counts as no improvement); True when it improved."""
        value = float(value) if value is not None else math.nan
        if is_better(value, self.best_value, self.mode, self.min_delta, "abs"):
            self.best_value, self.best_epoch, self.bad_epochs = value, epoch, 0
            return True
        self.bad_epochs += 1
        return False

    def state(self) -> dict[str, Any]:
        return {"best_value": self.best_value, "best_epoch": self.best_epoch, "bad_epochs": self.bad_epochs}

    def load_state(self, state: Mapping[str, Any]) -> None:
        self.best_value, self.best_epoch = state["best_value"], state["best_epoch"]
        self.bad_epochs = int(state["bad_epochs"])
