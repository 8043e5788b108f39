"""The Trainer's data-parallel hook: :class:`DataParallel` on K ranks, :class:`SingleProcess` (no-op) on one.

The Trainer creates one with :func:`data_parallel` from its ``comm`` argument and calls it at
seven places; on one process every call returns its input unchanged (no copy, no
communication), so a single-process run is the run it always was.

======================  ==========================================================================
``begin(model,          start of ``train()``: the ranks compare what must agree (``describe()``,
generators, describe)`` see :mod:`minitorch_cap.training.agreement`) and all raise one
                        :class:`RanksDisagree` naming what differs on which rank; then rank 0's
                        weights and random-generator states are broadcast, so every rank starts
                        identical (also with ``seed=None``)
``split(idx)``          each minibatch: every rank drew the SAME global index vector (B,) from
                        the same seeded generator; this rank keeps its contiguous slice
                        ``idx[B*k//K : B*(k+1)//K]`` (B_k rows) and its share ``B_k / B``
``rows(B)``             the same rows ``[B*k//K, B*(k+1)//K)`` as numbers: the rows of the
                        global minibatch whose dropout masks this rank keeps (the masks are
                        drawn for all B rows from the one stream every rank holds, see
                        :mod:`minitorch_cap.training.randomness`)
``reduce_gradients``    after ``model.loss`` on the slice: every gradient times the share is
                        packed into ONE preallocated flat buffer together with ``loss * share``;
                        one in-place all-reduce (sum); the sums are copied back into ``p.grad``.
                        The loss is summed over time and averaged over the batch, so
                        ``sum_k (B_k/B) * (1/B_k) * sum_{n in part k} l_n = (1/B) * sum_n l_n``:
                        the reduced loss and gradients are the single-process ones (up to
                        float rounding). Divergence checks and clipping come after, on the
                        global gradient, so every rank takes the same decisions.
``part`` / ``sum(x)``    validation: each rank computes the loss of its slice of the validation
                        subset, summed over ranks; ``metric``: a metric marked ``per_image_mean`` (e.g.
                        the shapes accuracy) runs on this rank's share of the validation
                        images and the counts-weighted mean is reduced; any other metric runs
                        on rank 0 and its value is broadcast (corpus scores such as BLEU or
                        CIDEr-D do not split into per-rank parts)
``check_weights``       each epoch end: a CRC-32 of every rank's weights, all-gathered;
                        :class:`WeightsDrifted` on every rank if they differ
``is_writer``           rank 0 alone prints, shows progress and writes the run folder
``failed(exc, ckpt)``   a rank's exception: the other ranks are told (see ``comm.py``)
======================  ==========================================================================

Equal shares matter only for the loss normalisations that divide by the number of
captions (``'batch'``, the SPEC's) or by captions times T (the Transformer's); a loss divided
by the number of unmasked tokens would need token-count shares.
"""

from __future__ import annotations

import json
import zlib
from typing import Any, Callable, Mapping

import numpy as np

from ..nn.checks import UserError
from .comm import Communicator, RankFailed, communicator


GENERAL_REMEDY = "run the same code on the same data with the same settings and library versions on every rank"


class WeightsDrifted(RuntimeError):
    """The weights of the ranks of a data-parallel run differ (raised on every rank at once)."""


class RanksDisagree(UserError, ValueError):
    """Before the first step, the ranks of a data-parallel run hold different data or settings
    (raised on every rank at once, with the same message).

    Attribute ``differences``: rank -> the list of what differs from rank 0 (``"topic.key: rank
    0 has X, rank k has Y"``).
    """

    def __init__(self, message: str, differences: Mapping[int, list[str]]):
        super().__init__(message)
        self.differences = dict(differences)


class SingleProcess:
    """The one-process hook: every call is the identity (no copies, no communication)."""

    rank, size, is_writer = 0, 1, True

    def begin(self, model, generators, describe: Callable[[], Mapping[str, Any]] | None = None,
              remedies: Mapping[str, str] | None = None) -> None:
        pass

    def split(self, idx: np.ndarray) -> tuple[np.ndarray, float]:
        return idx, 1.0

    def rows(self, batch_size: int) -> tuple[int, int]:
        return 0, int(batch_size)

    def part(self, idx: np.ndarray) -> np.ndarray:
        return idx

    def reduce_gradients(self, model, loss, share: float = 1.0):
        return loss

    def sum(self, value: float) -> float:
        return value

    def metric(self, fn: Callable, model, data: Mapping[str, Any]):
        return fn(model, data)

    def check_weights(self, model, epoch: int | None = None) -> None:
        pass

    def failed(self, exc: BaseException, checkpoint=None) -> None:
        pass


