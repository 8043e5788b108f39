"""TrainerConfig: every option checked by its settings rule, the checkpoint dict, and what may not change on resume."""

import json
import math
from pathlib import Path

import attrs
import pytest

from minitorch_cap.nn.checks import SettingsError, UserError
from minitorch_cap.training.config import (
    FIXED_ON_RESUME, RESERVED_NAMES, TrainerConfig, check_resume_options,
)

RULED = [a for a in attrs.fields(TrainerConfig) if "rule" in a.metadata]
#: The settings that take None, as the class docstring describes them (seed: fresh entropy, val_size: the
#: whole split, progress: when stderr is a terminal; the others: "off").
OPTIONAL = {"seed", "val_size", "patience", "clip_grad_norm", "clip_grad_value", "checkpoint_every", "progress"}
assert OPTIONAL <= {a.name for a in RULED}
SAVED = [a.name for a in attrs.fields(TrainerConfig) if a.metadata.get("save", True)]


def test_the_specs_defaults():
    """SPEC: ``Trainer(..., batch_size=100, num_epochs=10, print_every=10, verbose=True, seed=None)``; the course
    draws with replacement."""
    config = TrainerConfig()
    assert (config.batch_size, config.num_epochs, config.print_every, config.verbose, config.seed) == (100, 10, 10,
                                                                                                     True, None)
    assert config.sampling == "replacement"
    assert config.metrics == {} and config.callbacks == []
    assert TrainerConfig().callbacks is not config.callbacks          # no shared mutable default


def bad_values(rule, optional):
    """Values the ``rule`` refuses, each with the exception it must raise (nn/checks.py's validators)."""
    if rule.kind is int:
        bad = [(int(rule.low) - 1, SettingsError), (True, SettingsError), (float(max(rule.low, 1)), SettingsError),
               ("3", SettingsError)]
        return bad + ([] if optional else [(None, SettingsError)])
    if rule.kind is float:
        below = rule.low if rule.low_open else rule.low - 1.0
        bad = [(below, SettingsError), (math.nan, SettingsError), (math.inf, SettingsError), ("1", TypeError),
               (True, TypeError)]
        return bad + ([] if optional else [(None, TypeError)])
    if rule.kind is bool:
        return [(1, TypeError), ("yes", TypeError)] + ([] if optional else [(None, TypeError)])
    return [("nope", SettingsError), (rule.choices[0].upper(), SettingsError)] + \
        ([] if optional else [(None, SettingsError)])


def good_values(rule):
    if rule.kind is int:
        return [int(rule.low), int(rule.low) + 5]
    if rule.kind is float:
        return [rule.low + 0.5] if rule.low_open else [rule.low, rule.low + 2.5]
    if rule.kind is bool:
        return [True, False]
    return list(rule.choices)


@pytest.mark.parametrize("field", RULED, ids=[a.name for a in RULED])
def test_every_setting_is_checked_by_its_rule(field):
    rule = field.metadata["rule"]
    optional = field.name in OPTIONAL
    for value, error in bad_values(rule, optional):
        with pytest.raises(error, match=rf"TrainerConfig: {field.name} must be") as info:
            TrainerConfig(**{field.name: value})
        assert isinstance(info.value, (TypeError, ValueError))
    for value in good_values(rule) + ([None] if optional else []):
        assert getattr(TrainerConfig(**{field.name: value}), field.name) == value
    # the Trainer derives configs with attrs.evolve: checked the same way
    with pytest.raises(bad_values(rule, optional)[0][1], match=field.name):
        attrs.evolve(TrainerConfig(), **{field.name: bad_values(rule, optional)[0][0]})


