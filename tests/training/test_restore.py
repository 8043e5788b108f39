"""What a checkpoint gives back: its model (a record that does not rebuild one is a CheckpointError naming the
file), weights only into another model, and a Trainer's state (trainer_state / load_trainer_state)."""

import copy
import json
import re

import numpy as np
import pytest

from minitorch_cap import CaptioningModel
from minitorch_cap.nn.checks import UserError
from minitorch_cap.optim import SGD, Adam, ExponentialLR, StepLR
from minitorch_cap.training import CheckpointError, Trainer, load_checkpoint, save_checkpoint
from minitorch_cap.training.restore import (
    check_given_settings, init_from_checkpoint, load_model, load_trainer_state, model_from_checkpoint, trainer_state,
)

from tests.conftest import QUIET, Interrupted, interrupt_after, make_setup


def weights(model):
    return {name: p.data.copy() for name, p in model.named_parameters()}


def assert_weights(model, expected, dtype=None):
    got = weights(model)
    assert list(got) == list(expected)
    for name, value in expected.items():
        want = value if dtype is None else value.astype(dtype)
        assert got[name].dtype == want.dtype, name
        np.testing.assert_array_equal(got[name], want, err_msg=name)


@pytest.fixture
def saved(data, tmp_path):
    """A weights-only checkpoint of a small LSTM model: (path, its content, the model)."""
    model, _, _ = make_setup(data)
    path = save_checkpoint(tmp_path / "m.h5", model)
    return path, load_checkpoint(path), model


# ---------------------------------------------------------------------------- the model
def damage(record, how):
    """A copy of a checkpoint's content whose model record is damaged as ``how`` says."""
    record = copy.deepcopy(record)
    info, state = record["model"], record["model"]["state_dict"]
    if how == "unknown class":
        info["class"] = "NoSuchCaptioner"
    elif how == "bad setting":
        info["config"]["hidden_dim"] = 0
    elif how == "unknown setting":
        info["config"]["depth"] = 3
    elif how == "missing weight":
        del state["vocab.b"]
    elif how == "extra weight":
        state["extra.W"] = np.zeros(3, np.float32)
    elif how == "wrong shape":
        state["rnn.Wx"] = state["rnn.Wx"][:, :-1]
    elif how == "wrong dtype":
        state["rnn.Wx"] = state["rnn.Wx"].astype(np.float64)
    elif how == "NaN weight":
        state["vocab.b"] = np.full_like(state["vocab.b"], np.nan)
    elif how == "no weights":
        del info["state_dict"]
    elif how == "config of another size":
        info["config"]["hidden_dim"] += 1
    return record


HOWS = ["unknown class", "bad setting", "unknown setting", "missing weight", "extra weight", "wrong shape",
        "wrong dtype", "NaN weight", "no weights", "config of another size"]


def test_model_from_checkpoint_rebuilds_the_stored_model(saved):
    path, record, model = saved
    again = model_from_checkpoint(record, path)
    assert type(again) is CaptioningModel and again.config() == model.config()
    assert_weights(again, weights(model))


@pytest.mark.parametrize("how", HOWS)
def test_a_record_that_does_not_rebuild_a_model_is_a_checkpoint_error_naming_the_file(saved, how):
    path, record, _ = saved
    with pytest.raises(CheckpointError) as info:
        model_from_checkpoint(damage(record, how), path)
    message = str(info.value)
    assert message.startswith(f"{path}: the stored model cannot be rebuilt from its config and weights: ")
    assert isinstance(info.value, UserError)                         # one line from the command line
    assert isinstance(info.value.__cause__, (ValueError, TypeError, KeyError))   # the reason is kept


def test_load_model_of_a_file_whose_record_does_not_match_its_weights(data, tmp_path, monkeypatch):
    """A sealed, undamaged file whose config says another size than its weights have (a bug that wrote it)."""
    model, _, _ = make_setup(data)
    monkeypatch.setattr(model, "config", lambda: {**CaptioningModel.config(model), "hidden_dim": 17})
    path = save_checkpoint(tmp_path / "odd.h5", model)
    with pytest.raises(CheckpointError, match=rf"{re.escape(str(path))}: the stored model cannot be rebuilt .*shape"):
        load_model(path)


