"""``minitorch-cap train`` end to end on a tiny configuration: files, pictures, metrics, resume, errors."""

import json
import re
import shutil
from pathlib import Path

import matplotlib.image as mpimg
import pytest

from minitorch_cap.evaluation.grid import caption_grid_size
from minitorch_cap.training import load_checkpoint, load_model

from tests.conftest import TINY, run_cli

PROMISED = {"checkpoint.h5", "best.h5", "history.json", "loss.png", "captions.png", "captions.json", "metrics.json"}


def test_train_writes_every_promised_file(tiny_run):
    out, stdout = tiny_run
    assert PROMISED <= {p.name for p in out.iterdir()}
    assert "held-out accuracy:" in stdout and "of 6 validation images" in stdout


def test_metrics_json_holds_accuracy_and_losses(tiny_run):
    out, _ = tiny_run
    metrics = json.loads((out / "metrics.json").read_text())
    history = json.loads((out / "history.json").read_text())
    assert metrics["val_images"] == 6
    assert 0.0 <= metrics["val_accuracy"] <= 1.0
    assert metrics["val_correct"] == round(metrics["val_accuracy"] * 6)
    assert metrics["final_loss"] == history["epochs"][-1]["train_loss"]      # the last epoch's, not a minibatch's
    assert metrics["last_iteration_loss"] == history["loss_history"][-1]
    assert metrics["final_val_loss"] == history["val_loss_history"][-1]
    assert metrics["iterations"] == len(history["loss_history"]) == 2 * (200 // 50)
    # the per-epoch held-out accuracy the Trainer recorded ends at the printed figure
    assert history["epochs"][-1]["val_accuracy"] == pytest.approx(metrics["val_accuracy"])


def test_pngs_open_with_the_expected_size(tiny_run):
    out, _ = tiny_run
    width, height = caption_grid_size(4, title=True)
    assert mpimg.imread(out / "captions.png").shape[:2] == (height, width)
    assert mpimg.imread(out / "loss.png").shape[:2] == (400, 700)


def test_captions_json_has_every_val_image_with_its_references(tiny_run):
    out, _ = tiny_run
    rows = json.loads((out / "captions.json").read_text())
    assert [r["image"] for r in rows] == list(range(6))
    for row in rows:
        assert len(row["references"]) == 5
        assert isinstance(row["correct"], bool)
        assert "<START>" not in row["generated"] and "<END>" not in row["generated"]


def test_checkpoint_holds_the_configuration_asked_for(tiny_run):
    out, _ = tiny_run
    model = load_model(out / "checkpoint.h5")
    assert (model.cell_type, model.hidden_dim, model.wordvec_dim) == ("lstm", 16, 8)


def test_same_seed_same_run_and_exact_resume(tiny_run, tmp_path):
    out, _ = tiny_run
    first = ["train", *TINY, "--out", tmp_path]
    first[first.index("--epochs") + 1] = "1"
    assert run_cli(first)[0] == 0
    code, stdout, stderr = run_cli(["train", *TINY, "--out", tmp_path, "--resume", tmp_path / "checkpoint.h5"])
    assert code == 0, stderr
    assert "resuming" in stdout
    resumed = json.loads((tmp_path / "history.json").read_text())["loss_history"]
    straight = json.loads((out / "history.json").read_text())["loss_history"]
    assert resumed == straight


def test_init_starts_from_the_checkpoint_weights(tiny_run, tmp_path):
    out, _ = tiny_run
    code, stdout, stderr = run_cli(["train", *TINY, "--epochs", "1", "--out", tmp_path, "--init", out / "checkpoint.h5"])
    assert code == 0, stderr
    assert "from the weights of" in stdout
    assert load_model(tmp_path / "checkpoint.h5").cell_type == "lstm"


@pytest.mark.parametrize("option, value", [("--cell", "rnn"), ("--model", "gru"), ("--hidden-dim", "64")])
def test_init_refuses_model_options_that_differ_from_the_checkpoints(tiny_run, tmp_path, option, value):
    """As --resume does: the checkpoint's model is trained, so another one asked for is an error, not ignored."""
    out, _ = tiny_run
    argv = [a for a in TINY]
    argv[argv.index("--hidden-dim") + 1] = "16"
    code, _, stderr = run_cli(["train", *argv, option, value, "--out", tmp_path / "new", "--init", out / "checkpoint.h5"])
    assert code == 2
    assert f"{'--model' if option == '--cell' else option} {value} differs from the checkpoint's" in stderr
    assert not (tmp_path / "new").exists()


def test_gru_on_coco_format_files_writes_an_html_page(small_coco_dir, tmp_path):
    code, stdout, stderr = run_cli(["train", "--data-dir", small_coco_dir, "--cell", "gru", "--epochs", "2",
                                    "--batch-size", "4", "--hidden-dim", "8", "--wordvec-dim", "4",
                                    "--no-progress", "--out", tmp_path])
    assert code == 0, stderr
    names = {p.name for p in tmp_path.iterdir()}
    assert {"checkpoint.h5", "history.json", "loss.png", "captions.html", "captions.json", "metrics.json"} <= names
    assert "captions.png" not in names
    page = (tmp_path / "captions.html").read_text()
    assert page.count("<img ") == 3 and "http://images.example/val/2.jpg" in page
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert "val_accuracy" not in metrics and metrics["final_val_loss"] > 0


@pytest.mark.parametrize("argv, message", [
    (["--cell", "cnn"], "invalid choice: 'cnn'"),
    (["--epochs", "0"], "expected an integer >= 1"),
    (["--lr", "nan"], "expected a finite number > 0"),
    (["--lr-decay", "1.5"], "expected a finite number in (0, 1]"),
    (["--seed", "-1"], "expected an integer >= 0"),
])
def test_bad_option_values_exit_2_with_a_message(argv, message, tmp_path):
    code, _, stderr = run_cli(["train", *argv, "--out", tmp_path])
    assert code == 2
    assert message in stderr


def test_user_errors_return_2_without_traceback(tmp_path, small_coco_dir):
    cases = [
        (["--data-dir", tmp_path / "nowhere"], "does not exist"),
        (["--data-dir", tmp_path], "holds none of the CS231n COCO files"),
        (["--resume", tmp_path / "missing.h5"], "does not exist"),
        (["--resume", tmp_path / "a.h5", "--init", tmp_path / "b.h5"], "not allowed with argument --resume"),
        (["--data-dir", small_coco_dir, "--max-val", "3"], "max_val applies to the built-in data only"),
    ]
    for argv, message in cases:
        code, _, stderr = run_cli(["train", *argv, "--out", tmp_path / "out"])
        assert code == 2, argv
        assert message in stderr and "Traceback" not in stderr, stderr


def test_out_must_be_a_folder(tmp_path):
    (tmp_path / "file").write_text("x")
    code, _, stderr = run_cli(["train", *TINY, "--out", tmp_path / "file"])
    assert code == 2 and "is not a folder" in stderr


def test_resume_with_a_checkpoint_of_other_data_is_refused(tiny_run, small_coco_dir, tmp_path):
    out, _ = tiny_run
    code, _, stderr = run_cli(["train", "--data-dir", small_coco_dir, "--resume", out / "checkpoint.h5", "--epochs", "3",
                               "--out", tmp_path])
    assert code == 2 and len(stderr.splitlines()) == 1
    assert re.search(r"the lstm model does not read the COCO-format data in .*: CaptioningModel: expected features "
                     r"of shape \(N, D=\d+\), got shape \(1, 12\)", stderr), stderr
    assert not any(tmp_path.iterdir())                            # refused before the run folder is claimed


def test_a_full_disk_stops_the_run_with_exit_1_and_the_command_that_completes_it(tmp_path, monkeypatch):
    """Review finding: a full disk was reported as a usage error (2) with no way forward."""
    import errno

    from minitorch_cap.data import files

    real, writes = files.atomic_write_bytes, []

    def full_after_two(path, data):
        writes.append(path)
        if len(writes) > 2:
            raise files.write_error(Path(path), OSError(errno.ENOSPC, "No space left on device"))
        return real(path, data)

    monkeypatch.setattr(files, "atomic_write_bytes", full_after_two)
    code, _, stderr = run_cli(["train", *TINY, "--out", tmp_path / "run"])
    assert code == 1 and "no space left on the device" in stderr
    assert "`minitorch-cap train --resume " in stderr and "completes the run" in stderr
    monkeypatch.undo()
    code, _, stderr = run_cli(["train", "--resume", tmp_path / "run"])        # the folder names its checkpoint
    assert code == 0, stderr


def test_a_full_disk_while_pictures_are_redrawn_keeps_them_and_exits_1(tiny_run, tmp_path, monkeypatch):
    """Issue 24 (repro fulldisk_png.sh): `train --resume RUN` with metrics.json missing redraws the pictures; on a
    full disk savefig truncated the previous captions.png and the command exited 2 with a bare [Errno 28]."""
    import errno
    import shutil

    from minitorch_cap.data import files

    run = tmp_path / "run"
    shutil.copytree(tiny_run[0], run)
    (run / "metrics.json").unlink()
    before = (run / "captions.png").read_bytes()
    real = files.atomic_write_bytes

    def full_for_pictures(path, data):
        if Path(path).suffix == ".png":
            raise files.write_error(Path(path), OSError(errno.ENOSPC, "No space left on device"))
        return real(path, data)

    monkeypatch.setattr(files, "atomic_write_bytes", full_for_pictures)
    code, _, stderr = run_cli(["train", "--resume", run, "--num-images", "30"])
    assert code == 1, stderr
    assert re.search(rf"cannot write (loss|captions)\.png in '{run}': no space left on the device; the previous "
                     r"\w+\.png is intact", stderr), stderr
    assert f"`minitorch-cap train --resume {run / 'checkpoint.h5'}` completes the run" in stderr
    assert (run / "captions.png").read_bytes() == before
    monkeypatch.undo()
    code, _, stderr = run_cli(["train", "--resume", run, "--num-images", "30"])
    assert code == 0, stderr
    assert (run / "metrics.json").is_file() and mpimg.imread(run / "captions.png").ndim == 3


def test_resume_with_fewer_epochs_than_done_is_refused(tiny_run):
    out, _ = tiny_run
    code, _, stderr = run_cli(["train", "--resume", out / "checkpoint.h5", "--epochs", "1"])
    assert code == 2 and "--epochs 1 is fewer than the 2 epochs the run" in stderr


@pytest.mark.parametrize("option", [["--max-train", "30"], ["--data-seed", "4"]])
def test_resume_on_other_data_is_one_line_and_leaves_the_run_as_it_was(tiny_run, tmp_path, option):
    """A data option that changes the data on --resume was a ValueError traceback (exit 1)."""
    out, _ = tiny_run
    run = tmp_path / "run"
    shutil.copytree(out, run, ignore=shutil.ignore_patterns(".lock*"))
    before = {p.name: p.read_bytes() for p in run.iterdir() if p.is_file()}
    code, _, stderr = run_cli(["train", "--resume", run / "checkpoint.h5", "--epochs", "3", *option])
    assert code == 2 and "Traceback" not in stderr and len(stderr.strip().splitlines()) == 1, stderr
    assert "resume on the run's own data" in stderr
    assert {p.name: p.read_bytes() for p in run.iterdir() if p.is_file() and p.name[0] != "."} == \
        {k: v for k, v in before.items() if k[0] != "."}


def test_resume_from_best_into_its_own_folder_with_overwrite(tiny_run, tmp_path):
    """--resume RUN/best.h5 --out RUN --overwrite: the run's files are set aside (best.h5 too) and
    the new run continues from best.h5 (it was a FileNotFoundError traceback while completing)."""
    out, _ = tiny_run
    run = tmp_path / "run"
    shutil.copytree(out, run, ignore=shutil.ignore_patterns(".lock*"))
    code, _, stderr = run_cli(["train", "--resume", run / "best.h5", "--epochs", "3", "--out", run, "--overwrite",
                               "--no-progress"])
    assert code == 0, stderr
    assert load_checkpoint(run / "checkpoint.h5")["trainer"]["epoch"] == 3
    assert (run / "best.h5").is_file() and not (run / ".previous").exists()


def test_a_caption_length_beyond_the_machine_is_refused_before_training(tmp_path):
    """train --max-length 1e9 trained every epoch, then failed drawing the pictures (exit 2, no
    captions.png, no metrics.json); now it is refused before the first step, leaving nothing."""
    code, stdout, stderr = run_cli(["train", *TINY, "--out", tmp_path / "a" / "run", "--max-length", "1000000000"])
    assert code == 2 and "--max-length: 6 captions of up to 1,000,000,000 words would take about" in stderr
    assert "epoch 1/" not in stdout and not (tmp_path / "a").exists()


def test_resume_with_features_the_model_cannot_read_says_so(tiny_run):
    out, _ = tiny_run
    code, _, stderr = run_cli(["train", "--resume", out / "checkpoint.h5", "--epochs", "3", "--region-features"])
    assert code == 2 and "--region-features: a lstm model reads one feature vector per image" in stderr
