"""Run settings: a model kind, its settings and the training settings, completed from presets.

Everything here is derived from the model-kind declarations of the captioners
(:class:`~minitorch_cap.captioners.base.ModelKind`: name, settings class, presets per data set)
and from :class:`TrainingSettings`; nothing names a kind. :func:`check_resume_settings` is the one
rule of what may not change when a run is resumed or its weights start a run.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Mapping

import attrs

from ..captioners.base import KINDS, ModelKind, kind_of
from ..nn.checks import SettingsError, setting
from ..training.config import FIXED_ON_RESUME, check_resume_options


@attrs.frozen(kw_only=True)
class TrainingSettings:
    """How a run trains its model: Adam with an exponential decay per epoch (CS231n's ``lr_decay``)."""

    epochs: int = setting(int, low=1, metavar="E", help="number of epochs in all")
    batch_size: int = setting(int, low=1, metavar="B", help="captions per minibatch")
    lr: float = setting(float, low=0.0, low_open=True, metavar="RATE", help="Adam learning rate")
    lr_decay: float = setting(float, low=0.0, high=1.0, low_open=True, metavar="G",
                              help="multiply the rate by G after every epoch")
    clip_grad_norm: float | None = setting(float, None, low=0.0, low_open=True, optional=True, metavar="NORM",
                                           help="clip the global gradient norm to NORM (default: no clipping)")
    seed: int = setting(int, 0, low=0, metavar="S", help="seed of the initial weights and the minibatch order")


#: Training presets per data set (a kind's ``presets`` may override them): the built-in data's
#: measured recommendation (3,200 Adam steps of 50 captions) and the course's settings for COCO.
TRAINING_PRESETS = {"shapes": {"epochs": 8, "batch_size": 50, "lr": 5e-3, "lr_decay": 0.85},
                    "coco": {"epochs": 1, "batch_size": 100, "lr": 5e-3, "lr_decay": 0.95}}
#: On COCO-format data, a preset number of epochs is raised to give at least this many iterations
#: (COCO itself has 4,000 per epoch at the preset batch; the built-in run has 3,200).
MIN_ITERATIONS = 1000

TRAINING_FIELDS = tuple(f.name for f in attrs.fields(TrainingSettings))


def data_set(spec) -> str:
    """The presets' name of the data a :class:`~minitorch_cap.data.spec.DataSpec` reads."""
    return "shapes" if spec.builtin else "coco"


def default_kind() -> str:
    """The kind a run uses when none is given (the one declared ``default``)."""
    return next(name for name, kind in KINDS.items() if kind.default)


def model_fields() -> dict[str, tuple[attrs.Attribute, list[str]]]:
    """Every model setting by name: its attrs field and the kinds that take it, in declaration order."""
    fields: dict[str, tuple[attrs.Attribute, list[str]]] = {}
    for name, kind in KINDS.items():
        for field in attrs.fields(kind.settings):
            fields.setdefault(field.name, (field, []))[1].append(name)
    return fields


def with_presets(help: str, name: str, kinds, default=None) -> str:
    """``help`` followed by setting ``name``'s presets (built-in data/COCO) for ``kinds``, the kinds of
    equal presets together: ``... (built-in/COCO default: rnn, lstm, gru: 8/1; transformer: 10/1)``;
    only ``(default: X)`` when no preset differs from the setting's ``default``."""
    groups: dict[tuple, list[str]] = {}
    for kind in kinds:
        values = tuple(KINDS[kind].presets.get(data, {}).get(name, TRAINING_PRESETS[data].get(name, default))
                       for data in ("shapes", "coco"))
        groups.setdefault(values, []).append(kind)
    if list(groups) == [(default, default)]:
        return help if default is None else f"{help} (default: {default})"
    text = "; ".join(("" if len(groups) == 1 else f"{', '.join(names)}: ") + "/".join(
        f"{v:g}" if isinstance(v, float) else str(v) for v in values) for values, names in groups.items())
    return f"{help} (built-in/COCO default: {text})"


def setting_names() -> tuple[str, ...]:
    """Every run setting's name: ``model``, the kinds' settings, the training settings."""
    return ("model", *model_fields(), *TRAINING_FIELDS)


def get_kind(name) -> type[ModelKind]:
    if name not in KINDS:
        raise SettingsError(f"model must be one of {', '.join(sorted(KINDS))}, got {name!r}")
    return KINDS[name]


@attrs.frozen
class RunSettings:
    """The settings of a run: ``model`` (a kind's name), ``sizes`` (an instance of the kind's settings
    class) and ``training`` (:class:`TrainingSettings`). ``note``: what :meth:`fitted` changed, or ''."""

    model: str = attrs.field(validator=lambda _, __, value: get_kind(value))
    sizes: Any
    training: TrainingSettings
    note: str = ""
    preset_epochs: bool = False

    @property
    def kind(self) -> type[ModelKind]:
        return KINDS[self.model]

    @classmethod
    def resolve(cls, given: Mapping[str, Any], spec, label: Callable[[str], str] = str) -> "RunSettings":
        """The settings ``given`` (``None`` values ignored), completed with the presets of the data set
        (:func:`data_set`) and of the kind. A setting the chosen kind does not take raises
        :class:`SettingsError` naming it (as ``label(name)``) and the kinds that do take it."""
        given = {k: v for k, v in given.items() if v is not None}
        name = given.pop("model", None) or default_kind()
        kind = get_kind(name)
        own = {f.name for f in attrs.fields(kind.settings)}
        refuse_foreign(given, name, own | set(TRAINING_FIELDS), label)
        data = data_set(spec)
        values = {**TRAINING_PRESETS[data], **kind.preset(data, given), **given}
        training = TrainingSettings(**{k: values[k] for k in TRAINING_FIELDS if k in values})
        return cls(name, kind.settings(**{k: values[k] for k in own if k in values}), training, preset_epochs="epochs" not in given)

    def fitted(self, spec, num_train: int) -> "RunSettings":
        """These settings for ``num_train`` training captions: on COCO-format data, preset epochs (not
        given ones) raised to at least :data:`MIN_ITERATIONS` iterations, with a ``note`` saying so."""
        t = self.training
        per_epoch = max(num_train // t.batch_size, 1)
        if not self.preset_epochs or spec.builtin or per_epoch * t.epochs >= MIN_ITERATIONS:
            return self
        epochs = math.ceil(MIN_ITERATIONS / per_epoch)
        note = (f"{num_train:,} training captions make {per_epoch} iterations of {t.batch_size} per epoch: "
                f"{epochs} epochs instead of the preset {t.epochs}, for at least {MIN_ITERATIONS:,} iterations "
                "(give the number of epochs to choose)")
        return attrs.evolve(self, training=attrs.evolve(t, epochs=epochs), note=note)

    def as_dict(self) -> dict[str, Any]:
        """Flat: ``{"model": "lstm", "hidden_dim": 128, ..., "epochs": 8, ...}`` (what ``metrics.json`` records)."""
        return {"model": self.model, **attrs.asdict(self.sizes), **attrs.asdict(self.training)}

    def describe(self) -> str:
        """``lstm (hidden_dim=128, wordvec_dim=64)``."""
        sizes = attrs.asdict(self.sizes).items()
        return f"{self.model} ({', '.join(f'{k}={v:g}' if isinstance(v, float) else f'{k}={v}' for k, v in sizes)})"


def refuse_foreign(given: Mapping[str, Any], model: str, allowed, label: Callable[[str], str] = str) -> None:
    """Raise :class:`SettingsError` for a setting in ``given`` that a ``model`` run does not take."""
    foreign = [k for k, v in given.items() if v is not None and k not in allowed and k != "model"]
    if foreign:
        takers = model_fields()
        what = "; ".join(f"{label(k)} applies to {', '.join(takers[k][1]) if k in takers else 'no model'} models"
                         for k in foreign)
        raise SettingsError(f"{what}, not to {model}: drop {', '.join(label(k) for k in foreign)}")


def model_settings(model) -> dict[str, Any]:
    """A model's kind and configuration as run settings: ``{"model": "lstm", "input_dim": 49, "hidden_dim": 128, ...}``."""
    return {"model": kind_of(model).kind, **{k: v for k, v in model.config().items() if k != "cell_type"}}


def saved_settings(checkpoint: Mapping[str, Any]) -> dict[str, Any]:
    """The settings a checkpoint records: its model's kind and settings and, for a run's, the training ones."""
    info = checkpoint["model"]
    kind = kind_of(info["class"], info["config"])
    settings = {"model": kind.kind, **attrs.asdict(kind.settings_of(info["config"]))}
    state, schedule = checkpoint.get("trainer"), checkpoint.get("scheduler") or {}
    if state is not None:
        config = state["config"]
        settings.update(batch_size=config["batch_size"], seed=config["seed"], clip_grad_norm=config["clip_grad_norm"],
                        lr=schedule.get("base_lr"), lr_decay=schedule.get("hyperparams", {}).get("gamma"),
                        epochs=config["num_epochs"])
    return settings


def check_resume_settings(checkpoint: Mapping[str, Any], given: Mapping[str, Any], path, *, model_only: bool = False,
                          label: Callable[[str], str] = str, init_hint: str | None = None) -> None:
    """What a resumed run keeps: its model's settings, ``lr`` and ``lr_decay``, and the training settings
    by the Trainer's one rule (:func:`~minitorch_cap.training.config.check_resume_options`). With
    ``model_only``, the rule of a new run from the checkpoint's weights: its model's settings only.

    ``given``: the settings a user passed (``None`` = not given). A setting the checkpoint's model
    does not take, or a value that differs from the checkpoint's, raises :class:`SettingsError`
    naming the setting (as ``label(name)``: the command line passes its option names), both values
    and the way out (``init_hint``: how to start a new run from the weights).
    """
    saved = saved_settings(checkpoint)
    init_hint = init_hint or f"init={str(path)!r}"
    allowed = set(saved) | (set(TRAINING_FIELDS) if model_only else set())
    refuse_foreign(given, saved["model"], allowed, label)
    given = {k: v for k, v in given.items() if v is not None}
    if not model_only:
        options = {"num_epochs" if k == "epochs" else k: v for k, v in given.items() if k in TRAINING_FIELDS}
        check_resume_options(checkpoint["trainer"]["config"], options, path,
                             epochs_done=int(checkpoint["trainer"]["epoch"]), init_hint=init_hint,
                             label=lambda k: label("epochs" if k == "num_epochs" else k))
    for name, value in given.items():
        if name in TRAINING_FIELDS and (model_only or name in FIXED_ON_RESUME or name == "epochs") \
                or value == saved[name]:
            continue
        if model_only:
            raise SettingsError(f"{label(name)} {value} differs from the checkpoint's {saved[name]}: a run started "
                                f"from the weights of {path} has its model; drop {label(name)}, or train a new model")
        raise SettingsError(f"{label(name)} {value} differs from the run's {saved[name]}: a resumed run continues "
                            "with the model, optimizer and schedule it was started with; "
                            f"drop {label(name)}, or start a new run from its weights with {init_hint}")
