"""Numerical gradient checks: the course's helpers and a per-module check for any Module.

The course's three functions keep their names and behaviour (``rel_error``,
``eval_numerical_gradient``, ``eval_numerical_gradient_array``). :func:`check_module`
is the library feature (as chainer's ``check_backward`` or Torch's ``Jacobian``): it
compares every float input and every parameter gradient of a Module with centred
differences (a Richardson-extrapolated five-point stencil, step scaled to each entry), in
float64, and reports one relative error per tensor, measured against that tensor's gradient
scale (:func:`gradient_error`), so that tiny entries of a correct gradient do not fail it.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np
from tabulate import tabulate

from .nn.checks import float_option
from .nn.module import Module


def rel_error(x, y) -> float:
    """Maximum relative error ``|x - y| / max(1e-8, |x| + |y|)`` (the course's definition)."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    return float(np.max(np.abs(x - y) / np.maximum(1e-8, np.abs(x) + np.abs(y))))


def eval_numerical_gradient(f, x: np.ndarray, verbose: bool = True, h: float = 1e-5) -> np.ndarray:
    """Centred-difference gradient of a scalar function ``f(x)`` at ``x`` (modified in place, restored)."""
    return _centred_differences("eval_numerical_gradient", f, x, h, lambda plus, minus: plus - minus, verbose)


def eval_numerical_gradient_array(f, x: np.ndarray, df: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """Centred-difference gradient of ``sum(f(x) * df)`` for an array-valued ``f``."""
    return _centred_differences("eval_numerical_gradient_array", f, x, h,
                                lambda plus, minus: np.sum((plus - minus) * df))


def _perturbable(owner: str, x) -> np.ndarray:
    """``x`` if it is a floating-point array, which a finite difference can step in place; else
    ``TypeError``: an integer array would round every step away and give a zero gradient."""
    if not isinstance(x, np.ndarray) or not np.issubdtype(x.dtype, np.floating):
        got = f"dtype {x.dtype}" if isinstance(x, np.ndarray) else type(x).__name__
        raise TypeError(f"{owner}: x must be a floating-point numpy array (it is stepped by a small h in place; "
                        f"an integer array would stay unchanged and give a zero gradient), got {got}; "
                        "pass x.astype(np.float64)")
    return x


def _centred_differences(owner: str, f, x: np.ndarray, h: float, difference, verbose: bool = False) -> np.ndarray:
    """The course's loop: entry by entry, ``difference(f(x + h), f(x - h)) / 2h`` (x restored)."""
    x = _perturbable(owner, x)
    grad = np.zeros_like(x)
    it = np.nditer(x, flags=["multi_index"], op_flags=["readwrite"])
    while not it.finished:
        ix = it.multi_index
        old = x[ix]
        x[ix] = old + h
        plus = np.array(f(x), copy=True)        # f may return a buffer it overwrites
        x[ix] = old - h
        minus = np.array(f(x), copy=True)
        x[ix] = old
        grad[ix] = difference(plus, minus) / (2 * h)
        if verbose:
            print(ix, grad[ix])
        it.iternext()
    return grad


@dataclass
class GradCheckReport:
    """Per-tensor relative errors of a :func:`check_module` run.

    ``errors`` maps ``input[k]`` and each dotted parameter name to its relative error
    (:func:`gradient_error`: the largest entrywise difference over the tensor's gradient scale).
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
    def five_point(at, old: float) -> float:   # differences first, so an unchanged f gives exactly 0
        return (8 * (at(h) - at(-h)) - (at(2 * h) - at(-2 * h))) / (12 * h)
    return _entrywise("fourth_order_gradient", f, x, five_point)


def extrapolated_gradient(f, x: np.ndarray, h: float = 5e-3) -> np.ndarray:
    """Gradient of a scalar ``f(x)`` by a Richardson-extrapolated five-point stencil (in place, restored).

    Entry k is stepped by ``h_k = h * max(1, |x_k|)`` (the step scales with the input's
    magnitude). With ``D(s) = (8 (f(x+s) - f(x-s)) - (f(x+2s) - f(x-2s))) / 12s`` (error
    O(s^4)), the estimate is Richardson's ``(16 D(h_k) - D(2 h_k)) / 15`` (error O(h^6);
    Press et al., *Numerical Recipes*, 3rd ed., sec. 5.7), from 6 evaluations (``+-2h`` is
    shared). The higher order allows a larger step (the optimum is near eps^(1/7) ~ 6e-3,
    against eps^(1/5) ~ 7e-4 for the plain five-point rule), which divides the rounding
    noise ``eps |f| / h`` by about 7 for the same truncation error.

    Where ``f`` is not smooth within ``4 h_k`` (a ReLU's kink, a max) the stencil straddles
    the kink; a central difference with the small step ``1e-5 max(1, |x_k|)`` (2 more
    evaluations) witnesses it: when the two estimates differ by more than the witness's
    rounding noise, the witness is taken.
    """
    def estimate(at, old: float) -> float:
        step = h * max(1.0, abs(old))
        values = {m: at(m * step) for m in (-4, -2, -1, 1, 2, 4)}
        d1 = (8 * (values[1] - values[-1]) - (values[2] - values[-2])) / (12 * step)
        d2 = (8 * (values[2] - values[-2]) - (values[4] - values[-4])) / (24 * step)
        extrapolated = d1 + (d1 - d2) / 15
        # A small central difference as a witness: its error is only rounding, eps |f| / s
        # (its truncation, s^2 |f'''| / 6, is ~1e-11 of it). Where the extrapolated estimate is
        # further from it than that, f is not smooth within 4 steps (a ReLU's kink, a max),
        # and the witness, which stays on one side of the kink, is the estimate.
        small = 1e-5 * max(1.0, abs(old))
        f_plus, f_minus = at(small), at(-small)
        central = (f_plus - f_minus) / (2 * small)
        scale = max(abs(f_plus), abs(f_minus), *(abs(v) for v in values.values()))
        noise = 16 * np.finfo(np.float64).eps * scale / small
        return central if abs(extrapolated - central) > noise + 1e-6 * abs(central) else extrapolated
    return _entrywise("extrapolated_gradient", f, x, estimate)


def _entrywise(owner: str, f, x: np.ndarray, estimate) -> np.ndarray:
    """Entry k of the gradient is ``estimate(at, x_k)``, where ``at(d)`` is ``f`` with ``x_k + d`` (x restored)."""
    x = _perturbable(owner, x)
    grad = np.zeros_like(x)
    flat, gflat = x.reshape(-1), grad.reshape(-1)
    if x.size and not np.shares_memory(flat, x):
        raise ValueError(f"{owner}: x must be contiguous (it is perturbed in place)")
    for k in range(flat.size):
        old = flat[k]

        def at(delta: float, k=k, old=old):
            flat[k] = old + delta
            try:
                return f(x)
            finally:
                flat[k] = old
        gflat[k] = estimate(at, float(old))
    return grad


#: Gradients smaller than this fraction of the objective's scale are below what finite
#: differences resolve in float64 (rounding noise ~ 1e-13 of the scale, see
#: :func:`extrapolated_gradient`): :func:`gradient_error` measures them against it.
RESOLUTION = 1e-6


def gradient_error(analytic, numeric, floor: float = 0.0) -> float:
    """Norm-wise relative error of one tensor: ``max|a - n| / max(max|a| + max|n|, floor)``.

    The error is measured against the tensor's own gradient scale (its largest entry), not
    entry by entry as :func:`rel_error` does: an entry a million times smaller than its
    neighbours carries the finite-difference noise of the whole tensor, and an entrywise
    ratio would flag it on a correct model. The max-norm (rather than the 2-norm) keeps a
    single wrong entry from being diluted by the tensor's size: one entry off by 1% at
    the tensor's scale gives 5e-3. For a one-element tensor this is the course's
    ``rel_error``. ``floor`` (an absolute gradient size) keeps gradients that are zero up to
    rounding (e.g. a bias a softmax is invariant to) from dividing noise by noise.
    """
    a = np.abs(np.asarray(analytic, dtype=np.float64))
    n = np.abs(np.asarray(numeric, dtype=np.float64))
    if a.size == 0:
        return 0.0
    diff = float(np.max(np.abs(np.asarray(analytic, dtype=np.float64) - np.asarray(numeric, dtype=np.float64))))
    scale = max(float(a.max()) + float(n.max()), floor, np.finfo(np.float64).tiny)
    return diff / scale


def check_module(module: Module, *inputs, grad_output=None, h: float = 5e-3, seed: int = 0) -> GradCheckReport:
    """Check every input and parameter gradient of ``module`` against finite differences.

    The check runs on a float64 copy of ``module`` (the module itself is untouched). The
    scalar objective is ``sum(forward(*inputs) * grad_output)`` (``grad_output`` is a
    fixed random array when not given) or the output itself when forward returns a
    scalar. Float inputs are checked; integer and boolean inputs (token ids, masks) and
    ``None`` are skipped, and listed by name in the report. An integer input that the module
    reads as real values (its backward returns a gradient for it, e.g. ``x`` of an LSTM) raises
    ``TypeError`` naming it: pass it as floats to check its gradient. Returns a
    :class:`GradCheckReport`; call ``.assert_close(tol)``.

    How it measures (so a correct gradient passes 1e-7 and a wrong one fails, whatever the
    gradient's size):

    * numerical gradients by :func:`extrapolated_gradient` (Richardson-extrapolated
      five-point stencil, error O(h^6), step ``h * max(1, |x|)`` per entry);
    * one error per tensor, :func:`gradient_error`: the largest entry of
      ``|analytic - numeric|`` over the tensor's gradient scale ``max|analytic| +
      max|numeric|``, floored at ``RESOLUTION`` (1e-6) times the objective's scale
      (``sum |forward * grad_output|``, or ``|loss|``): a gradient that is zero up to
      rounding reports ~1e-7 of noise or less instead of 1.

    Measured on CS231n-initialised captioning models (12 seeds, rnn/lstm/gru, float64) the
    largest error is 8e-11; the entrywise relative error of the course's ``rel_error``
    reached 9.4e-6 there (rnn.Wx of an LSTM, entries down to 3e-8). One entry off by 1% of
    the tensor's scale reports 5e-3; at a hundredth of the scale, 5e-5.
    """
    if not isinstance(module, Module):
        raise TypeError(f"check_module: expected a minitorch_cap Module (a layer or a model), "
                        f"got {type(module).__name__}")
    h = float_option("check_module", "h", h, low=0.0, low_open=True)
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
    floor = RESOLUTION * float(np.sum(np.abs(np.asarray(out, dtype=np.float64) * weight)))

    def objective() -> float:
        return float(np.sum(net.forward(*args) * weight))

    net.zero_grad()
    net.forward(*args)
    returned = net.backward(weight)
    if not isinstance(returned, tuple):
        returned = () if returned is None else (returned,)
    if len(returned) != len(float_positions):
        arrays = [k for k, x in enumerate(args) if isinstance(x, np.ndarray)]
        integers = [f"input[{k}] ({args[k].dtype})" for k in arrays if k not in float_positions]
        if integers and len(returned) == len(arrays):     # it treats them as real values: they have gradients
            raise TypeError(
                f"check_module: {name}.backward returns a gradient for {', '.join(integers)}, an integer array, "
                "which check_module takes for ids or a mask and does not check; to check that gradient, pass the "
                "input as a float array (x.astype(np.float64))")
        raise AssertionError(
            f"check_module: {name}.backward returned {len(returned)} input gradients for "
            f"{len(float_positions)} float inputs"
        )
    analytic_params = {pname: p.grad.copy() for pname, p in net.named_parameters()}
    for k, analytic in zip(float_positions, returned):
        numeric = extrapolated_gradient(lambda _: objective(), args[k], h=h)
        report.errors[f"input[{k}]"] = gradient_error(analytic, numeric, floor)
    for pname, p in net.named_parameters():
        numeric = extrapolated_gradient(lambda _: objective(), p.data, h=h)
        report.errors[pname] = gradient_error(analytic_params[pname], numeric, floor)
    return report


def _as_float64(x):
    if isinstance(x, np.ndarray) and np.issubdtype(x.dtype, np.floating):
        return np.ascontiguousarray(x, dtype=np.float64).copy()
    return x
