"""Randomness is run state: the generators a training run draws from, owned by its ``Trainer``.

A run draws from one ``numpy.random.Generator`` (PCG64) per stream, in the order of
:data:`STREAMS`:

* ``"minibatches"``: which captions each iteration uses (:class:`~.sampler.MinibatchSampler`);
* ``"dropout"``: every dropout mask of the model during a training step.

A stochastic part added later gets its own stream, appended to :data:`STREAMS`.

**Seeding.** From the Trainer's ``seed`` through ``numpy.random.SeedSequence(seed)``: the
minibatch stream is ``default_rng(seed)`` itself (as in earlier versions, so a seeded run
draws the captions it always drew); stream ``k >= 1`` is seeded by
``SeedSequence(seed, spawn_key=(k,))``, numpy's independent child ``k`` of the same seed.
``seed=None`` draws fresh entropy once, shared by the streams in the same way.

**State.** :meth:`RunRandomness.state` (every generator's state, JSON) is part of each
checkpoint and :meth:`RunRandomness.load_state` restores it, so a resumed run, from an
epoch-end or a ``checkpoint_every`` checkpoint, draws exactly the captions and masks of the
uninterrupted run. Under MPI the states of rank 0 are broadcast before the first step
(:meth:`minitorch_cap.distributed.DataParallel.begin`), so every rank holds the same
generators even with ``seed=None``.

**Masks of the global minibatch** (:class:`GlobalBatchDraws`). Around each training step the
Trainer binds the mask stream to every Dropout of the model
(:func:`minitorch_cap.nn.dropout.dropout_source`), told the global minibatch size ``B`` and
the rows ``[lo, hi)`` of it this process computes (``DataParallel.rows``: the slice the
captions come from). A Dropout input has the batch on axis 0, either ``(n, ...)`` with
``n = hi - lo`` rows, or ``(n * m, ...)`` when the axes after the batch were flattened into
it (the feed-forward block: ``(n * T, F)``). The numbers are those of the global shape
``(B * m, ...)`` drawn from the one stream in C order, of which this process keeps rows
``[lo * m, hi * m)``: every rank consumes the stream exactly as one process does, and each
caption's mask is the one it gets in the one-process run. So K ranks are the one-process
run with dropout as without (and no two ranks share a mask on different captions). A rank
computes only its own rows' numbers: it skips the others' with :func:`skip_uniforms`, which
advances the generator exactly as drawing them would, so the rule costs no time.

**Outside a training step** (before, after or without a Trainer) a model's Dropouts draw
from their own ``rng`` or numpy's global state, as they always did; a run leaves those
untouched (the binding is undone after each step).
"""

from __future__ import annotations

import contextlib
import json
import warnings
from typing import Any, Iterator, Mapping

import numpy as np

from ..nn.dropout import dropout_source, dropouts

#: The random streams of a run, in seeding order (stream k's SeedSequence has spawn_key (k,); 0 is the seed's own).
STREAMS = ("minibatches", "dropout")


def skip_uniforms(rng: np.random.Generator, count: int, dtype) -> None:
    """Advance ``rng`` (PCG64) past ``count`` numbers of ``rng.random(count, dtype=dtype)`` without
    computing them: afterwards its state is exactly the one drawing them leaves.

    numpy's PCG64 makes a float64 from one 64-bit output and a float32 from one 32-bit half:
    the low half of a fresh 64-bit output first, the high half kept for the next float32
    (``has_uint32`` / ``uinteger`` in its state; ``uinteger`` keeps the last half even once used).
    ``PCG64.advance(k)`` jumps k outputs in O(log k) but clears that buffer, so it is restored
    (float64, which never touches it) or rebuilt from the last output (float32).
    """
    if count <= 0:
        return
    bits = rng.bit_generator
    state = bits.state
    if np.dtype(dtype) == np.float64:
        kept = state["has_uint32"], state["uinteger"]
        bits.advance(count)
        state = bits.state
        state["has_uint32"], state["uinteger"] = kept
        bits.state = state
        return
    if state["has_uint32"]:                 # the first number is the buffered high half
        count -= 1
        state["has_uint32"] = 0
    pairs, odd = divmod(count, 2)
    bits.state = state
    if pairs:                               # whole 64-bit outputs; the last one's high half stays in uinteger
        bits.advance(pairs - 1)
        last = int(bits.random_raw())
        state = bits.state
        state["has_uint32"], state["uinteger"] = 0, last >> 32
        bits.state = state
    if odd:                                 # a fresh output's low half; its high half is buffered
        last = int(bits.random_raw())
        state = bits.state
        state["has_uint32"], state["uinteger"] = 1, last >> 32
        bits.state = state


