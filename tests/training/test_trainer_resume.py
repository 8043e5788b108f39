"""Exact resume: an interrupted run continued from its checkpoint equals the uninterrupted run, bit for bit."""

import functools
import warnings

import numpy as np
import pytest

from minitorch_cap import CaptioningTransformer
from minitorch_cap.optim import SGD, Adam, ExponentialLR, ReduceLROnPlateau, StepLR
from minitorch_cap.training import CheckpointError, Trainer, load_checkpoint, save_checkpoint

from tests.conftest import QUIET, Interrupted, interrupt_after, make_caption_data, make_setup


def train_run(setup, data, out_dir, stop_after=None, **options) -> Trainer:
    """Train ``setup`` (model, optimizer, schedule) on ``data`` into ``out_dir``, the whole run or,
    with ``stop_after``, crashing after that many steps (the interrupted run)."""
    model, opt, sched = setup
    if stop_after is not None:
        interrupt_after(opt, stop_after)
    trainer = Trainer(model, data, opt, sched, out_dir=out_dir, **{**QUIET, **options})
    if stop_after is None:
        trainer.train()
    else:
        with pytest.raises(Interrupted):
            trainer.train()
    return trainer


def run(data, out_dir, cell_type="lstm", stop_after=None, **options):
    return train_run(make_setup(data, cell_type=cell_type), data, out_dir, stop_after, **options)


def assert_same_run(resumed, full):
    assert resumed.loss_history == full.loss_history            # exact float equality, value for value
    assert resumed.val_loss_history == full.val_loss_history
    assert [r["train_loss"] for r in resumed.epochs] == [r["train_loss"] for r in full.epochs]
    assert resumed.optimizer.lr == full.optimizer.lr
    for (name, p), (_, q) in zip(resumed.model.named_parameters(), full.model.named_parameters()):
        np.testing.assert_array_equal(p.data, q.data, err_msg=name)
    for name, state in full.optimizer.state.items():
        for key, value in state.items():
            np.testing.assert_array_equal(resumed.optimizer.state[name][key], value)
    assert resumed.rng.bit_generator.state == full.rng.bit_generator.state


# 40 captions, batch 8: 5 iterations per epoch. checkpoint_every=3 writes mid-epoch checkpoints.
@pytest.mark.parametrize("sampling", ["replacement", "shuffle"])
@pytest.mark.parametrize("stop_after, expected_iteration", [(10, 10), (8, 6), (13, 12)])
def test_resume_equals_the_uninterrupted_run(data, tmp_path, sampling, stop_after, expected_iteration):
    options = dict(batch_size=8, num_epochs=4, seed=11, checkpoint_every=3, sampling=sampling)
    full = run(data, tmp_path / "full", **options)
    assert len(full.loss_history) == 20
    run(data, tmp_path / "cut", stop_after=stop_after, **options)
    saved = load_checkpoint(tmp_path / "cut" / "checkpoint.h5")["trainer"]
    assert saved["iteration"] == expected_iteration              # 10: an epoch end; 6 and 12: mid-epoch
    assert saved["epoch_iteration"] == expected_iteration % 5
    resumed = Trainer.resume(tmp_path / "cut" / "checkpoint.h5", data=data, progress=False)
    assert len(resumed.loss_history) == expected_iteration
    resumed.train()
    assert_same_run(resumed, full)


def test_resume_with_the_callers_own_objects_and_a_plateau_schedule(tmp_path):
    data = make_caption_data()
    def build():
        model, opt, _ = make_setup(data, cell_type="gru", gamma=None)
        return model, opt, ReduceLROnPlateau(opt, factor=0.5, patience=0)
    options = dict(batch_size=8, num_epochs=4, seed=2, checkpoint_every=4, **QUIET)
    model, opt, sched = build()
    full = Trainer(model, data, opt, sched, out_dir=tmp_path / "full", **options)
    full.train()
    model, opt, sched = build()
    interrupt_after(opt, 9)
    with pytest.raises(Interrupted):
        Trainer(model, data, opt, sched, out_dir=tmp_path / "cut", **options).train()
    model, opt, sched = build()                   # fresh objects, as a new process would make
    resumed = Trainer.resume(tmp_path / "cut" / "checkpoint.h5", model, data, opt, sched)
    assert resumed.iteration == 8
    resumed.train()
    assert_same_run(resumed, full)
    assert sched.best == full.scheduler.best and sched.num_bad_epochs == full.scheduler.num_bad_epochs