# ---------------------------------------------------------------------------- weights only
def test_init_from_checkpoint_of_a_resumable_checkpoint_takes_the_weights_and_nothing_else(data, tmp_path):
    source, opt, sched = make_setup(data, lr=0.05, gamma=0.5)
    for _ in range(2):
        source.loss(data["train_features"][:8], data["train_captions"][:8])
        opt.step()
        sched.step()
    path = save_checkpoint(tmp_path / "full.h5", source, opt, sched, trainer={"epoch": 2, "iteration": 8})
    model, opt2, sched2 = make_setup(data, seed=1, lr=1e-3, gamma=0.9)
    config = model.config()
    init_from_checkpoint(model, path)
    assert_weights(model, weights(source))
    assert model.config() == config                                     # the model's own settings
    assert (opt2.lr, opt2.state, sched2.last_epoch, sched2.gamma) == (1e-3, {}, 0, 0.9)   # a new run's


@pytest.mark.parametrize("source_dtype, target_dtype", [(np.float32, np.float64), (np.float64, np.float32)])
def test_init_from_checkpoint_converts_the_weights_to_the_models_dtype(data, tmp_path, source_dtype, target_dtype):
    source, _, _ = make_setup(data)
    source.to(source_dtype)
    source.vocab.b.data[...] = 1 / 3                 # not a float32 number: rounded on the way to float32
    path = save_checkpoint(tmp_path / "m.h5", source)
    model, _, _ = make_setup(data, seed=1)
    model.to(target_dtype)
    init_from_checkpoint(model, path)
    assert_weights(model, weights(source), dtype=target_dtype)


def test_weights_beyond_float32_are_refused_not_made_infinite(data, tmp_path):
    source, _, _ = make_setup(data)
    source.to(np.float64)
    source.vocab.b.data[0] = 1e300                   # finite in float64, infinite in float32
    path = save_checkpoint(tmp_path / "big.h5", source)
    model, _, _ = make_setup(data, seed=1)
    before = weights(model)
    with np.errstate(over="ignore"), pytest.raises(ValueError, match=r"'vocab\.b' hold NaN or infinity"):
        init_from_checkpoint(model, path)
    assert_weights(model, before)


def test_init_from_checkpoint_refuses_another_vocabulary_even_of_the_same_size(data, saved):
    path, _, _ = saved
    swapped = dict(data["word_to_idx"], w4=5, w5=4)      # the same words, two ids exchanged
    model = CaptioningModel(swapped, input_dim=12, wordvec_dim=8, hidden_dim=16, cell_type="lstm",
                            rng=np.random.default_rng(1))
    before = weights(model)
    with pytest.raises(ValueError, match=rf"init_from_checkpoint: the vocabulary of {re.escape(str(path))} "
                                         r"\(12 words\) differs from the model's \(12 words\)"):
        init_from_checkpoint(model, path)
    assert_weights(model, before)


def test_strict_false_allows_missing_and_extra_names_but_not_other_shapes(data, tmp_path, monkeypatch):
    source, _, _ = make_setup(data)
    full = source.state_dict()
    partial = {name: value for name, value in full.items() if name != "vocab.b"}
    monkeypatch.setattr(source, "state_dict", lambda: {**partial, "extra.W": np.ones((2, 2), np.float32)})
    path = save_checkpoint(tmp_path / "partial.h5", source)
    model, _, _ = make_setup(data, seed=1)
    before = weights(model)
    with pytest.raises(ValueError, match=r"names do not match; missing \['vocab\.b'\], unexpected \['extra\.W'\]"):
        init_from_checkpoint(model, path)
    assert_weights(model, before)                                      # strict: nothing written
    init_from_checkpoint(model, path, strict=False)
    assert_weights(model, {**partial, "vocab.b": before["vocab.b"]})   # the rest copied, vocab.b left as it was
    # a model of another hidden size: the shared names have other shapes, refused all the same
    other = CaptioningModel(data["word_to_idx"], input_dim=12, wordvec_dim=8, hidden_dim=6, cell_type="lstm",
                            rng=np.random.default_rng(0))
    before = weights(other)
    with pytest.raises(ValueError, match="expected shape"):
        init_from_checkpoint(other, path, strict=False)
    assert_weights(other, before)


