"""`Trainer`: CS231n's captioning solver, plus validation, checkpoints, exact resume and a divergence guard.

Semantics (the SPEC's): an epoch is ``max(num_train // batch_size, 1)`` iterations; each
iteration draws a minibatch of captions at random **with replacement** (as the course)
from one seeded generator (:class:`~minitorch_cap.training.sampler.MinibatchSampler`); the
schedule is stepped at the end of every epoch; ``loss_history`` holds one loss per iteration.
Randomness is run state: the minibatches and, during each training step, every dropout mask
of the model are drawn from generators the Trainer owns (:mod:`.randomness`), saved in its
checkpoints and split across MPI ranks by rows of the global minibatch.

At each epoch end, in this order: the teacher-forced loss on a fixed validation subset,
the ``metrics`` hooks, the schedule step, keep-best / early-stopping bookkeeping
(:class:`~minitorch_cap.training.monitor.BestTracker`), the ``callbacks``, then (with
``out_dir``) ``checkpoint.h5``, ``best.h5`` and ``history.json``.

The parts live in their own modules: options in :mod:`.config`, minibatches in :mod:`.sampler`,
"is it better" in :mod:`.monitor`, printing in :mod:`.progress`, the trainer's state in
:mod:`.restore` (the file format in :mod:`.checkpoint`), the random streams in :mod:`.randomness`,
what MPI ranks must agree on in :mod:`.agreement`, the run folder in :mod:`.run_dir`. A checkpoint
holds the whole training state, so ``Trainer.resume(path, ...)`` continues exactly: the loss history
of an interrupted-and-resumed run equals the uninterrupted run's, value for value (also from a
mid-epoch checkpoint, see ``checkpoint_every``).
"""

from __future__ import annotations

import functools
import math
import sys
import time
from pathlib import Path
from typing import Any, Mapping

import attrs
import numpy as np

from ..data.checks import check_model_data, check_training_data
from ..data.fingerprint import data_fingerprint
from ..distributed import data_parallel
from ..nn.checks import check_finite_weights
from ..optim import clip_grad_norm_, clip_grad_value_
from ..optim.optimizer import Optimizer
from . import progress, restore
from .agreement import REMEDIES, run_description
from .checkpoint import save_checkpoint
from .config import TrainerConfig
from ..data.files import write_json
from .monitor import BestTracker
from .randomness import RunRandomness
from .run_dir import BEST_NAME, CHECKPOINT_NAME, HISTORY_NAME, RunDir, history_from_state
from .sampler import MinibatchSampler, validation_subset


class TrainingDiverged(RuntimeError, ArithmeticError):
    """The loss or a gradient became NaN or infinite; training stopped before updating the weights.

    A ``RuntimeError`` (and an ``ArithmeticError``, so ``except ArithmeticError`` catches it too).
    Attributes: ``iteration`` and ``epoch`` (1-based) where it happened, ``checkpoint`` the last
    good checkpoint written (or ``None``).
    """

    def __init__(self, message: str, iteration: int, epoch: int, checkpoint: Path | None):
        super().__init__(message)
        self.iteration, self.epoch, self.checkpoint = iteration, epoch, checkpoint


_UNSET = object()   # "not given": a positional option left to TrainerConfig's default


