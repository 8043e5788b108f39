"""Runs: everything ``minitorch-cap train`` does, as library calls a script can make.

    spec = DataSpec()                                   # the built-in data set
    data = spec.load()
    settings = RunSettings.resolve({"model": "gru"}, spec)   # the rest from the data's preset
    trainer = start_run(settings, data, "runs/mine")    # model, Adam, ExponentialLR, Trainer
    trainer.train()
    metrics = write_run_outputs(trainer, data, "runs/mine")   # loss.png, captions.*, metrics.json

* :data:`PRESETS`: the training presets (the built-in data set's measured recommendation,
  and the course's settings for COCO).
* :class:`RunSettings` and :func:`check_resume_settings`: what a run is made of, and the one
  rule of what may not change when it is resumed (everything but the number of epochs).
* :func:`start_run` / :func:`resume_run` build the ``Trainer``; :func:`write_run_outputs`
  draws the files that follow training; :func:`complete_run` brings any killed run's folder
  to the state an uninterrupted run leaves.

This module is long (about 410 lines) because it is the whole ``train`` command as library
calls (presets, settings, the resume rule, start, resume, complete, outputs); each function
is short.

"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Mapping

import attrs
import numpy as np

from .captioners.base import Captioner
from .data import DEFAULT_TRAINING
from .data.spec import DataSpec
from .captioners.recurrent import CaptioningModel
from .nn.checks import float_option, int_option, option_validator
from .optim import Adam, ExponentialLR
from .evaluation.reports import caption_report, is_builtin, model_caption_accuracy, write_caption_outputs
from .training import Trainer, load_checkpoint
from .data.files import write_json
from .training.run_dir import RunLock, RunStatus
from .training.run_dir import complete_run as complete_run_files

#: Settings used when an option is not given. Built-in data: its measured recommendation
#: (``minitorch_cap.data.DEFAULT_TRAINING``); COCO: the course's.
PRESETS = {
    "shapes": {"model": DEFAULT_TRAINING["cell_type"], "epochs": DEFAULT_TRAINING["num_epochs"],
               "batch_size": DEFAULT_TRAINING["batch_size"], "lr": DEFAULT_TRAINING["learning_rate"],
               "lr_decay": DEFAULT_TRAINING["lr_decay"], "hidden_dim": DEFAULT_TRAINING["hidden_dim"],
               "wordvec_dim": DEFAULT_TRAINING["wordvec_dim"]},
    "coco": {"model": "lstm", "epochs": 1, "batch_size": 100, "lr": 5e-3, "lr_decay": 0.95,
             "hidden_dim": 512, "wordvec_dim": 256},
}


def _recurrent(cell: str):
    def build(data: Mapping, settings: "RunSettings", rng) -> Captioner:
        return CaptioningModel(data["word_to_idx"], input_dim=data["train_features"].shape[-1],
                               wordvec_dim=settings.wordvec_dim, hidden_dim=settings.hidden_dim,
                               cell_type=cell, rng=rng)
    return build


#: ``model="transformer"``: its sizes, and the optimisation settings that replace the preset's
#: above. Built-in data (with region features): 99.6-99.8% held-out accuracy for weight/data
#: seeds 0 and 1 (5 and 10 epochs, about 7 s each on two idle cores); COCO: the course's model.
TRANSFORMER_PRESETS = {
    "shapes": {"num_heads": 4, "num_layers": 2, "dim_feedforward": 256, "dropout": 0.0, "wordvec_dim": 64,
               "lr": 1e-3, "epochs": 10, "lr_decay": 0.85},
    "coco": {"num_heads": 4, "num_layers": 2, "dim_feedforward": 2048, "dropout": 0.1, "wordvec_dim": 256,
             "lr": 1e-3, "epochs": 1, "lr_decay": 1.0},
}


def _transformer(data: Mapping, settings: "RunSettings", rng) -> Captioner:
    from .captioners.transformer import CaptioningTransformer
    return CaptioningTransformer(data["word_to_idx"], data["train_features"].shape[-1], settings.wordvec_dim,
                                 num_heads=settings.num_heads, num_layers=settings.num_layers,
                                 dropout=settings.dropout, rng=rng, dim_feedforward=settings.dim_feedforward)


#: Model kinds by name -> ``build(data, settings, rng)``; another captioner registers here.
MODEL_BUILDERS = {cell: _recurrent(cell) for cell in ("rnn", "lstm", "gru")}
MODEL_BUILDERS["transformer"] = _transformer


def model_settings(model: Captioner) -> dict[str, Any]:
    """A model's kind and size as run settings: ``{"model": "lstm", "hidden_dim": 128, ...}``."""
    config = dict(model.config())
    kind = config.pop("cell_type", None) or getattr(model, "kind", type(model).__name__)
    return {"model": kind, **config}


