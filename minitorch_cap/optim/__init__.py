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
from .lr_scheduler import ExponentialLR, LRScheduler, ReduceLROnPlateau, StepLR
from .optimizer import Optimizer
from .rmsprop import RMSProp
from .sgd import SGD

OPTIMIZERS = {cls.__name__: cls for cls in (SGD, RMSProp, Adam, AdamW)}
SCHEDULERS = {cls.__name__: cls for cls in (ExponentialLR, StepLR, ReduceLROnPlateau)}

__all__ = [
    "Optimizer", "SGD", "RMSProp", "Adam", "AdamW",
    "LRScheduler", "ExponentialLR", "StepLR", "ReduceLROnPlateau",
    "clip_grad_norm_", "clip_grad_value_", "grad_norm", "OPTIMIZERS", "SCHEDULERS",
]