def test_resume_can_extend_a_finished_run(data, tmp_path):
    full = run(data, tmp_path / "full", batch_size=10, num_epochs=3, seed=0)
    short = run(data, tmp_path / "short", batch_size=10, num_epochs=2, seed=0)
    assert short.loss_history == full.loss_history[:8]
    resumed = Trainer.resume(tmp_path / "short" / "checkpoint.h5", data=data, num_epochs=3, progress=False)
    resumed.train()
    assert_same_run(resumed, full)


def test_resume_refuses_what_would_change_the_run(data, tmp_path):
    run(data, tmp_path, batch_size=10, num_epochs=1, seed=0)
    path = tmp_path / "checkpoint.h5"
    with pytest.raises(ValueError, match=r"cannot change \['batch_size'\] when resuming"):
        Trainer.resume(path, data=data, batch_size=5)
    Trainer.resume(path, data=data, batch_size=10, seed=0)        # the same values are fine
    # clipping changes the steps: refused as the command line's --clip-grad-norm was (Trainer.resume took it)
    with pytest.raises(ValueError, match=r"cannot change \['clip_grad_norm'\] when resuming"):
        Trainer.resume(path, data=data, clip_grad_norm=1.0)
    Trainer.resume(path, data=data, clip_grad_norm=None, clip_grad_value=None)
    with pytest.raises(ValueError, match="the data has 30 train / 12 val captions, the run .* had 40 / 12"):
        Trainer.resume(path, data=make_caption_data(num_train=30))
    model, _, _ = make_setup(data, cell_type="rnn")
    with pytest.raises(ValueError, match="does not match"):
        Trainer.resume(path, model, data)
    model, _, _ = make_setup(data)
    with pytest.raises(ValueError, match="optimizer: the run.s is Adam, the one given SGD"):
        Trainer.resume(path, model, data, SGD(model.named_parameters(), lr=0.1))
    with pytest.raises(TypeError, match="data is required"):
        Trainer.resume(path)


def test_weights_only_checkpoints_cannot_be_resumed(data, tmp_path):
    model, _, _ = make_setup(data)
    save_checkpoint(tmp_path / "w.h5", model)
    with pytest.raises(CheckpointError, match="no training state; .* init_from"):
        Trainer.resume(tmp_path / "w.h5", data=data)


def test_resume_continues_writing_checkpoints_and_history(data, tmp_path):
    run(data, tmp_path, stop_after=7, batch_size=10, num_epochs=3, seed=0)
    resumed = Trainer.resume(tmp_path / "checkpoint.h5", data=data, progress=False)
    resumed.train()
    saved = load_checkpoint(tmp_path / "checkpoint.h5")["trainer"]
    assert saved["epoch"] == 3 and saved["iteration"] == 12
    assert list(saved["loss_history"]) == resumed.loss_history


