"""Learning-rate schedules, stepped once per epoch by the Trainer.

``ExponentialLR`` and ``StepLR`` multiply the optimizer's *current* rate by ``gamma``
(as CS231n's ``learning_rate *= lr_decay``, bit for bit), so a rate the user sets between
epochs is respected. ``ReduceLROnPlateau`` follows a validation metric. Every state is a
few numbers, the current rate among them, saved by ``state_dict`` so that a resumed run
gets exactly the same rates.

Every scheduler has ``step()`` (``step(metric)`` for the plateau rule), ``last_epoch``
(steps taken), ``state_dict()`` / ``load_state_dict()`` and ``needs_metric``.
"""

from __future__ import annotations

import math
from typing import Any

from ..nn.checks import float_option, int_option
from .optimizer import Optimizer, check_number


def is_better(value: float, best: float | None, mode: str = "min", threshold: float = 0.0,
              threshold_mode: str = "abs") -> bool:
    """Is the monitored ``value`` better than ``best``? The one rule of keep-best, early stopping
    and ``ReduceLROnPlateau`` (Keras' ``MonitorCallback``; the margin as PyTorch's plateau rule).

    Better means beyond ``best`` by more than the margin in direction ``mode`` ('min'|'max'):
    ``threshold`` itself (``threshold_mode='abs'``) or ``|best| * threshold`` ('rel').
    A non-finite ``value`` is never better; anything finite beats ``best=None`` or an infinite best.
    """
    if not math.isfinite(value):
        return False
    if best is None or not math.isfinite(best):
        return True
    margin = abs(best) * threshold if threshold_mode == "rel" else threshold
    return value < best - margin if mode == "min" else value > best + margin


class LRScheduler:
    """Base of the schedules: after each ``step()``, ``optimizer.lr = next_lr(optimizer.lr, last_epoch)``."""

    needs_metric = False
    hyperparams: tuple[str, ...] = ()

    def __init__(self, optimizer: Optimizer):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__}: expected an Optimizer, got {type(optimizer).__name__}")
        self.optimizer = optimizer
        self.base_lr = optimizer.lr
        self.last_epoch = 0

    def next_lr(self, lr: float, epoch: int) -> float:
        """The rate after epoch ``epoch`` (1, 2, ...) ends, from the rate during it."""
        raise NotImplementedError

    def step(self) -> float:
        """Count one epoch and set the optimizer's rate; returns the new rate."""
        self.last_epoch += 1
        self.optimizer.lr = self.next_lr(self.optimizer.lr, self.last_epoch)
        return self.optimizer.lr

    def get_last_lr(self) -> float:
        return self.optimizer.lr

    def state_dict(self) -> dict[str, Any]:
        """Plain JSON-able values: type, hyperparameters, base rate, steps taken and the current rate."""
        return {"type": type(self).__name__, "hyperparams": {k: getattr(self, k) for k in self.hyperparams},
                "base_lr": self.base_lr, "last_epoch": self.last_epoch, "lr": self.optimizer.lr}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        owner = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state, dict) or state.get("type") != type(self).__name__:
            found = state.get("type") if isinstance(state, dict) else type(state).__name__
            raise ValueError(f"{owner}: the state belongs to {found!r}, not {type(self).__name__}")
        hyper = state.get("hyperparams", {})
        if set(hyper) != set(self.hyperparams):
            raise ValueError(f"{owner}: hyperparameters {sorted(hyper)} do not match {sorted(self.hyperparams)}")
        probe = type(self)(self.optimizer, **hyper)      # validates the values
        for key in self.hyperparams:
            setattr(self, key, getattr(probe, key))
        self.base_lr = check_number(owner, "base_lr", state["base_lr"])
        self.last_epoch = int(state["last_epoch"])
        self._load_extra(state)
        if "lr" not in state:
            raise ValueError(f"{owner}: the state has no current rate 'lr' (expected a state_dict of this version)")
        self.optimizer.lr = check_number(owner, "lr", state["lr"])

    def _load_extra(self, state: dict[str, Any]) -> None:
        pass

    def __repr__(self) -> str:
        hyper = ", ".join(f"{k}={getattr(self, k)!r}" for k in self.hyperparams)
        return f"{type(self).__name__}({hyper}, last_epoch={self.last_epoch}, lr={self.optimizer.lr!r})"


