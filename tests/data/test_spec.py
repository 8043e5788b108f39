"""DataSpec (minitorch_cap/data/spec.py): a run's record names its data absolutely, and reloads it when it changes."""

import os

import numpy as np

from minitorch_cap.data import import_captions, load_coco_data
from minitorch_cap.data.spec import DataSpec
from minitorch_cap.runs import load_run

from ..conftest import run_cli, write_coco_dir


def test_a_relative_data_dir_is_recorded_absolutely(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    spec = DataSpec(data_dir="data", max_train=5)
    assert spec.data_dir == str(tmp_path / "data")
    assert DataSpec(data_dir=tmp_path / "x" / ".." / "data") == DataSpec(data_dir="data")   # one spelling per folder
    assert DataSpec.from_dict(spec.to_dict()) == spec
    # the same folder given again, relative: the recorded options still apply
    assert DataSpec.choose({"data_dir": "data"}, spec.to_dict()).max_train == 5
    assert DataSpec.choose({"data_dir": "other"}, spec.to_dict()).max_train is None
    assert DataSpec().data_dir is None


def test_a_record_written_before_loads_against_the_working_directory(tmp_path, monkeypatch):
    """Checkpoints of earlier versions recorded the folder as typed: they keep loading as they did."""
    (tmp_path / "data").mkdir()
    write_coco_dir(tmp_path / "data")
    monkeypatch.chdir(tmp_path)
    spec = DataSpec.from_dict({"data_dir": "data", "max_train": None, "pca_features": None})
    assert spec.data_dir == str(tmp_path / "data") and spec.load()["train_captions"].shape[0] > 0


def test_evaluate_from_another_folder_reads_the_runs_own_data(tmp_path, monkeypatch):
    """Issue 24: `train --data-dir data` recorded 'data'; `evaluate` of that run from a folder holding its own
    data/ scored the other data, silently."""
    for folder, seed in (("A", 0), ("B", 1)):      # same vocabulary and sizes, other values
        (tmp_path / folder / "data").mkdir(parents=True)
        write_coco_dir(tmp_path / folder / "data", D_pca=12, seed=seed)
    monkeypatch.chdir(tmp_path / "A")
    code, _, stderr = run_cli(["train", "--data-dir", "data", "--epochs", "1", "--batch-size", "4", "--hidden-dim", "8",
                               "--wordvec-dim", "4", "--out", "run", "--no-progress", "--quiet"])
    assert code == 0, stderr
    monkeypatch.chdir(tmp_path / "B")
    _, _, data, spec = load_run(tmp_path / "A" / "run")
    assert spec.data_dir == str(tmp_path / "A" / "data")
    np.testing.assert_array_equal(data["train_features"], load_coco_data(tmp_path / "A" / "data")["train_features"])


def test_a_folder_imported_again_is_read_again(tmp_path):
    """The per-process cache of loaded data is keyed by the files too: a new import into the same folder
    (overwrite=True) is not answered with the old arrays."""
    entries = [{"split": "train", "captions": ["a red ball"]}, {"split": "val", "captions": ["a ball"]}]
    import_captions(tmp_path / "d", entries, np.zeros((2, 3), dtype=np.float32))
    spec = DataSpec(data_dir=tmp_path / "d")
    assert spec.load()["train_features"].max() == 0
    assert spec.load()["train_features"] is spec.load()["train_features"]       # cached while unchanged
    import_captions(tmp_path / "d", entries, np.full((2, 3), 7, dtype=np.float32), overwrite=True)
    assert spec.load()["train_features"].max() == 7
    assert os.path.isabs(spec.load()["spec"]["data_dir"])
