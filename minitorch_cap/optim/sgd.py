"""`SGD`: stochastic gradient descent with optional momentum, Nesterov and weight decay."""

from __future__ import annotations

import numpy as np

from .optimizer import Optimizer, check_number


class SGD(Optimizer):
    """Plain or momentum SGD (PyTorch's update; CS231n's ``sgd`` / ``sgd_momentum``).

    With ``g = grad + weight_decay * w`` (coupled L2 decay)::

        momentum == 0:   w -= lr * g
        otherwise:       v = momentum * v + g                 (v starts at zeros)
                         w -= lr * (g + momentum * v)   if nesterov
                         w -= lr * v                    otherwise

    With a constant ``lr`` this equals CS231n's ``v = mu * v - lr * dw; w += v``; the
    buffer holds gradients (not steps), so a schedule changing ``lr`` acts at once, as
    in PyTorch.
    """

    hyperparams = ("lr", "momentum", "nesterov", "weight_decay")

    def __init__(self, params, lr: float = 1e-2, momentum: float = 0.0, nesterov: bool = False,
                 weight_decay: float = 0.0):
        super().__init__(params, lr)
        self.momentum = check_number("SGD", "momentum", momentum, 0.0, 1.0, high_open=True)
        if not isinstance(nesterov, (bool, np.bool_)):
            raise TypeError(f"SGD: nesterov must be True or False, got {nesterov!r}")
        if nesterov and self.momentum == 0.0:
            raise ValueError("SGD: nesterov=True needs momentum > 0")
        self.nesterov = bool(nesterov)
        self.weight_decay = check_number("SGD", "weight_decay", weight_decay)

    def _init_state(self, param):
        return {"velocity": np.zeros_like(param.data)} if self.momentum else {}

    def _update(self, w, g, state):
        if self.weight_decay:
            g = g + self.weight_decay * w
        if self.momentum:
            v = state["velocity"]
            v *= self.momentum
            v += g
            g = g + self.momentum * v if self.nesterov else v
        w -= self.lr * g
