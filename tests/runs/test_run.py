"""No lost work: where ``train`` writes, resuming, Ctrl-C, unusable --out folders, messages."""

import json
import shlex
import shutil

import pytest

from minitorch_cap.training import load_checkpoint

from tests.conftest import TINY, run_cli


def tiny(epochs: int) -> list[str]:
    argv = list(TINY)
    argv[argv.index("--epochs") + 1] = str(epochs)
    return argv


def saved_epoch(path) -> int:
    return int(load_checkpoint(path)["trainer"]["epoch"])


# ------------------------------------------------------------------------ where train writes
def test_without_out_each_run_gets_a_fresh_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, first, stderr = run_cli(["train", *tiny(1)])
    assert code == 0, stderr
    code, second, stderr = run_cli(["train", *tiny(1)])
    assert code == 0, stderr
    assert "-> runs/shapes-lstm\n" in first and "-> runs/shapes-lstm-2\n" in second
    assert (tmp_path / "runs/shapes-lstm/checkpoint.h5").is_file()
    assert (tmp_path / "runs/shapes-lstm-2/checkpoint.h5").is_file()


def test_out_holding_a_run_is_refused_and_left_alone(tiny_run, tmp_path):
    out, _ = tiny_run
    before = (out / "history.json").read_text()
    code, _, stderr = run_cli(["train", *tiny(1), "--out", out])
    assert code == 2
    assert f"--out {str(out)!r} already holds a run" in stderr and str(out / 'checkpoint.h5') in stderr
    assert "--overwrite" in stderr and "another folder" in stderr and len(stderr.splitlines()) == 1
    assert (out / "history.json").read_text() == before


def test_overwrite_replaces_the_run(small_coco_dir, tmp_path):
    (tmp_path / "history.json").write_text("{}")
    (tmp_path / "captions.png").write_text("of the old run")
    (tmp_path / "notes.txt").write_text("not a file of train")
    code, _, stderr = run_cli(["train", "--data-dir", small_coco_dir, "--epochs", "1", "--batch-size", "4",
                               "--hidden-dim", "8", "--wordvec-dim", "4", "--out", tmp_path, "--overwrite"])
    assert code == 0, stderr
    assert json.loads((tmp_path / "history.json").read_text())["loss_history"]
    assert not (tmp_path / "captions.png").exists()     # the new run is on COCO: captions.html
    assert (tmp_path / "notes.txt").exists()


def test_a_failing_overwrite_deletes_nothing(tiny_run, tmp_path):
    """Issue 13: --overwrite with a mistyped --init (or bad data) used to delete the old run first."""
    out, _ = tiny_run
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    code, _, stderr = run_cli(["train", *tiny(1), "--out", out, "--overwrite", "--init", tmp_path / "typo.h5"])
    assert code == 2 and "typo.h5" in stderr
    code, _, stderr = run_cli(["train", "--epochs", "1", "--out", out, "--overwrite", "--data-dir", tmp_path / "none"])
    assert code == 2 and str(tmp_path / "none") in stderr
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before


def test_resume_without_out_continues_in_the_checkpoint_folder(tmp_path, monkeypatch):
    run_dir = tmp_path / "run"
    assert run_cli(["train", *tiny(1), "--out", run_dir])[0] == 0
    monkeypatch.chdir(tmp_path)
    code, stdout, stderr = run_cli(["train", "--resume", run_dir / "checkpoint.h5", "--epochs", "2", "--no-progress"])
    assert code == 0, stderr
    assert f"-> {run_dir}\n" in stdout
    assert not (tmp_path / "runs").exists()
    assert saved_epoch(run_dir / "checkpoint.h5") == 2


def test_resume_without_epochs_continues_to_the_runs_own_number(tmp_path, monkeypatch):
    interrupt_in_epoch(monkeypatch, 2)
    assert run_cli(["train", *tiny(3), "--out", tmp_path])[0] == 130
    monkeypatch.undo()
    assert saved_epoch(tmp_path / "checkpoint.h5") == 1
    code, stdout, stderr = run_cli(["train", "--resume", tmp_path / "checkpoint.h5", "--no-progress"])
    assert code == 0, stderr
    assert "3 epochs of 4 iterations" in stdout
    assert saved_epoch(tmp_path / "checkpoint.h5") == 3


# ----------------------------------------------------------------------------- resume errors
def test_resume_of_a_complete_run_completes_its_files_and_trains_nothing(tmp_path):
    assert run_cli(["train", *tiny(2), "--out", tmp_path])[0] == 0
    history = (tmp_path / "history.json").read_text()
    for name in ("loss.png", "metrics.json", "captions.png"):
        (tmp_path / name).unlink()
    code, stdout, stderr = run_cli(["train", *tiny(2), "--resume", tmp_path / "checkpoint.h5"])
    assert code == 0, stderr
    assert "has all 2 epochs" in stdout
    assert (tmp_path / "history.json").read_text() == history
    assert all((tmp_path / name).is_file() for name in ("loss.png", "metrics.json", "captions.png"))


