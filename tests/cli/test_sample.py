"""``minitorch-cap sample``: captions and pictures from a checkpoint of ``train``; bad inputs."""

import json
import shutil
from pathlib import Path

import matplotlib.image as mpimg
import pytest

from minitorch_cap.evaluation.grid import caption_grid_size

from tests.conftest import run_cli

TINY_DATA = ["--max-train", "40", "--max-val", "6"]


def test_sample_writes_the_pictures_and_the_same_accuracy_as_train(tiny_run, tmp_path):
    out, _ = tiny_run
    code, stdout, stderr = run_cli(["sample", out / "checkpoint.h5", *TINY_DATA, "--num-images", "3",
                                    "--out", tmp_path, "--print", "2"])
    assert code == 0, stderr
    assert {"captions.png", "captions.json", "sample_metrics.json"} <= {p.name for p in tmp_path.iterdir()}
    width, height = caption_grid_size(3, title=True)
    assert mpimg.imread(tmp_path / "captions.png").shape[:2] == (height, width)
    assert stdout.count("image ") >= 2 and "val accuracy:" in stdout
    sampled = json.loads((tmp_path / "sample_metrics.json").read_text())
    trained = json.loads((out / "metrics.json").read_text())
    assert sampled["accuracy"] == trained["val_accuracy"] and sampled["images"] == 6
    assert json.loads((tmp_path / "captions.json").read_text()) == json.loads((out / "captions.json").read_text())


def test_sample_defaults_to_a_folder_next_to_the_checkpoint(tiny_run):
    out, _ = tiny_run
    code, _, stderr = run_cli(["sample", out / "checkpoint.h5", *TINY_DATA, "--split", "train"])
    assert code == 0, stderr
    assert (out / "sample" / "captions.png").is_file()
    assert json.loads((out / "sample" / "sample_metrics.json").read_text())["split"] == "train"


def test_sample_on_coco_files_writes_html(small_coco_dir, tmp_path):
    code, _, stderr = run_cli(["train", "--data-dir", small_coco_dir, "--epochs", "1", "--batch-size", "4",
                               "--hidden-dim", "8", "--wordvec-dim", "4", "--out", tmp_path / "run"])
    assert code == 0, stderr
    code, _, stderr = run_cli(["sample", tmp_path / "run" / "checkpoint.h5", "--data-dir", small_coco_dir,
                               "--out", tmp_path / "s", "--num-images", "2"])
    assert code == 0, stderr
    assert (tmp_path / "s" / "captions.html").read_text().count("<img ") == 2


def test_missing_checkpoint_returns_2_with_a_message(tmp_path):
    code, _, stderr = run_cli(["sample", tmp_path / "nope.h5"])
    assert code == 2
    assert "nope.h5' does not exist (train one with" in stderr and "Traceback" not in stderr


def test_damaged_checkpoint_returns_2_with_a_message(tmp_path):
    bad = tmp_path / "bad.h5"
    bad.write_bytes(b"this is not an HDF5 file")
    code, _, stderr = run_cli(["sample", bad, *TINY_DATA])
    assert code == 2
    assert "bad.h5 is not a readable" in stderr and "Traceback" not in stderr


def test_checkpoint_of_other_data_returns_2(tiny_run, small_coco_dir):
    out, _ = tiny_run
    code, _, stderr = run_cli(["sample", out / "checkpoint.h5", "--data-dir", small_coco_dir])
    assert code == 2
    assert "image features" in stderr


def test_missing_checkpoint_argument_is_a_usage_error():
    code, _, stderr = run_cli(["sample"])
    assert code == 2 and "CHECKPOINT" in stderr