class DataParallel:
    """Synchronous data-parallel training over the ranks of an MPI communicator (see the module docstring).

    ``DataParallel(comm, timeout=None)``: ``comm`` an mpi4py communicator (or a
    :class:`~minitorch_cap.distributed.comm.Communicator`); ``timeout`` seconds a collective may
    wait before the job is aborted. Bytes all-reduced per step: ``4 * (P + 1)`` for a float32
    model with P parameters (8 for float64).
    """

    def __init__(self, comm, timeout: float | None = None):
        self.comm = comm if isinstance(comm, Communicator) else communicator(comm, timeout)
        self.rank, self.size = self.comm.rank, self.comm.size
        self._layout_key: tuple | None = None
        self._buffer: np.ndarray | None = None
        self._views: list[np.ndarray] = []

    def __repr__(self) -> str:
        return f"DataParallel(rank={self.rank}, size={self.size})"

    @property
    def is_writer(self) -> bool:
        return self.rank == 0

    # ------------------------------------------------------------------ the flat buffer
    def _layout(self, params: list) -> tuple[np.ndarray, list[np.ndarray]]:
        """The preallocated buffer (P + 1,) and one shaped view per parameter (built once per model)."""
        key = tuple((id(p), p.data.shape, p.data.dtype.str) for p in params)
        if key != self._layout_key:
            sizes = [p.data.size for p in params]
            buffer = np.zeros(sum(sizes) + 1, dtype=_buffer_dtype(params))
            offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
            self._views = [buffer[a:b].reshape(p.data.shape) for p, a, b in zip(params, offsets[:-1], offsets[1:])]
            self._buffer, self._layout_key = buffer, key
        return self._buffer, self._views

    # ------------------------------------------------------------------ the hook
    def begin(self, model, generators, describe: Callable[[], Mapping[str, Any]] | None = None,
              remedies: Mapping[str, str] | None = None) -> None:
        """Check the ranks agree on ``describe()`` (:meth:`check_agreement`; skipped for ``None``) and
        that the models have the same layout, then give every rank rank 0's weights and generator states.

        ``generators``: an object with ``state() -> JSON-able`` and ``load_state(state)`` (the
        Trainer's :class:`~minitorch_cap.training.randomness.RunRandomness`).
        """
        if describe is not None:
            self.check_agreement(describe(), remedies)
        params = list(model.parameters())
        buffer, views = self._layout(params)
        sizes = self.comm.allgather(buffer.size, what="the model size check")
        if np.any(sizes != sizes[0]):
            raise ValueError(f"DataParallel: the ranks hold different models ({buffer.size - 1} parameters "
                             f"on rank {self.rank}; per rank: {[int(s) - 1 for s in sizes]})")
        for p, view in zip(params, views):
            np.copyto(view, p.data)
        self.comm.bcast_(buffer, what="the initial weights")
        for p, view in zip(params, views):
            p.data[...] = view
        state = self.comm.bcast_bytes(json.dumps(generators.state()).encode(), what="the random state")
        generators.load_state(json.loads(state))

    def check_agreement(self, description: Mapping[str, Any], remedies: Mapping[str, str] | None = None) -> None:
        """Raise :class:`RanksDisagree` on every rank unless every rank's ``description`` (JSON-able
        values by topic) equals rank 0's; the message names each differing value and rank, and
        how to fix each topic that differs (``remedies[topic]``)."""
        mine = json.dumps(description, default=_json_default).encode()
        gathered = [json.loads(raw) for raw in self.comm.allgather_bytes(mine, what="the agreement check")]
        differences = {rank: found for rank in range(1, self.size)
                       if (found := description_differences(gathered[0], gathered[rank], rank))}
        if differences:
            raise RanksDisagree(disagreement_message(differences, self.size, remedies),
                                {rank: [text for _, text in found] for rank, found in differences.items()})

    def rows(self, batch_size: int) -> tuple[int, int]:
        """:meth:`split`'s rows ``[lo, hi)`` of a global minibatch of ``B`` captions; ``(0, 1)`` when it gives none."""
        B = int(batch_size)
        lo, hi = B * self.rank // self.size, B * (self.rank + 1) // self.size
        return (lo, hi) if hi > lo else (0, 1)

    def part(self, idx: np.ndarray) -> np.ndarray:
        """This rank's contiguous part ``idx[n*k//K : n*(k+1)//K]`` of ``idx (n,)`` (maybe empty)."""
        n = len(idx)
        return idx[n * self.rank // self.size:n * (self.rank + 1) // self.size]

    def split(self, idx: np.ndarray) -> tuple[np.ndarray, float]:
        """This rank's contiguous part of the global minibatch ``idx (B,)`` and its share ``B_k / B``.

        With fewer captions than ranks (the last minibatch of a shuffled epoch), a rank left
        without any gets the first caption with share 0: it contributes exactly nothing.
        """
        part = self.part(idx)
        if not part.size:
            return idx[:1], 0.0
        return part, part.size / len(idx)

    def reduce_gradients(self, model, loss, share: float) -> float:
        """The global loss; the gradients summed over the ranks (see the module docstring)."""
        params = list(model.parameters())
        buffer, views = self._layout(params)
        for p, view in zip(params, views):
            if share:
                np.multiply(p.grad, share, out=view)
            else:
                view.fill(0)
        buffer[-1] = float(loss) * share
        self.comm.allreduce_(buffer, what="the gradient all-reduce")
        for p, view in zip(params, views):
            np.copyto(p.grad, view)
        return float(buffer[-1])

    def sum(self, value: float) -> float:
        return self.comm.sum(value, what="the validation reduce")

    def metric(self, fn: Callable, model, data: Mapping[str, Any]):
        if getattr(fn, "per_image_mean", False):
            part, count = _val_image_part(data, self.rank, self.size)
            value = float(fn(model, part)) if count else 0.0
            total = self.comm.allreduce_(np.array([value * count, count], dtype=np.float64), what="a metric reduce")
            return total[0] / total[1] if total[1] else float("nan")
        value = np.zeros(1, dtype=np.float64)
        result = None
        if self.rank == 0:
            result = fn(model, data)
            try:
                value[0] = float(result)
            except (TypeError, ValueError):
                return result       # the Trainer raises its TypeError; failed() tells the other ranks
        self.comm.bcast_(value, what="a metric broadcast")
        return result if self.rank == 0 else float(value[0])

    def check_weights(self, model, epoch: int | None = None) -> None:
        crc = 0
        for p in model.parameters():
            crc = zlib.crc32(np.ascontiguousarray(p.data).data, crc)
        sums = self.comm.allgather(crc, what="the weight checksum")
        if np.any(sums != sums[0]):
            bad = [r for r in range(self.size) if sums[r] != sums[0]]
            when = f" after epoch {epoch}" if epoch is not None else ""
            raise WeightsDrifted(f"DataParallel: the weights of ranks {bad} differ from rank 0's{when} (CRC-32 per "
                                 f"rank {[hex(int(s)) for s in sums]}); the ranks no longer train the same model. "
                                 "Each rank must run the same code on the same data with the same library versions")

    def failed(self, exc: BaseException, checkpoint=None) -> None:
        """Tell the other ranks (the exception that ends ``train()`` here); name the checkpoint kept."""
        if isinstance(exc, RanksDisagree):    # raised by every rank at once: nobody to tell
            return
        if isinstance(exc, RankFailed):
            kept = (f"; the last checkpoint, {checkpoint}, is kept" if checkpoint
                    else "; no checkpoint had been written")
            if exc.args and kept not in str(exc.args[0]):
                exc.args = (str(exc.args[0]) + kept, *exc.args[1:])
            return
        self.comm.notify(exc)


def allreduce_bytes(model) -> int:
    """Bytes all-reduced per training step for ``model``: every gradient and the loss, in one buffer."""
    params = list(model.parameters())
    return (sum(p.data.size for p in params) + 1) * _buffer_dtype(params).itemsize


def _buffer_dtype(params) -> np.dtype:
    return np.result_type(*[p.data.dtype for p in params]) if params else np.dtype(np.float64)


def data_parallel(comm=None, timeout: float | None = None):
    """The Trainer's hook for ``comm``: :class:`SingleProcess` for ``None`` or a one-rank world,
    else :class:`DataParallel`."""
    if comm is None or isinstance(comm, (SingleProcess, DataParallel)):
        return comm or SingleProcess()
    size = comm.size if isinstance(comm, Communicator) else comm.Get_size()
    return SingleProcess() if size == 1 else DataParallel(comm, timeout)


def _val_image_part(data: Mapping[str, Any], rank: int, size: int) -> tuple[dict, int]:
    """The validation split restricted to this rank's contiguous share of the images: (data, images scored).

    Every ``val_*`` array with one row per image (features, attributes, urls) is sliced; the
    captions whose image falls in the share are kept, with ``val_image_idxs`` renumbered.
    """
    M = len(data["val_features"])
    lo, hi = M * rank // size, M * (rank + 1) // size
    part = dict(data)
    idxs = np.asarray(data["val_image_idxs"])
    keep = (idxs >= lo) & (idxs < hi)
    for key, value in data.items():
        if not key.startswith("val_"):
            continue
        if key in ("val_captions", "val_image_idxs"):
            part[key] = np.asarray(value)[keep] - (lo if key == "val_image_idxs" else 0)
        elif hasattr(value, "__len__") and len(value) == M:
            part[key] = value[lo:hi]
    return part, int(np.unique(part["val_image_idxs"]).size)     # the images with captions, as scored


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"the agreement check cannot compare a {type(value).__name__}")


