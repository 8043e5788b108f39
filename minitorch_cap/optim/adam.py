"""`Adam`: bias-corrected first and second moment estimates (Kingma & Ba)."""

from __future__ import annotations

import numpy as np

from .optimizer import Optimizer, check_number


class Adam(Optimizer):
    """CS231n's ``adam`` and PyTorch's ``Adam``; ``t`` counts this parameter's steps::

        g = grad + weight_decay * w                          (coupled L2; 0 by default)
        t += 1
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        w -= lr * (m / (1 - beta1**t)) / (sqrt(v / (1 - beta2**t)) + eps)
    """

    hyperparams = ("lr", "betas", "eps", "weight_decay")

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0):
        super().__init__(params, lr)
        name = type(self).__name__
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise TypeError(f"{name}: betas must be a pair (beta1, beta2), got {betas!r}")
        self.betas = tuple(check_number(name, f"betas[{i}]", b, 0.0, 1.0, high_open=True) for i, b in enumerate(betas))
        self.eps = check_number(name, "eps", eps, 0.0, low_open=True)
        self.weight_decay = check_number(name, "weight_decay", weight_decay)

    def _init_state(self, param):
        return {"step": 0, "m": np.zeros_like(param.data), "v": np.zeros_like(param.data)}

    def _weight_decay(self, w: np.ndarray, g: np.ndarray) -> np.ndarray:
        """Coupled L2 decay: the gradient used by the update (AdamW overrides this)."""
        return g + self.weight_decay * w if self.weight_decay else g

    def _update(self, w, g, state):
        g = self._weight_decay(w, g)
        beta1, beta2 = self.betas
        state["step"] = t = state["step"] + 1
        m, v = state["m"], state["v"]
        m *= beta1
        m += (1.0 - beta1) * g
        v *= beta2
        v += (1.0 - beta2) * (g * g)
        step = v / (1.0 - beta2 ** t)
        np.sqrt(step, out=step)
        step += self.eps
        np.divide(m, step, out=step)
        step *= self.lr / (1.0 - beta1 ** t)
        w -= step
