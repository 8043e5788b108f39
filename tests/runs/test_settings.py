"""Run settings: derived from the model kinds' declarations; an option a kind does not take is refused."""

import json

import pytest

from minitorch_cap.captioners.base import KINDS
from minitorch_cap.data.spec import DataSpec
from minitorch_cap.nn.checks import SettingsError
from minitorch_cap.runs import MIN_ITERATIONS, TRAINING_PRESETS, RunSettings, check_resume_settings, default_kind
from minitorch_cap.training import load_checkpoint

from tests.conftest import run_cli

BUILTIN, COCO = DataSpec(), DataSpec(data_dir="somewhere")


@pytest.mark.parametrize("spec, data", [(BUILTIN, "shapes"), (COCO, "coco")])
@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_setting_comes_from_the_presets_of_the_data_and_the_kind(spec, data, kind):
    settings = RunSettings.resolve({"model": kind}, spec)
    expected = {**TRAINING_PRESETS[data], **KINDS[kind].presets[data]}
    assert {k: v for k, v in settings.as_dict().items() if k in expected} == expected
    assert settings.model == kind and isinstance(settings.sizes, KINDS[kind].settings)


def test_given_settings_win_and_none_means_not_given():
    settings = RunSettings.resolve({"model": None, "hidden_dim": 7, "lr": None, "epochs": 3}, BUILTIN)
    assert settings.model == default_kind()
    assert (settings.sizes.hidden_dim, settings.training.epochs) == (7, 3)
    assert settings.training.lr == TRAINING_PRESETS["shapes"]["lr"]


@pytest.mark.parametrize("given, message", [
    ({"model": "lstm", "num_heads": 3, "dropout": 0.5},
     "num_heads applies to transformer models; dropout applies to transformer models, not to lstm"),
    ({"model": "transformer", "hidden_dim": 64}, "hidden_dim applies to rnn, lstm, gru, attention models, not to transformer"),
    ({"model": "gru", "colour": 1}, "colour applies to no model models, not to gru"),
])
def test_a_setting_the_kind_does_not_take_is_refused_by_name(given, message):
    with pytest.raises(SettingsError, match=message):
        RunSettings.resolve(given, BUILTIN)


def test_bad_values_and_kinds_are_refused_by_the_settings_rules():
    with pytest.raises(SettingsError, match="hidden_dim must be an integer >= 1, got 0"):
        RunSettings.resolve({"hidden_dim": 0}, BUILTIN)
    with pytest.raises(SettingsError, match="model must be one of .*, got 'cnn'"):
        RunSettings.resolve({"model": "cnn"}, BUILTIN)


def test_preset_epochs_fit_a_small_data_set_of_ones_own():
    settings = RunSettings.resolve({}, COCO)
    batch = settings.training.batch_size
    fitted = settings.fitted(COCO, num_train=5 * batch)              # 5 iterations per epoch
    assert fitted.training.epochs == MIN_ITERATIONS // 5 and "5 iterations of" in fitted.note
    assert settings.fitted(COCO, num_train=400_000) == settings      # COCO itself: the preset
    assert settings.fitted(BUILTIN, num_train=10) == settings        # the built-in data: its measured preset
    given = RunSettings.resolve({"epochs": 2}, COCO)
    assert given.fitted(COCO, num_train=batch) == given              # epochs given: never changed


def test_resume_refuses_a_setting_the_runs_model_does_not_take(tiny_run):
    out, _ = tiny_run
    checkpoint = load_checkpoint(out / "checkpoint.h5")
    with pytest.raises(SettingsError, match="num_heads applies to transformer models, not to lstm"):
        check_resume_settings(checkpoint, {"num_heads": 2}, out / "checkpoint.h5")
    check_resume_settings(checkpoint, {"hidden_dim": 16, "num_heads": None}, out / "checkpoint.h5")
    with pytest.raises(SettingsError, match="hidden_dim 32 differs from the run's 16"):
        check_resume_settings(checkpoint, {"hidden_dim": 32}, out / "checkpoint.h5")


@pytest.mark.parametrize("argv, message", [
    (["--dropout", "0.5", "--num-heads", "3"], "--num-heads applies to transformer models; --dropout applies to "
                                               "transformer models, not to lstm: drop --num-heads, --dropout"),
    (["--region-features"], "--region-features: a lstm model reads one feature vector per image, not 3 region "
                            "features"),
    (["--model", "transformer", "--num-heads", "5"], "wordvec_dim (64) must be divisible by num_heads (5)"),
    (["--batch-size", "1000000"], "a training step of lstm (hidden_dim=128, wordvec_dim=64) on 1,000,000 captions "
                                  "would take about"),
    (["--hidden-dim", "100000"], "give smaller sizes (--batch-size, --hidden-dim, --wordvec-dim)"),
    (["--model", "attention", "--attention", "additive", "--attention-dim", "99999999"],
     "give smaller sizes (--batch-size, --hidden-dim, --wordvec-dim, --attention-dim)"),
    (["--model", "attention", "--attention-dim", "8"], "attention_dim applies to attention='additive' only"),
    (["--no-pca"], "pca_features (--no-pca) applies to COCO-format data only"),
])
def test_a_usage_error_names_the_problem_and_leaves_no_folder(argv, message, tmp_path):
    code, _, stderr = run_cli(["train", *argv, "--out", tmp_path / "run"])
    assert code == 2 and message in stderr and "Traceback" not in stderr
    assert not (tmp_path / "run").exists()


def test_a_small_data_set_of_ones_own_trains_more_than_one_iteration(small_coco_dir, tmp_path):
    code, stdout, stderr = run_cli(["train", "--data-dir", small_coco_dir, "--hidden-dim", "8", "--wordvec-dim", "4",
                                    "--batch-size", "4", "--no-progress", "--out", tmp_path])
    assert code == 0, stderr
    assert f"for at least {MIN_ITERATIONS:,} iterations" in stdout
    assert len(json.loads((tmp_path / "history.json").read_text())["loss_history"]) >= MIN_ITERATIONS


def test_a_kind_may_fit_its_presets_to_the_settings_given():
    """The attention kind trains additive attention with its own measured presets on the built-in data."""
    from minitorch_cap.captioners.attention import AttentionKind

    dot = RunSettings.resolve({"model": "attention"}, BUILTIN)
    additive = RunSettings.resolve({"model": "attention", "attention": "additive"}, BUILTIN)
    assert dot.training.lr == AttentionKind.presets["shapes"]["lr"]
    assert additive.training.lr == AttentionKind.ADDITIVE["shapes"]["lr"] != dot.training.lr
    assert additive.sizes.attention == "additive" and dot.sizes.attention == "dot"
    assert RunSettings.resolve({"model": "attention", "attention": "additive", "lr": 0.02}, BUILTIN).training.lr == 0.02
