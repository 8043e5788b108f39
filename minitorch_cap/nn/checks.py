"""Input validation shared by every module: one place for the clear errors the SPEC asks for.

Shapes are given as keyword arguments in axis order, each a letter bound to an expected
size or ``None`` (any size)::

    x = float_input("LSTM.forward", "x", x, dtype, N=None, T=None, D=self.input_dim)

A wrong rank or size raises ``ValueError`` naming the owner, the input, the expected
shape and the shape received; a wrong kind of array raises ``TypeError``.
"""

from __future__ import annotations

import math
import os

import attrs
import numpy as np


def _shape_text(dims: dict) -> str:
    return "(" + ", ".join(k if v is None else f"{k}={v}" for k, v in dims.items()) + ")"


def _check_shape(owner: str, name: str, array: np.ndarray, dims: dict) -> None:
    if array.ndim == len(dims):
        for expected, size in zip(dims.values(), array.shape):
            if expected is not None and expected != size:
                break
        else:
            return
    raise ValueError(f"{owner}: expected {name} of shape {_shape_text(dims)}, got shape {array.shape}")


def _real_array(owner: str, name: str, value, dtype) -> np.ndarray:
    """``value`` as an array of ``dtype`` (no copy when it has it): integer arrays are converted,
    booleans, complex numbers, strings and objects refused with ``TypeError``."""
    array = np.asarray(value)
    if array.dtype != dtype:
        if array.dtype.kind not in "fiu":                  # float, signed or unsigned integer
            raise TypeError(f"{owner}: expected {name} to be a real-valued array, got dtype {array.dtype}")
        array = array.astype(dtype)
    return array


def float_input(owner: str, name: str, value, dtype, **dims) -> np.ndarray:
    """Validate a real-valued input and return it as an array of the module's ``dtype``.

    Integer arrays are converted (they hold real values); booleans, strings and objects
    are rejected. No copy is made when ``value`` already has ``dtype``.
    """
    array = _real_array(owner, name, value, dtype)
    _check_shape(owner, name, array, dims)
    return array


def float_array(owner: str, name: str, value, dtype, shape: tuple | None = None) -> np.ndarray:
    """:func:`float_input` for elementwise modules: any shape, or exactly ``shape`` when given."""
    array = _real_array(owner, name, value, dtype)
    if shape is not None:
        _check_shape(owner, name, array, {f"d{k}": size for k, size in enumerate(shape)})
    return array


def index_input(owner: str, name: str, value, high: int, **dims) -> np.ndarray:
    """Validate an array of integer ids in ``[0, high)``; floats and booleans are refused.

    Negative ids are an error (numpy would silently wrap them around).
    """
    array = np.asarray(value)
    if array.dtype == np.bool_ or not np.issubdtype(array.dtype, np.integer):
        raise TypeError(f"{owner}: expected {name} to be an integer array of ids, got dtype {array.dtype}")
    _check_shape(owner, name, array, dims)
    if array.size:
        low, top = int(array.min()), int(array.max())
        if low < 0 or top >= high:
            bad = low if low < 0 else top
            raise ValueError(f"{owner}: {name} holds id {bad}, outside the valid range [0, {high})")
    return array


def lengths_input(owner: str, name: str, value, N: int, T: int) -> np.ndarray:
    """Validate per-row sequence lengths: integers ``(N,)`` in ``[0, T]``, returned as int64.

    Row n of a padded ``(N, T, ...)`` batch holds positions ``0 .. lengths[n] - 1``.
    """
    array = np.asarray(value)
    if array.dtype == np.bool_ or not np.issubdtype(array.dtype, np.integer):
        raise TypeError(f"{owner}: expected {name} to be an integer array of lengths, got dtype {array.dtype}")
    _check_shape(owner, name, array, {"N": N})
    if array.size and (array.min() < 0 or array.max() > T):
        raise ValueError(f"{owner}: {name} must lie in [0, T={T}], got values in [{array.min()}, {array.max()}]")
    return array.astype(np.int64, copy=False)


