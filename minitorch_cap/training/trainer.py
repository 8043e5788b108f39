"""`Trainer`: CS231n's captioning solver, plus validation, checkpoints, exact resume and a divergence guard.

Semantics (the SPEC's): an epoch is ``max(num_train // batch_size, 1)`` iterations; each
iteration draws a minibatch of captions at random **with replacement** (as the course)
from one seeded ``numpy.random.Generator`` (``sampling='shuffle'`` instead visits every
caption once per epoch, in ``ceil(num_train / batch_size)`` iterations, the last one
smaller); the schedule is stepped at the end of every epoch; ``loss_history`` holds one
loss per iteration.

At each epoch end, in this order: the teacher-forced loss on a fixed validation subset,
the ``metrics`` hooks, the schedule step, keep-best / early-stopping bookkeeping, the
``callbacks``, then (with ``out_dir``) ``checkpoint.h5``, ``best.h5`` and ``history.json``.

A checkpoint holds the whole training state, so ``Trainer.resume(path, ...)`` continues
exactly: the loss history of an interrupted-and-resumed run equals the uninterrupted
run's, value for value (also from a mid-epoch checkpoint, see ``checkpoint_every``).
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable, Mapping

import attrs
import numpy as np

from ..data.coco import check_model_data
from ..distributed import data_parallel
from ..optim import OPTIMIZERS, SCHEDULERS, clip_grad_norm_, clip_grad_value_
from ..optim.optimizer import Optimizer
from .checkpoint import CheckpointError, _model_from, init_from_checkpoint, load_checkpoint, save_checkpoint, write_json

CHECKPOINT_NAME, BEST_NAME, HISTORY_NAME = "checkpoint.h5", "best.h5", "history.json"
# Options a resumed run must keep: changing them would change which captions are drawn.
_FIXED_ON_RESUME = ("batch_size", "sampling", "seed", "val_size")


class TrainingDiverged(RuntimeError, ArithmeticError):
    """The loss or a gradient became NaN or infinite; training stopped before updating the weights.

    A ``RuntimeError`` (and an ``ArithmeticError``, so ``except ArithmeticError`` catches it too).
    Attributes: ``iteration`` and ``epoch`` (1-based) where it happened, ``checkpoint`` the last
    good checkpoint written (or ``None``).
    """

    def __init__(self, message: str, iteration: int, epoch: int, checkpoint: Path | None):
        super().__init__(message)
        self.iteration, self.epoch, self.checkpoint = iteration, epoch, checkpoint


# ---------------------------------------------------------------------------- configuration
def _positive_int(instance, attribute, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"TrainerConfig: {attribute.name} must be a positive integer, got {value!r}")


def _optional(validator):
    def check(instance, attribute, value):
        if value is not None:
            validator(instance, attribute, value)
    return check


def _non_negative_int(instance, attribute, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"TrainerConfig: {attribute.name} must be a non-negative integer, got {value!r}")


def _positive_float(instance, attribute, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (0 < value < math.inf):
        raise ValueError(f"TrainerConfig: {attribute.name} must be a positive number, got {value!r}")


def _one_of(*choices):
    def check(instance, attribute, value):
        if value not in choices:
            raise ValueError(f"TrainerConfig: {attribute.name} must be one of {list(choices)}, got {value!r}")
    return check


def _bool_or_none(instance, attribute, value):
    if value is not None and not isinstance(value, bool):
        raise TypeError(f"TrainerConfig: {attribute.name} must be True, False or None, got {value!r}")


def _metrics(instance, attribute, value):
    if not isinstance(value, Mapping):
        raise TypeError(f"TrainerConfig: metrics must be a mapping name -> fn(model, data) -> float, got {type(value).__name__}")
    for name, fn in value.items():
        if not isinstance(name, str) or not callable(fn):
            raise TypeError(f"TrainerConfig: metrics[{name!r}] must map a name to a callable fn(model, data) -> float")
        if name in _RESERVED:
            raise ValueError(f"TrainerConfig: metric name {name!r} is reserved; choose another")


def _callbacks(instance, attribute, value):
    if not all(callable(cb) for cb in value):
        raise TypeError("TrainerConfig: callbacks must be callables callback(trainer, epoch_record)")


_RESERVED = ("epoch", "iteration", "train_loss", "val_loss", "lr", "seconds")
_NOT_SAVED = {"save": False}


@attrs.define(kw_only=True)
class TrainerConfig:
    """Every option of a ``Trainer``; ``to_dict()`` gives the JSON-able part kept in checkpoints.

    * ``batch_size``, ``num_epochs``, ``print_every``, ``verbose``, ``seed``: as CS231n's solver
      (``seed=None``: fresh entropy, still resumable since the generator state is saved).
      ``verbose`` prints the loss every ``print_every`` iterations and, when there is a
      validation loss or a metric to show, one line per epoch.
    * ``sampling``: ``'replacement'`` (course) or ``'shuffle'`` (every caption once per epoch).
    * ``val_size``: captions in the fixed validation subset (evenly spaced over the val split);
      ``None`` for the whole split, ``0`` to skip validation.
    * ``monitor`` (``'val_loss'``, ``'train_loss'`` or a metric name; ``None``: val_loss when
      validating, else train_loss), ``mode`` ('min'|'max'), ``min_delta``: what "better" means
      for ``keep_best`` (``best.h5``) and early stopping after ``patience`` epochs without it.
    * ``clip_grad_norm`` / ``clip_grad_value``: gradient clipping before each step.
    * ``out_dir``: where ``checkpoint.h5`` (every epoch, and every ``checkpoint_every``
      iterations), ``best.h5`` and ``history.json`` go.
    * ``progress``: tqdm bar (``None``: only when stderr is a terminal).
    * ``init_from``: a checkpoint whose weights initialise the model (weights only).
    * ``metrics``: name -> ``fn(model, data) -> float``, run after each epoch;
      ``callbacks``: ``callback(trainer, epoch_record)`` after each epoch. Not saved.
    """

    batch_size: int = attrs.field(default=100, validator=_positive_int)
    num_epochs: int = attrs.field(default=10, validator=_non_negative_int)
    print_every: int = attrs.field(default=10, validator=_positive_int)
    verbose: bool = attrs.field(default=True, converter=bool)
    seed: int | None = attrs.field(default=None, validator=_optional(_non_negative_int))
    sampling: str = attrs.field(default="replacement", validator=_one_of("replacement", "shuffle"))
    val_size: int | None = attrs.field(default=1000, validator=_optional(_non_negative_int))
    monitor: str | None = None
    mode: str = attrs.field(default="min", validator=_one_of("min", "max"))
    min_delta: float = attrs.field(default=0.0, converter=float, validator=attrs.validators.ge(0.0))
    patience: int | None = attrs.field(default=None, validator=_optional(_positive_int))
    keep_best: bool = attrs.field(default=True, converter=bool)
    clip_grad_norm: float | None = attrs.field(default=None, validator=_optional(_positive_float))
    clip_grad_value: float | None = attrs.field(default=None, validator=_optional(_positive_float))
    checkpoint_every: int | None = attrs.field(default=None, validator=_optional(_positive_int))
    out_dir: str | None = attrs.field(default=None, converter=attrs.converters.optional(str))
    progress: bool | None = attrs.field(default=None, validator=_bool_or_none)
    init_from: str | None = attrs.field(default=None, converter=attrs.converters.optional(str))
    metrics: Mapping[str, Callable] = attrs.field(factory=dict, validator=_metrics, metadata=_NOT_SAVED)
    callbacks: list = attrs.field(factory=list, converter=list, validator=_callbacks, metadata=_NOT_SAVED)

    def to_dict(self) -> dict[str, Any]:
        """The JSON-able options (everything but ``metrics`` and ``callbacks``)."""
        return attrs.asdict(self, filter=lambda a, v: a.metadata.get("save", True))

    @classmethod
    def from_dict(cls, values: Mapping[str, Any], **overrides) -> "TrainerConfig":
        known = {a.name for a in attrs.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"TrainerConfig: unknown options {unknown}")
        return cls(**{**values, **overrides})


# ---------------------------------------------------------------------------- the trainer
_UNSET = object()   # "not given": a positional option left to TrainerConfig's default


class Trainer:
    """Train a captioning model on a CS231n-style data dict (see the module docstring).

    ``Trainer(model, data, optimizer, scheduler=None, batch_size=100, num_epochs=10,
    print_every=10, verbose=True, seed=None, ...)``: the first five options may be given in
    that order, all options by keyword; they are the fields of ``TrainerConfig`` (or pass
    ``config=TrainerConfig(...)``). ``train()`` returns
    ``history`` (a dict, also written to ``history.json``); ``loss_history`` and
    ``val_loss_history`` are lists of floats.

    ``comm``: an MPI communicator (``minitorch_cap.distributed.world()``, ``MPI.COMM_WORLD``)
    to train data-parallel over its ranks, the same run as alone (``minitorch_cap.distributed``).

    ``data`` needs ``train_captions (N, T) int``, ``train_image_idxs (N,) int`` and
    ``train_features (M, D)``; ``val_*`` likewise for validation (optional).
    """

    def __init__(self, model, data: Mapping[str, Any], optimizer: Optimizer, scheduler=None,
                 batch_size=_UNSET, num_epochs=_UNSET, print_every=_UNSET, verbose=_UNSET, seed=_UNSET, *,
                 config: TrainerConfig | None = None, comm=None, **options):
        # The SPEC's (and CS231n's) options may also come positionally, in this order.
        given = dict(batch_size=batch_size, num_epochs=num_epochs, print_every=print_every, verbose=verbose,
                     seed=seed)
        options = {**{k: v for k, v in given.items() if v is not _UNSET}, **options}
        self.config = attrs.evolve(config, **options) if config is not None else TrainerConfig(**options)
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"Trainer: optimizer must be a minitorch_cap.optim optimizer, got {type(optimizer).__name__}")
        if scheduler is not None and scheduler.optimizer is not optimizer:
            raise ValueError("Trainer: the scheduler drives a different optimizer than the one given")
        self.model, self.data, self.optimizer, self.scheduler = model, data, optimizer, scheduler
        # comm (an MPI communicator): data-parallel over its ranks; None: this process alone (no-op hook).
        self.parallel = data_parallel(comm)
        self.num_train, self.num_val = _check_data(data, model)
        cfg = self.config
        self._val_idx = _val_subset(self.num_val, cfg.val_size)
        monitor = cfg.monitor or ("val_loss" if self._val_idx.size else "train_loss")
        if monitor == "val_loss" and not self._val_idx.size:
            raise ValueError("Trainer: monitor='val_loss' needs validation data (val_* keys and val_size != 0)")
        if monitor not in ("val_loss", "train_loss", *cfg.metrics):
            raise ValueError(f"Trainer: monitor {monitor!r} is neither 'val_loss', 'train_loss' "
                             f"nor a metric name {sorted(cfg.metrics)}")
        self.monitor = monitor
        if cfg.init_from:
            init_from_checkpoint(model, cfg.init_from)
        self.rng = np.random.default_rng(cfg.seed)
        self.out_dir = Path(cfg.out_dir) if cfg.out_dir and self.parallel.is_writer else None
        # Counters: completed epochs, completed iterations, iterations done in the current epoch.
        self.epoch = 0
        self.iteration = 0
        self.epoch_iteration = 0
        self._epoch_order: np.ndarray | None = None    # this epoch's caption order (sampling='shuffle')
        self.loss_history: list[float] = []
        self.val_loss_history: list[float] = []
        self.epochs: list[dict[str, Any]] = []          # one record per completed epoch
        self.best_value: float | None = None
        self.best_epoch: int | None = None
        self.bad_epochs = 0
        self.stopped_early = False
        self.should_stop = False                        # a callback may set this to end training
        self.last_checkpoint: Path | None = None
        self._bar = None

    # ----------------------------------------------------------------- sizes
    @property
    def iterations_per_epoch(self) -> int:
        B = self.config.batch_size
        if self.config.sampling == "shuffle":
            return max(-(-self.num_train // B), 1)
        return max(self.num_train // B, 1)

    @property
    def num_iterations(self) -> int:
        return self.iterations_per_epoch * self.config.num_epochs

    @property
    def history(self) -> dict[str, Any]:
        """Everything ``history.json`` holds: per-iteration and per-epoch values, best epoch, config."""
        return {
            "loss_history": list(self.loss_history),
            "val_loss_history": list(self.val_loss_history),
            "epochs": [dict(r) for r in self.epochs],
            "iterations_per_epoch": self.iterations_per_epoch,
            "monitor": self.monitor, "mode": self.config.mode,
            "best_epoch": self.best_epoch, "best_value": self.best_value,
            "stopped_early": self.stopped_early,
            "config": self.config.to_dict(),
        }

    # ----------------------------------------------------------------- the loop
    def train(self) -> dict[str, Any]:
        """Run until ``num_epochs`` epochs are complete (or early stopping); return ``history``."""
        cfg = self.config
        show = (cfg.progress if cfg.progress is not None else sys.stderr.isatty()) and self.parallel.is_writer
        if self.stopped_early:
            if cfg.verbose:
                self._print(f"Training stopped early at epoch {self.epoch}; nothing to do")
            return self.history
        if self.out_dir is not None:
            _prepare_out_dir(self.out_dir)
        self._bar = _progress_bar(self.num_iterations, self.iteration) if show else None
        self.should_stop = False
        running = None
        try:
            self.parallel.begin(self.model, self.rng)
            while self.epoch < cfg.num_epochs and not self.should_stop:
                if self.epoch_iteration == 0:
                    self._begin_epoch()
                while self.epoch_iteration < self.iterations_per_epoch:
                    loss = self._train_step(self._next_batch())
                    self.loss_history.append(loss)
                    self.iteration += 1
                    self.epoch_iteration += 1
                    running = loss if running is None else 0.9 * running + 0.1 * loss
                    if self._bar is not None:
                        self._bar.update(1)
                        self._bar.set_postfix(loss=f"{running:.4f}", lr=f"{self.optimizer.lr:.3g}", refresh=False)
                    if cfg.verbose and (self.iteration - 1) % cfg.print_every == 0:
                        self._print(f"(Iteration {self.iteration} / {self.num_iterations}) loss: {loss:f}")
                    if (cfg.checkpoint_every and self.iteration % cfg.checkpoint_every == 0
                            and self.epoch_iteration < self.iterations_per_epoch):
                        self._save_checkpoint()
                self._end_epoch()
        except BaseException as exc:
            self.parallel.failed(exc, self.last_checkpoint)   # data-parallel: the other ranks stop too
            raise
        finally:
            if self._bar is not None:
                self._bar.close()
            self._bar = None
        return self.history

    def _begin_epoch(self) -> None:
        self._epoch_start = time.perf_counter()
        if self.config.sampling == "shuffle":
            self._epoch_order = self.rng.permutation(self.num_train)

    def _next_batch(self) -> np.ndarray:
        """Indices into the training captions for the next iteration."""
        B = self.config.batch_size
        if self.config.sampling == "shuffle":
            k = self.epoch_iteration
            return self._epoch_order[k * B:(k + 1) * B]
        return self.rng.choice(self.num_train, B)

    def _train_step(self, idx: np.ndarray) -> float:
        """Forward, backward, guard, clip, update; returns the minibatch loss."""
        data, cfg = self.data, self.config
        idx, share = self.parallel.split(idx)          # this rank's part of the global minibatch
        captions = data["train_captions"][idx]
        features = data["train_features"][data["train_image_idxs"][idx]]
        loss, _ = self.model.loss(features, captions)
        loss = float(self.parallel.reduce_gradients(self.model, loss, share))   # global loss and gradients
        if not math.isfinite(loss):
            self._diverged(f"the loss is {loss}")
        for name, param in self.model.named_parameters():
            if not np.all(np.isfinite(param.grad)):
                self._diverged(f"the gradient of {name!r} holds NaN or infinity (loss {loss:g})")
        if cfg.clip_grad_value is not None:
            clip_grad_value_(self.optimizer.params, cfg.clip_grad_value)
        if cfg.clip_grad_norm is not None:
            clip_grad_norm_(self.optimizer.params, cfg.clip_grad_norm)
        self.optimizer.step()
        return loss

    def _diverged(self, what: str, iteration: int | None = None) -> None:
        """Raise ``TrainingDiverged`` for ``iteration`` (default: the one in progress)."""
        iteration = self.iteration + 1 if iteration is None else iteration
        kept = (f"the last good checkpoint, {self.last_checkpoint}, is kept" if self.last_checkpoint
                else "no checkpoint was written")
        raise TrainingDiverged(
            f"Training diverged at iteration {iteration} (epoch {self.epoch + 1}): {what}. "
            f"Poisoned weights were not saved and {kept}. Lower the learning rate or set clip_grad_norm.",
            iteration=iteration, epoch=self.epoch + 1, checkpoint=self.last_checkpoint)

    def _end_epoch(self) -> None:
        cfg = self.config
        ipe = self.iterations_per_epoch
        self.parallel.check_weights(self.model, self.epoch + 1)
        record: dict[str, Any] = {
            "epoch": self.epoch + 1,
            "iteration": self.iteration,
            "train_loss": float(np.mean(self.loss_history[-ipe:])),
            "val_loss": self.validation_loss(),
            "lr": self.optimizer.lr,
        }
        if record["val_loss"] is not None:
            self.val_loss_history.append(record["val_loss"])
        record.update(self.evaluate_metrics())
        if self.scheduler is not None:
            if getattr(self.scheduler, "needs_metric", False):
                self.scheduler.step(record[self.monitor])
            else:
                self.scheduler.step()
        improved = self._track_best(record[self.monitor])
        record["seconds"] = time.perf_counter() - getattr(self, "_epoch_start", time.perf_counter())
        self.epochs.append(record)
        self.epoch += 1
        self.epoch_iteration = 0
        self._epoch_order = None
        if cfg.patience is not None and self.bad_epochs >= cfg.patience:
            self.stopped_early = self.should_stop = True
        if cfg.verbose and (self._val_idx.size or cfg.metrics or self.stopped_early):
            shown = ", ".join(f"{k}: {v:.6g}" for k, v in record.items()
                              if k not in ("epoch", "iteration", "seconds") and v is not None)
            self._print(f"(Epoch {self.epoch} / {cfg.num_epochs}) {shown}"
                        + (f"; no improvement in {self.monitor} for {self.bad_epochs} epochs, stopping"
                           if self.stopped_early else ""))
        for callback in cfg.callbacks:
            callback(self, record)
        if self.out_dir is not None:
            self._save_checkpoint()
            if improved and cfg.keep_best:
                self.save(self.out_dir / BEST_NAME)
            write_json(self.out_dir / HISTORY_NAME, self.history)

    def _track_best(self, value) -> bool:
        value = float(value) if value is not None else math.nan
        if not math.isfinite(value):
            self.bad_epochs += 1
            return False
        delta = self.config.min_delta
        better = (self.best_value is None
                  or (value < self.best_value - delta if self.config.mode == "min" else value > self.best_value + delta))
        if better:
            self.best_value, self.best_epoch, self.bad_epochs = value, self.epoch + 1, 0
        else:
            self.bad_epochs += 1
        return better

    # ----------------------------------------------------------------- evaluation
    def validation_loss(self) -> float | None:
        """Teacher-forced loss on the fixed validation subset (mean per caption); ``None`` without one."""
        idx = self._val_idx
        if not idx.size:
            return None
        data, B = self.data, self.config.batch_size
        total, size = 0.0, idx.size
        idx = self.parallel.part(idx)                  # this rank's contiguous part (all of it alone)
        self.model.eval()
        try:
            for start in range(0, idx.size, B):
                chunk = idx[start:start + B]
                features = data["val_features"][data["val_image_idxs"][chunk]]
                total += float(self.model.forward(features, data["val_captions"][chunk])) * chunk.size
        finally:
            self.model.train()
        return self.parallel.sum(total) / size

    def evaluate_metrics(self) -> dict[str, float]:
        """Run each ``metrics`` hook ``fn(model, data) -> float`` with the model in eval mode."""
        values = {}
        if not self.config.metrics:
            return values
        self.model.eval()
        try:
            for name, fn in self.config.metrics.items():
                value = self.parallel.metric(fn, self.model, self.data)
                try:
                    values[name] = float(value)
                except (TypeError, ValueError):
                    raise TypeError(f"Trainer: metric {name!r} returned {type(value).__name__}, expected a float") from None
        finally:
            self.model.train()
        return values

    # ----------------------------------------------------------------- checkpoints
    def state(self) -> dict[str, Any]:
        """The trainer's part of a checkpoint: counters, RNG, histories, config (plain values and arrays)."""
        state = {
            "config": self.config.to_dict(),
            "epoch": self.epoch, "iteration": self.iteration, "epoch_iteration": self.epoch_iteration,
            "rng_state": json.dumps(self.rng.bit_generator.state),
            "loss_history": np.asarray(self.loss_history, dtype=np.float64),
            "val_loss_history": list(self.val_loss_history),
            "epochs": [dict(r) for r in self.epochs],
            "best_value": self.best_value, "best_epoch": self.best_epoch, "bad_epochs": self.bad_epochs,
            "stopped_early": self.stopped_early, "monitor": self.monitor,
            "data": {"num_train": self.num_train, "num_val": self.num_val},
        }
        if self._epoch_order is not None:
            state["epoch_order"] = np.asarray(self._epoch_order, dtype=np.int64)
        return state

    def save(self, path) -> Path:
        """Write a resumable checkpoint (model, optimizer, schedule, trainer state) to ``path``."""
        for name, param in self.model.named_parameters():
            if not np.all(np.isfinite(param.data)):
                self._diverged(f"the weights of {name!r} hold NaN or infinity after the update", self.iteration)
        return save_checkpoint(path, self.model, self.optimizer, self.scheduler, trainer=self.state())

    def _save_checkpoint(self) -> None:
        self.last_checkpoint = self.save(self.out_dir / CHECKPOINT_NAME)

    @classmethod
    def resume(cls, path, model=None, data: Mapping[str, Any] | None = None, optimizer: Optimizer | None = None,
               scheduler=None, comm=None, **overrides) -> "Trainer":
        """Continue the run saved in checkpoint ``path`` exactly where it stopped.

        ``model``, ``optimizer`` and ``scheduler`` are rebuilt from the checkpoint when not
        given (given ones must match it). ``data`` must be the same data set. ``overrides``
        may change options such as ``num_epochs``, ``out_dir``, ``progress``, ``metrics``,
        ``callbacks`` — but not ``batch_size``, ``sampling``, ``seed`` or ``val_size``.
        ``comm``: as for ``Trainer`` (a run saved with K ranks resumes with any number).
        Call ``train()`` on the result.
        """
        if data is None:
            raise TypeError("Trainer.resume: data is required (the same data set the run was trained on)")
        checkpoint = load_checkpoint(path)
        saved = checkpoint["trainer"]
        if saved is None:
            raise CheckpointError(f"{path} holds weights but no training state; start a new run from it with "
                                  "init_from=... (weights only) instead of resume")
        changed = sorted(k for k in _FIXED_ON_RESUME if k in overrides and overrides[k] != saved["config"][k])
        if changed:
            raise ValueError(f"Trainer.resume: {changed} cannot change on resume (the run would no longer be the "
                             f"same); the checkpoint has {({k: saved['config'][k] for k in changed})}")
        if model is None:
            model = _model_from(checkpoint, path)
        else:
            info = checkpoint["model"]
            if dict(model.word_to_idx) != info["word_to_idx"] or model.config() != info["config"]:
                raise ValueError(f"Trainer.resume: the model given does not match {path} "
                                 f"(checkpoint config {info['config']}, model config {model.config()})")
            model.load_state_dict(info["state_dict"])
        opt_state = checkpoint["optimizer"]
        if opt_state is None:
            raise CheckpointError(f"{path} holds no optimizer state; it cannot be resumed")
        if optimizer is None:
            cls_ = OPTIMIZERS.get(opt_state["type"])
            if cls_ is None:
                raise CheckpointError(f"{path}: unknown optimizer type {opt_state['type']!r}; pass the optimizer")
            hyper = {k: tuple(v) if isinstance(v, list) else v for k, v in opt_state["hyperparams"].items()}
            optimizer = cls_(model.named_parameters(), **hyper)
        optimizer.load_state_dict(opt_state)
        sched_state = checkpoint["scheduler"]
        if sched_state is not None and scheduler is None:
            cls_ = SCHEDULERS.get(sched_state["type"])
            if cls_ is None:
                raise CheckpointError(f"{path}: unknown schedule type {sched_state['type']!r}; pass the scheduler")
            scheduler = cls_(optimizer, **sched_state["hyperparams"])
        if scheduler is not None:
            if sched_state is None:
                raise ValueError(f"Trainer.resume: a scheduler was given but {path} was saved without one")
            scheduler.load_state_dict(sched_state)
        config = TrainerConfig.from_dict(saved["config"], **{"init_from": None, **overrides})
        trainer = cls(model, data, optimizer, scheduler, config=config, comm=comm)
        if (trainer.num_train, trainer.num_val) != (saved["data"]["num_train"], saved["data"]["num_val"]):
            raise ValueError(f"Trainer.resume: the data has {trainer.num_train} train / {trainer.num_val} val "
                             f"captions, the run in {path} had {saved['data']['num_train']} / {saved['data']['num_val']}")
        trainer._restore(saved)
        trainer.last_checkpoint = Path(path)
        return trainer

    def _restore(self, saved: Mapping[str, Any]) -> None:
        self.epoch, self.iteration = int(saved["epoch"]), int(saved["iteration"])
        self.epoch_iteration = int(saved["epoch_iteration"])
        self.rng.bit_generator.state = json.loads(saved["rng_state"])
        self.loss_history = [float(x) for x in saved["loss_history"]]
        self.val_loss_history = [float(x) for x in saved["val_loss_history"]]
        self.epochs = [dict(r) for r in saved["epochs"]]
        self.best_value, self.best_epoch = saved["best_value"], saved["best_epoch"]
        self.bad_epochs, self.stopped_early = int(saved["bad_epochs"]), bool(saved["stopped_early"])
        order = saved.get("epoch_order")
        self._epoch_order = np.asarray(order) if order is not None else None
        if self.config.sampling == "shuffle" and self.epoch_iteration and self._epoch_order is None:
            raise CheckpointError("Trainer.resume: a mid-epoch checkpoint of a shuffled run lacks its epoch order")

    # ----------------------------------------------------------------- output
    def _print(self, message: str) -> None:
        if not self.parallel.is_writer:
            return
        if self._bar is not None:
            self._bar.write(message, file=sys.stdout)
        else:
            print(message, flush=True)