def test_the_rules_of_the_main_options():
    """The bounds that matter, spelled out (a rule loosened by mistake fails here by name)."""
    cases = {"batch_size": 0, "print_every": 0, "num_epochs": -1, "patience": 0, "checkpoint_every": 0,
             "val_size": -1, "seed": -1, "min_delta": -0.1, "clip_grad_norm": 0.0, "clip_grad_value": 0.0,
             "sampling": "random", "mode": "mean"}
    for name, value in cases.items():
        with pytest.raises(SettingsError, match=name):
            TrainerConfig(**{name: value})
    config = TrainerConfig(num_epochs=0, val_size=0, seed=0, min_delta=0.0)   # the lowest values allowed
    assert (config.num_epochs, config.val_size, config.seed, config.min_delta) == (0, 0, 0, 0.0)


def test_flags_and_paths_are_converted():
    config = TrainerConfig(verbose=0, keep_best=1, overwrite="yes", out_dir=Path("runs") / "a",
                           init_from=Path("w.h5"), callbacks=(print,))
    assert config.verbose is False and config.keep_best is True and config.overwrite is True
    assert config.out_dir == str(Path("runs") / "a") and config.init_from == "w.h5"
    assert config.callbacks == [print]


@pytest.mark.parametrize("name", RESERVED_NAMES)
def test_a_metric_may_not_take_a_name_of_the_epoch_record(name):
    with pytest.raises(SettingsError, match=f"metric name {name!r} is reserved"):
        TrainerConfig(metrics={name: lambda m, d: 0.0})


def test_metrics_and_callbacks_must_be_callables():
    with pytest.raises(TypeError, match="metrics must be a mapping"):
        TrainerConfig(metrics=[lambda m, d: 0.0])
    with pytest.raises(TypeError, match=r"metrics\['bleu'\] must map a name to a callable"):
        TrainerConfig(metrics={"bleu": 0.5})
    with pytest.raises(TypeError, match=r"metrics\[3\]"):
        TrainerConfig(metrics={3: lambda m, d: 0.0})
    with pytest.raises(TypeError, match="callbacks must be callables"):
        TrainerConfig(callbacks=[print, "not a function"])
    assert TrainerConfig(metrics={"bleu": lambda m, d: 0.5}).metrics["bleu"](None, None) == 0.5


def every_saved_option_changed() -> TrainerConfig:
    config = TrainerConfig(batch_size=7, num_epochs=3, print_every=2, verbose=False, seed=5, sampling="shuffle",
                           val_size=None, monitor="bleu", mode="max", min_delta=0.5, patience=2, keep_best=False,
                           clip_grad_norm=1.5, clip_grad_value=0.25, checkpoint_every=4, out_dir="run",
                           progress=True, init_from="w.h5")
    default = TrainerConfig()
    unchanged = [name for name in SAVED if getattr(config, name) == getattr(default, name)]
    assert not unchanged, f"the test must change every saved option; unchanged: {unchanged}"
    return config


def test_to_dict_is_json_and_from_dict_gives_back_every_saved_option():
    config = every_saved_option_changed()
    values = config.to_dict()
    assert json.loads(json.dumps(values)) == values
    assert TrainerConfig.from_dict(json.loads(json.dumps(values))) == config


def test_what_is_not_saved_comes_back_as_its_default():
    """metrics and callbacks are functions, overwrite is this invocation's, data_options go with the data record."""
    config = TrainerConfig(batch_size=3, overwrite=True, data_options={"loader": "test"},
                           metrics={"bleu": lambda m, d: 0.0}, callbacks=[print])
    values = config.to_dict()
    assert not {"metrics", "callbacks", "overwrite", "data_options"} & set(values)
    again = TrainerConfig.from_dict(values)
    assert again.batch_size == 3
    assert (again.overwrite, again.data_options, again.metrics, again.callbacks) == (False, None, {}, [])


