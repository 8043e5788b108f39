"""Optimizers, learning-rate schedules and gradient clipping (one rule per file).

Optimizers take ``model.named_parameters()`` (or ``model.parameters()``), read each
``p.grad`` in ``step()`` and update ``p.data`` in place::

    opt = Adam(model.named_parameters(), lr=5e-3)
    sched = ExponentialLR(opt, gamma=0.95)     # CS231n's lr_decay, stepped per epoch
    loss, _ = model.loss(features, captions)   # fills p.grad
    clip_grad_norm_(model.parameters(), 5.0)
    opt.step()
"""

from .adam import Adam
from .adamw import AdamW
from .clip import clip_grad_norm_, clip_grad_value_, grad_norm
from .lr_scheduler import ExponentialLR, LRScheduler, ReduceLROnPlateau, StepLR, is_better
from .optimizer import Optimizer
from .registry import OPTIMIZERS, SCHEDULERS, optimizer_from_state, scheduler_from_state
from .rmsprop import RMSProp
from .sgd import SGD

__all__ = [
    "Optimizer", "SGD", "RMSProp", "Adam", "AdamW",
    "LRScheduler", "ExponentialLR", "StepLR", "ReduceLROnPlateau",
    "clip_grad_norm_", "clip_grad_value_", "grad_norm", "OPTIMIZERS", "SCHEDULERS",
    "is_better", "optimizer_from_state", "scheduler_from_state",
]
