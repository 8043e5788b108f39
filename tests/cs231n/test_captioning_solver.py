"""cs231n.captioning_solver.CaptioningSolver: the course's minibatch draws, update rule, decay and log."""

import numpy as np
import pytest

from minitorch_cap.cs231n.captioning_solver import CaptioningSolver
from minitorch_cap.cs231n.classifiers.rnn import CaptioningRNN
from minitorch_cap.cs231n.coco_utils import load_coco_data


class Recording:
    """A course-conforming model (``params``, ``loss``) that records the minibatches it is given."""

    def __init__(self, model):
        self.model, self.params, self.seen = model, model.params, []

    def loss(self, features, captions):
        self.seen.append((features.copy(), captions.copy()))
        return self.model.loss(features, captions)


def small_model(data, dtype=np.float32, cell_type="rnn"):
    np.random.seed(0)
    return CaptioningRNN(data["word_to_idx"], input_dim=data["train_features"].shape[1], wordvec_dim=4,
                         hidden_dim=5, cell_type=cell_type, dtype=dtype)


def test_minibatches_are_the_courses_for_the_same_seed(course_coco):
    data = load_coco_data()
    model = Recording(small_model(data))
    np.random.seed(231)
    solver = CaptioningSolver(model, data, update_rule="adam", batch_size=5, num_epochs=3, verbose=False)
    solver.train()
    num_train = data["train_captions"].shape[0]                 # 12: 2 iterations per epoch, 6 in all
    assert len(model.seen) == len(solver.loss_history) == 3 * (num_train // 5)
    np.random.seed(231)
    for features, captions in model.seen:                      # the course's sample_coco_minibatch, by hand
        mask = np.random.choice(num_train, 5)
        np.testing.assert_array_equal(captions, data["train_captions"][mask])
        np.testing.assert_array_equal(features, data["train_features"][data["train_image_idxs"][mask]])


def course_adam(w, dw, config):
    """The course's adam, written out (independent of the library)."""
    config.setdefault("m", np.zeros_like(w))
    config.setdefault("v", np.zeros_like(w))
    config.setdefault("t", 0)
    config["t"] += 1
    config["m"] = 0.9 * config["m"] + 0.1 * dw
    config["v"] = 0.999 * config["v"] + 0.001 * (dw * dw)
    alpha = config["learning_rate"] * np.sqrt(1 - 0.999 ** config["t"]) / (1 - 0.9 ** config["t"])
    return w - alpha * (config["m"] / (np.sqrt(config["v"]) + 1e-8))


@pytest.mark.parametrize("cell_type", ["rnn", "lstm"])
def test_the_loss_sequence_is_the_course_loops(course_coco, cell_type):
    """The solver's losses equal the course's loop run by hand: draws, per-parameter Adam, lr_decay."""
    data = load_coco_data()
    ours, theirs = small_model(data, np.float64, cell_type), small_model(data, np.float64, cell_type)
    np.random.seed(5)
    solver = CaptioningSolver(ours, data, update_rule="adam", optim_config={"learning_rate": 5e-2}, lr_decay=0.5,
                              batch_size=4, num_epochs=4, verbose=False)
    solver.train()

    np.random.seed(5)
    num_train = data["train_captions"].shape[0]
    per_epoch = num_train // 4
    configs = {k: {"learning_rate": 5e-2} for k in theirs.params}
    weights = {k: np.array(v) for k, v in theirs.params.items()}
    losses = []
    for t in range(4 * per_epoch):
        mask = np.random.choice(num_train, 4)
        for k, w in weights.items():
            theirs.params[k] = w
        loss, grads = theirs.loss(data["train_features"][data["train_image_idxs"][mask]], data["train_captions"][mask])
        losses.append(loss)
        weights = {k: course_adam(w, grads[k], configs[k]) for k, w in weights.items()}
        if (t + 1) % per_epoch == 0:
            for config in configs.values():
                config["learning_rate"] *= 0.5
    np.testing.assert_allclose(solver.loss_history, losses, rtol=1e-12)
    assert losses[-1] < losses[0]
    for k in weights:
        np.testing.assert_allclose(ours.params[k], weights[k], rtol=1e-10, atol=1e-14)
        assert solver.optim_configs[k]["learning_rate"] == 5e-2 * 0.5 ** 4
    assert solver.epoch == 4


def test_prints_the_courses_log(course_coco, capsys):
    data = load_coco_data()
    capsys.readouterr()
    np.random.seed(1)
    solver = CaptioningSolver(small_model(data), data, update_rule="sgd", optim_config={"learning_rate": 1e-2},
                              batch_size=6, num_epochs=3, print_every=2)
    solver.train()
    expected = "".join("(Iteration %d / %d) loss: %f\n" % (t + 1, 6, solver.loss_history[t]) for t in (0, 2, 4))
    assert capsys.readouterr().out == expected
    assert solver.check_accuracy(None, None) == 0.0


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(update_rule="adagrad"), ValueError, 'invalid update_rule "adagrad"; the rules of cs231n.optim are'),
    (dict(batch_size=0), ValueError, "batch_size must be an integer >= 1"),
    (dict(lr_decay=-1), ValueError, "lr_decay must be a positive number"),
    (dict(optim_config=[("learning_rate", 1)]), TypeError, "optim_config must be a dict"),
])
def test_bad_arguments(course_coco, kwargs, error, message):
    data = load_coco_data()
    with pytest.raises(error, match=message):
        CaptioningSolver(small_model(data), data, **kwargs)
    with pytest.raises(KeyError, match="no 'train_captions'"):
        CaptioningSolver(small_model(data), {})
    with pytest.raises(TypeError, match="the model needs the course's API, a params dict and loss"):
        CaptioningSolver(small_model(data).model, data)


def test_under_an_mpi_launcher_it_refuses_to_train_unrelated_copies(course_coco, monkeypatch):
    data = load_coco_data()
    model = Recording(small_model(data))
    solver = CaptioningSolver(model, data, batch_size=5, num_epochs=1, verbose=False)
    monkeypatch.setenv("PMI_SIZE", "2")               # what mpiexec -n 2 sets (MPICH's Hydra)
    with pytest.raises(RuntimeError, match="CaptioningSolver: started by an MPI launcher with 2 processes, it would "
                                           "train 2 unrelated copies .* comm=minitorch_cap.distributed.world"):
        solver.train()
    assert model.seen == [] and solver.loss_history == []
    monkeypatch.setenv("PMI_SIZE", "1")               # mpiexec -n 1 is one process: the course's loop
    solver.train()
    assert len(solver.loss_history) == 2