# ---------------------------------------------------------------------------- the trainer's state
def interrupted_trainer(data, steps, **options):
    """A Trainer whose optimizer fails at step ``steps + 1`` (a crash inside train())."""
    model, opt, sched = make_setup(data)
    interrupt_after(opt, steps)
    trainer = Trainer(model, data, opt, sched, **{**QUIET, **options})
    with pytest.raises(Interrupted):
        trainer.train()
    return trainer


# 40 captions, batch 8: 5 iterations per epoch; 7 steps = epoch 1 and 2 iterations of epoch 2.
RUN = dict(batch_size=8, num_epochs=3, seed=4, sampling="shuffle", val_size=5, data_options={"loader": "test"},
           metrics={"score": lambda m, d: 0.25})


def test_trainer_state_records_the_trainers_counters_config_and_data(data):
    trainer = interrupted_trainer(data, 7, **RUN)
    state = trainer_state(trainer)
    assert (state["epoch"], state["iteration"], state["epoch_iteration"]) == (1, 7, 2)
    assert state["config"] == trainer.config.to_dict() and state["iterations_per_epoch"] == 5
    assert state["data"]["num_train"] == 40 and state["data"]["num_val"] == 12
    assert state["data"]["options"] == {"loader": "test"} and state["data"]["fingerprint"] == trainer.data_fingerprint()
    assert state["loss_history"].dtype == np.float64 and state["loss_history"].tolist() == trainer.loss_history
    assert len(state["loss_history"]) == 7 and len(state["epochs"]) == 1 and state["epochs"][0]["score"] == 0.25
    assert state["val_loss_history"] == trainer.val_loss_history and len(state["val_loss_history"]) == 1
    assert (state["best_value"], state["best_epoch"], state["bad_epochs"]) == (trainer.val_loss_history[0], 1, 0)
    np.testing.assert_array_equal(state["epoch_order"], trainer.sampler.epoch_order)
    assert json.loads(state["rng_state"]) == trainer.rng.bit_generator.state
    assert state["monitor"] == "val_loss" and state["stopped_early"] is False


def same_state(a, b):
    """Equal trainer states (arrays by value)."""
    assert set(a) == set(b)
    for key in a:
        if isinstance(a[key], np.ndarray) or isinstance(b[key], np.ndarray):
            np.testing.assert_array_equal(np.asarray(a[key]), np.asarray(b[key]), err_msg=key)
        else:
            assert a[key] == b[key], key


@pytest.mark.parametrize("through_file", [False, True])
def test_load_trainer_state_gives_a_fresh_trainer_the_same_state(data, tmp_path, through_file):
    interrupted = interrupted_trainer(data, 7, **RUN)
    state = trainer_state(interrupted)
    if through_file:                                  # as a checkpoint holds it: HDF5 values and arrays
        path = save_checkpoint(tmp_path / "c.h5", interrupted.model, trainer=state)
        state = load_checkpoint(path)["trainer"]
    model, opt, sched = make_setup(data)
    fresh = Trainer(model, data, opt, sched, **{**QUIET, **RUN})
    load_trainer_state(fresh, state)
    same_state(trainer_state(fresh), trainer_state(interrupted))
    assert fresh.loss_history == interrupted.loss_history and all(type(x) is float for x in fresh.loss_history)
    assert fresh.epochs == interrupted.epochs and fresh.best_epoch == 1
    assert fresh.rng.bit_generator.state == interrupted.rng.bit_generator.state
    # the rest of the epoch draws the same captions
    for k in range(2, 5):
        np.testing.assert_array_equal(fresh.sampler.batch(k), interrupted.sampler.batch(k))


def test_a_mid_epoch_state_of_a_shuffled_run_without_its_order_is_refused(data):
    state = trainer_state(interrupted_trainer(data, 7, **RUN))
    del state["epoch_order"]
    model, opt, sched = make_setup(data)
    fresh = Trainer(model, data, opt, sched, **{**QUIET, **RUN})
    with pytest.raises(ValueError, match="lacks its epoch order"):
        load_trainer_state(fresh, state)