def _prepare_out_dir(path: Path) -> None:
    """Create the output folder, or say why it cannot be one, before any training is spent."""
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:          # a file in the way, a missing or read-only parent, ...
        raise ValueError(f"Trainer: out_dir {str(path)!r} cannot be created as a folder "
                         f"({exc.strerror or exc})") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise ValueError(f"Trainer: out_dir {str(path)!r} is not writable")


def _progress_bar(total: int, initial: int):
    from tqdm.auto import tqdm
    return tqdm(total=total, initial=initial, desc="train", unit="it", dynamic_ncols=True, leave=True)


def _val_subset(num_val: int, size: int | None) -> np.ndarray:
    """A fixed subset: ``size`` indices evenly spaced over the val split (all of it for ``None``)."""
    if num_val == 0 or size == 0:
        return np.zeros(0, dtype=np.int64)
    if size is None or size >= num_val:
        return np.arange(num_val)
    return np.linspace(0, num_val - 1, size).round().astype(np.int64)


def _check_data(data: Mapping[str, Any], model) -> tuple[int, int]:
    """Check the splits the trainer reads; return (number of train captions, of val captions)."""
    if not isinstance(data, Mapping):
        raise TypeError(f"Trainer: data must be a dict like load_coco_data's, got {type(data).__name__}")
    counts = []
    for split in ("train", "val"):
        keys = [f"{split}_captions", f"{split}_image_idxs", f"{split}_features"]
        present = [k in data for k in keys]
        if split == "val" and not any(present):
            counts.append(0)
            continue
        if not all(present):
            raise KeyError(f"Trainer: data lacks {[k for k, p in zip(keys, present) if not p]} "
                           f"(expected the keys of load_coco_data)")
        captions, idxs, features = (np.asarray(data[k]) if k != keys[2] else data[k] for k in keys)
        if captions.ndim != 2 or not np.issubdtype(captions.dtype, np.integer) or captions.shape[1] < 2:
            raise ValueError(f"Trainer: {keys[0]} must be an integer array (N, T) with T >= 2, "
                             f"got {captions.dtype} {captions.shape}")
        if idxs.shape != (captions.shape[0],) or not np.issubdtype(idxs.dtype, np.integer):
            raise ValueError(f"Trainer: {keys[1]} must be integers of shape ({captions.shape[0]},), "
                             f"got {idxs.dtype} {idxs.shape}")
        input_dim = getattr(model, "input_dim", None)
        if features.ndim != 2 or (input_dim is not None and features.shape[1] != input_dim):
            raise ValueError(f"Trainer: {keys[2]} must have shape (M, {input_dim}), got {features.shape}")
        if idxs.size and (idxs.min() < 0 or idxs.max() >= features.shape[0]):
            raise ValueError(f"Trainer: {keys[1]} holds image ids outside [0, {features.shape[0]})")
        if split == "train" and captions.shape[0] == 0:
            raise ValueError("Trainer: the training split is empty")
        counts.append(captions.shape[0])
    check_model_data(model, data, "Trainer")
    return counts[0], counts[1]
