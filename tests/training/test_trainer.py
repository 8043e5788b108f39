"""Trainer: the SPEC's solver semantics, validation, hooks, keep-best, early stopping, progress, guard."""

import json

import numpy as np
import pytest

from minitorch_cap.optim import SGD, Adam, ReduceLROnPlateau, StepLR
from minitorch_cap.training import Trainer, TrainerConfig, TrainingDiverged, load_checkpoint, load_model

from tests.conftest import QUIET, make_caption_data, make_setup


def test_iterations_per_epoch_and_one_loss_per_iteration(data):
    model, opt, sched = make_setup(data)
    trainer = Trainer(model, data, opt, sched, batch_size=16, num_epochs=3, seed=0, **QUIET)
    assert trainer.iterations_per_epoch == 40 // 16
    history = trainer.train()
    assert len(trainer.loss_history) == 6 and history["loss_history"] == trainer.loss_history
    assert all(isinstance(x, float) for x in trainer.loss_history)
    assert [r["iteration"] for r in history["epochs"]] == [2, 4, 6]
    # a batch larger than the split still gives one iteration per epoch
    model, opt, sched = make_setup(data)
    assert Trainer(model, data, opt, batch_size=100, **QUIET).iterations_per_epoch == 1


def test_minibatches_are_drawn_with_replacement_from_the_seeded_generator(data, monkeypatch):
    model, opt, _ = make_setup(data)
    trainer = Trainer(model, data, opt, batch_size=8, num_epochs=2, seed=5, **QUIET)
    seen = []
    original = model.loss
    monkeypatch.setattr(model, "loss", lambda f, c: (seen.append(c.copy()), original(f, c))[1])
    trainer.train()
    rng = np.random.default_rng(5)
    expected = [data["train_captions"][rng.choice(40, 8)] for _ in range(10)]
    assert len(seen) == 10
    for got, want in zip(seen, expected):
        np.testing.assert_array_equal(got, want)


def test_same_seed_same_run_and_different_seed_different_run(data):
    def run(seed):
        model, opt, sched = make_setup(data)
        return Trainer(model, data, opt, sched, batch_size=8, num_epochs=2, seed=seed, **QUIET).train()["loss_history"]
    assert run(3) == run(3)
    assert run(3) != run(4)


def test_shuffle_visits_every_caption_once_per_epoch(monkeypatch):
    data = make_caption_data(num_train=21)
    model, opt, _ = make_setup(data)
    data["train_captions"][:, 1] = np.arange(21) % 8 + 4       # a per-row signature we can read back
    trainer = Trainer(model, data, opt, batch_size=5, num_epochs=2, seed=0, sampling="shuffle", **QUIET)
    assert trainer.iterations_per_epoch == 5                    # ceil(21 / 5), the last batch has 1 caption
    batches = []
    original = trainer.sampler.batch
    monkeypatch.setattr(trainer.sampler, "batch", lambda k: (batches.append(original(k)), batches[-1])[1])
    trainer.train()
    assert [len(b) for b in batches] == [5, 5, 5, 5, 1] * 2
    for epoch in (batches[:5], batches[5:]):
        assert sorted(np.concatenate(epoch).tolist()) == list(range(21))
    assert not np.array_equal(np.concatenate(batches[:5]), np.concatenate(batches[5:]))


def test_schedule_is_stepped_at_the_end_of_each_epoch(data):
    model, opt, sched = make_setup(data, lr=1e-2, gamma=0.5)
    history = Trainer(model, data, opt, sched, batch_size=10, num_epochs=3, seed=0, **QUIET).train()
    assert [r["lr"] for r in history["epochs"]] == [1e-2, 1e-2 * 0.5, 1e-2 * 0.25]
    assert opt.lr == 1e-2 * 0.125 and sched.last_epoch == 3