def test_resume_of_a_complete_run_with_every_file_writes_nothing_and_says_so(tmp_path):
    """A finished run whose files are all there is left as it is (repair counted captions.png and
    captions.html both, so every finished run looked incomplete and was redrawn)."""
    assert run_cli(["train", *tiny(2), "--out", tmp_path])[0] == 0
    before = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in tmp_path.iterdir() if p.is_file() and p.name[0] != "."}
    code, stdout, stderr = run_cli(["train", *tiny(2), "--resume", tmp_path])
    assert code == 0, stderr
    assert "has all 2 epochs: nothing is missing" in stdout and f"wrote nothing in {tmp_path}" in stdout
    assert f"done: the run in {tmp_path} was complete; nothing to write" in stdout
    assert {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in tmp_path.iterdir() if p.is_file() and p.name[0] != "."} == before


def test_resume_with_more_epochs_draws_the_report_of_the_last_epoch(tmp_path):
    """A finished run resumed with more epochs trains them and redraws every report file (the
    report of the earlier epoch was kept, and the command said there was nothing to write)."""
    assert run_cli(["train", *tiny(1), "--out", tmp_path])[0] == 0
    code, stdout, stderr = run_cli(["train", *tiny(2), "--resume", tmp_path])
    assert code == 0, stderr
    assert json.loads((tmp_path / "metrics.json").read_text())["epochs"] == 2
    wrote = next(line for line in stdout.splitlines() if line.startswith("wrote "))
    assert all(name in wrote for name in ("checkpoint.h5", "history.json", "loss.png", "metrics.json", "captions.png"))


def test_a_report_older_than_the_checkpoint_is_redrawn_and_only_it_is_listed(tmp_path):
    """A kill after an epoch's checkpoint but before its report leaves every report file of an
    earlier epoch: --resume redraws them (metrics.json names the epoch) and says it wrote only them."""
    earlier = tmp_path / "earlier"
    assert run_cli(["train", *tiny(1), "--out", earlier])[0] == 0
    run = tmp_path / "run"
    assert run_cli(["train", *tiny(2), "--out", run])[0] == 0
    for name in ("metrics.json", "loss.png", "captions.png", "captions.json"):
        shutil.copy(earlier / name, run / name)                  # the report of epoch 1 beside epoch 2's checkpoint
    code, stdout, stderr = run_cli(["train", *tiny(2), "--resume", run])
    assert code == 0, stderr
    assert json.loads((run / "metrics.json").read_text())["epochs"] == 2
    wrote = next(line for line in stdout.splitlines() if line.startswith("wrote "))
    assert "metrics.json" in wrote and "checkpoint.h5" not in wrote and "history.json" not in wrote


@pytest.mark.parametrize("option, value, refusal", [
    ("--model", "gru", "differs from the run's lstm"), ("--hidden-dim", "32", "differs from the run's 16"),
    ("--wordvec-dim", "9", "differs from the run's 8"),
    ("--lr", "0.1", "differs from the run's 0.005"), ("--lr-decay", "0.5", "differs from the run's 0.85"),
    ("--batch-size", "7", "differs from the run's 50"), ("--clip-grad-norm", "1.0", "differs from the run's None"),
    ("--seed", "4", "differs from the run's 3"),
])
def test_resume_refuses_other_model_or_training_options(tiny_run, option, value, refusal):
    """The same command with --resume appended is fine (other tests); a changed option is refused."""
    out, _ = tiny_run
    argv = tiny(3)
    if option in argv:
        argv[argv.index(option) + 1] = value
    else:
        argv += [option, value]
    code, _, stderr = run_cli(["train", *argv, "--resume", out / "checkpoint.h5", "--out", out])
    assert code == 2
    assert f"{option} {value} {refusal}" in stderr and "--init" in stderr


# ---------------------------------------------------------------------------------- Ctrl-C
def interrupt_in_epoch(monkeypatch, epoch: int) -> None:
    """Ctrl-C at the end of ``epoch``, before its checkpoint is written (callbacks run first)."""
    from minitorch_cap.training import progress
    original = progress.print_epoch

    def callback(trainer, record):
        original(trainer, record)
        if record["epoch"] == epoch:
            raise KeyboardInterrupt

    monkeypatch.setattr(progress, "print_epoch", callback)


