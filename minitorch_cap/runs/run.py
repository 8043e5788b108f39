"""A run from start to finish: what ``minitorch-cap train`` does, as library calls.

:func:`prepare_run` checks, claims the run folder (one :class:`~minitorch_cap.training.run_dir.RunDir`
for the whole run) and builds the ``Trainer``; :func:`finish_run` draws what follows training into the
same folder; :func:`complete_run` does the whole for a folder a kill left behind; :func:`load_run`
reads a checkpoint's model and data for ``sample`` and ``evaluate``.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable, Mapping

import attrs
import numpy as np

from ..captioners.base import Captioner, kind_of
from ..captioners.decoding import DEFAULT_MAX_LENGTH, check_decoding_memory
from ..data import check_model_data, data_fingerprint, fingerprint_differences
from ..data.files import write_json
from ..data.spec import DataError, DataShape, DataSpec
from ..evaluation.plots import plot_loss_curve
from ..evaluation.reports import caption_report, is_builtin, model_caption_accuracy, write_caption_outputs
from ..evaluation.scoring import split_images
from ..nn.checks import SettingsError, check_memory
from ..optim import Adam, ExponentialLR
from ..training import Trainer, load_checkpoint
from ..training.checkpoint import CheckpointError, checkpoint_path
from ..training.restore import model_from_checkpoint
from ..training.run_dir import LOSS_NAME, METRICS_NAME, RunDir, RunStatus
from .settings import RunSettings, check_resume_settings, data_set, model_settings, saved_settings


def plural(n: int, word: str) -> str:
    """``1 epoch``, ``3 epochs``."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def epoch_metrics(data: Mapping) -> dict:
    """The per-epoch metrics of a run: the held-out accuracy on the built-in data set."""
    return {"val_accuracy": model_caption_accuracy} if is_builtin(data) else {}


def build_model(settings: RunSettings, shape, label: Callable[[str], str] = str) -> Captioner:
    """A fresh model of ``settings`` for data of ``shape`` (:meth:`DataSpec.shape`; weights drawn from
    ``settings.training.seed``), refused by the one memory rule (``check_memory``) when its training
    step would not fit in this machine, before anything is allocated."""
    kind, sizes, t = settings.kind, settings.sizes, settings.training
    V, D, P = len(shape.word_to_idx), shape.input_dim, shape.regions or 1
    numbers = 4 * kind.parameters(sizes, V, D) + kind.activations(sizes, t.batch_size, shape.length, V, D, P)
    sized = [f.name for f in attrs.fields(type(sizes)) if f.metadata.get("rule") and f.metadata["rule"].kind is int]
    check_memory("", 4 * numbers, f"a training step of {settings.describe()} on {t.batch_size:,} captions",
                 f"give smaller sizes ({', '.join(label(k) for k in ('batch_size', *sized))})")
    return kind.build(shape.word_to_idx, D, sizes, np.random.default_rng(t.seed))


def choose_settings(given: Mapping[str, Any], data_options: Mapping[str, Any], recorded=None,
                    label: Callable[[str], str] = str) -> tuple[RunSettings, DataSpec]:
    """A new run's settings (:meth:`RunSettings.resolve`) and data: the options given on top of the
    ``recorded`` ones (a checkpoint's run) or the defaults; the built-in data as region features when
    the kind prefers them (``ModelKind.region_features``) and nothing else was asked."""
    spec = DataSpec.choose(data_options, recorded)
    settings = RunSettings.resolve(given, spec, label)
    if (spec.builtin and settings.kind.region_features and recorded is None
            and data_options.get("region_features") is None):
        spec = attrs.evolve(spec, region_features=True)
    return settings, spec


def check_features_fit(model: Captioner, spec: DataSpec, label: Callable[[str], str] = str) -> None:
    """Refuse, before any data is loaded, a model that cannot read the features ``spec`` gives
    (region features for a model of one feature vector per image, another feature size)."""
    shape = spec.shape()
    dims = (1, shape.regions, shape.input_dim) if shape.regions else (1, shape.input_dim)
    try:
        model.check_features(type(model).__name__, np.zeros(dims, dtype=model.dtype))
    except ValueError as exc:
        kind = kind_of(model).kind
        if shape.regions and not kind_of(model).reads_regions:
            raise SettingsError(f"{label('region_features')}: a {kind} model reads one feature vector per image, "
                                f"not {shape.regions} region features; drop {label('region_features')} or choose a "
                                "model that attends over regions") from None
        raise DataError(f"the {kind} model does not read {spec.describe()}: {exc}") from None


