"""BestTracker: the best monitored value so far ('min'/'max', min_delta as an absolute margin), and its state."""

import json
import math

import numpy as np
import pytest

from minitorch_cap.training.monitor import BestTracker


def feed(tracker, values):
    """update() for epochs 1, 2, ...; returns the improved flags."""
    return [tracker.update(v, epoch) for epoch, v in enumerate(values, start=1)]


def test_min_mode_keeps_the_smallest_and_counts_epochs_without_improvement():
    tracker = BestTracker("val_loss")
    assert (tracker.best_value, tracker.best_epoch, tracker.bad_epochs) == (None, None, 0)
    assert feed(tracker, [3.0, 2.0, 2.0, 2.5, 1.0, 4.0, 5.0]) == [True, True, False, False, True, False, False]
    assert (tracker.best_value, tracker.best_epoch, tracker.bad_epochs) == (1.0, 5, 2)


def test_max_mode_keeps_the_largest():
    tracker = BestTracker("bleu", mode="max")
    assert feed(tracker, [0.1, 0.3, 0.3, 0.2, 0.4]) == [True, True, False, False, True]
    assert (tracker.best_value, tracker.best_epoch, tracker.bad_epochs) == (0.4, 5, 0)
    assert feed(BestTracker("bleu", mode="max"), [-1.0, -2.0]) == [True, False]     # negative values too


def test_the_first_finite_value_is_always_an_improvement():
    for mode, value in (("min", 1e300), ("max", -1e300)):
        tracker = BestTracker("x", mode=mode, min_delta=10.0)
        assert tracker.update(value, 7) and (tracker.best_value, tracker.best_epoch) == (value, 7)


def test_min_delta_is_an_absolute_margin_that_must_be_exceeded():
    """Better means beyond the best by more than min_delta (Keras' EarlyStopping): values chosen exact in binary."""
    tracker = BestTracker("val_loss", mode="min", min_delta=0.25)
    assert feed(tracker, [1.0, 0.875, 0.75, 0.5]) == [True, False, False, True]   # 0.75 = best - delta: not beyond
    assert (tracker.best_value, tracker.best_epoch, tracker.bad_epochs) == (0.5, 4, 0)
    tracker = BestTracker("acc", mode="max", min_delta=0.25)
    assert feed(tracker, [0.5, 0.75, 0.8125, 1.0]) == [True, False, True, False]  # 0.75 = best + delta: not beyond
    assert (tracker.best_value, tracker.best_epoch, tracker.bad_epochs) == (0.8125, 3, 1)
    # a small margin still rejects a tie, and a zero margin accepts any strict improvement
    assert feed(BestTracker("x", min_delta=0.0), [1.0, 1.0, np.nextafter(1.0, 0.0)]) == [True, False, True]


@pytest.mark.parametrize("missing", [None, math.nan, np.float32("nan"), math.inf, -math.inf])
def test_none_nan_and_infinity_never_improve_but_count_as_bad_epochs(missing):
    tracker = BestTracker("val_loss", mode="min")
    assert feed(tracker, [missing]) == [False]
    assert (tracker.best_value, tracker.best_epoch, tracker.bad_epochs) == (None, None, 1)
    assert tracker.update(2.0, 2) and tracker.bad_epochs == 0
    assert not tracker.update(missing, 3)
    assert (tracker.best_value, tracker.best_epoch, tracker.bad_epochs) == (2.0, 2, 1)


def test_numpy_and_integer_values_are_stored_as_plain_floats():
    tracker = BestTracker("acc", mode="max")
    tracker.update(np.float32(0.5), 1)
    assert type(tracker.best_value) is float and tracker.best_value == 0.5
    tracker.update(1, 2)
    assert type(tracker.best_value) is float and tracker.best_value == 1.0
    assert json.loads(json.dumps(tracker.state())) == tracker.state()


def test_state_round_trip_continues_the_same_record():
    values = [3.0, 1.0, 2.0, 1.5]
    later = [1.25, 0.5, 0.75, None, 0.25]
    original = BestTracker("val_loss", mode="min", min_delta=0.1)
    feed(original, values)
    state = original.state()
    assert state == {"best_value": 1.0, "best_epoch": 2, "bad_epochs": 2}
    # as read back from a checkpoint: numpy scalars
    restored = BestTracker("val_loss", mode="min", min_delta=0.1)
    restored.load_state({"best_value": np.float64(1.0), "best_epoch": np.int64(2), "bad_epochs": np.int64(2)})
    assert type(restored.bad_epochs) is int
    for epoch, value in enumerate(later, start=len(values) + 1):
        assert restored.update(value, epoch) == original.update(value, epoch)
        assert restored.state() == original.state()
    assert restored.state() == {"best_value": 0.25, "best_epoch": 9, "bad_epochs": 0}


def test_an_empty_state_round_trips():
    tracker = BestTracker("train_loss")
    tracker.load_state(BestTracker("train_loss").state())
    assert (tracker.best_value, tracker.best_epoch, tracker.bad_epochs) == (None, None, 0)
    assert tracker.update(5.0, 1)