def test_plateau_schedule_follows_the_monitored_value(data):
    model, opt, _ = make_setup(data, gamma=None)
    sched = ReduceLROnPlateau(opt, mode="max", factor=0.5, patience=0)
    trainer = Trainer(model, data, opt, sched, batch_size=10, num_epochs=3, seed=0, monitor="const",
                      mode="max", metrics={"const": lambda m, d: 1.0}, **QUIET)
    trainer.train()
    assert opt.lr == pytest.approx(1e-2 * 0.25)     # epoch 1 sets the best, epochs 2 and 3 do not improve


def test_validation_loss_is_the_teacher_forced_loss_on_a_fixed_subset(data):
    model, opt, sched = make_setup(data)
    trainer = Trainer(model, data, opt, sched, batch_size=5, num_epochs=1, seed=0, val_size=7, **QUIET)
    history = trainer.train()
    idx = np.linspace(0, 11, 7).round().astype(int)
    model.eval()
    expected = model.forward(data["val_features"][data["val_image_idxs"][idx]], data["val_captions"][idx])
    model.train()
    assert history["val_loss_history"] == [pytest.approx(expected, rel=1e-6)]
    assert history["epochs"][0]["val_loss"] == history["val_loss_history"][0]
    assert model.training


def test_without_validation_data_the_train_loss_is_monitored(data):
    data = {k: v for k, v in data.items() if not k.startswith("val_")}
    model, opt, sched = make_setup(data)
    trainer = Trainer(model, data, opt, sched, batch_size=10, num_epochs=2, seed=0, **QUIET)
    history = trainer.train()
    assert trainer.monitor == "train_loss" and history["val_loss_history"] == []
    assert history["epochs"][0]["val_loss"] is None


def test_metrics_and_callbacks_run_after_every_epoch(data):
    model, opt, sched = make_setup(data)
    calls, records = [], []

    def metric(m, d):
        calls.append(m.training)
        return 0.5 + len(calls)

    trainer = Trainer(model, data, opt, sched, batch_size=10, num_epochs=3, seed=0, metrics={"score": metric},
                      callbacks=[lambda t, r: records.append((t.epoch, dict(r)))], **QUIET)
    trainer.train()
    assert calls == [False, False, False]          # metrics see the model in eval mode
    assert [e for e, _ in records] == [1, 2, 3]
    assert [r["score"] for _, r in records] == [1.5, 2.5, 3.5]
    assert set(records[0][1]) >= {"epoch", "iteration", "train_loss", "val_loss", "lr", "score", "seconds"}


def test_a_callback_can_stop_training(data):
    model, opt, sched = make_setup(data)
    trainer = Trainer(model, data, opt, sched, batch_size=10, num_epochs=5, seed=0,
                      callbacks=[lambda t, r: setattr(t, "should_stop", r["epoch"] == 2)], **QUIET)
    trainer.train()
    assert trainer.epoch == 2 and len(trainer.loss_history) == 8


def test_early_stopping_and_keep_best(data, tmp_path):
    model, opt, sched = make_setup(data)
    values = iter([3.0, 1.0, 2.0, 1.5, 0.5, 0.1])
    trainer = Trainer(model, data, opt, sched, batch_size=10, num_epochs=6, seed=0, metrics={"err": lambda m, d: next(values)},
                      monitor="err", mode="min", patience=2, out_dir=tmp_path, **QUIET)
    history = trainer.train()
    assert history["stopped_early"] and trainer.epoch == 4
    assert history["best_epoch"] == 2 and history["best_value"] == 1.0
    best = load_checkpoint(tmp_path / "best.h5")
    assert best["trainer"]["epoch"] == 2
    assert len(best["trainer"]["loss_history"]) == 8
    # the in-memory model kept training past the best epoch
    assert not np.array_equal(best["model"]["state_dict"]["rnn.Wx"], model.rnn.Wx.data)