def _model_kind(instance, attribute, value):
    if value not in MODEL_BUILDERS:
        raise ValueError(f"RunSettings: model must be one of {sorted(MODEL_BUILDERS)}, got {value!r}")


@attrs.frozen(kw_only=True)
class RunSettings:
    """The model and optimisation settings of a run (Adam with an exponential decay per epoch)."""

    model: str = attrs.field(validator=_model_kind)
    hidden_dim: int = attrs.field(validator=option_validator(int_option, 1))
    wordvec_dim: int = attrs.field(validator=option_validator(int_option, 1))
    epochs: int = attrs.field(validator=option_validator(int_option, 1))
    batch_size: int = attrs.field(validator=option_validator(int_option, 1))
    lr: float = attrs.field(validator=option_validator(float_option, 0.0, low_open=True))
    lr_decay: float = attrs.field(validator=option_validator(float_option, 0.0, low_open=True))
    clip_grad_norm: float | None = attrs.field(default=None, validator=attrs.validators.optional(
        option_validator(float_option, 0.0, low_open=True)))
    seed: int = attrs.field(default=0, validator=option_validator(int_option, 0))
    # the Transformer's sizes (None for a recurrent model)
    num_heads: int | None = attrs.field(default=None, validator=attrs.validators.optional(
        option_validator(int_option, 1)))
    num_layers: int | None = attrs.field(default=None, validator=attrs.validators.optional(
        option_validator(int_option, 1)))
    dim_feedforward: int | None = attrs.field(default=None, validator=attrs.validators.optional(
        option_validator(int_option, 1)))
    dropout: float | None = attrs.field(default=None, validator=attrs.validators.optional(
        option_validator(float_option, 0.0, 1.0, high_open=True)))

    @classmethod
    def resolve(cls, given: Mapping[str, Any], spec: DataSpec) -> "RunSettings":
        """The settings ``given`` (``None`` values ignored), completed with the data's preset
        (and, for ``model="transformer"``, with :data:`TRANSFORMER_PRESETS`)."""
        kind = "shapes" if spec.builtin else "coco"
        preset = dict(PRESETS[kind])
        given = {k: v for k, v in given.items() if v is not None}
        if given.get("model") == "transformer":
            preset.update(TRANSFORMER_PRESETS[kind])
        return cls(**{**preset, **given})

    @property
    def sizes(self) -> str:
        """The model's sizes as text: ``H=128, W=64`` or the Transformer's."""
        if self.model == "transformer":
            return (f"{self.num_layers} layers, {self.num_heads} heads, W={self.wordvec_dim}, feed-forward "
                    f"{self.dim_feedforward}, dropout {self.dropout:g}")
        return f"H={self.hidden_dim}, W={self.wordvec_dim}"

    def describe(self, iterations_per_epoch: int) -> str:
        return (f"{self.model} {self.sizes}, {self.epochs} epoch(s) of "
                f"{iterations_per_epoch} iterations, batch {self.batch_size}, Adam lr {self.lr:g} decayed by "
                f"{self.lr_decay} per epoch")


