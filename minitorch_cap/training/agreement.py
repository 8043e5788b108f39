"""What the ranks of a data-parallel run must agree on before the first step.

K ranks are one run only if each holds the same data and builds the same model, optimizer,
schedule and options, at the same point of the run (a resumed run). Weights and random
generators need not agree: rank 0's are broadcast (:meth:`~minitorch_cap.distributed.DataParallel.begin`).
:func:`run_description` lists the rest as JSON-able values; ``DataParallel.check_agreement``
compares every rank's with rank 0's and, when they differ, stops every rank with one
:class:`~minitorch_cap.distributed.RanksDisagree` naming what differs and on which rank.

Computed only under MPI, once per ``train()``: the data fingerprint reads every byte of the
data once (about 0.2 s for COCO's PCA features, see :mod:`minitorch_cap.data.fingerprint`) and
is then reused for the checkpoints.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from .._version import __version__
from ..data.fingerprint import sha256_arrays

#: Options each rank may hold its own value of: they change what a rank prints or writes, never the numbers
#: (ranks other than 0 neither print nor write files).
PER_PROCESS_OPTIONS = ("verbose", "progress", "print_every", "out_dir", "overwrite", "keep_best", "checkpoint_every",
                       "init_from", "data_options")

#: How to make each topic of :func:`run_description` agree (said in the error, once per topic that differs).
REMEDIES = {
    "data": "load the same data on every rank (a random subsample needs the same seed on every rank, e.g. "
            "load_coco_data(..., max_train=M, rng=np.random.default_rng(0)); the command line's --data-seed)",
    "model": "build the same model on every rank",
    "optimizer": "build the same optimizer (and resume every rank from the same checkpoint)",
    "scheduler": "build the same schedule",
    "options": "give every rank the same Trainer options",
    "progress": "resume every rank from the same checkpoint",
    "batch split": "give every rank the same batch size and data",
    "versions": "install the same versions on every machine",
}


def run_description(trainer) -> dict[str, Any]:
    """What must agree across the ranks of ``trainer``'s run, by topic (JSON-able values).

    ``data``: the data fingerprint (vocabulary, split sizes, SHA-256 of captions and features);
    ``model``: class, config, vocabulary and parameter layout; ``optimizer``: class,
    hyperparameters, parameter names and a SHA-256 of its state (moments, steps);
    ``scheduler``: its state; ``options``: the Trainer options that change the numbers (all
    but :data:`PER_PROCESS_OPTIONS`) and the metrics (names, and whether each is split over the
    ranks: each metric is a collective); ``progress``: the counters;
    ``batch split``: global batch size, iterations per epoch and number of ranks;
    ``versions``: of this library and of numpy (whose generators draw the streams).
    """
    model, optimizer, scheduler = trainer.model, trainer.optimizer, trainer.scheduler
    vocabulary = sorted((int(i), str(w)) for w, i in getattr(model, "word_to_idx", {}).items())
    config = trainer.config.to_dict()
    return {
        "data": trainer.data_fingerprint(),
        "model": {
            "class": type(model).__name__,
            "config": model.config() if callable(getattr(model, "config", None)) else None,
            "vocabulary_sha256": sha256_arrays(np.frombuffer(json.dumps(vocabulary).encode(), dtype=np.uint8)),
            "parameters": [[name, list(p.data.shape), p.data.dtype.str] for name, p in model.named_parameters()],
        },
        "optimizer": {
            "class": type(optimizer).__name__,
            "hyperparams": optimizer.hyperparameters(),
            "parameters": [name for name, _ in optimizer.params],
            "state_sha256": _state_sha256(optimizer.state),
        },
        "scheduler": None if scheduler is None else scheduler.state_dict(),
        "options": {**{k: v for k, v in config.items() if k not in PER_PROCESS_OPTIONS},
                    "metrics": [[name, bool(getattr(fn, "per_image_mean", False))]
                                for name, fn in sorted(trainer.config.metrics.items())]},
        "progress": {"epoch": trainer.epoch, "iteration": trainer.iteration,
                     "epoch_iteration": trainer.epoch_iteration, "stopped_early": trainer.stopped_early},
        "batch split": {"batch_size": trainer.config.batch_size, "iterations_per_epoch": trainer.iterations_per_epoch,
                        "ranks": trainer.parallel.size},
        "versions": {"minitorch_cap": __version__, "numpy": np.__version__},
    }


def _state_sha256(state) -> str:
    """SHA-256 of an optimizer's per-parameter state (names, keys, numbers and arrays)."""
    entries = [(f"{name}/{key}", value) for name, entry in state.items() for key, value in sorted(entry.items())]
    layout = json.dumps([[k, None if isinstance(v, np.ndarray) else str(v)] for k, v in entries]).encode()
    return sha256_arrays(np.frombuffer(layout, dtype=np.uint8), *[v for _, v in entries if isinstance(v, np.ndarray)])