def test_mode_max_keeps_the_largest(data, tmp_path):
    model, opt, sched = make_setup(data)
    values = iter([1.0, 3.0, 2.0])
    trainer = Trainer(model, data, opt, sched, batch_size=10, num_epochs=3, seed=0, metrics={"acc": lambda m, d: next(values)},
                      monitor="acc", mode="max", out_dir=tmp_path, **QUIET)
    trainer.train()
    assert trainer.best_epoch == 2 and load_checkpoint(tmp_path / "best.h5")["trainer"]["epoch"] == 2


def test_out_dir_gets_checkpoint_and_history(data, tmp_path):
    model, opt, sched = make_setup(data)
    trainer = Trainer(model, data, opt, sched, batch_size=10, num_epochs=2, seed=0, out_dir=tmp_path / "run", **QUIET)
    trainer.train()
    history = json.loads((tmp_path / "run" / "history.json").read_text())
    assert history["loss_history"] == trainer.loss_history
    assert history["val_loss_history"] == trainer.val_loss_history
    assert history["config"]["batch_size"] == 10 and history["iterations_per_epoch"] == 4
    reloaded = load_model(tmp_path / "run" / "checkpoint.h5")
    for (name, p), (_, q) in zip(model.named_parameters(), reloaded.named_parameters()):
        np.testing.assert_array_equal(p.data, q.data, err_msg=name)
    assert sorted(p.name for p in (tmp_path / "run").iterdir() if p.name != ".lock") == ["best.h5", "checkpoint.h5", "history.json"]


def test_verbose_prints_like_the_course(data, capsys):
    model, opt, sched = make_setup(data)
    Trainer(model, data, opt, sched, batch_size=10, num_epochs=3, print_every=5, seed=0, progress=False).train()
    lines = capsys.readouterr().out.splitlines()
    iteration_lines = [line for line in lines if line.startswith("(Iteration")]
    assert [line.split(")")[0] for line in iteration_lines] == ["(Iteration 1 / 12", "(Iteration 6 / 12", "(Iteration 11 / 12"]
    assert sum(line.startswith("epoch ") for line in lines) == 3      # the one epoch printer
    assert "val loss" in lines[-1]


def test_progress_bar_can_be_forced_and_is_off_when_not_a_terminal(data, capsys):
    model, opt, sched = make_setup(data)
    Trainer(model, data, opt, sched, batch_size=10, num_epochs=1, seed=0, verbose=False, progress=True).train()
    err = capsys.readouterr().err
    assert "loss=" in err and "4/4" in err
    model, opt, sched = make_setup(data)
    Trainer(model, data, opt, sched, batch_size=10, num_epochs=1, seed=0, verbose=False).train()  # stderr not a TTY
    assert capsys.readouterr().err == ""


def test_gradient_clipping_options_are_applied(data, monkeypatch):
    import minitorch_cap.training.trainer as trainer_module
    calls = []
    monkeypatch.setattr(trainer_module, "clip_grad_norm_", lambda p, n: calls.append(("norm", n)))
    monkeypatch.setattr(trainer_module, "clip_grad_value_", lambda p, v: calls.append(("value", v)))
    model, opt, sched = make_setup(data)
    Trainer(model, data, opt, sched, batch_size=20, num_epochs=1, seed=0, clip_grad_norm=5.0, clip_grad_value=1.0,
            **QUIET).train()
    assert calls == [("value", 1.0), ("norm", 5.0)] * 2


def test_checkpoint_every_without_an_out_dir_writes_nothing_and_trains(data):
    model, opt, _ = make_setup(data)
    trainer = Trainer(model, data, opt, batch_size=10, num_epochs=2, seed=0, checkpoint_every=3, **QUIET)
    trainer.train()
    assert trainer.iteration == 8 and trainer.last_checkpoint is None


