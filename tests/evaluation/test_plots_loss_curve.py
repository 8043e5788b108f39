"""plot_loss_curve: a PNG from Trainer.history, history.json, or a plain list of losses."""

import json

import matplotlib.image
import numpy as np
import pytest

from minitorch_cap.evaluation.plots import plot_loss_curve, wants_log_scale
from minitorch_cap.training import Trainer

from tests.conftest import make_setup


def test_from_a_trainer_history_and_its_json(data, tmp_path):
    model, opt, sched = make_setup(data)
    history = Trainer(model, data, opt, sched, batch_size=10, num_epochs=2, seed=0, verbose=False,
                      progress=False, out_dir=tmp_path).train()
    path = plot_loss_curve(history, tmp_path / "curves" / "loss.png")
    image = matplotlib.image.imread(path)
    assert path.exists() and image.shape == (400, 700, 4)
    again = plot_loss_curve(json.loads((tmp_path / "history.json").read_text()), tmp_path / "again.png")
    assert np.array_equal(matplotlib.image.imread(again), image)


def test_from_plain_lists(tmp_path):
    plot_loss_curve([3.0, 2.0, 1.5, 1.0], tmp_path / "a.png")
    plot_loss_curve({"loss": [3.0, 2.0, 1.5, 1.0], "val_loss": [2.5, 1.2]}, tmp_path / "b.png")
    assert matplotlib.image.imread(tmp_path / "a.png").shape == matplotlib.image.imread(tmp_path / "b.png").shape
    assert not np.array_equal(matplotlib.image.imread(tmp_path / "a.png"), matplotlib.image.imread(tmp_path / "b.png"))


def test_bad_histories(tmp_path):
    with pytest.raises(ValueError, match="non-empty list of losses"):
        plot_loss_curve([], tmp_path / "x.png")
    with pytest.raises(KeyError, match="no 'loss_history'"):
        plot_loss_curve({"epochs": []}, tmp_path / "x.png")


@pytest.mark.parametrize("values, log", [
    ([35.0, 10.0, 3.0], True),            # the usual start-of-training drop: log axis
    ([3.0, 2.0, 1.0], False),             # within a factor of 10: linear
    ([35.0, 0.0, 3.0], False),            # a zero loss cannot go on a log axis
    ([35.0, np.nan, 3.0], True),          # non-finite values are ignored
    ([np.nan], False),
])
def test_log_axis_when_losses_span_more_than_ten_times(values, log):
    assert wants_log_scale(np.array(values)) is log
