"""`Module`: the stateful forward/backward contract every layer follows."""

from __future__ import annotations

from collections import OrderedDict
from typing import Any, Iterator, Mapping

import numpy as np

from .checks import bool_option, check_finite_weights
from .parameter import Parameter


class _Inference:
    depth = 0


_INFERENCE = _Inference()


class inference_mode:
    """The one switch for prediction: within ``with inference_mode(): ...``, every module's
    ordinary ``forward`` keeps no cache, leaves existing caches untouched, and applies no dropout.

    PyTorch's ``torch.inference_mode`` is the model for the cache (no state for a backward),
    ``model.eval()`` for dropout (inference means prediction: a prediction is deterministic).
    Unlike ``eval()``, it changes no module's mode and drops no cache, so a caption can be
    generated in the middle of training without disturbing the cache the next backward needs
    or drawing from the dropout generators. Decoding, ``scores`` and every forward that is
    not followed by a backward use it. Blocks nest; :func:`inference_enabled` tells whether
    one is open.
    """

    def __enter__(self) -> None:
        _INFERENCE.depth += 1

    def __exit__(self, kind, exc, traceback) -> bool:
        _INFERENCE.depth -= 1
        return False


def inference_enabled() -> bool:
    """True inside an :func:`inference_mode` block."""
    return _INFERENCE.depth > 0