@pytest.mark.filterwarnings("ignore:overflow encountered", "ignore:invalid value encountered")
def test_absurd_learning_rate_stops_with_the_divergence_guard(data, tmp_path):
    model, _, _ = make_setup(data, cell_type="rnn")
    opt = SGD(model.named_parameters(), lr=1e30)
    trainer = Trainer(model, data, opt, batch_size=10, num_epochs=10, seed=0, out_dir=tmp_path, checkpoint_every=1,
                      **QUIET)
    with pytest.raises(TrainingDiverged, match=r"Training diverged at iteration \d+ \(epoch \d+\)") as info:
        trainer.train()
    err = info.value
    assert isinstance(err, RuntimeError)
    assert err.iteration == len(trainer.loss_history) + 1
    assert "last good checkpoint" in str(err) and str(tmp_path / "checkpoint.h5") in str(err)
    # the checkpoint on disk is the last good one: finite weights, an earlier iteration
    saved = load_checkpoint(tmp_path / "checkpoint.h5")
    assert saved["trainer"]["iteration"] < err.iteration
    assert all(np.isfinite(v).all() for v in saved["model"]["state_dict"].values())
    # in memory, the weights were not updated with the poisoned gradient
    assert all(np.isfinite(p.data).all() for p in model.parameters())


def test_nan_gradient_is_caught_before_the_update(data, monkeypatch):
    model, opt, _ = make_setup(data)
    original = model.loss

    def poisoned(features, captions):
        loss, grads = original(features, captions)
        model.vocab.b.grad[0] = np.nan
        return loss, grads

    monkeypatch.setattr(model, "loss", poisoned)
    before = model.state_dict()
    trainer = Trainer(model, data, opt, batch_size=10, num_epochs=1, seed=0, **QUIET)
    with pytest.raises(TrainingDiverged, match=r"iteration 1 .*'vocab\.b'"):
        trainer.train()
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[name])
    assert trainer.loss_history == []


def test_bad_options_and_data_are_refused(data):
    model, opt, sched = make_setup(data)
    with pytest.raises(ValueError, match="batch_size must be an integer >= 1"):
        Trainer(model, data, opt, batch_size=0)
    with pytest.raises(ValueError, match="sampling must be one of"):
        Trainer(model, data, opt, sampling="random")
    with pytest.raises(TypeError, match="unexpected keyword"):
        Trainer(model, data, opt, learning_rate=1e-3)
    with pytest.raises(ValueError, match="monitor 'bleu'"):
        Trainer(model, data, opt, monitor="bleu")
    with pytest.raises(ValueError, match="reserved"):
        Trainer(model, data, opt, metrics={"val_loss": lambda m, d: 0.0})
    with pytest.raises(KeyError, match="train_image_idxs"):
        Trainer(model, {k: v for k, v in data.items() if k != "train_image_idxs"}, opt)
    wrong = dict(data, train_features=np.zeros((40, 5), np.float32))
    with pytest.raises(ValueError, match=r"the model expects 12-d image features but train_features are 5-d"):
        Trainer(model, wrong, opt)
    with pytest.raises(ValueError, match="outside"):
        Trainer(model, dict(data, train_image_idxs=data["train_image_idxs"] + 100), opt)
    with pytest.raises(ValueError, match="different optimizer"):
        _, other, other_sched = make_setup(data)
        Trainer(model, data, opt, other_sched)
    with pytest.raises(ValueError, match="needs validation data"):
        Trainer(model, data, opt, monitor="val_loss", val_size=0)


def test_config_round_trips_through_a_dict():
    config = TrainerConfig(batch_size=7, sampling="shuffle", out_dir="x", metrics={"a": lambda m, d: 1.0})
    values = config.to_dict()
    assert "metrics" not in values and "callbacks" not in values
    assert json.loads(json.dumps(values)) == values
    again = TrainerConfig.from_dict(values)
    assert again.batch_size == 7 and again.sampling == "shuffle" and again.out_dir == "x"
    with pytest.raises(ValueError, match="unknown options"):
        TrainerConfig.from_dict({"nope": 1})


