"""`AdamW`: Adam with decoupled weight decay (Loshchilov & Hutter)."""

from __future__ import annotations

import numpy as np

from .adam import Adam


class AdamW(Adam):
    """PyTorch's ``AdamW``: before Adam's update the weights shrink by ``lr * weight_decay``::

        w *= 1 - lr * weight_decay
        (then Adam's update with the raw gradient)

    The decay does not pass through the moment estimates, unlike ``Adam(weight_decay=...)``.
    """

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, formula: str = "pytorch"):
        super().__init__(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, formula=formula)

    def _weight_decay(self, w: np.ndarray, g: np.ndarray) -> np.ndarray:
        if self.weight_decay:
            w *= 1.0 - self.lr * self.weight_decay
        return g
