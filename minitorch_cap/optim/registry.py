"""Rebuild an optimizer or a schedule from its ``state_dict`` (what ``Trainer.resume`` needs).

A ``state_dict`` names its class (``"type"``) and holds its hyperparameters, so a run can be
continued without the script that built it. Only the library's own classes are known; for
another one, pass the object itself.
"""

from __future__ import annotations

from typing import Any, Mapping

from .adam import Adam
from .adamw import AdamW
from .lr_scheduler import ExponentialLR, ReduceLROnPlateau, StepLR
from .optimizer import Optimizer
from .rmsprop import RMSProp
from .sgd import SGD

OPTIMIZERS = {cls.__name__: cls for cls in (SGD, RMSProp, Adam, AdamW)}
SCHEDULERS = {cls.__name__: cls for cls in (ExponentialLR, StepLR, ReduceLROnPlateau)}


def _build(registry: Mapping[str, type], state: Mapping[str, Any], kind: str, *args):
    cls = registry.get(state.get("type"))
    if cls is None:
        raise ValueError(f"unknown {kind} type {state.get('type')!r} (this library knows {sorted(registry)}); "
                         f"pass the {kind} itself")
    hyper = {k: tuple(v) if isinstance(v, list) else v for k, v in state["hyperparams"].items()}
    obj = cls(*args, **hyper)
    obj.load_state_dict(dict(state))
    return obj


def optimizer_from_state(state: Mapping[str, Any], params) -> Optimizer:
    """A new optimizer of ``state["type"]`` over ``params`` (``model.named_parameters()``), state loaded."""
    return _build(OPTIMIZERS, state, "optimizer", params)


def scheduler_from_state(state: Mapping[str, Any], optimizer: Optimizer):
    """A new schedule of ``state["type"]`` driving ``optimizer``, state loaded."""
    return _build(SCHEDULERS, state, "schedule", optimizer)
