"""`Sequential`: a chain of single-input modules, forward in order and backward in reverse."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

from .module import Module, naming_child


class Sequential(Module):
    """``Sequential(m0, m1, ...)`` (children named ``0``, ``1``, ...) or ``Sequential(OrderedDict(name=module))``.

    ``forward(x)`` feeds each child's output to the next; ``backward(dout)`` runs the
    children's backwards in reverse and returns the gradient of ``x`` (``None`` when the
    first child takes integer ids, such as an Embedding). An error inside a child is
    re-raised with the child's name in front.
    """

    def __init__(self, *modules):
        if len(modules) == 1 and isinstance(modules[0], (dict, OrderedDict)):
            named = list(modules[0].items())
        else:
            named = [(str(k), m) for k, m in enumerate(modules)]
        super().__init__(named[0][1].dtype if named else np.float32)
        for name, module in named:
            if not isinstance(name, str) or not name or "." in name:
                raise ValueError(f"Sequential: child names must be non-empty strings without dots "
                                 f"(they become dotted parameter names), got {name!r}")
            if not isinstance(module, Module):
                raise TypeError(f"Sequential: child {name!r} must be a Module, got {type(module).__name__}")
            setattr(self, name, module)

    def __len__(self) -> int:
        return len(self._modules)

    def __getitem__(self, index: int) -> Module:
        return list(self._modules.values())[index]

    def forward(self, x):
        for name, child in self._modules.items():
            with naming_child(name):
                x = child.forward(x)
        self._save_for_backward()  # the children hold the caches; this marks that a forward ran
        return x

    def backward(self, dout):
        self._saved()
        names = list(self._modules)
        for position, name in reversed(list(enumerate(names))):
            with naming_child(name):
                dout = self._modules[name].backward(dout)
            if dout is None and position > 0:
                raise TypeError(
                    f"Sequential.backward: child {name!r} returned no input gradient, so it can only be first"
                )
            if isinstance(dout, tuple):
                raise TypeError(
                    f"Sequential.backward: child {name!r} has several inputs; Sequential chains single-input modules"
                )
        return dout