def test_from_dict_refuses_unknown_options_and_checks_values_and_overrides():
    values = TrainerConfig(batch_size=10).to_dict()
    with pytest.raises(SettingsError, match=r"TrainerConfig: unknown options \['learning_rate', 'zeta'\]"):
        TrainerConfig.from_dict({**values, "zeta": 1, "learning_rate": 0.1})
    with pytest.raises(SettingsError, match="batch_size must be an integer >= 1"):
        TrainerConfig.from_dict({**values, "batch_size": 0})
    assert TrainerConfig.from_dict(values, batch_size=20, num_epochs=1).batch_size == 20      # overrides win
    with pytest.raises(SettingsError, match="num_epochs"):
        TrainerConfig.from_dict(values, num_epochs=-2)


def test_fixed_on_resume_holds_what_decides_the_captions_drawn():
    """The minibatches depend on batch_size, sampling and the seed; the validation subset on val_size; the steps
    on the clipping (the command line refused a changed --clip-grad-norm, Trainer.resume took it: one rule, kept).
    Anything else (how long, what to print, where to write, when to stop) may change when a run is resumed."""
    assert set(FIXED_ON_RESUME) == {"batch_size", "seed", "sampling", "val_size", "clip_grad_norm", "clip_grad_value"}
    assert all(name in SAVED for name in FIXED_ON_RESUME)       # checked against the saved config


def test_check_resume_options_refuses_a_changed_fixed_option_and_names_each():
    saved = TrainerConfig(batch_size=10, seed=0, sampling="replacement").to_dict()
    check_resume_options(saved, {}, "run/checkpoint.h5")
    check_resume_options(saved, {"batch_size": 10, "seed": 0, "sampling": "replacement", "val_size": 1000},
                         "run/checkpoint.h5")                          # the same values: fine
    check_resume_options(saved, {"num_epochs": 50, "print_every": 1, "out_dir": "elsewhere", "patience": 3},
                         "run/checkpoint.h5")                          # free options: fine
    with pytest.raises(SettingsError) as info:
        check_resume_options(saved, {"seed": 1, "batch_size": 5, "num_epochs": 50}, "run/checkpoint.h5")
    message = str(info.value)
    assert isinstance(info.value, ValueError) and isinstance(info.value, UserError)
    assert message.startswith("cannot change ['batch_size', 'seed'] when resuming run/checkpoint.h5")
    assert "batch_size 5 differs from the run's 10" in message and "seed 1 differs from the run's 0" in message
    assert "num_epochs" not in message and "init_from" in message
    with pytest.raises(SettingsError, match=r"seed 3 differs from the run's None"):
        check_resume_options(TrainerConfig().to_dict(), {"seed": 3}, "x.h5")     # a fresh-entropy run stays one


def test_check_resume_options_is_the_one_rule_of_both_entry_points():
    """The epochs rule lived in runs.check_resume_settings and in Trainer.resume with two wordings; the fixed
    options in runs and here with two lists. Now one rule, the option names given by ``label``."""
    saved = TrainerConfig(batch_size=10, clip_grad_norm=5.0).to_dict()
    check_resume_options(saved, {"num_epochs": 3}, "r.h5", epochs_done=3)
    with pytest.raises(SettingsError, match=r"^num_epochs 2 is fewer than the 3 epochs the run in r.h5 has done"):
        check_resume_options(saved, {"num_epochs": 2}, "r.h5", epochs_done=3)
    flag = {"num_epochs": "--epochs", "clip_grad_norm": "--clip-grad-norm"}.get
    with pytest.raises(SettingsError, match=r"^--epochs 2 is fewer than the 3 epochs"):
        check_resume_options(saved, {"num_epochs": 2}, "r.h5", epochs_done=3, label=flag)
    with pytest.raises(SettingsError, match=r"cannot change \['--clip-grad-norm'\] when resuming r.h5 .*: "
                                            r"--clip-grad-norm 1.0 differs from the run's 5.0. .*\(--init r.h5\)$"):
        check_resume_options(saved, {"clip_grad_norm": 1.0}, "r.h5", label=flag, init_hint="--init r.h5")