class Trainer:
    """Train a captioner on a CS231n-style data dict (see the module docstring).

    ``Trainer(model, data, optimizer, scheduler=None, batch_size=100, num_epochs=10,
    print_every=10, verbose=True, seed=None, ...)``: the first five options may be given in
    that order, all options by keyword; they are the fields of ``TrainerConfig`` (or pass
    ``config=TrainerConfig(...)``). ``train()`` returns ``history`` (a dict, also written to
    ``history.json``); ``loss_history`` and ``val_loss_history`` are lists of floats.

    ``model`` is any captioner (:mod:`minitorch_cap.captioners.base`); ``data`` needs
    ``train_captions (N, T) int``, ``train_image_idxs (N,) int`` and ``train_features``;
    ``val_*`` likewise for validation (optional). The optimizer must update ``model``'s own
    parameters. Raises ``TypeError``/``ValueError``/``KeyError`` naming what is wrong.

    ``comm``: an MPI communicator (``minitorch_cap.distributed.world()``, ``MPI.COMM_WORLD``)
    to train data-parallel over its ranks, the same run as alone (``minitorch_cap.distributed``;
    ranks that disagree all stop with one ``RanksDisagree``). ``randomness``: the run's generators
    (:class:`~.randomness.RunRandomness`, seeded by ``seed``).
    """

    def __init__(self, model, data: Mapping[str, Any], optimizer: Optimizer, scheduler=None,
                 batch_size=_UNSET, num_epochs=_UNSET, print_every=_UNSET, verbose=_UNSET, seed=_UNSET, *,
                 config: TrainerConfig | None = None, comm=None, **options):
        # The SPEC's (and CS231n's) options may also come positionally, in this order.
        given = dict(batch_size=batch_size, num_epochs=num_epochs, print_every=print_every, verbose=verbose,
                     seed=seed)
        options = {**{k: v for k, v in given.items() if v is not _UNSET}, **options}
        # out_dir may be a claimed RunDir (the caller owns it and closes it) or a path (train() claims it)
        self._given_run = options.get("out_dir") if isinstance(options.get("out_dir"), RunDir) else None
        self.config = cfg = attrs.evolve(config, **options) if config is not None else TrainerConfig(**options)
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"Trainer: optimizer must be a minitorch_cap.optim optimizer, got {type(optimizer).__name__}")
        if scheduler is not None and scheduler.optimizer is not optimizer:
            raise ValueError("Trainer: the scheduler drives a different optimizer than the one given")
        optimizer.check_params_of(model, "Trainer")
        self.model, self.data, self.optimizer, self.scheduler = model, data, optimizer, scheduler
        # comm (an MPI communicator): data-parallel over its ranks; None: this process alone (no-op hook).
        self.parallel = data_parallel(comm)
        if not self.parallel.is_writer:     # rank 0 alone prints, shows progress and writes out_dir
            self.config = cfg = attrs.evolve(cfg, verbose=False, progress=False)
        check_model_data(model, data, "Trainer")
        self.num_train, self.num_val = check_training_data(data, model, "Trainer")
        self._val_idx = validation_subset(self.num_val, cfg.val_size)
        monitor = cfg.monitor or ("val_loss" if self._val_idx.size else "train_loss")
        if monitor == "val_loss" and not self._val_idx.size:
            raise ValueError("Trainer: monitor='val_loss' needs validation data (val_* keys and val_size != 0)")
        if monitor not in ("val_loss", "train_loss", *cfg.metrics):
            raise ValueError(f"Trainer: monitor {monitor!r} is neither 'val_loss', 'train_loss' "
                             f"nor a metric name {sorted(cfg.metrics)}")
        self.monitor = monitor
        if cfg.init_from:
            restore.init_from_checkpoint(model, cfg.init_from)
        self.randomness = RunRandomness(cfg.seed)      # every random stream of the run (saved, restored, split)
        self.sampler = MinibatchSampler(self.num_train, cfg.batch_size, cfg.sampling, rng=self.randomness.minibatches)
        self.best = BestTracker(monitor, cfg.mode, cfg.min_delta)
        self.out_dir = Path(cfg.out_dir) if cfg.out_dir and self.parallel.is_writer else None
        # Counters: completed epochs, completed iterations, iterations done in the current epoch.
        self.epoch = 0
        self.iteration = 0
        self.epoch_iteration = 0
        self.loss_history: list[float] = []
        self.val_loss_history: list[float] = []
        self.epochs: list[dict[str, Any]] = []          # one record per completed epoch
        self.stopped_early = False
        self.should_stop = False                        # a callback may set this to end training
        self.last_checkpoint: Path | None = None
        self.last_checkpoint_epoch = 0                  # completed epochs in last_checkpoint
        self._bar = None
        self._run = self._given_run                     # the run folder's owner while train() writes into it
        self._fingerprint: dict | None = None           # of the data, computed at the first save
        self._epoch_start = time.perf_counter()

    # ----------------------------------------------------------------- sizes and views
    @property
    def iterations_per_epoch(self) -> int:
        return self.sampler.iterations_per_epoch

    @property
    def num_iterations(self) -> int:
        return self.iterations_per_epoch * self.config.num_epochs

    @property
    def rng(self) -> np.random.Generator:
        """The generator that draws the minibatches."""
        return self.randomness.minibatches

    @property
    def best_value(self) -> float | None:
        return self.best.best_value

    @property
    def best_epoch(self) -> int | None:
        return self.best.best_epoch

    @property
    def bad_epochs(self) -> int:
        return self.best.bad_epochs

    @property
    def history(self) -> dict[str, Any]:
        """Everything ``history.json`` holds: per-iteration and per-epoch values, best epoch, config."""
        return history_from_state({
            "loss_history": self.loss_history, "val_loss_history": self.val_loss_history, "epochs": self.epochs,
            "iterations_per_epoch": self.iterations_per_epoch, "monitor": self.monitor,
            "best_epoch": self.best_epoch, "best_value": self.best_value, "stopped_early": self.stopped_early,
            "config": self.config.to_dict()})

    # ----------------------------------------------------------------- the loop
    def train(self) -> dict[str, Any]:
        """Run until ``num_epochs`` epochs are complete (or early stopping); return ``history``."""
        cfg = self.config
        if self.stopped_early:
            if cfg.verbose:
                progress.write_line(f"Training stopped early at epoch {self.epoch}; nothing to do")
            return self.history
        show = cfg.progress if cfg.progress is not None else sys.stderr.isatty()
        self.should_stop = False
        try:
            # data-parallel: the ranks agree (or all stop), then start with rank 0's weights and generators
            self.parallel.begin(self.model, self.randomness, functools.partial(run_description, self), REMEDIES)
            if self.out_dir is not None and self._given_run is None:   # a path: this run claims it, and closes it
                self._run = RunDir.claim(self.out_dir, overwrite=cfg.overwrite, resume_from=self.last_checkpoint)
            self._bar = progress.progress_bar(self.num_iterations, self.iteration) if show else None
            while self.epoch < cfg.num_epochs and not self.should_stop:
                if self.epoch_iteration == 0:
                    self._epoch_start = time.perf_counter()
                    self.sampler.begin_epoch()
                while self.epoch_iteration < self.iterations_per_epoch:
                    # one iteration: draw, forward + backward, guard, clip, update, record
                    idx = self.sampler.batch(self.epoch_iteration)
                    loss = self._train_step(idx)
                    self.loss_history.append(loss)
                    self.iteration += 1
                    self.epoch_iteration += 1
                    self._report_iteration(loss)
                    if (cfg.checkpoint_every and self.out_dir is not None
                            and self.iteration % cfg.checkpoint_every == 0
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
            if self._run is not self._given_run:
                self._run.close(failed=sys.exc_info()[0] is not None)
                self._run = self._given_run
        return self.history

    def _train_step(self, idx: np.ndarray) -> float:
        """Forward, backward, guard, clip, update; returns the minibatch loss."""
        data, cfg = self.data, self.config
        batch_size, rows = len(idx), self.parallel.rows(len(idx))
        idx, share = self.parallel.split(idx)          # this rank's part of the global minibatch
        captions = data["train_captions"][idx]
        features = data["train_features"][data["train_image_idxs"][idx]]
        with self.randomness.step(self.model, batch_size, rows):   # masks of the global minibatch, this rank's rows
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

    def _report_iteration(self, loss: float) -> None:
        if self._bar is not None:
            self._bar.update(1)
            self._bar.set_postfix(loss=f"{loss:.4f}", lr=f"{self.optimizer.lr:.3g}", refresh=False)
        if self.config.verbose and (self.iteration - 1) % self.config.print_every == 0:
            progress.write_line(progress.iteration_line(self.iteration, self.num_iterations, loss))

    def _diverged(self, what: str, iteration: int | None = None) -> None:
        """Raise ``TrainingDiverged`` for ``iteration`` (default: the one in progress)."""
        iteration = self.iteration + 1 if iteration is None else iteration
        kept = (f"the last good checkpoint, {self.last_checkpoint}, is kept" if self.last_checkpoint
                else "no checkpoint was written")
        raise TrainingDiverged(
            f"Training diverged at iteration {iteration} (epoch {self.epoch + 1}): {what}. "
            f"Poisoned weights were not saved and {kept}. Lower the learning rate or clip the gradients "
            "(the clip_grad_norm option).",
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
        improved = self.best.update(record[self.monitor], self.epoch + 1)
        record["seconds"] = time.perf_counter() - self._epoch_start
        self.epochs.append(record)
        self.epoch += 1
        self.epoch_iteration = 0
        self.sampler.end_epoch()
        if cfg.patience is not None and self.bad_epochs >= cfg.patience:
            self.stopped_early = self.should_stop = True
        if cfg.verbose and (self._val_idx.size or cfg.metrics or self.stopped_early):
            progress.write_line(progress.epoch_line(record, cfg.num_epochs, getattr(self.model, "loss_unit", None))
                                + (f"; no improvement in {self.monitor} for {self.bad_epochs} epochs, stopping"
                                   if self.stopped_early else ""))
        for callback in cfg.callbacks:
            callback(self, record)
        if self.out_dir is not None:
            self._save_checkpoint()
            if improved and cfg.keep_best:
                self.save(self.out_dir / BEST_NAME)
            write_json(self.out_dir / HISTORY_NAME, self.history)

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

    # ----------------------------------------------------------------- checkpoints (see .restore)
    def state(self) -> dict[str, Any]:
        """The trainer's part of a checkpoint: counters, random streams, sampler, histories, config (plain values and arrays)."""
        return restore.trainer_state(self)

    def load_state(self, saved: Mapping[str, Any]) -> None:
        """Restore :meth:`state` (counters, random streams, sampler, histories, best value)."""
        restore.load_trainer_state(self, saved)

    def data_fingerprint(self) -> dict[str, Any]:
        """``data_fingerprint(self.data)``, computed once."""
        if self._fingerprint is None:
            self._fingerprint = data_fingerprint(self.data)
        return self._fingerprint

    def save(self, path) -> Path:
        """Write a resumable checkpoint (model, optimizer, schedule, trainer state) to ``path``."""
        try:
            check_finite_weights("after the update", ((n, p.data) for n, p in self.model.named_parameters()))
        except ValueError as exc:
            self._diverged(str(exc), self.iteration)
        return save_checkpoint(path, self.model, self.optimizer, self.scheduler, trainer=self.state())

    def _save_checkpoint(self) -> None:
        self.last_checkpoint = self.save(self.out_dir / CHECKPOINT_NAME)
        self.last_checkpoint_epoch = self.epoch
        if self._run is not None:
            self._run.checkpoint_saved()

    @classmethod
    def resume(cls, path, model=None, data: Mapping[str, Any] | None = None, optimizer: Optimizer | None = None,
               scheduler=None, *, checkpoint: Mapping[str, Any] | None = None, comm=None,
               **overrides) -> "Trainer":
        """Continue the run saved in checkpoint ``path`` (a run folder: its checkpoint.h5) exactly where it stopped.

        ``model``, ``optimizer`` and ``scheduler`` are rebuilt from the checkpoint when not
        given (given ones must match it). ``data`` must be the same data set. ``overrides``
        may change options such as ``num_epochs``, ``out_dir``, ``progress``, ``metrics``,
        ``callbacks`` — but not those of :data:`~minitorch_cap.training.config.FIXED_ON_RESUME`.
        ``checkpoint``: the file's content when the caller has already read it
        (``load_checkpoint(path)``), so that it is read once. ``comm``: as for ``Trainer`` (a run
        saved with K ranks resumes with any number). Call ``train()`` on the result.
        """
        return restore.resume(cls, path, model, data, optimizer, scheduler, checkpoint=checkpoint, comm=comm,
                              **overrides)