class ExponentialLR(LRScheduler):
    """``lr *= gamma`` at every ``step()`` — CS231n's ``lr_decay`` applied at every epoch end.

    Untouched, the rate after k steps is ``base_lr * gamma ** k`` (to rounding).
    """

    hyperparams = ("gamma",)

    def __init__(self, optimizer: Optimizer, gamma: float):
        super().__init__(optimizer)
        self.gamma = check_number("ExponentialLR", "gamma", gamma, 0.0, 1.0, low_open=True)

    def next_lr(self, lr: float, epoch: int) -> float:
        return lr * self.gamma


class StepLR(LRScheduler):
    """``lr *= gamma`` every ``step_size`` epochs (untouched: ``base_lr * gamma ** (epoch // step_size)``)."""

    hyperparams = ("step_size", "gamma")

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1):
        super().__init__(optimizer)
        self.step_size = int_option("StepLR", "step_size", step_size)
        self.gamma = check_number("StepLR", "gamma", gamma, 0.0, 1.0, low_open=True)

    def next_lr(self, lr: float, epoch: int) -> float:
        return lr * self.gamma if epoch % self.step_size == 0 else lr


class ReduceLROnPlateau(LRScheduler):
    """Multiply the rate by ``factor`` when a metric has not improved for ``patience`` epochs.

    ``step(metric)`` after each epoch. An epoch improves when the metric beats the best so
    far by more than ``threshold`` (relative: ``best * (1 -/+ threshold)``; absolute:
    ``best -/+ threshold``) in direction ``mode`` ('min' or 'max'). After a reduction,
    ``cooldown`` epochs pass before counting bad epochs again; the rate never goes below
    ``min_lr``. As PyTorch's ``ReduceLROnPlateau``.
    """

    needs_metric = True
    hyperparams = ("mode", "factor", "patience", "threshold", "threshold_mode", "cooldown", "min_lr")

    def __init__(self, optimizer: Optimizer, mode: str = "min", factor: float = 0.1, patience: int = 10,
                 threshold: float = 1e-4, threshold_mode: str = "rel", cooldown: int = 0, min_lr: float = 0.0):
        super().__init__(optimizer)
        owner = "ReduceLROnPlateau"
        if mode not in ("min", "max"):
            raise ValueError(f"{owner}: mode must be 'min' or 'max', got {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"{owner}: threshold_mode must be 'rel' or 'abs', got {threshold_mode!r}")
        self.mode, self.threshold_mode = mode, threshold_mode
        self.factor = check_number(owner, "factor", factor, 0.0, 1.0, low_open=True, high_open=True)
        self.patience = int_option(owner, "patience", patience, low=0)
        self.cooldown = int_option(owner, "cooldown", cooldown, low=0)
        self.threshold = check_number(owner, "threshold", threshold)
        self.min_lr = check_number(owner, "min_lr", min_lr)
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = 0
        self.cooldown_counter = 0

    def is_better(self, value: float, best: float) -> bool:
        return is_better(value, best, self.mode, self.threshold, self.threshold_mode)

    def step(self, metric: float) -> float:  # type: ignore[override]
        """Record this epoch's metric; reduce the rate after ``patience`` bad epochs. Returns the rate."""
        value = float_option("ReduceLROnPlateau.step", "the metric", metric)
        self.last_epoch += 1
        if self.is_better(value, self.best):
            self.best, self.num_bad_epochs = value, 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            self.optimizer.lr = max(self.optimizer.lr * self.factor, self.min_lr)
            self.cooldown_counter, self.num_bad_epochs = self.cooldown, 0
        return self.optimizer.lr

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state.update(best=self.best, num_bad_epochs=self.num_bad_epochs, cooldown_counter=self.cooldown_counter)
        return state

    def _load_extra(self, state: dict[str, Any]) -> None:
        self.best = float(state["best"])
        self.num_bad_epochs = int(state["num_bad_epochs"])
        self.cooldown_counter = int(state["cooldown_counter"])