def test_resume_refuses_other_data_and_says_what_differs(data, tmp_path):
    """Issue 13: the checkpoint records its data (fingerprint and options); other data of the same size is refused."""
    run(data, tmp_path, batch_size=10, num_epochs=1, seed=0, data_options={"loader": "test", "seed": 0})
    path = tmp_path / "checkpoint.h5"
    recorded = load_checkpoint(path)["trainer"]["data"]
    assert recorded["options"] == {"loader": "test", "seed": 0} and recorded["fingerprint"]["num_train"] == 40
    other = make_caption_data(seed=5)                  # same sizes and vocabulary, other captions and features
    with pytest.raises(ValueError, match=r"Trainer.resume: the data differs from the data of the run in .*: "
                                         r"the training captions \(which captions, or their word ids\); .*"
                                         r"\(recorded data options: \{'loader': 'test', 'seed': 0\}\)"):
        Trainer.resume(path, data=other)
    resumed = Trainer.resume(path, data=make_caption_data(), num_epochs=2, progress=False)
    assert resumed.config.data_options == {"loader": "test", "seed": 0}    # carried over to the next checkpoints


def test_resume_with_an_optimizer_but_no_model_is_refused(data, tmp_path):
    """Issue 14: resume rebuilt the model from the checkpoint and the caller's optimizer moved the caller's model."""
    run(data, tmp_path, batch_size=10, num_epochs=1, seed=0)
    model, opt, _ = make_setup(data)
    before = model.state_dict()
    with pytest.raises(ValueError, match="not this CaptioningModel's .*pass model= too"):
        Trainer.resume(tmp_path / "checkpoint.h5", data=data, optimizer=opt)
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[name])
    Trainer.resume(tmp_path / "checkpoint.h5", model, data, opt)       # with its model: fine


# --------------------------------------------------------------------- dropout (issue 22)
def transformer_setup(data, rng):
    model = CaptioningTransformer(data["word_to_idx"], input_dim=data["train_features"].shape[1], wordvec_dim=8,
                                  num_heads=2, num_layers=2, max_length=12, dropout=0.3, dtype=np.float64, rng=rng,
                                  dim_feedforward=16)
    optimizer = Adam(model.named_parameters(), lr=1e-3)
    return model, optimizer, ExponentialLR(optimizer, gamma=0.8)


def transformer_run(data, out_dir, stop_after=None, rng_none=False, **options):
    if rng_none:
        np.random.seed(0)           # a model drawing from numpy's global state, built the same each time
    setup = transformer_setup(data, None if rng_none else np.random.default_rng(0))
    return train_run(setup, data, out_dir, stop_after, **options)


# 30 captions, batch 10: 3 iterations per epoch; checkpoint_every=4 writes iterations 4 and 8 mid-epoch.
DROPOUT_RUN = dict(batch_size=10, num_epochs=4, seed=3, checkpoint_every=4)


@functools.lru_cache(maxsize=2)
def uninterrupted_transformer_run(rng_none: bool) -> Trainer:
    full = transformer_run(make_caption_data(num_train=30, num_val=6, dim=6, T=8), None, rng_none=rng_none,
                           **DROPOUT_RUN)
    assert len(full.loss_history) == 12
    return full


@pytest.mark.parametrize("rng_none", [False, True])
@pytest.mark.parametrize("stop_after, expected_iteration", [(3, 3), (6, 6), (9, 9), (5, 4), (8, 8)])
def test_resume_with_dropout_equals_the_uninterrupted_run(tmp_path, rng_none, stop_after, expected_iteration):
    data = make_caption_data(num_train=30, num_val=6, dim=6, T=8)
    options = dict(DROPOUT_RUN, rng_none=rng_none)
    full = uninterrupted_transformer_run(rng_none)
    transformer_run(data, tmp_path / "cut", stop_after=stop_after, **options)
    np.random.seed(12345)           # the resumed process's global state is another one
    path = tmp_path / "cut" / "checkpoint.h5"
    assert load_checkpoint(path)["trainer"]["iteration"] == expected_iteration
    resumed = Trainer.resume(path, data=data, progress=False)     # the model rebuilt from its config
    resumed.train()
    assert_same_run(resumed, full)
    assert resumed.randomness.dropout.bit_generator.state == full.randomness.dropout.bit_generator.state