def test_ctrl_c_names_the_last_checkpoint_and_the_command_that_continues(tmp_path, monkeypatch):
    out = tmp_path / "x"
    interrupt_in_epoch(monkeypatch, 2)
    code, _, stderr = run_cli(["train", *tiny(3), "--out", out, "--data-seed", "5"])
    assert code == 130 and "Traceback" not in stderr
    checkpoint = out / "checkpoint.h5"
    assert (f"minitorch-cap train: interrupted in epoch 2 of 3; the last checkpoint is {checkpoint} (epoch 1): "
            "continue with `minitorch-cap train --resume") in stderr
    assert saved_epoch(checkpoint) == 1
    monkeypatch.undo()
    command = shlex.split(stderr.split("`")[1])
    assert command[:2] == ["minitorch-cap", "train"]      # the checkpoint records its data: no data options
    code, _, stderr = run_cli(command[1:])       # the command printed works as it is
    assert code == 0, stderr
    assert saved_epoch(checkpoint) == 3


def test_ctrl_c_before_the_first_checkpoint_says_nothing_was_saved(tmp_path, monkeypatch):
    interrupt_in_epoch(monkeypatch, 1)
    code, _, stderr = run_cli(["train", *tiny(2), "--out", tmp_path])
    assert code == 130
    assert stderr.strip() == ("minitorch-cap train: interrupted in epoch 1 of 2 before any checkpoint was "
                              "written; nothing was saved")


# ------------------------------------------------------------------------ unusable --out
def no_long_work(*args, **kwargs):
    raise AssertionError("the output folder must be checked before any long work")


def test_train_checks_out_before_loading_data(tmp_path, monkeypatch):
    from minitorch_cap.data.spec import DataSpec
    monkeypatch.setattr(DataSpec, "load", no_long_work)
    (tmp_path / "file").write_text("x")
    for out in ("/proc/minitorch-cap-test", tmp_path / "file" / "sub", tmp_path / "file"):
        code, _, stderr = run_cli(["train", *tiny(1), "--out", out])
        assert code == 2, out
        assert f"{str(out)!r}" in stderr and ("cannot be created" in stderr or "is not a folder" in stderr)
        assert "Traceback" not in stderr and len(stderr.strip().splitlines()) == 1
        assert len(stderr.strip().splitlines()) == 1


def test_sample_checks_out_before_decoding(tiny_run, tmp_path, monkeypatch):
    from minitorch_cap.evaluation import reports

    monkeypatch.setattr(reports, "caption_report", no_long_work)
    out, _ = tiny_run
    (tmp_path / "file").write_text("x")
    code, _, stderr = run_cli(["sample", out / "checkpoint.h5", "--max-train", "40", "--max-val", "6",
                               "--out", tmp_path / "file"])
    assert code == 2
    assert "exists and is not a folder" in stderr and "Traceback" not in stderr


def test_evaluate_checks_out_before_decoding(tiny_run, tmp_path, monkeypatch):
    import minitorch_cap.evaluation.scoring

    monkeypatch.setattr(minitorch_cap.evaluation.scoring, "evaluate", no_long_work)
    out, _ = tiny_run
    (tmp_path / "file").write_text("x")
    code, _, stderr = run_cli(["evaluate", out / "checkpoint.h5", "--max-train", "40", "--max-val", "6",
                               "--out", tmp_path / "file" / "sub"])
    assert code == 2
    assert "cannot be created as a folder" in stderr and "Traceback" not in stderr


# ---------------------------------------------------------------------------------- messages
def test_final_line_names_the_last_epochs_training_loss(tiny_run):
    out, stdout = tiny_run
    metrics = json.loads((out / "metrics.json").read_text())
    assert {"final_loss", "final_val_loss", "last_iteration_loss", "val_accuracy"} <= set(metrics)
    assert (f"(last-epoch training loss {metrics['final_loss']:.3f}, "
            f"validation loss {metrics['final_val_loss']:.3f})") in stdout
    assert "2 epochs of 4 iterations" in stdout


def test_one_epoch_is_singular(tmp_path):
    code, stdout, stderr = run_cli(["train", *tiny(1), "--batch-size", "200", "--out", tmp_path])
    assert code == 0, stderr
    assert "1 epoch of 1 iteration," in stdout


def test_evaluate_scale_note_matches_the_table(tiny_run, tmp_path):
    out, _ = tiny_run
    code, stdout, stderr = run_cli(["evaluate", out / "checkpoint.h5", "--max-train", "40", "--max-val", "6",
                                    "--max-images", "3", "--out", tmp_path])
    assert code == 0, stderr
    scores = json.loads((tmp_path / "scores.json").read_text())
    assert "BLEU, ROUGE-L 0-1; CIDEr-D 0-10" in scores["scale_note"] and "x10" not in scores["scale_note"]
    assert "BLEU, ROUGE-L 0-1; CIDEr-D 0-10" in stdout