def test_an_epoch_boundary_state_restores_the_epoch_count_and_early_stop(data):
    model, opt, sched = make_setup(data)
    values = iter([1.0, 2.0, 3.0])
    stopped = Trainer(model, data, opt, sched, batch_size=10, num_epochs=5, seed=0, monitor="err", patience=2,
                      metrics={"err": lambda m, d: next(values)}, **QUIET)
    stopped.train()
    assert stopped.stopped_early and stopped.epoch == 3
    state = trainer_state(stopped)
    assert "epoch_order" not in state and state["epoch_iteration"] == 0
    model, opt, sched = make_setup(data)
    fresh = Trainer(model, data, opt, sched, batch_size=10, num_epochs=5, seed=0, monitor="err", patience=2,
                    metrics={"err": lambda m, d: 0.0}, **QUIET)
    load_trainer_state(fresh, state)
    assert (fresh.epoch, fresh.iteration, fresh.stopped_early) == (3, 12, True)
    assert (fresh.best_value, fresh.best_epoch, fresh.bad_epochs) == (1.0, 1, 2)
    same_state(trainer_state(fresh), state)


# ---------------------------------------------------------------------------- a given optimizer and schedule
def run_states(data, lr=1e-2, gamma=0.9, epochs=2):
    """The optimizer and schedule state dicts of a run after ``epochs`` schedule steps."""
    model, opt, _ = make_setup(data, lr=lr, gamma=None)
    sched = ExponentialLR(opt, gamma)
    for _ in range(epochs):
        sched.step()
    return model, opt.state_dict(), sched.state_dict()


def test_check_given_settings_accepts_equal_settings_and_nothing_given(data):
    model, opt_state, sched_state = run_states(data)
    check_given_settings(None, None, opt_state, sched_state, "c.h5")
    for lr in (1e-2, opt_state["hyperparams"]["lr"]):          # the rate it started with, or its current one
        optimizer = Adam(model.named_parameters(), lr=lr)
        check_given_settings(optimizer, ExponentialLR(optimizer, 0.9), opt_state, sched_state, "c.h5")
    # a scheduler given for a run saved without one is not compared here (resume refuses it before, by its message)
    optimizer = Adam(model.named_parameters(), lr=opt_state["hyperparams"]["lr"])
    check_given_settings(optimizer, StepLR(optimizer, 1), opt_state, None, "c.h5")


def test_check_given_settings_names_every_difference_at_once(data):
    model, opt_state, sched_state = run_states(data)
    optimizer = Adam(model.named_parameters(), lr=0.5, betas=(0.8, 0.999), eps=1e-6)
    with pytest.raises(ValueError) as info:
        check_given_settings(optimizer, ExponentialLR(optimizer, 0.5), opt_state, sched_state, "run/c.h5")
    message = str(info.value)
    assert message.startswith("Trainer.resume: the optimizer or scheduler given differs from the run in run/c.h5: ")
    for part in ("optimizer lr: the run's 0.01 (", "now, after its schedule), given 0.5",
                 "optimizer betas: the run's [0.9, 0.999], given [0.8, 0.999]",
                 "optimizer eps: the run's 1e-08, given 1e-06", "scheduler gamma: the run's 0.9, given 0.5"):
        assert part in message, part
    assert "init_from" in message


def test_check_given_settings_without_a_schedule_accepts_the_runs_rate_only(data):
    model, opt_state, _ = run_states(data, epochs=0)
    opt_state["hyperparams"]["lr"] = 0.004                     # a rate the caller set during the run
    check_given_settings(Adam(model.named_parameters(), lr=0.004), None, opt_state, None, "c.h5")
    with pytest.raises(ValueError, match=r"optimizer lr: the run's 0\.004, given 0\.01\. A resumed run"):
        check_given_settings(Adam(model.named_parameters(), lr=0.01), None, opt_state, None, "c.h5")
    with pytest.raises(ValueError, match="optimizer: the run's is Adam, the one given SGD"):
        check_given_settings(SGD(model.named_parameters(), lr=0.004), None, opt_state, None, "c.h5")