def start_run(settings: RunSettings, data: dict, out_dir, *, model: Captioner | None = None, **options) -> Trainer:
    """A new run: ``model`` (default: a fresh one of ``settings``), Adam, ExponentialLR, the Trainer.

    ``out_dir``: a path or a claimed :class:`RunDir`. ``options`` go to the ``Trainer``
    (``overwrite``, ``progress``, ``callbacks``, ``comm``, ...).
    """
    t = settings.training
    if model is None:
        model = build_model(settings, DataShape.of(data))
    optimizer = Adam(model.named_parameters(), lr=t.lr)
    scheduler = ExponentialLR(optimizer, gamma=t.lr_decay)
    options = {"verbose": False, "metrics": epoch_metrics(data), "data_options": data.get("spec"), **options}
    return Trainer(model, data, optimizer, scheduler, batch_size=t.batch_size, seed=t.seed, num_epochs=t.epochs,
                   clip_grad_norm=t.clip_grad_norm, out_dir=out_dir, **options)


@attrs.define
class PreparedRun:
    """What :func:`prepare_run` made: the ``trainer`` (new or resumed), its ``data`` and data ``spec``,
    the run folder ``out`` and its owner ``run_dir`` (``None`` on MPI ranks other than 0), the new
    run's ``settings`` (``None`` when resumed), the checkpoint ``resumed`` (or ``None``) and what
    repairing its folder found (``status``). Call :meth:`close` once it is finished."""

    trainer: Trainer
    data: dict
    spec: DataSpec
    out: Path
    run_dir: RunDir | None
    settings: RunSettings | None
    resumed: Path | None = None
    status: RunStatus | None = None

    @property
    def needs_training(self) -> bool:
        return self.trainer.epoch < self.trainer.config.num_epochs and not self.trainer.stopped_early

    def describe(self, init=None) -> list[str]:
        """What the run is about to do, in lines (what ``minitorch-cap train`` prints first)."""
        trainer, s = self.trainer, self.settings
        per_epoch = plural(trainer.iterations_per_epoch, "iteration")
        ranks = trainer.parallel.size
        parallel = [f"data-parallel: each minibatch is split over {ranks} MPI ranks; rank 0 reports and writes"]
        if self.resumed:
            lines = [f"resuming {self.resumed} at epoch {trainer.epoch}: {plural(trainer.config.num_epochs, 'epoch')} "
                     f"of {per_epoch} in all -> {self.out}"]
            if not self.needs_training:
                todo = "completing its files" if self.status is None or self.status.missing else "nothing is missing"
                lines.append(f"the run in {self.out} has all {plural(trainer.epoch, 'epoch')}: {todo}")
            return lines + parallel * (ranks > 1)
        t = s.training
        return [f"data: {self.spec.describe()}: {trainer.num_train:,} training captions, {trainer.num_val:,} "
                f"validation captions, vocabulary of {len(self.data['word_to_idx'])} words",
                *([f"note: {s.note}"] if s.note else []),
                f"training {f'from the weights of {init}' if init else 'from scratch'}: {s.describe()}, "
                f"{plural(t.epochs, 'epoch')} of {per_epoch}, batch {t.batch_size}, Adam lr {t.lr:g} "
                f"decayed by {t.lr_decay} per epoch -> {self.out}"] + parallel * (ranks > 1)

    def close(self, failed: bool = False) -> None:
        """Release the run folder (see :meth:`RunDir.close`)."""
        if self.run_dir is not None:
            self.run_dir.close(failed)