# ------------------------------------------------------------------------- COCO folder messages
@pytest.mark.parametrize("command", ["train", "summary"])
def test_a_folder_with_only_the_full_features_needs_no_option(small_coco_dir, tmp_path, command):
    """What import_captions writes (no PCA file) is read as it is; --no-pca is no longer needed on every command."""
    for path in small_coco_dir.iterdir():
        if "_pca" not in path.name:
            shutil.copy(path, tmp_path / path.name)
    more = ["--out", tmp_path / "out", "--epochs", "1", "--hidden-dim", "8", "--wordvec-dim", "4"] \
        if command == "train" else []
    code, _, stderr = run_cli([command, "--data-dir", tmp_path, *more])
    assert code == 0, stderr


def test_partly_filled_folder_names_the_missing_file_without_the_download_hint(small_coco_dir, tmp_path):
    for path in small_coco_dir.iterdir():
        if path.name != "val2014_urls.txt":
            shutil.copy(path, tmp_path / path.name)
    code, _, stderr = run_cli(["train", "--data-dir", tmp_path, "--out", tmp_path / "out"])
    assert code == 2
    assert f"data folder {str(tmp_path)!r} lacks val2014_urls.txt" in stderr and "download" not in stderr


def test_ctrl_c_after_training_says_the_checkpoint_is_complete(tmp_path, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    import minitorch_cap.runs.run

    monkeypatch.setattr(minitorch_cap.runs.run, "caption_report", interrupted)
    code, _, stderr = run_cli(["train", *tiny(1), "--out", tmp_path])
    assert code == 130
    assert (f"interrupted after training: {tmp_path / 'checkpoint.h5'} holds all 1 epoch, but the pictures and "
            f"metrics.json may be missing: `minitorch-cap train --resume {tmp_path / 'checkpoint.h5'}` completes "
            "the run") in stderr
    monkeypatch.undo()
    code, _, stderr = run_cli(["train", "--resume", tmp_path / "checkpoint.h5"])      # the command printed
    assert code == 0, stderr
    assert (tmp_path / "metrics.json").is_file() and (tmp_path / "loss.png").is_file()


def test_ctrl_c_while_loading_the_data_says_nothing_was_saved(tmp_path, monkeypatch):
    def interrupted(*args):
        raise KeyboardInterrupt

    from minitorch_cap.data.spec import DataSpec
    monkeypatch.setattr(DataSpec, "load", interrupted)
    code, _, stderr = run_cli(["train", *tiny(1), "--out", tmp_path])
    assert code == 130
    assert stderr.strip() == ("minitorch-cap train: interrupted while loading the data, before training; "
                              "nothing was saved")


def test_one_data_option_keeps_the_other_recorded_ones(tiny_run, tmp_path):
    """Review finding: `sample CKPT --data-seed 0` used the default sizes instead of the run's recorded ones."""
    out, _ = tiny_run
    code, stdout, stderr = run_cli(["sample", out, "--data-seed", "0", "--out", tmp_path])   # a run folder works too
    assert code == 0, stderr
    trained = json.loads((out / "metrics.json").read_text())
    sampled = json.loads((tmp_path / "sample_metrics.json").read_text())
    assert sampled["images"] == trained["val_images"] and sampled["accuracy"] == trained["val_accuracy"]


def test_a_script_run_without_recorded_data_options_is_not_scored_on_other_data(tmp_path):
    """A Trainer checkpoint records no data options: the defaults are refused when they are not its data."""
    import numpy as np

    from minitorch_cap import CaptioningModel, Trainer, load_shapes_data
    from minitorch_cap.optim import Adam

    data = load_shapes_data(seed=0, num_train=20, num_val=4)
    model = CaptioningModel(data["word_to_idx"], input_dim=data["train_features"].shape[1], wordvec_dim=4,
                            hidden_dim=4, rng=np.random.default_rng(0))
    Trainer(model, data, Adam(model.named_parameters()), batch_size=50, num_epochs=1, verbose=False,
            progress=False, out_dir=str(tmp_path / "run")).train()
    code, _, stderr = run_cli(["sample", tmp_path / "run" / "checkpoint.h5", "--out", tmp_path / "s"])
    assert code == 2 and "records no data options" in stderr and "--max-train" in stderr
    code, _, stderr = run_cli(["sample", tmp_path / "run" / "checkpoint.h5", "--max-train", "20", "--max-val", "4",
                               "--out", tmp_path / "s"])
    assert code == 0, stderr
