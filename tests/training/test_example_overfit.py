"""examples/overfit_small_data.py: its data choices (the training itself is tests/training/test_overfit.py)."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "overfit_small_data.py"


@pytest.fixture(scope="module")
def example():
    spec = importlib.util.spec_from_file_location("overfit_small_data", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_course_settings(example):
    assert example.LR_DECAY == {"lstm": 0.995, "rnn": 0.95} and example.TARGET == {"lstm": 0.5, "rnn": 0.1}
    assert example.NUM_CAPTIONS == 50


@pytest.mark.parametrize("source", ["random", "shapes"])
def test_fifty_captions_one_image_each(example, source):
    data = example.small_data(source, None, seed=0)
    assert len(data["train_captions"]) == 50
    assert len(np.unique(data["train_image_idxs"])) == 50


def test_missing_coco_folder_is_an_error(example, tmp_path):
    with pytest.raises((FileNotFoundError, OSError, ValueError)):
        example.small_data("random", str(tmp_path / "nowhere"), seed=0)
