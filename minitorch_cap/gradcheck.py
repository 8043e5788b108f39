"""Numerical gradient checks: the course's helpers and a per-module check for any Module.

The course's three functions keep their names and behaviour (``rel_error``,
``eval_numerical_gradient``, ``eval_numerical_gradient_array``). :func:`check_module`
is the library feature (as chainer's ``check_backward`` or Torch's ``Jacobian``): it
compares every float input and every parameter gradient of a Module with centred
differences, in float64, and reports one relative error per tensor.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np
from tabulate import tabulate

from .nn.module import Module


def rel_error(x, y) -> float:
    """Maximum relative error ``|x - y| / max(1e-8, |x| + |y|)`` (the course's definition)."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    return float(np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y))))


def eval_numerical_gradient(f, x: np.ndarray, verbose: bool = True, h: float = 1e-5) -> np.ndarray:
    """Centred-difference gradient of a scalar function ``f(x)`` at ``x`` (modified in place, restored)."""
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not it.finished:
        ix = it.multi_index
        old = x[ix]
        x[ix] = old + h
        fxph = f(x)
        x[ix] = old - h
        fxmh = f(x)
        x[ix] = old
        grad[ix] = (fxph - fxmh) / (2 * h)
        if verbose:
            print(ix, grad[ix])
        it.iternext()
    return grad


def eval_numerical_gradient_array(f, x: np.ndarray, df: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """Centred-difference gradient of ``sum(f(x) * df)`` for an array-valued ``f``."""
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not it.finished:
        ix = it.multi_index
        old = x[ix]
        x[ix] = old + h
        pos = np.array(f(x), copy=True)
        x[ix] = old - h
        neg = np.array(f(x), copy=True)
        x[ix] = old
        grad[ix] = np.sum((pos - neg) * df) / (2 * h)
        it.iternext()
    return grad


@dataclass
class GradCheckReport:
    """Per-tensor relative errors of a :func:`check_module` run.

    ``errors`` maps ``input[k]`` and each dotted parameter name to its relative error.
    """

    module: str
    errors: dict[str, float] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)

    @property
    def max_error(self) -> float:
        return max(self.errors.values(), default=0.0)

    def passed(self, tol: float = 1e-7) -> bool:
        return self.max_error <= tol

    def assert_close(self, tol: float = 1e-7) -> "GradCheckReport":
        """Raise ``AssertionError`` naming every tensor whose relative error exceeds ``tol``."""
        bad = {k: v for k, v in self.errors.items() if not v <= tol}
        if bad:
            listing = ", ".join(f"{k}: {v:.3g}" for k, v in bad.items())
            raise AssertionError(f"gradient check of {self.module} failed (tol {tol:g}): {listing}")
        return self

    def __str__(self) -> str:
        rows = [(name, f"{err:.2e}") for name, err in self.errors.items()]
        rows += [(name, "skipped (integer)") for name in self.skipped]
        return f"gradient check of {self.module}\n" + tabulate(rows, headers=["tensor", "relative error"])


def fourth_order_gradient(f, x: np.ndarray, h: float = 1e-3) -> np.ndarray:
    """Gradient of a scalar ``f(x)`` by the five-point stencil (error O(h^4), in place, restored).

    ``(8 (f(x+h) - f(x-h)) - (f(x+2h) - f(x-2h))) / 12h``: with h = 1e-3 in float64 both the
    truncation and the rounding error are near 1e-12, a thousand times below the
    two-point rule's, so small gradient entries still check to 1e-8 or better.
    """
    grad = np.zeros_like(x)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    if not np.shares_memory(flat, x):
        raise ValueError("fourth_order_gradient: x must be contiguous (it is perturbed in place)")
    for k in range(flat.size):
        old = flat[k]
        values = []
        for step in (-2, -1, 1, 2):
            flat[k] = old + step * h
            values.append(f(x))
        flat[k] = old
        f_m2, f_m1, f_p1, f_p2 = values  # differences first, so an unchanged f gives exactly 0
        gflat[k] = (8 * (f_p1 - f_m1) - (f_p2 - f_m2)) / (12 * h)
    return grad


def check_module(module: Module, *inputs, grad_output=None, h: float = 1e-3, seed: int = 0) -> GradCheckReport:
    """Check every input and parameter gradient of ``module`` against finite differences.

    Numerical gradients use :func:`fourth_order_gradient` (five-point stencil, step ``h``).

    The check runs on a float64 copy of ``module`` (the module itself is untouched). The
    scalar objective is ``sum(forward(*inputs) * grad_output)`` (``grad_output`` is a
    fixed random array when not given) or the output itself when forward returns a
    scalar. Float inputs are checked; integer and boolean inputs (token ids, masks) and
    ``None`` are skipped. Returns a :class:`GradCheckReport`; call ``.assert_close(tol)``.
    """
    net = copy.deepcopy(module).to(np.float64).train()
    name = type(module).__name__
    args = [_as_float64(x) for x in inputs]
    float_positions = [k for k, x in enumerate(args) if isinstance(x, np.ndarray) and x.dtype == np.float64]
    report = GradCheckReport(name, skipped=[f"input[{k}]" for k in range(len(args)) if k not in float_positions])

    out = net.forward(*args)
    scalar = np.ndim(out) == 0
    if scalar:
        weight = 1.0
    elif grad_output is None:
        weight = np.random.default_rng(seed).standard_normal(np.shape(out))
    else:
        weight = np.asarray(grad_output, dtype=np.float64)

    def objective() -> float:
        return float(np.sum(net.forward(*args) * weight))

    net.zero_grad()
    net.forward(*args)
    returned = net.backward(weight)
    if not isinstance(returned, tuple):
        returned = () if returned is None else (returned,)
    if len(returned) != len(float_positions):
        raise AssertionError(
            f"check_module: {name}.backward returned {len(returned)} input gradients for "
            f"{len(float_positions)} float inputs"
        )
    for k, analytic in zip(float_positions, returned):
        numeric = fourth_order_gradient(lambda _: objective(), args[k], h=h)
        report.errors[f"input[{k}]"] = rel_error(analytic, numeric)
    analytic_params = {pname: p.grad.copy() for pname, p in net.named_parameters()}
    for pname, p in net.named_parameters():
        numeric = fourth_order_gradient(lambda _: objective(), p.data, h=h)
        report.errors[pname] = rel_error(analytic_params[pname], numeric)
    return report


def _as_float64(x):
    if isinstance(x, np.ndarray) and np.issubdtype(x.dtype, np.floating):
        return np.ascontiguousarray(x, dtype=np.float64).copy()
    return x