def _flatten(value, prefix: str) -> dict[str, Any]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}`` (lists are values)."""
    if isinstance(value, Mapping) and value:
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(_flatten(item, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: value}


def _shown(value) -> str:
    text = json.dumps(value)
    if isinstance(value, str) and len(value) == 64 and all(c in "0123456789abcdef" for c in value):
        return value[:12]               # a SHA-256: its first 12 digits tell two apart
    return text if len(text) <= 80 else text[:77] + "..."


def description_differences(reference: Mapping[str, Any], other: Mapping[str, Any],
                            rank: int) -> list[tuple[str, str]]:
    """What differs between rank 0's description and rank ``rank``'s, as ``(topic.key, "topic.key:
    rank 0 has X, rank k has Y")`` pairs, topics in the description's order, keys sorted within."""
    ours, theirs = _flatten(reference, ""), _flatten(other, "")
    topics = list(dict.fromkeys([*reference, *other]))
    missing = object()
    found = []
    for key in sorted(set(ours) | set(theirs), key=lambda k: (topics.index(k.split(".", 1)[0]), k)):
        a, b = ours.get(key, missing), theirs.get(key, missing)
        if a != b:
            found.append((key, f"{key}: rank 0 has {'nothing' if a is missing else _shown(a)}, "
                               f"rank {rank} has {'nothing' if b is missing else _shown(b)}"))
    return found


def disagreement_message(differences: Mapping[int, list[tuple[str, str]]], size: int,
                         remedies: Mapping[str, str] | None = None, shown: int = 6) -> str:
    """One message for every rank: which ranks differ from rank 0, in what (at most ``shown`` values
    each), and ``remedies[topic]`` for each topic that differs (else a general advice)."""
    topics = list(dict.fromkeys(key.split(".", 1)[0] for found in differences.values() for key, _ in found))
    parts = []
    for rank, found in sorted(differences.items())[:8]:
        more = f"; and {len(found) - shown} more" if len(found) > shown else ""
        parts.append(f"rank {rank} differs from rank 0 in {'; '.join(text for _, text in found[:shown])}{more}")
    if len(differences) > 8:
        parts.append(f"and {len(differences) - 8} more ranks differ")
    advice = "; ".join(dict.fromkeys((remedies or {}).get(t, GENERAL_REMEDY) for t in topics))
    return (f"DataParallel: the {size} ranks of this run do not hold the same {', '.join(topics)}, so they would not "
            f"train one run; stopped before the first step. {'. '.join(parts)}. To fix: {advice}")