def test_train_sample_and_evaluate_report_one_held_out_accuracy(tiny_run, tmp_path):
    """Issue 12: one checkpoint, one accuracy, whichever command reports it."""
    out, stdout = tiny_run
    trained = json.loads((out / "metrics.json").read_text())["val_accuracy"]
    code, sample_out, stderr = run_cli(["sample", out / "checkpoint.h5", "--out", tmp_path / "s"])
    assert code == 0, stderr
    code, _, stderr = run_cli(["evaluate", out / "checkpoint.h5", "--out", tmp_path / "e"])
    assert code == 0, stderr
    sampled = json.loads((tmp_path / "s" / "sample_metrics.json").read_text())["accuracy"]
    evaluated = json.loads((tmp_path / "e" / "scores.json").read_text())["diagnostics"]["caption_accuracy"]
    assert trained == sampled == evaluated
    assert f"held-out accuracy: {100 * trained:.1f}%" in stdout and f"val accuracy: {100 * trained:.1f}%" in sample_out


def test_a_users_own_files_in_out_are_not_replaced_without_overwrite(tiny_run, tmp_path):
    """Review finding: `sample ... --out .` silently replaced a captions.json of the user's."""
    out, _ = tiny_run
    (tmp_path / "captions.json").write_text("mine")
    code, _, stderr = run_cli(["sample", out, "--out", tmp_path])
    assert code == 2 and "already holds captions.json" in stderr and "--overwrite" in stderr
    assert (tmp_path / "captions.json").read_text() == "mine"
    code, _, stderr = run_cli(["sample", out, "--out", tmp_path, "--overwrite"])
    assert code == 0, stderr
    code, _, stderr = run_cli(["sample", out])          # its default folder is its own: again and again
    assert code == 0, stderr
    (tmp_path / "scores.json").write_text("mine")
    code, _, stderr = run_cli(["evaluate", out, "--out", tmp_path])
    assert code == 2 and "already holds scores.json" in stderr


def test_a_caption_length_beyond_the_machine_is_refused_before_decoding(tiny_run, tmp_path):
    """Issue 24 D: `sample --max-length 100000000` was a raw MemoryError (or the OOM killer)."""
    out, _ = tiny_run
    code, _, stderr = run_cli(["sample", out, "--max-length", "10000000000", "--out", tmp_path / "s"])
    assert code == 2 and "captions of up to 10,000,000,000 words would take about" in stderr
    assert "give a smaller max_length" in stderr and "Traceback" not in stderr
    assert not (tmp_path / "s").exists()                      # a refused command leaves no folder


@pytest.mark.parametrize("command", ["sample", "evaluate"])
def test_a_command_refused_after_its_folder_was_made_leaves_nothing(tiny_run, tmp_path, command):
    """The default results folder next to the checkpoint is made before decoding; a refusal
    found while decoding (here the memory rule) removes it again, as train's run folder."""
    out, _ = tiny_run
    checkpoint = tmp_path / "checkpoint.h5"
    shutil.copy(Path(out) / "checkpoint.h5", checkpoint)
    code, _, stderr = run_cli([command, checkpoint, "--max-length", "10000000000"])
    assert code == 2 and "would take about" in stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.h5"]
    code, _, stderr = run_cli([command, checkpoint, "--max-length", "10000000000", "--out", tmp_path / "a" / "b"])
    assert code == 2 and sorted(p.name for p in tmp_path.iterdir()) == ["checkpoint.h5"]   # no empty a/ either


def test_a_moved_run_refreshes_its_own_results_and_still_guards_other_folders(tiny_run, tmp_path):
    """sample on a run folder that was copied (or moved) with its sample/ results replaces them:
    they are that checkpoint's; a --out folder holding another checkpoint's results stays refused."""
    out, _ = tiny_run
    first = tmp_path / "first"
    shutil.copytree(out, first, ignore=shutil.ignore_patterns(".lock*", "sample*", "evaluate*"))
    assert run_cli(["sample", first / "checkpoint.h5", "--num-images", "2"])[0] == 0
    moved = tmp_path / "moved"
    first.rename(moved)
    code, _, stderr = run_cli(["sample", moved / "checkpoint.h5", "--num-images", "2"])
    assert code == 0, stderr
    recorded = json.loads((moved / "sample" / "sample_metrics.json").read_text())["checkpoint"]
    assert recorded == str((moved / "checkpoint.h5").resolve())
    code, _, stderr = run_cli(["sample", moved / "best.h5", "--num-images", "2", "--out", moved / "sample"])
    assert code == 2 and "not the sample results of" in stderr