def prepare_run(given: Mapping[str, Any], data_options: Mapping[str, Any], *, resume=None, init=None, out=None,
                overwrite: bool = False, comm=None, label: Callable[[str], str] = str, data: dict | None = None,
                **trainer_options) -> PreparedRun:
    """Everything ``minitorch-cap train`` does before training, checked before any file is touched.

    ``given``: run settings the user chose (``None`` = the preset, or the checkpoint's);
    ``data_options``: :class:`DataSpec` fields given (empty: the data the resumed run recorded,
    else the built-in data). ``resume``: a run's checkpoint (or its folder) to continue or
    complete; ``init``: a checkpoint whose model starts a new run. ``out``: the run folder
    (default: the resumed run's, or the first free ``runs/DATA-MODEL[-k]``). Under MPI (``comm``)
    rank 0 alone checks and claims the folder. ``label`` names settings in messages (the command
    line passes its option names). ``data``: the data already loaded (instead of the spec's).
    Raises the library's ``UserError`` types (``SettingsError``, ``CheckpointError``,
    ``RunFolderError``, ``DataError``) naming what is wrong, with no file left behind; a
    ``KeyboardInterrupt`` while the data loads says nothing was saved.
    """
    root = comm is None or comm.Get_rank() == 0
    if overwrite and out is None:
        raise SettingsError(f"{label('overwrite')} needs {label('out')} (without it, a folder that holds no run is "
                            "chosen)")
    given, settings, checkpoint, model = dict(given), None, None, None
    if resume is not None:
        resume, checkpoint, model = open_checkpoint(resume)
        if checkpoint["trainer"] is None:
            raise CheckpointError(f"{str(resume)!r} holds weights but no training state; start a new run from it "
                                  f"with {label('init')} instead")
        check_resume_settings(checkpoint, given, resume, label=label, init_hint=f"{label('init')} {resume}")
        spec = DataSpec.choose(data_options, recorded_data(checkpoint).get("options"))
        check_features_fit(model, spec, label)
        out = Path(out or resume.parent)
    else:
        recorded = None
        if init is not None:
            init, init_checkpoint, model = open_checkpoint(init)
            check_resume_settings(init_checkpoint, given, init, model_only=True, label=label)
            given.update({k: v for k, v in saved_settings(init_checkpoint).items() if k not in given or k == "model"})
            recorded = recorded_data(init_checkpoint).get("options")
        settings, spec = choose_settings(given, data_options, recorded, label)
        if model is None:
            model = build_model(settings, spec.shape(), label)
        check_features_fit(model, spec, label)
    run_dir = None
    if root:
        run_dir = (RunDir.claim(out, overwrite=overwrite, resume_from=resume, label=label) if out is not None else
                   RunDir.claim_default(Path("runs") / f"{data_set(spec)}-{settings.model}"))
        out = run_dir.path
    if comm is not None:
        out = Path(comm.bcast(str(out) if root else None, root=0))
    try:
        try:
            data = spec.load() if data is None else data
        except KeyboardInterrupt:
            kept = f"{resume} is unchanged" if resume else "nothing was saved"
            raise KeyboardInterrupt(f"while loading the data, before training; {kept}") from None
        trainer_options.update(overwrite=overwrite, comm=comm, out_dir=run_dir or out)
        if resume is not None:
            status = run_dir.repair(checkpoint) if root else None
            if given.get("epochs") is not None:
                trainer_options["num_epochs"] = given["epochs"]
            trainer = Trainer.resume(resume, model, data=data, checkpoint=checkpoint,
                                     **{"metrics": epoch_metrics(data), **trainer_options})
            return PreparedRun(trainer, data, spec, out, run_dir, None, resume, status)
        settings = settings.fitted(spec, len(data["train_captions"]))
        trainer = start_run(settings, data, model=model, **trainer_options)
        return PreparedRun(trainer, data, spec, out, run_dir, settings)
    except BaseException:
        if run_dir is not None:
            run_dir.close(failed=True)
        raise


def finish_run(run: PreparedRun, *, max_length: int | None = None, num_images: int = 16,
               started: float | None = None) -> dict | None:
    """After training: draw the pictures and ``metrics.json`` into the run's folder when training
    ran or any of them is missing (:func:`write_run_outputs`); returns the metrics (``None`` when
    nothing needed drawing, or on an MPI rank other than 0)."""
    status = run.status         # what the folder held before this command (None: a new run)
    if run.run_dir is None or (status is not None and status.complete and not status.missing
                               and run.trainer.epoch == status.epoch):      # nothing trained, nothing missing
        return None
    return write_run_outputs(run.trainer, run.data, run.out, max_length=max_length, num_images=num_images,
                             started=started)


def result_line(metrics: Mapping[str, Any]) -> str:
    """The one line that says how a run ended, from :func:`write_run_outputs`' metrics: the held-out
    accuracy on the built-in data, else the losses."""
    loss = f"last-epoch training loss {metrics['final_loss']:.3f}"
    if metrics["final_val_loss"] is not None:
        loss += f", validation loss {metrics['final_val_loss']:.3f}"
    if "val_accuracy" in metrics:
        return (f"held-out accuracy: {100 * metrics['val_accuracy']:.1f}% of {metrics['val_images']} validation "
                f"images captioned fully correctly ({loss})")
    return f"done: {loss}; captions of {len(metrics['report']['generated'])} validation images written"


def report_images(data: dict) -> int | None:
    """How many validation images a run's caption report decodes: all on the built-in data (its
    held-out accuracy), the first 200 on COCO-format data (``None``: all)."""
    return None if is_builtin(data) else 200