class GlobalBatchDraws:
    """Uniform numbers for dropout masks: drawn for the global minibatch, this process's rows kept.

    ``random(shape, dtype)`` is the interface of a Dropout's source (see
    :class:`~minitorch_cap.nn.Dropout`); ``rows`` is ``(B, lo, hi)`` for the step in progress
    (``None``: no step, draw ``shape`` as is). See the module docstring for the rule.
    Raises ``ValueError`` when a data-parallel step's input does not hold the step's rows on
    axis 0 (a multiple of ``hi - lo``).
    """

    def __init__(self, rng: np.random.Generator):
        if not isinstance(getattr(rng, "bit_generator", None), np.random.PCG64):
            raise TypeError(f"GlobalBatchDraws: rng must be a numpy Generator on PCG64 (skip_uniforms relies on "
                            f"its layout), got {type(rng).__name__}")
        self.rng = rng
        self.rows: tuple[int, int, int] | None = None

    def random(self, shape, dtype) -> np.ndarray:
        shape = tuple(int(s) for s in shape)
        if self.rows is None or self.rows[1:] == (0, self.rows[0]):     # this process holds every row
            return self.rng.random(shape, dtype=dtype)
        B, lo, hi = self.rows
        n = hi - lo
        if not shape or shape[0] % n:
            raise ValueError(f"Dropout in a data-parallel training step: an input of shape {shape} does not hold "
                             f"this rank's {n} rows of the minibatch on axis 0 (nor a multiple of them); masks are "
                             "drawn for the global minibatch by rows, so a Dropout input needs the batch on axis 0 "
                             "(possibly flattened with the axes after it)")
        row = int(np.prod(shape[1:], dtype=np.int64)) * (shape[0] // n)      # numbers per caption row
        skip_uniforms(self.rng, lo * row, dtype)                            # the rows before this rank's
        mine = self.rng.random(shape, dtype=dtype)
        skip_uniforms(self.rng, (B - hi) * row, dtype)                      # and after
        return mine


class RunRandomness:
    """The generators of a run (see the module docstring): ``minibatches``, ``dropout``, and the
    mask source ``masks`` (a :class:`GlobalBatchDraws` over ``dropout``).

    ``RunRandomness(seed=None)``: ``seed`` an int >= 0 or ``None`` (fresh entropy).
    """

    def __init__(self, seed: int | None = None):
        source = np.random.SeedSequence().entropy if seed is None else seed     # stream 0: default_rng(seed)
        self.generators: dict[str, np.random.Generator] = {
            name: np.random.Generator(np.random.PCG64(np.random.SeedSequence(source, spawn_key=(k,) if k else ())))
            for k, name in enumerate(STREAMS)}
        self.masks = GlobalBatchDraws(self.generators["dropout"])

    @property
    def minibatches(self) -> np.random.Generator:
        return self.generators["minibatches"]

    @property
    def dropout(self) -> np.random.Generator:
        return self.generators["dropout"]

    @contextlib.contextmanager
    def step(self, model, batch_size: int, rows: tuple[int, int]) -> Iterator[None]:
        """``with randomness.step(model, B, (lo, hi)): model.loss(...)``: every Dropout of ``model``
        draws from the mask stream, for a global minibatch of ``B`` captions of which this process
        computes rows ``[lo, hi)``; the Dropouts' own sources are restored on exit."""
        self.masks.rows = (int(batch_size), int(rows[0]), int(rows[1]))
        try:
            with dropout_source(model, self.masks):
                yield
        finally:
            self.masks.rows = None

    # ------------------------------------------------------------------ checkpoint state
    def state(self) -> dict[str, Any]:
        """``{"rng_state": the minibatch generator's state, "rng_streams": {name: state} of the
        others}``, both JSON text (``rng_state`` is the key earlier versions wrote)."""
        return {"rng_state": json.dumps(self.minibatches.bit_generator.state),
                "rng_streams": json.dumps({name: g.bit_generator.state for name, g in self.generators.items()
                                           if name != "minibatches"})}

    def load_state(self, state: Mapping[str, Any]) -> list[str]:
        """Restore :meth:`state`; returns the streams the state lacks (kept as seeded), e.g. ``["dropout"]``
        for a checkpoint of a version that did not save it. Raises ``ValueError`` for a malformed state."""
        try:
            self.minibatches.bit_generator.state = json.loads(state["rng_state"])
            others = json.loads(state["rng_streams"]) if state.get("rng_streams") is not None else {}
            if not isinstance(others, dict):
                raise TypeError(f"rng_streams is a {type(others).__name__}, expected an object")
            unknown = sorted(set(others) - set(STREAMS))
            if unknown:
                raise KeyError(f"unknown random streams {unknown} (this version has {list(STREAMS)})")
            for name, value in others.items():
                self.generators[name].bit_generator.state = value
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"the saved random state is malformed: {exc}") from None
        return [name for name in STREAMS if name != "minibatches" and name not in others]


def warn_missing_streams(missing: list[str], model, source) -> None:
    """Warn (``RuntimeWarning``) when a checkpoint lacks the dropout stream of a model that drops:
    the resumed run's masks then differ from the uninterrupted run's."""
    if "dropout" in missing and any(layer.p > 0 for layer in dropouts(model)):
        warnings.warn(f"{source} was written by a version that did not save the dropout masks' random stream: "
                      "the resumed run draws other masks than the uninterrupted run would have (its minibatches, "
                      "weights and optimizer state are restored exactly)", RuntimeWarning, stacklevel=3)
