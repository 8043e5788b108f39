"""Gradient clipping, in place on ``p.grad``: by global norm and by value."""

from __future__ import annotations

import math

import numpy as np

from .optimizer import check_number, named_params


def grad_norm(params) -> float:
    """The global L2 norm of every gradient together (accumulated in float64)."""
    total = 0.0
    for _, p in named_params(params, "grad_norm"):
        g = p.grad.ravel().astype(np.float64, copy=False)
        total += float(np.dot(g, g))
    return math.sqrt(total)


def clip_grad_norm_(params, max_norm: float) -> float:
    """Scale all gradients together so their global L2 norm is at most ``max_norm``.

    Returns the norm **before** clipping. The scale is ``max_norm / (norm + 1e-6)``
    (PyTorch's). A non-finite norm leaves the gradients unchanged (and is returned, so
    the caller can stop: see the Trainer's divergence guard).
    """
    params = named_params(params, "clip_grad_norm_")
    max_norm = check_number("clip_grad_norm_", "max_norm", max_norm, 0.0, low_open=True)
    norm = grad_norm(params)
    if math.isfinite(norm) and norm > max_norm:
        scale = max_norm / (norm + 1e-6)
        for _, p in params:
            p.grad *= scale
    return norm


def clip_grad_value_(params, clip_value: float) -> None:
    """Clip every gradient entry into ``[-clip_value, clip_value]`` in place."""
    clip_value = check_number("clip_grad_value_", "clip_value", clip_value, 0.0, low_open=True)
    for _, p in named_params(params, "clip_grad_value_"):
        np.clip(p.grad, -clip_value, clip_value, out=p.grad)
