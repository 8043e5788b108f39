"""``minitorch-cap summary``: the table of a checkpoint or of a configuration; bad inputs."""

import re

from minitorch_cap.training import load_model

from tests.conftest import run_cli

NAMES = ["proj.W", "proj.b", "embed.W", "rnn.Wx", "rnn.Wh", "rnn.b", "vocab.W", "vocab.b"]


def _total(stdout: str) -> int:
    return int(re.search(r"total \(8 parameters\)\s+([\d,]+)", stdout).group(1).replace(",", ""))


def test_summary_of_a_checkpoint(tiny_run):
    out, _ = tiny_run
    code, stdout, stderr = run_cli(["summary", out / "checkpoint.h5"])
    assert code == 0, stderr
    for name in NAMES:
        assert name in stdout
    model = load_model(out / "checkpoint.h5")
    assert _total(stdout) == sum(p.size for p in model.parameters())
    assert "lstm model" in stdout and "H=16" in stdout


def test_summary_of_a_configuration_counts_the_parameters():
    code, stdout, stderr = run_cli(["summary", "--cell", "rnn", "--hidden-dim", "10", "--wordvec-dim", "6",
                                    "--input-dim", "7"])
    assert code == 0, stderr
    V = int(re.search(r"vocabulary (\d+) words", stdout).group(1))
    H, W, D = 10, 6, 7
    assert _total(stdout) == D * H + H + V * W + W * H + H * H + H + H * V + V
    assert re.search(r"rnn\.Wx\s+6x10\s+float32", stdout)


def test_summary_on_coco_files_uses_their_vocabulary_and_feature_size(small_coco_dir):
    code, stdout, stderr = run_cli(["summary", "--data-dir", small_coco_dir, "--cell", "gru", "--hidden-dim", "4",
                                    "--format", "github"])
    assert code == 0, stderr
    assert "vocabulary 9 words" in stdout and "D=12" in stdout
    assert re.search(r"\|\s*proj\.W\s*\|\s*12x4\s*\|", stdout)


def test_summary_errors_return_2(tmp_path):
    for argv, message in [(["summary", tmp_path / "none.h5"], "does not exist"),
                          (["summary", "--data-dir", tmp_path], "holds none of the CS231n COCO files"),
                          (["summary", "--format", "nonsense"], "invalid choice: 'nonsense'"),
                          (["summary", "--cell", "cnn"], "invalid choice"),
                          (["summary", "--hidden-dim", "0"], "expected an integer >= 1")]:
        code, _, stderr = run_cli(argv)
        assert code == 2, argv
        assert message in stderr and "Traceback" not in stderr


def test_summary_defaults_are_those_of_train():
    from minitorch_cap.captioners.base import KINDS
    from minitorch_cap.runs import default_kind

    code, stdout, stderr = run_cli(["summary"])
    assert code == 0, stderr
    b = KINDS[default_kind()].presets["shapes"]
    assert f"{default_kind()} model" in stdout and f"W={b['wordvec_dim']}, H={b['hidden_dim']}" in stdout


def test_summary_on_coco_files_defaults_to_trains_coco_settings(small_coco_dir):
    from minitorch_cap.captioners.base import KINDS
    from minitorch_cap.runs import default_kind

    code, stdout, stderr = run_cli(["summary", "--data-dir", small_coco_dir])
    assert code == 0, stderr
    c = KINDS[default_kind()].presets["coco"]
    assert f"W={c['wordvec_dim']}, H={c['hidden_dim']}" in stdout


def test_summary_of_a_checkpoint_refuses_model_options(tiny_run):
    out, _ = tiny_run
    code, _, stderr = run_cli(["summary", out / "checkpoint.h5", "--hidden-dim", "64"])
    assert code == 2 and "drop the model and data options (--hidden-dim)" in stderr


def test_summary_into_a_closed_pipe_ends_quietly(tiny_run):
    import subprocess
    import sys

    out, _ = tiny_run
    proc = subprocess.Popen([sys.executable, "-m", "minitorch_cap.cli", "summary", str(out / "checkpoint.h5")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # as `| head -1` does once it has its line
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=60) == 1
    assert stderr == ""


def test_summary_refuses_features_the_model_cannot_read():
    """As train does: an LSTM reads one feature vector per image (summary printed its table)."""
    code, stdout, stderr = run_cli(["summary", "--model", "lstm", "--region-features"])
    assert code == 2 and "--region-features: a lstm model reads one feature vector per image" in stderr
    assert stdout == ""
