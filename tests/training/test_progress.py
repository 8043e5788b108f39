"""The progress printer: the course's iteration line, one line per epoch, lines printed above a tqdm bar."""

import re
from types import SimpleNamespace

import numpy as np
import pytest

from minitorch_cap.training.config import TrainerConfig
from minitorch_cap.training.progress import epoch_line, iteration_line, print_epoch, progress_bar, write_line


@pytest.mark.parametrize("iteration, total, loss", [(1, 300, 10.012345), (299, 300, 2.5), (7, 7, 0.1234567891),
                                                    (3, 10, np.float32(1.75)), (12, 100, 123.0)])
def test_iteration_line_is_the_course_solvers(iteration, total, loss):
    """CS231n's solver prints ``"(Iteration %d / %d) loss: %f" % (t + 1, num_iterations, loss)``."""
    line = iteration_line(iteration, total, loss)
    assert line == "(Iteration %d / %d) loss: %f" % (iteration, total, loss)
    assert re.fullmatch(r"\(Iteration \d+ / \d+\) loss: \d+\.\d{6}", line)
    assert float(line.split("loss: ")[1]) == pytest.approx(float(loss), abs=5e-7)


def test_epoch_line_is_the_documented_example():
    """The docstring's line, ``epoch 2/10, train loss 1.234, val loss 1.301, held-out accuracy 97.0%, lr 0.00425,
    3.1 s``, from a record in the Trainer's key order (metrics after lr, seconds last)."""
    record = {"epoch": 2, "iteration": 80, "train_loss": 1.2341, "val_loss": 1.3012, "lr": 0.00425,
              "val_accuracy": 0.97, "seconds": 3.14}
    assert epoch_line(record, 10) == "epoch 2/10, train loss 1.234, val loss 1.301, held-out accuracy 97.0%, " \
                                     "lr 0.00425, 3.1 s"


def test_epoch_line_shows_every_metric_and_skips_what_is_missing():
    record = {"epoch": 1, "iteration": 4, "train_loss": 2.0, "val_loss": None, "lr": 0.01, "bleu4": 0.123456,
              "val_accuracy": 0.5, "cider": None, "seconds": 12.25}
    line = epoch_line(record, 3)
    parts = line.split(", ")
    assert parts[0] == "epoch 1/3" and parts[1] == "train loss 2.000"
    assert "val loss" not in line and "cider" not in line and "iteration" not in line
    assert parts[2:4] == ["bleu4 0.1235", "held-out accuracy 50.0%"]     # 4 significant digits; a percentage
    assert parts[4:] == ["lr 0.01", "12.2 s"]
    # no seconds in the record: 0.0 s
    assert epoch_line({"epoch": 3, "train_loss": 1.0, "lr": 1e-4}, 3) == "epoch 3/3, train loss 1.000, lr 0.0001, 0.0 s"


@pytest.mark.parametrize("accuracy, shown", [(1.0, "100.0%"), (0.0, "0.0%"), (0.9666, "96.7%"), (0.123, "12.3%")])
def test_val_accuracy_is_a_percentage_with_one_decimal(accuracy, shown):
    line = epoch_line({"epoch": 1, "train_loss": 1.0, "val_accuracy": accuracy, "lr": 0.1}, 1)
    assert f"held-out accuracy {shown}," in line


def test_write_line_prints_one_line_on_stdout(capsys):
    write_line("hello")
    write_line("(Iteration 1 / 3) loss: 1.000000")
    out, err = capsys.readouterr()
    assert out == "hello\n(Iteration 1 / 3) loss: 1.000000\n" and err == ""


def test_lines_go_to_stdout_and_the_bar_to_stderr(capsys):
    bar = progress_bar(total=5, initial=2)
    assert (bar.n, bar.total) == (2, 5)               # a resumed run's bar starts where it stopped
    write_line("epoch 1/2, train loss 1.000, lr 0.1, 0.0 s")
    bar.update(1)
    bar.close()
    out, err = capsys.readouterr()
    assert out == "epoch 1/2, train loss 1.000, lr 0.1, 0.0 s\n"
    assert "train" in err and "3/5" in err and "epoch 1/2" not in err


def test_the_loss_unit_follows_the_train_loss():
    record = {"epoch": 1, "train_loss": 2.0, "val_loss": 2.5, "lr": 0.01, "seconds": 1.0}
    assert epoch_line(record, 2, "per position") == "epoch 1/2, train loss 2.000 (per position), val loss 2.500, " \
                                                    "lr 0.01, 1.0 s"
    assert epoch_line(record, 2) == epoch_line(record, 2, None) == epoch_line(record, 2, "")
    assert "(" not in epoch_line(record, 2)


def test_print_epoch_prints_the_epoch_line_with_the_trainers_epoch_count_and_loss_unit(capsys, data):
    from tests.conftest import make_setup
    record = {"epoch": 1, "iteration": 5, "train_loss": 1.5, "val_loss": 1.25, "lr": 0.001, "seconds": 0.5}
    model, _, _ = make_setup(data)
    assert model.loss_unit == "per caption"           # a recurrent model's criterion: a loss per caption
    print_epoch(SimpleNamespace(config=TrainerConfig(num_epochs=4), model=model), record)  # what it reads of a Trainer
    out = capsys.readouterr().out
    assert out == "epoch 1/4, train loss 1.500 (per caption), val loss 1.250, lr 0.001, 0.5 s\n"
    print_epoch(SimpleNamespace(config=TrainerConfig(num_epochs=2), model=object()), record)   # a model without one
    assert capsys.readouterr().out == "epoch 1/2, train loss 1.500, val loss 1.250, lr 0.001, 0.5 s\n"
