"""`TrainerConfig`: every option of a ``Trainer``, validated once, and what may not change on resume.

The options are those of CS231n's solver (``batch_size``, ``num_epochs``, ``print_every``,
``verbose``) plus what a long run needs. ``to_dict()`` is the JSON-able part kept in
checkpoints; :data:`FIXED_ON_RESUME` (the fields marked ``fixed_on_resume``) is the one list
of options a resumed run must keep, checked by :func:`check_resume_options`.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

import attrs

from ..data.files import from_record
from ..nn.checks import SettingsError, setting

_NOT_SAVED = {"save": False}
#: The entries of an epoch record that are not metrics (a metric may not take their names).
RESERVED_NAMES = ("epoch", "iteration", "train_loss", "val_loss", "lr", "seconds")


def _metrics(instance, attribute, value):
    if not isinstance(value, Mapping):
        raise TypeError(f"TrainerConfig: metrics must be a mapping name -> fn(model, data) -> float, got {type(value).__name__}")
    for name, fn in value.items():
        if not isinstance(name, str) or not callable(fn):
            raise TypeError(f"TrainerConfig: metrics[{name!r}] must map a name to a callable fn(model, data) -> float")
        if name in RESERVED_NAMES:
            raise SettingsError(f"TrainerConfig: metric name {name!r} is reserved; choose another")


def _callbacks(instance, attribute, value):
    if not all(callable(cb) for cb in value):
        raise TypeError("TrainerConfig: callbacks must be callables callback(trainer, epoch_record)")


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
      for ``keep_best`` (``best.h5``) and early stopping after ``patience`` epochs without it
      (the rule of :func:`minitorch_cap.optim.is_better`, shared with ``ReduceLROnPlateau``).
    * ``clip_grad_norm`` / ``clip_grad_value``: gradient clipping before each step.
    * ``out_dir``: where ``checkpoint.h5`` (every epoch, and every ``checkpoint_every``
      iterations), ``best.h5`` and ``history.json`` go; locked during ``train()``, and refused
      (``RunFolderError``) when it holds another run unless ``overwrite`` (see ``run_dir``).
    * ``progress``: tqdm bar (``None``: only when stderr is a terminal).
    * ``init_from``: a checkpoint whose weights initialise the model (weights only).
    * ``data_options``: how the data was loaded (JSON-able, e.g. ``DataSpec.to_dict()``), kept
      in checkpoints with the data's fingerprint (``minitorch_cap.data.data_fingerprint``).
    * ``metrics``: name -> ``fn(model, data) -> float``, run after each epoch;
      ``callbacks``: ``callback(trainer, epoch_record)`` after each epoch. Not saved.
    """

    batch_size: int = setting(int, 100, low=1, fixed_on_resume=True)
    num_epochs: int = setting(int, 10, low=0)
    print_every: int = setting(int, 10, low=1)
    verbose: bool = attrs.field(default=True, converter=bool)
    seed: int | None = setting(int, None, low=0, optional=True, fixed_on_resume=True)
    sampling: str = setting(str, "replacement", choices=("replacement", "shuffle"), fixed_on_resume=True)
    val_size: int | None = setting(int, 1000, low=0, optional=True, fixed_on_resume=True)
    monitor: str | None = None
    mode: str = setting(str, "min", choices=("min", "max"))
    min_delta: float = setting(float, 0.0, low=0.0)
    patience: int | None = setting(int, None, low=1, optional=True)
    keep_best: bool = attrs.field(default=True, converter=bool)
    clip_grad_norm: float | None = setting(float, None, low=0.0, low_open=True, optional=True, fixed_on_resume=True)
    clip_grad_value: float | None = setting(float, None, low=0.0, low_open=True, optional=True, fixed_on_resume=True)
    checkpoint_every: int | None = setting(int, None, low=1, optional=True)
    out_dir: str | None = attrs.field(default=None, converter=attrs.converters.optional(str))
    progress: bool | None = setting(bool, None, optional=True)
    init_from: str | None = attrs.field(default=None, converter=attrs.converters.optional(str))
    overwrite: bool = attrs.field(default=False, converter=bool, metadata=_NOT_SAVED)
    data_options: Mapping[str, Any] | None = attrs.field(default=None, metadata=_NOT_SAVED)
    metrics: Mapping[str, Callable] = attrs.field(factory=dict, validator=_metrics, metadata=_NOT_SAVED)
    callbacks: list = attrs.field(factory=list, converter=list, validator=_callbacks, metadata=_NOT_SAVED)

    def to_dict(self) -> dict[str, Any]:
        """The options kept in checkpoints (all but ``overwrite``, ``data_options``, ``metrics`` and ``callbacks``)."""
        return attrs.asdict(self, filter=lambda a, v: a.metadata.get("save", True))

    from_dict = classmethod(from_record)      # a record (and overrides), unknown options refused


#: The options a resumed run must keep: changing them would change which captions are drawn (batch size,
#: sampling, seed, validation subset) or the steps taken on them (clipping).
FIXED_ON_RESUME = tuple(a.name for a in attrs.fields(TrainerConfig) if a.metadata.get("fixed_on_resume"))


def check_resume_options(saved: Mapping[str, Any], overrides: Mapping[str, Any], source, *, epochs_done: int = 0,
                         label: Callable[[str], str] = str, init_hint: str = "init_from=...") -> None:
    """The one rule of the options a resumed run may be given (``Trainer.resume`` and ``runs.prepare_run``
    apply it): ``num_epochs`` (the new total) at least ``epochs_done``, and each :data:`FIXED_ON_RESUME`
    option equal to the run's ``saved`` config.

    Raises ``SettingsError`` naming each option (as ``label(name)``: the command line passes its
    option names), the run's value and the one asked for, and the way out (``init_hint``: how to
    start a new run from the weights).
    """
    epochs = overrides.get("num_epochs")
    if epochs is not None and epochs < epochs_done:
        raise SettingsError(f"{label('num_epochs')} {epochs} is fewer than the {epochs_done} epochs the run in "
                            f"{source} has done; give at least {epochs_done} (every epoch of the run counts), or "
                            "none to keep the run's own number")
    changed = {k: (saved.get(k), overrides[k]) for k in FIXED_ON_RESUME if k in overrides and overrides[k] != saved.get(k)}
    if changed:
        what = "; ".join(f"{label(k)} {new} differs from the run's {run}" for k, (run, new) in changed.items())
        raise SettingsError(f"cannot change {sorted(label(k) for k in changed)} when resuming {source} (the run "
                            f"would no longer be the same): {what}. Resume without them, or start a new run from "
                            f"its weights ({init_hint})")