def mask_input(owner: str, name: str, value, **dims) -> np.ndarray:
    """Validate a 0/1 mask (bool, integer or float) and return it as a bool array."""
    array = np.asarray(value)
    if array.dtype != np.bool_:
        if not (np.issubdtype(array.dtype, np.integer) or np.issubdtype(array.dtype, np.floating)):
            raise TypeError(f"{owner}: expected {name} to be a boolean mask, got dtype {array.dtype}")
        if array.size and not np.all((array == 0) | (array == 1)):
            raise ValueError(f"{owner}: {name} must hold only 0/1 (or True/False)")
        array = array.astype(bool)
    _check_shape(owner, name, array, dims)
    return array


def check_finite(owner: str, name: str, array: np.ndarray) -> None:
    """Refuse NaN or infinity where it would poison training."""
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{owner}: {name} contains NaN or infinity")


def check_finite_weights(owner: str, named_arrays) -> None:
    """The one finite-weights rule: ``(name, array)`` pairs holding NaN or infinity are refused.

    Poisoned weights are never loaded into a model, written to a checkpoint or trained on.
    Raises ``ValueError`` naming the first such parameter.
    """
    for name, array in named_arrays:
        if not np.all(np.isfinite(array)):
            raise ValueError(f"{owner}: the weights of {name!r} hold NaN or infinity; refusing to use them")


# ---------------------------------------------------------------------------- errors
class UserError(Exception):
    """A problem with what a user gave (a setting, a file, a folder, data), said so that they can fix it.

    The library's errors for bad input derive from it: :class:`SettingsError` here,
    ``DataError``, ``CheckpointError``, ``RunFolderError``, ``WriteError``. The command line
    prints such an error on one line (exit code 2; 1 for a ``WriteError``) and lets every other
    exception surface as the bug it is, with its traceback.
    """


class MissingFileError(UserError, FileNotFoundError):
    """A file or folder a user named does not exist; the message says what it should be and how to get it."""


class SettingsError(UserError, ValueError):
    """A setting (a size, a rate, a choice) out of its range, or settings that do not go together;
    the message names the owner, the setting, what it got and what it takes."""


def check_memory(owner: str, nbytes: float, what: str, advice: str) -> None:
    """The one memory rule: refuse, before allocating it, work that needs more than half of the memory
    this process may use (the machine's, or less under ``ulimit -v``), with a ``SettingsError``
    naming ``owner``, what needs how much, and the ``advice``, rather than a ``MemoryError`` or the
    kernel's OOM killer later. No check off POSIX."""
    try:
        import resource
        have = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        limit = resource.getrlimit(resource.RLIMIT_AS)[0]
    except (ImportError, ValueError, OSError, AttributeError):
        return
    where = f"this machine's {have / 2**30:.1f} GiB"
    if 0 < limit < have:
        have, where = limit, f"the {limit / 2**30:.1f} GiB this process may use (ulimit -v)"
    if nbytes > have / 2:
        raise SettingsError(f"{owner}{': ' if owner else ''}{what} would take about {nbytes / 2**30:.1f} GiB, "
                            f"more than half of {where}; {advice}")


# ---------------------------------------------------------------------------- options
# Settings given to constructors and functions (sizes, rates, flags): one validator per kind
# of value, so that a bad setting is refused by name before numpy sees it.

def int_option(owner: str, name: str, value, low: int = 1) -> int:
    """An integer setting (not a bool, not a float, not a string) of at least ``low``, as a plain int.

    Raises :class:`SettingsError` (a ``ValueError``) naming ``owner`` and ``name`` (for a size
    such as ``LSTM(-1, 5)``, numpy would otherwise fail later with "negative dimensions").
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < low:
        raise SettingsError(f"{owner}: {name} must be an integer >= {low}, got {value!r}")
    return int(value)


def _interval(low: float, high: float, low_open: bool, high_open: bool) -> str:
    """How an interval reads in a message: ``> 0``, ``in (0, 1]``, ``a finite number``."""
    if math.isfinite(low) and math.isfinite(high):
        return f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
    if math.isfinite(low):
        return f"{'>' if low_open else '>='} {low:g}"
    if math.isfinite(high):
        return f"{'<' if high_open else '<='} {high:g}"
    return ""


def float_option(owner: str, name: str, value, low: float = -math.inf, high: float = math.inf,
                 low_open: bool = False, high_open: bool = False) -> float:
    """A finite real setting in ``[low, high]`` (ends open when asked), as a plain float.

    Booleans, strings and ``None`` raise ``TypeError``; NaN, infinity and values out of
    range raise :class:`SettingsError` (a ``ValueError``); both name ``owner`` and ``name``.
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{owner}: {name} must be a real number, got {type(value).__name__}")
    value = float(value)
    too_low = value <= low if low_open else value < low
    too_high = value >= high if high_open else value > high
    if not math.isfinite(value) or too_low or too_high:
        left, right = "(" if low_open or low == -math.inf else "[", ")" if high_open or high == math.inf else "]"
        bounded = math.isfinite(low) or math.isfinite(high)
        expected = f"in {left}{low}, {high}{right}" if bounded else "a finite number"
        raise SettingsError(f"{owner}: {name} must be {expected}, got {value}")
    return value