def check_outputs_fit(data: dict, max_length: int | None, label: Callable[[str], str] = str) -> None:
    """Refuse, before training, a ``max_length`` whose caption report (:func:`write_run_outputs`)
    would not fit in memory (it was found only after the last epoch)."""
    images = len(split_images(data, "val", report_images(data)))
    check_decoding_memory(label("max_length"), images, max_length or DEFAULT_MAX_LENGTH)


def write_run_outputs(trainer: Trainer, data: dict, out_dir, *, max_length: int | None = None,
                      num_images: int = 16, started: float | None = None, title: str | None = None) -> dict:
    """Draw what follows training into ``out_dir``: ``loss.png``, the caption report's pictures and
    ``captions.json`` (:func:`minitorch_cap.evaluation.reports.write_caption_outputs`) and ``metrics.json``.

    Returns the metrics written: ``final_loss`` (the last epoch's mean training loss),
    ``final_val_loss``, ``last_iteration_loss``, ``iterations``, ``epochs``, ``seconds``, the
    run's ``settings``, the data's ``spec`` and, on the built-in data set, ``val_accuracy``,
    ``val_images`` and ``val_correct`` (the figure every command reports).
    """
    out_dir = Path(out_dir)
    model = trainer.model
    kind = kind_of(model).kind
    spec = DataSpec.from_dict(data.get("spec", {}))
    plot_loss_curve(trainer.history, out_dir / LOSS_NAME, title=f"{kind.upper()} training loss ({spec.describe()})")
    model.eval()
    try:
        report = caption_report(model, data, "val", max_length=max_length, with_references=True,
                                max_images=report_images(data))
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
    write_json(out_dir / METRICS_NAME, metrics)
    metrics["report"] = report
    return metrics


def complete_run(folder, data: dict | None = None, *, max_length=None, num_images: int = 16,
                 **options) -> tuple[RunStatus, dict | None]:
    """Bring a run folder, killed at any point, to the state of an uninterrupted run, holding it throughout.

    Repairs ``history.json``/``best.h5`` from the checkpoint, resumes training when epochs are
    missing, and draws the pictures and ``metrics.json`` when any report file is missing or
    training ran. ``data``: the run's (default: loaded from the spec its checkpoint records);
    ``options`` go to the resumed ``Trainer``. Returns the folder's status and the metrics
    written (``None`` when nothing was drawn).
    """
    run = prepare_run({}, {}, resume=Path(folder) / "checkpoint.h5", data=data, **options)
    try:
        if run.needs_training:
            run.trainer.train()
        metrics = finish_run(run, max_length=max_length, num_images=num_images)
    except BaseException:
        run.close(failed=True)
        raise
    run.close()
    return attrs.evolve(run.status, complete=True, epoch=run.trainer.epoch, missing=()), metrics


def load_run(path, data_options: Mapping[str, Any] | None = None, label: Callable[[str], str] = str):
    """A checkpoint's model and data, read once: ``(checkpoint, model, data, spec)``.

    The data is the one its run recorded unless ``data_options`` (:class:`DataSpec` fields)
    are given; a model that does not read that data (vocabulary, feature size) raises
    ``DataError`` saying which options to give (named as ``label(name)``).
    """
    path, checkpoint, model = open_checkpoint(path)
    recorded = recorded_data(checkpoint)
    given = {k: v for k, v in (data_options or {}).items() if v is not None}
    spec = DataSpec.choose(given, recorded.get("options"))
    data = spec.load()
    hint = f"Give the data the run was trained on ({', '.join(label(f.name) for f in attrs.fields(DataSpec))})"
    try:
        check_model_data(model, data, f"the checkpoint and {spec.describe()}")
    except ValueError as exc:
        raise DataError(f"{exc}. {hint}, or no data option to use the data the checkpoint records") from None
    if not given and recorded.get("options") is None and recorded.get("fingerprint"):
        # a run of a script records no data options: guessing the defaults must not score other data silently
        differences = fingerprint_differences(recorded["fingerprint"], data_fingerprint(data))
        if differences:
            raise DataError(f"{path} records no data options and {spec.describe()} with the default options is "
                            f"not its data ({'; '.join(differences)}). {hint}")
    return checkpoint, model, data, spec


def open_checkpoint(path) -> tuple[Path, dict, Captioner]:
    """``(path, checkpoint, model)`` for a checkpoint or run folder ``path`` (:func:`checkpoint_path`), read once."""
    path = checkpoint_path(path)
    checkpoint = load_checkpoint(path)
    return path, checkpoint, model_from_checkpoint(checkpoint, path)


def recorded_data(checkpoint: Mapping[str, Any]) -> dict:
    """What a checkpoint's run recorded of its data (``options``, ``fingerprint``, ...; {} for weights only)."""
    return (checkpoint["trainer"] or {}).get("data") or {}