MODEL_SETTINGS = ("model", "hidden_dim", "wordvec_dim", "num_heads", "num_layers", "dim_feedforward", "dropout")


def saved_settings(checkpoint: Mapping[str, Any]) -> dict[str, Any]:
    """The settings a checkpoint records: its model's (kind and sizes) and, for a run's, the rest."""
    info = checkpoint["model"]
    config = dict(info["config"])
    settings = {"model": config.pop("cell_type", None) or _kind_of_class(info["class"]), **config}
    state, schedule = checkpoint.get("trainer"), checkpoint.get("scheduler") or {}
    if state is not None:
        settings.update(batch_size=state["config"]["batch_size"], seed=state["config"]["seed"],
                        clip_grad_norm=state["config"]["clip_grad_norm"], lr=schedule.get("base_lr"),
                        lr_decay=schedule.get("hyperparams", {}).get("gamma"), epochs=state["config"]["num_epochs"])
    return settings


def _kind_of_class(class_name: str) -> str:
    from .captioners.base import CAPTIONERS
    return getattr(CAPTIONERS.get(class_name), "kind", class_name)


def check_resume_settings(checkpoint: Mapping[str, Any], given: Mapping[str, Any], path, *,
                          only: tuple[str, ...] | None = None, label=str, init_hint: str | None = None) -> None:
    """The one rule of what a resumed run keeps: every setting but ``epochs`` (or those in ``only``),
    and ``epochs``, the new total, is at least the epochs done.

    ``given``: the settings a user passed (``None`` = not given). A value that differs from
    the checkpoint's raises ``ValueError`` naming the setting (as ``label(name)``: the command
    line passes its option names), both values and the way out (``init_hint``: how to start a
    new run from the weights). With ``only=MODEL_SETTINGS`` it is the rule of a new run
    started from the checkpoint's weights (``init``): the model is the checkpoint's.
    """
    saved = saved_settings(checkpoint)
    init_hint = init_hint or f"init={str(path)!r}"
    epochs = given.get("epochs")
    if only is None and epochs is not None and epochs < int(checkpoint["trainer"]["epoch"]):
        done = int(checkpoint["trainer"]["epoch"])
        raise ValueError(f"epochs {epochs} is fewer than the {done} the run in {path} has done; give at least "
                         f"{done} (the total), or none to keep the run's own number")
    for name, value in given.items():
        if name == "epochs" or value is None or name not in saved or value == saved[name]:
            continue
        if only is not None and name not in only:
            continue
        if only is not None:
            raise ValueError(f"{label(name)} {value} differs from the checkpoint's {saved[name]}: a run started "
                             f"from the weights of {path} has its model; drop {label(name)}, or train a new model")
        raise ValueError(f"{label(name)} {value} differs from the run's {saved[name]}: a resumed run continues "
                         "with the model, optimizer, schedule, batch size and random state it was started with; "
                         f"drop {label(name)}, or start a new run from its weights with {init_hint}")


def epoch_metrics(data: Mapping) -> dict:
    """The per-epoch metrics of a run: the held-out accuracy on the built-in data set."""
    return {"val_accuracy": model_caption_accuracy} if is_builtin(data) else {}


def start_run(settings: RunSettings, data: dict, out_dir, *, init=None, init_checkpoint=None, **options) -> Trainer:
    """A new run: the model (or the model of checkpoint ``init``), Adam, ExponentialLR, the Trainer.

    ``init_checkpoint``: ``init``'s content when already read. ``options`` go to the
    ``Trainer`` (``overwrite``, ``progress``, ``callbacks``, ...).
    """
    if init is not None:
        from .training.checkpoint import _model_from
        model = _model_from(load_checkpoint(init) if init_checkpoint is None else init_checkpoint, init)
    else:
        model = MODEL_BUILDERS[settings.model](data, settings, np.random.default_rng(settings.seed))
    optimizer = Adam(model.named_parameters(), lr=settings.lr)
    scheduler = ExponentialLR(optimizer, gamma=settings.lr_decay)
    options = {"verbose": False, "metrics": epoch_metrics(data), "data_options": data.get("spec"), **options}
    return Trainer(model, data, optimizer, scheduler, batch_size=settings.batch_size, seed=settings.seed,
                   num_epochs=settings.epochs, clip_grad_norm=settings.clip_grad_norm,
                   out_dir=None if out_dir is None else str(out_dir), **options)