def test_steplr_through_the_trainer(data):
    model, opt, _ = make_setup(data)
    sched = StepLR(opt, step_size=2, gamma=0.1)
    history = Trainer(model, data, opt, sched, batch_size=10, num_epochs=4, seed=0, **QUIET).train()
    assert [r["lr"] for r in history["epochs"]] == pytest.approx([1e-2, 1e-2, 1e-3, 1e-3])


def test_weights_poisoned_by_an_update_are_never_written(data, tmp_path):
    model, opt, sched = make_setup(data)
    trainer = Trainer(model, data, opt, sched, batch_size=10, num_epochs=2, seed=0, out_dir=tmp_path, **QUIET)
    trainer.train()
    before = (tmp_path / "checkpoint.h5").read_bytes()
    original = opt.step

    def overflowing_step():
        original()
        model.proj.W.data[0, 0] = np.inf

    opt.step = overflowing_step
    resumed = Trainer.resume(tmp_path / "checkpoint.h5", model, data, opt, sched, num_epochs=3, checkpoint_every=1)
    with pytest.raises(TrainingDiverged, match=r"iteration 9 \(epoch 3\): after the update: the weights of 'proj\.W' hold NaN"):
        resumed.train()
    assert (tmp_path / "checkpoint.h5").read_bytes() == before


def test_a_model_of_another_vocabulary_is_refused(data):
    """Training on data whose word ids differ from the model's would run and learn nonsense: an error."""
    other = make_caption_data(vocab_size=13)
    model, opt, _ = make_setup(other)
    with pytest.raises(ValueError, match=r"Trainer: the model's vocabulary \(13 words\) differs from the data's \(12"):
        Trainer(model, data, opt, **QUIET)


def test_an_unusable_out_dir_is_refused_before_training(data, tmp_path):
    (tmp_path / "a_file").write_text("not a folder")
    for out in (tmp_path / "a_file", tmp_path / "a_file" / "sub"):
        model, opt, _ = make_setup(data)
        trainer = Trainer(model, data, opt, out_dir=str(out), **QUIET)
        with pytest.raises(ValueError, match="out_dir .* (cannot be created as a folder|exists and is not a folder)"):
            trainer.train()
        assert trainer.iteration == 0


def test_the_specs_options_may_be_given_positionally(data):
    """Trainer(model, data, optimizer, scheduler, batch_size, num_epochs, print_every, verbose, seed)."""
    model, opt, sched = make_setup(data)
    by_position = Trainer(model, data, opt, sched, 16, 3, 5, False, 7, progress=False)
    cfg = by_position.config
    assert (cfg.batch_size, cfg.num_epochs, cfg.print_every, cfg.verbose, cfg.seed) == (16, 3, 5, False, 7)
    model2, opt2, sched2 = make_setup(data)
    by_keyword = Trainer(model2, data, opt2, sched2, batch_size=16, num_epochs=3, print_every=5, verbose=False,
                         seed=7, progress=False)
    assert by_position.train()["loss_history"] == by_keyword.train()["loss_history"]
    with pytest.raises(TypeError, match="multiple values|got multiple"):
        Trainer(model, data, opt, sched, 16, batch_size=8)


def test_an_optimizer_of_another_model_is_refused(data):
    """Issue 14: Adam(other_copy.named_parameters()) trained nothing, silently (losses 10.01, 10.37, 10.29)."""
    import copy
    model, _, _ = make_setup(data)
    other = copy.deepcopy(model)
    for opt in (Adam(other.named_parameters()), Adam(make_setup(data)[0].named_parameters())):
        with pytest.raises(ValueError, match="Trainer: the Adam updates 8 of 8 parameters that are not this "
                                             "CaptioningModel's"):
            Trainer(model, data, opt)


def test_data_that_is_not_a_dict_is_named(data):
    model, opt, _ = make_setup(data)
    with pytest.raises(TypeError, match="Trainer: data must be a dict like load_coco_data's, got list"):
        Trainer(model, [1, 2], opt, **QUIET)
