"""``minitorch-cap evaluate``: the table with its scale, results.json (COCO format), scores.json, errors."""

import json

import pytest

from minitorch_cap.cli import main
from minitorch_cap.metrics import METRIC_NAMES

from tests.conftest import run_cli


@pytest.fixture(scope="module")
def checkpoint(tiny_run):
    """The shared tiny run's checkpoint: it records its data (40 training, 6 validation images), which
    ``evaluate`` loads again from the process's cache instead of generating the default data set."""
    out, _ = tiny_run
    return out / "checkpoint.h5"


def test_evaluate_prints_the_table_and_writes_the_files(checkpoint, tmp_path, capsys):
    out = tmp_path / "eval"
    assert main(["evaluate", str(checkpoint), "--max-images", "4", "--max-length", "6", "--beam-size", "2",
                 "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "coco-caption scale" in printed and "beam size 2" in printed
    for name in [*METRIC_NAMES, "distinct captions", "vocabulary used", "mean length", "repetition rate",
                 "checker accepts"]:
        assert name in printed
    results = json.loads((out / "results.json").read_text())
    assert len(results) == 4 and set(results[0]) == {"image_id", "caption"}   # of the 6 validation images
    assert [r["image_id"] for r in results] == list(range(4))
    scores = json.loads((out / "scores.json").read_text())
    assert set(scores["metrics"]) == set(METRIC_NAMES) and scores["beam_size"] == 2 and scores["images"] == 4
    assert scores["scale"] == "coco-caption"


def test_percent_scale(checkpoint, tmp_path, capsys):
    assert main(["evaluate", str(checkpoint), "--max-images", "5", "--max-length", "4", "--percent",
                 "--out", str(tmp_path)]) == 0
    assert "x100" in capsys.readouterr().out
    assert json.loads((tmp_path / "scores.json").read_text())["scale"] == "x100"


def test_user_errors_exit_2_without_traceback(tmp_path, capsys):
    assert main(["evaluate", str(tmp_path / "missing.h5")]) == 2
    err = capsys.readouterr().err
    assert "missing.h5' does not exist" in err and "Traceback" not in err
    with pytest.raises(SystemExit) as exc:
        main(["evaluate", "x.h5", "--beam-size", "0"])
    assert exc.value.code == 2


def test_results_of_another_checkpoint_are_never_replaced_without_overwrite(tiny_run, tmp_path):
    """Issue 24 B: `evaluate RUN/best.h5` replaced the evaluate/ results of RUN/checkpoint.h5."""
    import shutil

    out, _ = tiny_run
    run = tmp_path / "run"
    shutil.copytree(out, run, ignore=shutil.ignore_patterns("evaluate*", "sample*"))
    assert run_cli(["evaluate", run / "checkpoint.h5", "--max-images", 2])[0] == 0
    mine = (run / "evaluate" / "scores.json").read_text()
    code, stdout, stderr = run_cli(["evaluate", run / "best.h5", "--max-images", 2])
    assert code == 0, stderr
    assert (run / "evaluate-best" / "scores.json").is_file()                  # its own default folder
    assert (run / "evaluate" / "scores.json").read_text() == mine
    code, _, stderr = run_cli(["evaluate", run / "best.h5", "--max-images", 2, "--out", run / "evaluate"])
    assert code == 2 and "not the evaluate results of" in stderr
    assert (run / "evaluate" / "scores.json").read_text() == mine
    assert run_cli(["evaluate", run / "checkpoint.h5", "--max-images", 3])[0] == 0   # its own results: replaced
    assert json.loads((run / "evaluate" / "scores.json").read_text())["images"] == 3