def resume_run(path, data: dict, *, given: Mapping[str, Any] | None = None, checkpoint=None, **options) -> Trainer:
    """Continue the run of checkpoint ``path`` (read once; pass ``checkpoint`` if already loaded).

    ``given`` settings must agree with the run's (:func:`check_resume_settings`);
    ``given["epochs"]`` (if any) is the new total. ``options`` go to ``Trainer.resume``.
    """
    checkpoint = load_checkpoint(path) if checkpoint is None else checkpoint
    if checkpoint["trainer"] is None:
        raise ValueError(f"{path} holds weights but no training state; start a new run from it (init) instead")
    given = dict(given or {})
    check_resume_settings(checkpoint, given, path)
    if given.get("epochs") is not None:
        options["num_epochs"] = given["epochs"]
    options = {"metrics": epoch_metrics(data), **options}
    return Trainer.resume(path, data=data, checkpoint=checkpoint, **options)


def write_run_outputs(trainer: Trainer, data: dict, out_dir, *, max_length: int | None = None,
                      num_images: int = 16, started: float | None = None, title: str | None = None) -> dict:
    """Draw what follows training into ``out_dir``: ``loss.png``, the caption report's pictures and
    ``captions.json`` (:func:`minitorch_cap.evaluation.reports.write_caption_outputs`) and ``metrics.json``.

    Returns the metrics written: ``final_loss`` (the last epoch's mean training loss),
    ``final_val_loss``, ``last_iteration_loss``, ``iterations``, ``epochs``, ``seconds``, the
    run's ``settings``, the data's ``spec`` and, on the built-in data set, ``val_accuracy``,
    ``val_images`` and ``val_correct`` (the figure every command reports).
    """
    from .evaluation.plots import plot_loss_curve

    out_dir = Path(out_dir)
    model = trainer.model
    kind = model_settings(model)["model"]
    spec = DataSpec.from_dict(data.get("spec", {}))
    plot_loss_curve(trainer.history, out_dir / "loss.png", title=f"{kind.upper()} training loss ({spec.describe()})")
    model.eval()
    try:
        report = caption_report(model, data, "val", max_length=max_length, with_references=True,
                                max_images=None if is_builtin(data) else 200)
    finally:
        model.train()
    write_caption_outputs(report, data, out_dir, num_images=num_images,
                          title=title or f"{kind.upper()} after {trainer.iteration} iterations", model=model)
    epochs = trainer.epochs
    metrics = {
        "final_loss": epochs[-1]["train_loss"] if epochs else None,
        "final_val_loss": trainer.val_loss_history[-1] if trainer.val_loss_history else None,
        "last_iteration_loss": trainer.loss_history[-1] if trainer.loss_history else None,
        "iterations": trainer.iteration,
        "epochs": trainer.epoch,
        "train_seconds": round(sum(r.get("seconds", 0.0) for r in epochs), 2),
        "settings": {**model_settings(model), "batch_size": trainer.config.batch_size,
                     "seed": trainer.config.seed, "clip_grad_norm": trainer.config.clip_grad_norm},
        "data": spec.to_dict(),
    }
    if "accuracy" in report:
        metrics.update(val_accuracy=report["accuracy"], val_images=len(report["correct"]),
                       val_correct=int(sum(report["correct"])))
    if started is not None:
        metrics["total_seconds"] = round(time.perf_counter() - started, 2)
    write_json(out_dir / "metrics.json", metrics)
    metrics["report"] = report
    return metrics


