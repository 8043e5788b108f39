"""`Adam`: bias-corrected first and second moment estimates (Kingma & Ba)."""

from __future__ import annotations

import numpy as np

from .optimizer import Optimizer, check_number


FORMULAS = ("pytorch", "cs231n")


def adam_update(w: np.ndarray, g: np.ndarray, m: np.ndarray, v: np.ndarray, t: int, lr: float,
                beta1: float, beta2: float, eps: float, formula: str = "pytorch") -> None:
    """One Adam step, in place on ``w``, ``m`` and ``v`` (all one shape); ``t >= 1`` is this step's number.

    Both formulas share the moments ``m = beta1 m + (1 - beta1) g``, ``v = beta2 v + (1 - beta2) g^2``
    and differ only in where ``eps`` enters:

    * ``"pytorch"`` (``torch.optim.Adam``; Kingma & Ba 2015, Algorithm 1)::

          w -= lr * (m / (1 - beta1**t)) / (sqrt(v / (1 - beta2**t)) + eps)

    * ``"cs231n"`` (the course's ``optim.adam``; Kingma & Ba 2015, end of Section 2, the
      "more efficient" order with epsilon-hat; also TensorFlow's)::

          alpha = lr * sqrt(1 - beta2**t) / (1 - beta1**t)
          w -= alpha * (m / (sqrt(v) + eps))

    They agree except where ``sqrt(v)`` is comparable to ``eps``: the course's form equals the
    first with ``eps / sqrt(1 - beta2**t)`` in place of ``eps``, 31.6x larger at ``t = 1`` (beta2 =
    0.999), so gradients below ~1e-7 (rare words at initialisation) move up to ~30x less in the
    first steps. The "cs231n" operations are the course's, in its order.
    """
    m *= beta1
    m += (1.0 - beta1) * g
    v *= beta2
    v += (1.0 - beta2) * (g * g)
    if formula == "cs231n":
        alpha = lr * np.sqrt(1 - beta2 ** t) / (1 - beta1 ** t)
        w -= alpha * (m / (np.sqrt(v) + eps))
        return
    step = v / (1.0 - beta2 ** t)
    np.sqrt(step, out=step)
    step += eps
    np.divide(m, step, out=step)
    step *= lr / (1.0 - beta1 ** t)
    w -= step


class Adam(Optimizer):
    """PyTorch's ``Adam`` (the default) or CS231n's ``adam`` (``formula="cs231n"``).

    ``t`` counts this parameter's steps; see :func:`adam_update` for the two formulas::

        g = grad + weight_decay * w                          (coupled L2; 0 by default)
        t += 1
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        "pytorch":  w -= lr * (m / (1 - beta1**t)) / (sqrt(v / (1 - beta2**t)) + eps)
        "cs231n":   w -= lr * sqrt(1 - beta2**t) / (1 - beta1**t) * (m / (sqrt(v) + eps))

    ``formula`` must be ``"pytorch"`` or ``"cs231n"`` (``ValueError`` otherwise).
    """

    hyperparams = ("lr", "betas", "eps", "weight_decay", "formula")

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0, formula: str = "pytorch"):
        super().__init__(params, lr)
        name = type(self).__name__
        if formula not in FORMULAS:
            raise ValueError(f"{name}: formula must be one of {FORMULAS}, got {formula!r}")
        self.formula = formula
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
        state["step"] = state["step"] + 1
        adam_update(w, g, state["m"], state["v"], state["step"], self.lr, *self.betas, self.eps, self.formula)
