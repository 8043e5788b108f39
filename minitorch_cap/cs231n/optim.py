"""The course's ``cs231n/optim.py``: update rules ``rule(w, dw, config=None) -> (next_w, config)``.

``config`` holds the hyperparameters (defaults filled in with ``setdefault``, as the course)
and the rule's state between calls. ``w`` is updated in place and returned, as the course.
The formulas, in the course's order of operations:

* ``sgd``: ``w -= lr * dw``.
* ``sgd_momentum``: ``v = momentum * v - lr * dw; w += v`` (``velocity`` holds steps, so a
  changed learning rate acts through the velocity; ``minitorch_cap.optim.SGD`` is PyTorch's
  form, which keeps gradients in its buffer).
* ``rmsprop``: ``cache = decay_rate * cache + (1 - decay_rate) * dw**2;
  w += -(lr * dw) / (sqrt(cache) + eps)``.
* ``adam``: ``t += 1``; ``m``, ``v`` moving averages; ``alpha = lr * sqrt(1 - beta2**t) / (1 - beta1**t)``;
  ``w -= alpha * (m / (sqrt(v) + eps))`` — computed by :func:`minitorch_cap.optim.adam.adam_update`
  with ``formula="cs231n"``, the same code as ``minitorch_cap.optim.Adam(formula="cs231n")``.

Shapes: ``w``, ``dw`` and every array in ``config`` have one shape.
"""

from __future__ import annotations

import numpy as np

from ..optim.adam import adam_update

__all__ = ["sgd", "sgd_momentum", "rmsprop", "adam"]


def sgd(w, dw, config=None):
    """Vanilla SGD. config: ``learning_rate`` (default 1e-2)."""
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    w -= config["learning_rate"] * dw
    return w, config


def sgd_momentum(w, dw, config=None):
    """SGD with momentum. config: ``learning_rate`` (1e-2), ``momentum`` (0.9), ``velocity`` (zeros)."""
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("momentum", 0.9)
    v = config.get("velocity", np.zeros_like(w))
    v *= config["momentum"]
    v -= config["learning_rate"] * dw
    w += v
    config["velocity"] = v
    return w, config


def rmsprop(w, dw, config=None):
    """RMSProp. config: ``learning_rate`` (1e-2), ``decay_rate`` (0.99), ``epsilon`` (1e-8), ``cache`` (zeros)."""
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-2)
    config.setdefault("decay_rate", 0.99)
    config.setdefault("epsilon", 1e-8)
    config.setdefault("cache", np.zeros_like(w))
    rho, lr, eps = config["decay_rate"], config["learning_rate"], config["epsilon"]
    config["cache"] *= rho
    config["cache"] += (1.0 - rho) * dw ** 2
    w += -(lr * dw) / (np.sqrt(config["cache"]) + eps)
    return w, config


def adam(w, dw, config=None):
    """Adam, the course's form. config: ``learning_rate`` (1e-3), ``beta1`` (0.9), ``beta2`` (0.999),
    ``epsilon`` (1e-8), ``m``, ``v`` (zeros), ``t`` (0).

    ``m`` and ``v`` are replaced by new arrays (the arrays a caller put in ``config`` are not changed).
    """
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-3)
    config.setdefault("beta1", 0.9)
    config.setdefault("beta2", 0.999)
    config.setdefault("epsilon", 1e-8)
    config.setdefault("m", np.zeros_like(w))
    config.setdefault("v", np.zeros_like(w))
    config.setdefault("t", 0)
    m, v = np.array(config["m"], copy=True), np.array(config["v"], copy=True)
    t = config["t"] + 1
    adam_update(w, dw, m, v, t, config["learning_rate"], config["beta1"], config["beta2"], config["epsilon"],
                formula="cs231n")
    config["t"], config["m"], config["v"] = t, m, v
    return w, config