def complete_run(folder, data: dict | None = None, *, trainer: Trainer | None = None, max_length=None,
                 num_images: int = 16, started: float | None = None, **options) -> tuple[RunStatus, dict | None]:
    """Bring a run folder, killed at any point, to the state of an uninterrupted run.

    Repairs ``history.json``/``best.h5`` from the checkpoint, resumes training when epochs
    are missing, and draws the pictures and ``metrics.json`` when any report file is missing
    or training just ran. ``data``: the run's (default: reloaded from the spec its checkpoint
    records); ``trainer``: the run's trainer when the caller has it (after ``train()``).
    Returns the folder's status and the metrics written (``None`` when nothing was drawn).
    """
    folder = Path(folder)
    status = complete_run_files(folder)
    if status.checkpoint is None:
        raise ValueError(f"{folder} has no checkpoint.h5: the run never reached its first checkpoint; start it again")
    if trainer is None or not status.complete:
        checkpoint = load_checkpoint(status.checkpoint)
        data = data if data is not None else data_of_checkpoint(checkpoint)
        trainer = resume_run(status.checkpoint, data, checkpoint=checkpoint, **options)
        if not status.complete:
            trainer.train()
            status = complete_run_files(folder)
        elif not status.missing:
            return status, None
    with RunLock(folder):       # one writer at a time, pictures included
        return status, write_run_outputs(trainer, data, folder, max_length=max_length, num_images=num_images,
                                         started=started)


def data_of_checkpoint(checkpoint: Mapping[str, Any], override: DataSpec | None = None) -> dict:
    """The data a checkpoint's run used (its recorded :class:`DataSpec`), or ``override``.

    A checkpoint without a record (written by 0.1.0, or by a script) gets the built-in data's defaults.
    """
    if override is not None:
        return override.load()
    recorded = ((checkpoint.get("trainer") or {}).get("data") or {}).get("options")
    return DataSpec.from_dict(recorded or {}).load()


@attrs.frozen
class PreparedRun:
    """What :func:`prepare_run` made: the ``trainer`` (new or resumed), its ``data`` and data ``spec``,
    the run folder ``out``, the ``settings`` (a new run's) and the ``checkpoint`` path resumed (or None)."""

    trainer: Trainer
    data: dict
    spec: DataSpec
    out: Path | None
    settings: RunSettings | None
    resumed: Path | None