class Module:
    """Base class of every layer, loss and model (the Torch7 ``nn.Module`` contract).

    * ``forward(*inputs)`` computes the output and, in training mode, keeps on the
      module what its backward needs (its *cache*). ``module(*inputs)`` is ``forward``.
    * ``backward(grad_output)`` uses the cache of the **last** forward. It returns the
      gradient of each float input of that forward (a tuple in input order when there
      are several, the bare array when there is one, ``None`` when every input is an
      integer index) and **adds** the parameter gradients into ``p.grad``.
      Calling it twice doubles the parameter gradients; ``zero_grad()`` resets them.
    * ``backward`` with no cached forward raises ``RuntimeError``; so does a backward
      in eval mode, where forward keeps no cache.
    * Under :func:`inference_mode` a forward keeps no cache and leaves the cache of the
      last training forward as it was (the one cache-free path: there is no separate
      "inference" method); a container calls its children's ``forward`` there too.
    * Assigning a ``Parameter`` or a ``Module`` to an attribute registers it, in order;
      ``named_parameters()`` yields dotted names such as ``rnn.Wx``.
    * ``state_dict()`` / ``load_state_dict()`` save and restore parameter arrays by
      dotted name (strict: names, shapes and dtypes must match).

    Subclasses implement ``forward`` and ``backward`` and may override ``extra_repr``.
    """

    def __init__(self, dtype=np.float32):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_cache", None)
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "dtype", _float_dtype(dtype, type(self).__name__))

    # ----------------------------------------------------------------- registration
    def __setattr__(self, name: str, value: Any) -> None:
        if "_parameters" not in self.__dict__:
            raise RuntimeError(f"{type(self).__name__}: call super().__init__() before assigning attributes")
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        object.__delattr__(self, name)

    # ----------------------------------------------------------------- the contract
    def forward(self, *inputs):
        raise NotImplementedError(f"{type(self).__name__} does not implement forward")

    def backward(self, grad_output):
        raise NotImplementedError(f"{type(self).__name__} does not implement backward")

    def __call__(self, *inputs, **options):
        """``module(x, ...)`` is ``module.forward(x, ...)``, keywords included (``lengths=``, ``attn_mask=``)."""
        return self.forward(*inputs, **options)

    def _save_for_backward(self, **arrays) -> None:
        """Keep what backward needs; in eval mode keep nothing; under ``inference_mode`` leave the cache as it is."""
        if _INFERENCE.depth:
            return
        object.__setattr__(self, "_cache", arrays if self.training else None)

    def _saved(self) -> dict:
        """The cache of the last training-mode forward, or a clear ``RuntimeError``."""
        name = type(self).__name__
        if self._cache is None:
            if not self.training:
                raise RuntimeError(
                    f"{name}.backward: the module is in eval mode, where forward keeps no cache; "
                    "call .train() and run forward again before backward"
                )
            raise RuntimeError(f"{name}.backward: no forward has been cached; call forward() before backward()")
        return self._cache

    def clear_cache(self) -> None:
        """Drop the cached forward of this module and of every descendant (frees memory)."""
        for module in self.modules():
            object.__setattr__(module, "_cache", None)

    # ----------------------------------------------------------------- traversal
    def named_children(self) -> Iterator[tuple[str, "Module"]]:
        yield from self._modules.items()

    def children(self) -> Iterator["Module"]:
        yield from self._modules.values()

    def modules(self) -> Iterator["Module"]:
        """This module and every descendant, depth first."""
        yield self
        for child in self._modules.values():
            yield from child.modules()

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        """Own parameters first, then each child's, with dotted names (``rnn.Wx``)."""
        for name, param in self._parameters.items():
            yield prefix + name, param
        for child_name, child in self._modules.items():
            yield from child.named_parameters(prefix + child_name + ".")

    def parameters(self) -> Iterator[Parameter]:
        for _, param in self.named_parameters():
            yield param

    def num_parameters(self) -> int:
        return sum(p.size for p in self.parameters())

    def zero_grad(self) -> None:
        for param in self.parameters():
            param.zero_grad()

    # ----------------------------------------------------------------- modes, dtype
    def train(self, mode: bool = True) -> "Module":
        for module in self.modules():
            object.__setattr__(module, "training", bool(mode))
            if not mode:
                object.__setattr__(module, "_cache", None)
        return self

    def eval(self) -> "Module":
        """Inference mode: forward keeps no cache (and existing caches are dropped)."""
        return self.train(False)

    def to(self, dtype) -> "Module":
        """Convert every parameter (and gradient) to ``dtype`` in place; drops caches."""
        dtype = _float_dtype(dtype, type(self).__name__)
        for module in self.modules():
            object.__setattr__(module, "dtype", dtype)
            object.__setattr__(module, "_cache", None)
        for param in self.parameters():
            param.astype(dtype)
        return self

    # ----------------------------------------------------------------- saving
    def state_dict(self) -> "OrderedDict[str, np.ndarray]":
        """A copy of every parameter array, keyed by dotted name, in registration order."""
        return OrderedDict((name, param.data.copy()) for name, param in self.named_parameters())

    def load_state_dict(self, state: dict, strict: bool = True) -> None:
        """Copy arrays from ``state`` into the parameters (in place).

        Strict by default: every parameter must be present, no unknown name may
        appear, and shapes and dtypes must match exactly. With ``strict=False``
        missing and unknown names are allowed, but shapes and dtypes are still checked.
        NaN or infinite values are refused. Nothing is written unless every check passes.
        """
        owner = f"{type(self).__name__}.load_state_dict"
        strict = bool_option(owner, "strict", strict)
        if not isinstance(state, Mapping):
            raise TypeError(f"{owner}: expected a mapping of parameter names to arrays (a state_dict), "
                            f"got {type(state).__name__}")
        params = OrderedDict(self.named_parameters())
        if strict:
            missing = [name for name in params if name not in state]
            unexpected = [name for name in state if name not in params]
            if missing or unexpected:
                raise ValueError(
                    f"{owner}: names do not match; missing {missing or 'none'}, "
                    f"unexpected {unexpected or 'none'}"
                )
        staged = []
        for name, value in state.items():
            if name not in params:
                continue
            param = params[name]
            array = np.asarray(value)
            if array.shape != param.shape:
                raise ValueError(f"{owner}: '{name}' expected shape {param.shape}, got {array.shape}")
            if array.dtype != param.dtype:
                raise TypeError(
                    f"{owner}: '{name}' expected dtype {param.dtype}, got {array.dtype} "
                    f"(convert the model with .to({array.dtype.name}) or the array with .astype)"
                )
            staged.append((name, param, array))
        check_finite_weights(owner, ((name, array) for name, _, array in staged))
        for _, param, array in staged:
            param.data[...] = array

    # ----------------------------------------------------------------- repr
    def extra_repr(self) -> str:
        return ""

    def __repr__(self) -> str:
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not self._modules:
            return head + ")"
        lines = [head]
        for name, child in self._modules.items():
            child_lines = repr(child).splitlines()
            lines.append(f"  ({name}): {child_lines[0]}")
            lines.extend("  " + line for line in child_lines[1:])
        lines.append(")")
        return "\n".join(lines)


class naming_child:
    """``with naming_child(name): ...`` re-raises an error from inside child ``name`` with the
    child's name in front (Torch's rethrowErrors). A plain class: it is entered on every call of
    a child, decoding steps included, where a generator-based context manager costs more."""

    __slots__ = ("name",)

    def __init__(self, name: str):
        self.name = name

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, exc, traceback) -> bool:
        if isinstance(exc, (ValueError, TypeError, RuntimeError, IndexError)):
            raise type(exc)(f"{self.name}: {exc}") from exc
        return False


def _float_dtype(dtype, owner: str) -> np.dtype:
    dtype = np.dtype(dtype)
    if dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise TypeError(f"{owner}: dtype must be float32 or float64, got {dtype}")
    return dtype
