"""What a checkpoint gives back: its model (:func:`load_model`, :func:`model_from_checkpoint`,
:func:`init_from_checkpoint` for weights only) and a ``Trainer``'s state, the part that makes resume exact.

Each part writes its own state (chainer's ``serialize``): the random streams, the sampler, the
best-value tracker, the optimizer and schedule; :func:`trainer_state` gathers the trainer's counters
and histories around them, and :func:`resume` rebuilds a ``Trainer`` from a checkpoint, refusing
anything that would make the resumed run differ from the uninterrupted one (other data, a foreign
model, an optimizer or schedule with other settings, a changed option of ``FIXED_ON_RESUME``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import numpy as np

from ..data.checks import DataError
from ..data.fingerprint import fingerprint_differences
from ..nn.checks import SettingsError
from ..optim import optimizer_from_state, scheduler_from_state
from ..captioners.base import Captioner, captioner_from_config
from .checkpoint import CheckpointError, checkpoint_path, load_checkpoint
from .config import TrainerConfig, check_resume_options
from .randomness import warn_missing_streams


# ---------------------------------------------------------------------------- the model
def model_from_checkpoint(checkpoint: Mapping[str, Any], path) -> Captioner:
    """The captioner of ``checkpoint`` (``load_checkpoint(path)``'s content); ``CheckpointError`` naming
    ``path`` when its class, config and weights do not rebuild a model."""
    info = checkpoint["model"]
    try:
        model = captioner_from_config(info["class"], info["word_to_idx"], info["config"])
        model.load_state_dict(info["state_dict"])
    except (ValueError, TypeError, KeyError) as exc:
        raise CheckpointError(f"{path}: the stored model cannot be rebuilt from its config and weights: {exc}") from exc
    return model


def load_model(path) -> Captioner:
    """Rebuild the captioner of a checkpoint (its class, config, vocabulary and weights)."""
    return model_from_checkpoint(load_checkpoint(path), path)


def init_from_checkpoint(model, path, strict: bool = True) -> None:
    """Copy a checkpoint's weights into ``model`` (weights only: no optimizer, counters or RNG).

    This starts a *new* run from trained weights (fine-tuning); to continue an interrupted
    run exactly use ``Trainer.resume``. The vocabulary must match the model's when the
    model has one. ``strict=False`` allows missing or extra parameter names (shapes and
    dtypes are still checked).
    """
    checkpoint = load_checkpoint(path)
    info = checkpoint["model"]
    word_to_idx = getattr(model, "word_to_idx", None)
    if word_to_idx is not None and dict(word_to_idx) != info["word_to_idx"]:
        raise DataError(f"init_from_checkpoint: the vocabulary of {path} ({len(info['word_to_idx'])} words) "
                        f"differs from the model's ({len(word_to_idx)} words)")
    state = info["state_dict"]
    dtype = getattr(model, "dtype", None)
    if dtype is not None:  # a float64 model may start from float32 weights, and back
        state = {k: v.astype(dtype, copy=False) for k, v in state.items()}
    model.load_state_dict(state, strict=strict)


# ---------------------------------------------------------------------------- the trainer
def trainer_state(trainer) -> dict[str, Any]:
    """Counters, random streams, sampler, histories, best value, config and data record of ``trainer``
    (plain values and arrays)."""
    return {
        "config": trainer.config.to_dict(),
        "epoch": trainer.epoch, "iteration": trainer.iteration, "epoch_iteration": trainer.epoch_iteration,
        **trainer.randomness.state(), **trainer.sampler.state(),
        "loss_history": np.asarray(trainer.loss_history, dtype=np.float64),
        "val_loss_history": list(trainer.val_loss_history),
        "epochs": [dict(r) for r in trainer.epochs],
        **trainer.best.state(),
        "stopped_early": trainer.stopped_early, "monitor": trainer.monitor,
        "iterations_per_epoch": trainer.iterations_per_epoch,
        "data": {"num_train": trainer.num_train, "num_val": trainer.num_val,
                 "fingerprint": trainer.data_fingerprint(), "options": trainer.config.data_options},
    }


def load_trainer_state(trainer, saved: Mapping[str, Any], source="the checkpoint") -> None:
    """Restore what :func:`trainer_state` saved into ``trainer``.

    A state without the dropout stream (written before it was saved) restores everything
    else and warns when the model drops (``RuntimeWarning`` naming ``source``).
    """
    trainer.epoch, trainer.iteration = int(saved["epoch"]), int(saved["iteration"])
    trainer.epoch_iteration = int(saved["epoch_iteration"])
    warn_missing_streams(trainer.randomness.load_state(saved), trainer.model, source)
    trainer.sampler.load_state(saved, mid_epoch=trainer.epoch_iteration > 0)
    trainer.loss_history = [float(x) for x in saved["loss_history"]]
    trainer.val_loss_history = [float(x) for x in saved["val_loss_history"]]
    trainer.epochs = [dict(r) for r in saved["epochs"]]
    trainer.best.load_state(saved)
    trainer.stopped_early = bool(saved["stopped_early"])


def resume(trainer_class, path, model, data, optimizer, scheduler, *, checkpoint=None, comm=None, **overrides):
    """``Trainer.resume`` (see its docstring)."""
    if data is None:
        raise TypeError("Trainer.resume: data is required (the same data set the run was trained on)")
    path = checkpoint_path(path)        # a run folder means its checkpoint.h5 (the run continues in that folder)
    checkpoint = load_checkpoint(path) if checkpoint is None else checkpoint
    saved = checkpoint["trainer"]
    if saved is None:
        raise CheckpointError(f"{path} holds weights but no training state; start a new run from it with "
                              "init_from=... (weights only) instead of resume")
    check_resume_options(saved["config"], overrides, path, epochs_done=int(saved["epoch"]))
    if model is None:
        model = model_from_checkpoint(checkpoint, path)
    else:
        info = checkpoint["model"]
        if type(model).__name__ != info["class"] or dict(model.word_to_idx) != info["word_to_idx"] \
                or model.config() != info["config"]:
            raise SettingsError(f"Trainer.resume: the model given does not match {path} "
                                f"(checkpoint: {info['class']} {info['config']}; model: {type(model).__name__} "
                                f"{model.config()})")
        model.load_state_dict(info["state_dict"])
    opt_state, sched_state = checkpoint["optimizer"], checkpoint["scheduler"]
    if opt_state is None:
        raise CheckpointError(f"{path} holds no optimizer state; it cannot be resumed")
    if scheduler is not None and sched_state is None:
        raise SettingsError(f"Trainer.resume: a scheduler was given but {path} was saved without one")
    if optimizer is not None:       # before its state is loaded: a foreign optimizer is left untouched
        optimizer.check_params_of(model, "Trainer.resume")
    check_given_settings(optimizer, scheduler, opt_state, sched_state, path)
    try:
        if optimizer is None:
            optimizer = optimizer_from_state(opt_state, model.named_parameters())
        else:
            optimizer.load_state_dict(opt_state)
        if scheduler is None and sched_state is not None:
            scheduler = scheduler_from_state(sched_state, optimizer)
        elif scheduler is not None:
            scheduler.load_state_dict(sched_state)
    except ValueError as exc:
        raise CheckpointError(f"{path}: {exc}") from None
    # A run that wrote into a folder continues in the folder that holds its checkpoint now (it may
    # have been moved or renamed since), not in the one its config recorded.
    here = None if saved["config"].get("out_dir") is None else str(Path(path).parent)
    config = TrainerConfig.from_dict(saved["config"], **{"init_from": None, "out_dir": here,
                                                         "data_options": saved["data"].get("options"), **overrides})
    trainer = trainer_class(model, data, optimizer, scheduler, config=config, comm=comm,
                            out_dir=overrides.get("out_dir", config.out_dir))     # a RunDir given stays the caller's
    if (trainer.num_train, trainer.num_val) != (saved["data"]["num_train"], saved["data"]["num_val"]):
        raise DataError(f"Trainer.resume: the data has {trainer.num_train} train / {trainer.num_val} val "
                        f"captions, the run in {path} had {saved['data']['num_train']} / {saved['data']['num_val']}; "
                        "resume on the run's own data")
    differences = fingerprint_differences(saved["data"].get("fingerprint") or {}, trainer.data_fingerprint())
    if differences:
        raise DataError(f"Trainer.resume: the data differs from the data of the run in {path}: "
                         f"{'; '.join(differences)} (recorded data options: {saved['data'].get('options')}); "
                         "resume on the run's own data")
    try:
        load_trainer_state(trainer, saved, source=path)
    except ValueError as exc:
        raise CheckpointError(f"Trainer.resume: {path}: {exc}") from None
    trainer.last_checkpoint, trainer.last_checkpoint_epoch = Path(path), trainer.epoch
    return trainer


def check_given_settings(optimizer, scheduler, opt_state: Mapping[str, Any], sched_state: Mapping[str, Any] | None,
                         path) -> None:
    """Refuse an ``optimizer`` or ``scheduler`` given to ``Trainer.resume`` whose settings differ
    from the run's (``None``: not given, nothing to check).

    Compared: the class and every hyperparameter of each. The optimizer's ``lr`` may be the
    rate the run started with (the schedule's ``base_lr``: the script that started the run,
    run again) or its current rate; the resumed run continues at the current one either way.
    Raises ``ValueError`` naming each setting, the run's value and the one given (as
    ``--resume`` does on the command line).
    """
    differences = []
    for kind, given, saved in (("optimizer", optimizer, opt_state), ("scheduler", scheduler, sched_state)):
        if given is None or saved is None:
            continue
        if type(given).__name__ != saved.get("type"):
            differences.append(f"{kind}: the run's is {saved.get('type')}, the one given {type(given).__name__}")
            continue
        values = given.hyperparameters() if kind == "optimizer" else \
            {k: getattr(given, k) for k in given.hyperparams}
        for name, value in values.items():
            run = saved["hyperparams"].get(name)
            if kind == "optimizer" and name == "lr":
                started = (sched_state or {}).get("base_lr", run)
                if value not in (started, run):
                    now = f" ({run!r} now, after its schedule)" if run != started else ""
                    differences.append(f"{kind} lr: the run's {started!r}{now}, given {value!r}")
            elif value != run:
                differences.append(f"{kind} {name}: the run's {run!r}, given {value!r}")
    if differences:
        raise SettingsError(f"Trainer.resume: the optimizer or scheduler given differs from the run in {path}: "
                            f"{'; '.join(differences)}. A resumed run continues with the optimizer and schedule it "
                            "was started with: pass equal ones or none (they are rebuilt from the checkpoint), or "
                            "start a new run from its weights (init_from=...) with the ones you want")
