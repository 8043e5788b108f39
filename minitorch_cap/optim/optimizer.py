"""`Optimizer`: the base every update rule shares (parameters, lazy state, ``state_dict``).

An optimizer holds a list of ``(name, Parameter)`` pairs. ``step()`` reads each
parameter's accumulated gradient ``p.grad`` and updates ``p.data`` in place; the
per-parameter state (moments, velocities, step counts) is created lazily on the first
``step`` and kept in ``optimizer.state[name]``, a dict of arrays and ints.

``state_dict()`` returns ``{"type", "hyperparams", "state"}`` — plain values and
copies of arrays, no Python objects — and ``load_state_dict`` restores it strictly
(same optimizer type, same parameter names, shapes and dtypes).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import Any

import numpy as np

from ..nn.checks import float_option
from ..nn.module import Module
from ..nn.parameter import Parameter


def named_params(params, owner: str) -> list[tuple[str, Parameter]]:
    """Normalise ``model.named_parameters()``, ``model.parameters()``, a Module or an Optimizer to ``[(name, p)]``.

    Unnamed parameters are called ``"0"``, ``"1"``, ... in the order given. The same
    Parameter may not appear twice (it would be updated twice per step). An Optimizer
    gives the parameters it updates (so ``clip_grad_norm_(optimizer, 5.0)`` clips exactly
    what ``optimizer.step()`` will use).
    """
    if isinstance(params, Optimizer):
        return list(params.params)
    if isinstance(params, Module):
        params = params.named_parameters()
    if isinstance(params, Parameter):
        raise TypeError(f"{owner}: expected an iterable of parameters, got a single Parameter (wrap it in a list)")
    try:
        items = list(params)
    except TypeError:
        raise TypeError(f"{owner}: expected model.parameters() or model.named_parameters(), "
                        f"got {type(params).__name__}") from None
    pairs = []
    for i, item in enumerate(items):
        if isinstance(item, Parameter):
            pairs.append((str(i), item))
        elif (isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str)
              and isinstance(item[1], Parameter)):
            pairs.append(item)
        else:
            raise TypeError(f"{owner}: item {i} is {type(item).__name__}, expected a Parameter or a (name, Parameter) pair")
    names = [name for name, _ in pairs]
    if len(set(names)) != len(names):
        raise ValueError(f"{owner}: parameter names must be unique, got duplicates "
                         f"{sorted({n for n in names if names.count(n) > 1})}")
    if len({id(p) for _, p in pairs}) != len(pairs):
        raise ValueError(f"{owner}: the same Parameter appears twice; it would be updated twice per step")
    return pairs


def check_number(owner: str, name: str, value, low: float = 0.0, high: float = math.inf,
                 low_open: bool = False, high_open: bool = False) -> float:
    """A real hyperparameter in ``[low, high]`` (``low`` 0 unless given): :func:`~minitorch_cap.nn.checks.float_option`."""
    return float_option(owner, name, value, low, high, low_open, high_open)


class Optimizer:
    """Base class: subclasses validate their hyperparameters and implement ``_update``.

    Hyperparameters are attributes listed in the class attribute ``hyperparams``
    (``lr`` first); they are saved by ``state_dict`` and may be changed between steps
    (``optimizer.lr = 1e-4``; schedulers do exactly that).
    """

    hyperparams: tuple[str, ...] = ("lr",)

    def __init__(self, params, lr: float):
        owner = type(self).__name__
        self.params: list[tuple[str, Parameter]] = named_params(params, owner)
        if not self.params:
            raise ValueError(f"{owner}: got an empty parameter list")
        self.lr = lr
        self.state: "OrderedDict[str, dict[str, Any]]" = OrderedDict()

    # ----------------------------------------------------------------- learning rate
    @property
    def lr(self) -> float:
        return self._lr

    @lr.setter
    def lr(self, value) -> None:
        self._lr = check_number(type(self).__name__, "lr", value)

    # ----------------------------------------------------------------- the update
    def step(self) -> None:
        """Update every parameter in place from its ``.grad``."""
        for name, param in self.params:
            state = self.state.get(name)
            if state is None:
                state = self.state[name] = self._init_state(param)
            self._update(param.data, param.grad, state)

    def _init_state(self, param: Parameter) -> dict[str, Any]:
        """The per-parameter state before the first step (arrays shaped and typed like ``param``)."""
        return {}

    def _update(self, w: np.ndarray, g: np.ndarray, state: dict[str, Any]) -> None:
        raise NotImplementedError(f"{type(self).__name__} does not implement _update")

    def zero_grad(self) -> None:
        for _, param in self.params:
            param.zero_grad()

    def check_params_of(self, model, owner: str = "Optimizer") -> "Optimizer":
        """Raise ``ValueError`` unless every parameter this optimizer updates is one of ``model``'s.

        Identity, not names or shapes, is compared: an optimizer built on another copy of the
        model (a deep copy, a model built twice, a child replaced after the optimizer was
        made) has the same names and shapes, and would train that other copy while ``model``
        computes the gradients: silently, nothing learns. An optimizer of a *subset* of the
        model's parameters (a frozen part) is fine. Returns ``self``.
        """
        if not callable(getattr(model, "parameters", None)):
            raise TypeError(f"{owner}: expected a Module to check the optimizer against, got {type(model).__name__}")
        own = {id(p) for p in model.parameters()}
        foreign = [name for name, p in self.params if id(p) not in own]
        if foreign:
            listing = ", ".join(foreign[:6]) + (", ..." if len(foreign) > 6 else "")
            raise ValueError(
                f"{owner}: the {type(self).__name__} updates {len(foreign)} of {len(self.params)} parameters that "
                f"are not this {type(model).__name__}'s ({listing}): it was built on another model or copy "
                f"(built twice, deep-copied, or rebuilt after the optimizer). Build it from this model: "
                f"{type(self).__name__}(model.named_parameters(), ...); to resume, pass model= too, or no optimizer.")
        return self

    # ----------------------------------------------------------------- saving
    def hyperparameters(self) -> dict[str, Any]:
        """The constructor's hyperparameters as plain JSON-able values."""
        values = {}
        for key in self.hyperparams:
            value = getattr(self, key)
            values[key] = list(value) if isinstance(value, tuple) else value
        return values

    def state_dict(self) -> dict[str, Any]:
        """``{"type": class name, "hyperparams": {...}, "state": {param name: {key: array | int}}}`` (copies)."""
        state = OrderedDict()
        for name, entry in self.state.items():
            state[name] = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in entry.items()}
        return {"type": type(self).__name__, "hyperparams": self.hyperparameters(), "state": state}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore hyperparameters and per-parameter state; nothing changes unless every check passes."""
        owner = f"{type(self).__name__}.load_state_dict"
        if not isinstance(state_dict, dict) or not {"type", "hyperparams", "state"} <= set(state_dict):
            raise ValueError(f"{owner}: expected a dict with keys 'type', 'hyperparams', 'state'")
        if state_dict["type"] != type(self).__name__:
            raise ValueError(f"{owner}: the state belongs to a {state_dict['type']} optimizer, not {type(self).__name__}")
        hyper = dict(state_dict["hyperparams"])
        if set(hyper) != set(self.hyperparams):
            raise ValueError(f"{owner}: hyperparameters {sorted(hyper)} do not match {sorted(self.hyperparams)}")
        # The constructor validates the values; the state layout follows them (SGD without momentum has none).
        probe = type(self)(self.params, **{k: tuple(v) if isinstance(v, list) else v for k, v in hyper.items()})
        params = dict(self.params)
        staged = OrderedDict()
        for name, entry in state_dict["state"].items():
            if name not in params:
                raise ValueError(f"{owner}: state for unknown parameter {name!r}; known: {list(params)}")
            template = probe._init_state(params[name])
            if set(entry) != set(template):
                raise ValueError(f"{owner}: state of {name!r} has keys {sorted(entry)}, expected {sorted(template)}")
            staged_entry = {}
            for key, ref in template.items():
                value = entry[key]
                if isinstance(ref, np.ndarray):
                    array = np.asarray(value)
                    if array.shape != ref.shape or array.dtype != ref.dtype:
                        raise ValueError(f"{owner}: state {name!r}/{key!r} expected {ref.dtype}{ref.shape}, "
                                         f"got {array.dtype}{array.shape}")
                    staged_entry[key] = array.copy()
                else:
                    staged_entry[key] = type(ref)(value)
            staged[name] = staged_entry
        for key in self.hyperparams:
            setattr(self, key, getattr(probe, key))
        self.state = staged

    def __repr__(self) -> str:
        hyper = ", ".join(f"{k}={v!r}" for k, v in self.hyperparameters().items())
        return f"{type(self).__name__}({hyper}, {len(self.params)} parameters)"
