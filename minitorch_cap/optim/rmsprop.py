"""`RMSProp`: per-weight step sizes from a running mean of squared gradients."""

from __future__ import annotations

import numpy as np

from .optimizer import Optimizer, check_number


class RMSProp(Optimizer):
    """CS231n's ``rmsprop`` (also PyTorch's ``RMSprop`` with ``alpha = decay``)::

        g = grad + weight_decay * w
        cache = decay * cache + (1 - decay) * g**2          (cache starts at zeros)
        w -= lr * g / (sqrt(cache) + eps)
    """

    hyperparams = ("lr", "decay", "eps", "weight_decay")

    def __init__(self, params, lr: float = 1e-2, decay: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0):
        super().__init__(params, lr)
        self.decay = check_number("RMSProp", "decay", decay, 0.0, 1.0, high_open=True)
        self.eps = check_number("RMSProp", "eps", eps, 0.0, low_open=True)
        self.weight_decay = check_number("RMSProp", "weight_decay", weight_decay)

    def _init_state(self, param):
        return {"cache": np.zeros_like(param.data)}

    def _update(self, w, g, state):
        if self.weight_decay:
            g = g + self.weight_decay * w
        cache = state["cache"]
        cache *= self.decay
        cache += (1.0 - self.decay) * (g * g)
        step = np.sqrt(cache)
        step += self.eps
        np.divide(g, step, out=step)
        step *= self.lr
        w -= step