def test_resume_with_dropout_of_a_checkpoint_without_the_mask_stream_warns(tmp_path):
    data = make_caption_data(num_train=30, num_val=0, dim=6, T=8)
    transformer_run(data, tmp_path, batch_size=10, num_epochs=1, seed=0)
    checkpoint = load_checkpoint(tmp_path / "checkpoint.h5")
    del checkpoint["trainer"]["rng_streams"]          # as written before the stream was saved
    with pytest.warns(RuntimeWarning, match="did not save the dropout masks' random stream"):
        Trainer.resume(tmp_path / "checkpoint.h5", data=data, checkpoint=checkpoint, num_epochs=2)
    lstm = make_caption_data()
    run(lstm, tmp_path / "lstm", batch_size=10, num_epochs=1, seed=0)
    checkpoint = load_checkpoint(tmp_path / "lstm" / "checkpoint.h5")
    del checkpoint["trainer"]["rng_streams"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")                # no dropout: nothing is lost, nothing to say
        Trainer.resume(tmp_path / "lstm" / "checkpoint.h5", data=lstm, checkpoint=checkpoint, num_epochs=2)


# --------------------------------------------------------------------- a given optimizer / schedule (issue 22)
def test_resume_refuses_a_given_optimizer_or_schedule_with_other_settings(data, tmp_path):
    run(data, tmp_path, batch_size=10, num_epochs=2, seed=0)          # Adam lr 1e-2, ExponentialLR gamma 0.9
    path = tmp_path / "checkpoint.h5"
    model, _, _ = make_setup(data)
    cases = [
        (Adam(model.named_parameters(), lr=1e-4), 0.9, r"optimizer lr: the run's 0\.01 \(0\.0081.* now, after its "
                                                       r"schedule\), given 0\.0001"),
        (Adam(model.named_parameters(), lr=1e-2, betas=(0.8, 0.999)), 0.9,
         r"optimizer betas: the run's \[0\.9, 0\.999\], given \[0\.8, 0\.999\]"),
        (Adam(model.named_parameters(), lr=1e-2), 0.5, r"scheduler gamma: the run's 0\.9, given 0\.5"),
    ]
    for optimizer, gamma, message in cases:
        scheduler = ExponentialLR(optimizer, gamma=gamma)
        with pytest.raises(ValueError, match="Trainer.resume: the optimizer or scheduler given differs from the run "
                                             f"in .*checkpoint.h5: {message}"):
            Trainer.resume(path, model, data, optimizer, scheduler)
        assert scheduler.last_epoch == 0           # refused before anything was loaded into the caller's objects
    with pytest.raises(ValueError, match="scheduler: the run's is ExponentialLR, the one given StepLR"):
        optimizer = Adam(model.named_parameters(), lr=1e-2)
        Trainer.resume(path, model, data, optimizer, StepLR(optimizer, step_size=1, gamma=0.9))
    for lr in (1e-2, 1e-2 * 0.9 * 0.9):          # the rate the run started with (the same script again), or its current
        optimizer = Adam(model.named_parameters(), lr=lr)
        resumed = Trainer.resume(path, model, data, optimizer, ExponentialLR(optimizer, gamma=0.9), num_epochs=3)
        assert resumed.optimizer is optimizer and optimizer.lr == pytest.approx(1e-2 * 0.81, rel=1e-15)


def test_resume_refuses_fewer_epochs_than_done(data, tmp_path):
    """num_epochs counts every epoch of the run: fewer than done was accepted and train() wrote a
    folder with best.h5 alone (the command line refused it already)."""
    run(data, tmp_path, batch_size=10, num_epochs=2, seed=0)
    with pytest.raises(ValueError, match=r"num_epochs 1 is fewer than the 2 epochs the run in .* has done"):
        Trainer.resume(tmp_path / "checkpoint.h5", data=data, num_epochs=1, out_dir=tmp_path / "other")
    assert not (tmp_path / "other").exists()
    assert Trainer.resume(tmp_path / "checkpoint.h5", data=data, num_epochs=2, progress=False).train() is not None