def prepare_run(given: Mapping[str, Any], data_options: Mapping[str, Any], *, resume=None, init=None, out=None,
                overwrite: bool = False, comm=None, label=str, **trainer_options) -> PreparedRun:
    """Everything ``minitorch-cap train`` does before training, checked before any file is touched.

    ``given``: run settings the user chose (``None`` = the preset, or the checkpoint's);
    ``data_options``: :class:`DataSpec` fields given (empty: the data the resumed run recorded,
    else the built-in data). ``resume``: a run's checkpoint (or its folder) to continue or
    complete; ``init``: a checkpoint whose model starts a new run. ``out``: the run folder
    (default: the resumed run's, or the first free ``runs/shapes-MODEL[-k]``, claimed
    atomically). Under MPI (``comm``) rank 0 alone checks and claims the folder.
    ``label`` names settings in messages (the command line passes its option names).
    Raises ``ValueError``/``OSError`` (``CheckpointError``, ``RunFolderError``, ``DataError``)
    naming what is wrong; a ``KeyboardInterrupt`` while the data loads says nothing was saved.
    """
    from .training import check_run_dir, claim_default_run_dir

    root = comm is None or comm.Get_rank() == 0
    given, settings, init_checkpoint = dict(given), None, None
    if resume is not None:
        resume = checkpoint_path(resume)
        checkpoint = load_checkpoint(resume)
        if checkpoint["trainer"] is None:
            raise ValueError(f"{str(resume)!r} holds weights but no training state; start a new run from it instead")
        check_resume_settings(checkpoint, given, resume, label=label, init_hint=f"{label('init')} {resume}")
        out = Path(out or resume.parent)
        if root:
            check_run_dir(out, overwrite=overwrite, resume_from=resume)
        spec = DataSpec.choose(data_options, checkpoint["trainer"]["data"].get("options"))
    else:
        if init is not None:
            init = checkpoint_path(init)
            init_checkpoint = load_checkpoint(init)     # readable, and its model agrees with the settings given
            check_resume_settings(init_checkpoint, given, init, only=MODEL_SETTINGS, label=label)
            given.update({k: v for k, v in saved_settings(init_checkpoint).items() if k in MODEL_SETTINGS})
        spec = DataSpec.choose(data_options)
        settings = RunSettings.resolve(given, spec)
        if root:
            out = (check_run_dir(out, overwrite=overwrite) if out is not None else
                   claim_default_run_dir(Path("runs") / f"{'shapes' if spec.builtin else 'coco'}-{settings.model}"))
        if comm is not None:
            out = Path(comm.bcast(str(out) if root else None, root=0))
    try:
        data = spec.load()
    except KeyboardInterrupt:
        kept = f"{resume} is unchanged" if resume else "nothing was saved"
        raise KeyboardInterrupt(f"while loading the data, before training; {kept}") from None
    trainer_options.update(overwrite=overwrite, comm=comm)
    if resume is not None:
        if given.get("epochs") is not None:     # the settings were checked above, before any work
            trainer_options["num_epochs"] = given["epochs"]
        trainer = resume_run(resume, data, checkpoint=checkpoint, out_dir=str(out), **trainer_options)
    else:
        trainer = start_run(settings, data, out, init=init, init_checkpoint=init_checkpoint, **trainer_options)
    return PreparedRun(trainer, data, spec, out, settings, resume)


def load_run(path, data_options: Mapping[str, Any] | None = None):
    """A checkpoint's model and data, read once: ``(checkpoint, model, data, spec)``.

    The data is the one its run recorded unless ``data_options`` (:class:`DataSpec` fields)
    are given; a model that does not read that data (vocabulary, feature size) raises
    ``ValueError`` saying which options to give.
    """
    from .data import check_model_data, data_fingerprint, fingerprint_differences
    from .training.checkpoint import _model_from

    path = checkpoint_path(path)
    checkpoint = load_checkpoint(path)
    model = _model_from(checkpoint, path)
    recorded = (checkpoint["trainer"] or {}).get("data") or {}
    given = {k: v for k, v in (data_options or {}).items() if v is not None}
    spec = DataSpec.choose(given, recorded.get("options"))
    data = spec.load()
    hint = ("Give the data the run was trained on (--data-dir, --max-train, --max-val, --data-seed, --no-pca, "
            "--region-features)")
    try:
        check_model_data(model, data, f"the checkpoint and {spec.describe()}")
    except ValueError as exc:
        raise ValueError(f"{exc}. {hint}, or no data option to use the data the checkpoint records") from None
    if not given and recorded.get("options") is None and recorded.get("fingerprint"):
        # a run of a script records no data options: guessing the defaults must not score other data silently
        differences = fingerprint_differences(recorded["fingerprint"], data_fingerprint(data))
        if differences:
            raise ValueError(f"{path} records no data options and {spec.describe()} with the default options is "
                             f"not its data ({'; '.join(differences)}). {hint}")
    return checkpoint, model, data, spec


def checkpoint_path(path) -> Path:
    """``path``, or ``path/checkpoint.h5`` for a run folder; ``FileNotFoundError`` saying how to get one."""
    path = Path(path)
    if path.is_dir():
        path = path / "checkpoint.h5"
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {str(path)!r} does not exist (train one with 'minitorch-cap train "
                                "--out DIR', which writes DIR/checkpoint.h5)")
    return path
