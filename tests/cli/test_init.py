"""Every command's ``--help`` works and teaches: a description, examples, defaults."""

import pytest

from tests.conftest import run_cli


@pytest.mark.parametrize("command", ["train", "sample", "summary", "evaluate"])
def test_help_has_examples_and_defaults(command):
    code, stdout, _ = run_cli([command, "--help"])
    assert code == 0
    assert f"usage: minitorch-cap {command}" in stdout
    assert "examples:" in stdout and f"minitorch-cap {command}" in stdout.split("examples:")[1]
    assert "default" in stdout


def test_train_help_lists_the_outputs_and_the_builtin_defaults():
    from minitorch_cap.runs import TRAINING_PRESETS

    _, stdout, _ = run_cli(["train", "--help"])
    for name in ("checkpoint.h5", "best.h5", "history.json", "loss.png", "captions.png", "captions.html",
                 "metrics.json", "--overwrite"):
        assert name in stdout
    assert "a resumed run keeps its own" in " ".join(stdout.split())
    epochs = " ".join(stdout.split("\n  --epochs E")[1].split("--batch-size")[0].split())
    assert f"{TRAINING_PRESETS['shapes']['epochs']}/{TRAINING_PRESETS['coco']['epochs']}" in epochs


def test_version_and_python_m():
    import subprocess
    import sys

    from minitorch_cap import __version__
    code, stdout, _ = run_cli(["--version"])
    assert code == 0 and stdout.strip() == f"minitorch-cap {__version__}"
    done = subprocess.run([sys.executable, "-m", "minitorch_cap", "--help"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "Exit codes: 0 done, 1 training stopped" in done.stdout


def test_top_level_help_lists_the_commands():
    code, stdout, _ = run_cli(["--help"])
    assert code == 0
    for command in ("train", "sample", "evaluate", "summary"):
        assert command in stdout


def test_sample_help_lists_its_outputs():
    _, stdout, _ = run_cli(["sample", "--help"])
    for name in ("captions.png", "captions.html", "captions.json", "sample_metrics.json"):
        assert name in stdout