def bool_option(owner: str, name: str, value) -> bool:
    """A True/False flag; anything else (``1``, ``"no"``, ``None``) raises ``TypeError``."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{owner}: {name} must be True or False, got {value!r}")
    return bool(value)


def choice_option(owner: str, name: str, value, choices) -> str:
    """One of ``choices``; anything else raises :class:`SettingsError` listing them."""
    if not isinstance(value, str) or value not in choices:
        raise SettingsError(f"{owner}: {name} must be one of {', '.join(map(str, choices))}, got {value!r}")
    return value


@attrs.frozen
class Rule:
    """The kind of value a setting takes: one rule checks it in the library (by name, raising
    :class:`SettingsError`) and reads it from text on the command line (:meth:`parse`).

    ``kind``: ``int``, ``float``, ``str`` (with ``choices``) or ``bool``; ``low``/``high`` (and
    ``low_open``/``high_open``) bound a number. Made by :func:`setting`.
    """

    kind: type
    low: float = -math.inf
    high: float = math.inf
    low_open: bool = False
    high_open: bool = False
    choices: tuple = ()

    def check(self, owner: str, name: str, value):
        """``value`` checked and normalised (a plain int, float, str or bool)."""
        if self.kind is int:
            return int_option(owner, name, value, int(self.low))
        if self.kind is float:
            return float_option(owner, name, value, self.low, self.high, self.low_open, self.high_open)
        if self.kind is bool:
            return bool_option(owner, name, value)
        return choice_option(owner, name, value, self.choices)

    @property
    def expected(self) -> str:
        """What the setting takes, in words: ``an integer >= 1``, ``a number in (0, 1]``, ``dot or additive``."""
        if self.kind is int:
            return f"an integer >= {int(self.low)}"
        if self.kind is float:
            return f"a finite number {_interval(self.low, self.high, self.low_open, self.high_open)}".rstrip()
        if self.kind is bool:
            return "true or false"
        return " or ".join(self.choices)

    def parse(self, text: str):
        """The value written as ``text`` (the command line's); ``ValueError`` saying what it takes."""
        try:
            value = self.kind(text) if self.kind in (int, float) else text
            return self.check("", "", value)
        except (TypeError, ValueError):
            raise ValueError(f"expected {self.expected}, got {text!r}") from None


def setting(kind: type, default=attrs.NOTHING, *, low: float = -math.inf, high: float = math.inf,
            low_open: bool = False, high_open: bool = False, choices: tuple = (), optional: bool = False,
            help: str = "", metavar: str | None = None, **metadata):
    """An attrs field holding a setting of :class:`Rule` ``Rule(kind, low, high, ...)``: the one validator
    style of the library's settings classes (``RunSettings``, the models' settings, ``DataSpec``,
    ``TrainerConfig``). ``optional``: ``None`` is allowed too. ``help`` and ``metavar`` describe the
    setting where it is offered (the command line's options are made from them).

    ``hidden_dim: int = setting(int, low=1, help="hidden size H")``
    """
    rule = Rule(kind, low, high, low_open, high_open, tuple(choices))

    def validate(instance, attribute, value):
        if not (optional and value is None):
            rule.check(type(instance).__name__, attribute.name, value)

    return attrs.field(default=default, validator=validate,
                       metadata={"rule": rule, "help": help, "metavar": metavar, **metadata})
