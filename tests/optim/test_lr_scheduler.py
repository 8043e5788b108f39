"""Schedules: the course's multiplicative decay, the plateau rule, state round trips (exact resume), checks."""

import math

import numpy as np
import pytest

from minitorch_cap.nn import Parameter
from minitorch_cap.optim import SGD, Adam, ExponentialLR, ReduceLROnPlateau, StepLR
from tests.conftest import require_oracle


def optimizer(lr=0.1):
    return SGD([("w", Parameter(np.zeros(2)))], lr=lr)


def test_exponential_is_the_course_lr_decay_bit_for_bit():
    opt = optimizer(5e-3)
    sched = ExponentialLR(opt, gamma=0.95)
    rates = [sched.step() for _ in range(50)]
    lr, course = 5e-3, []
    for _ in range(50):           # the course's solver: learning_rate *= lr_decay
        lr *= 0.95
        course.append(lr)
    assert rates == course and opt.lr == rates[-1] and sched.last_epoch == 50
    assert rates == pytest.approx([5e-3 * 0.95 ** k for k in range(1, 51)], rel=1e-13)


def test_a_rate_set_by_the_user_is_decayed_from_there():
    """The SPEC: ExponentialLR multiplies *the rate* by gamma at each step (PyTorch does the same)."""
    opt = optimizer(0.1)
    sched = ExponentialLR(opt, gamma=0.5)
    sched.step(), sched.step()
    assert opt.lr == 0.025
    opt.lr = 1.0
    assert sched.step() == 0.5 and opt.lr == 0.5
    step = StepLR(opt, step_size=2, gamma=0.1)
    opt.lr = 2.0
    assert [step.step() for _ in range(3)] == [2.0, pytest.approx(0.2), pytest.approx(0.2)]


def test_agrees_with_pytorch_exponential_and_step_lr_with_a_rate_change():
    require_oracle("torch")
    import torch

    for make_ours, make_theirs in ((lambda o: ExponentialLR(o, gamma=0.7),
                                    lambda o: torch.optim.lr_scheduler.ExponentialLR(o, gamma=0.7)),
                                   (lambda o: StepLR(o, step_size=2, gamma=0.3),
                                    lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=2, gamma=0.3))):
        ours_opt = optimizer(0.1)
        theirs_opt = torch.optim.SGD([torch.zeros(2, requires_grad=True)], lr=0.1)
        ours, theirs = make_ours(ours_opt), make_theirs(theirs_opt)
        for epoch in range(6):
            if epoch == 3:          # the user changes the rate mid-run
                ours_opt.lr = 0.05
                theirs_opt.param_groups[0]["lr"] = 0.05
            theirs_opt.step()
            ours.step(), theirs.step()
            assert ours_opt.lr == pytest.approx(theirs_opt.param_groups[0]["lr"], rel=1e-12)


def test_state_round_trip_gives_the_same_rates():
    opt = optimizer(0.2)
    sched = ExponentialLR(opt, gamma=0.9)
    for _ in range(4):
        sched.step()
    state = sched.state_dict()
    assert state == {"type": "ExponentialLR", "hyperparams": {"gamma": 0.9}, "base_lr": 0.2, "last_epoch": 4,
                     "lr": opt.lr}
    opt2 = optimizer(123.0)
    sched2 = ExponentialLR(opt2, gamma=0.5)
    sched2.load_state_dict(state)
    assert opt2.lr == opt.lr and sched2.gamma == 0.9
    assert [sched2.step() for _ in range(3)] == [sched.step() for _ in range(3)]
    with pytest.raises(ValueError, match="belongs to 'ExponentialLR', not StepLR"):
        StepLR(optimizer(), 2).load_state_dict(state)


def test_plateau_reduces_after_patience_bad_epochs_and_respects_cooldown_and_floor():
    opt = optimizer(1.0)
    sched = ReduceLROnPlateau(opt, mode="min", factor=0.5, patience=1, cooldown=1, min_lr=0.2)
    rates = [sched.step(v) for v in [5.0, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0, 4.0]]
    # bad epochs at 3 and 4 -> halve at 4; cooldown epoch 5; bad 6, 7 -> halve at 7; ... floor 0.2
    assert rates == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.2]


def test_plateau_threshold_modes():
    sched = ReduceLROnPlateau(optimizer(), mode="max", threshold=0.1, threshold_mode="rel")
    sched.step(10.0)
    assert not sched.is_better(10.5, sched.best) and sched.is_better(11.5, sched.best)
    sched = ReduceLROnPlateau(optimizer(), mode="min", threshold=0.1, threshold_mode="abs")
    sched.step(1.0)
    assert not sched.is_better(0.95, sched.best) and sched.is_better(0.85, sched.best)
    with pytest.raises(ValueError, match="metric must be a finite number"):
        sched.step(math.nan)


def test_plateau_state_round_trip():
    opt = optimizer(1.0)
    sched = ReduceLROnPlateau(opt, factor=0.5, patience=0)
    for v in (3.0, 3.0, 2.0, 2.5):
        sched.step(v)
    opt2 = optimizer(1.0)
    sched2 = ReduceLROnPlateau(opt2)
    sched2.load_state_dict(sched.state_dict())
    assert (opt2.lr, sched2.best, sched2.num_bad_epochs, sched2.factor) == (opt.lr, 2.0, 0, 0.5)
    for v in (2.5, 1.0, 1.5):
        assert sched2.step(v) == sched.step(v)


def test_agrees_with_pytorch_plateau():
    torch = require_oracle("torch")
    p = torch.nn.Parameter(torch.zeros(2))
    theirs_opt = torch.optim.SGD([p], lr=1.0)
    theirs = torch.optim.lr_scheduler.ReduceLROnPlateau(theirs_opt, mode="min", factor=0.3, patience=2,
                                                        threshold=0.01, cooldown=1, min_lr=0.01)
    opt = optimizer(1.0)
    ours = ReduceLROnPlateau(opt, mode="min", factor=0.3, patience=2, threshold=0.01, cooldown=1, min_lr=0.01)
    values = np.random.default_rng(0).uniform(0.9, 1.1, 40).cumsum()[::-1] ** 0.1
    for v in np.concatenate([values, np.full(10, values[-1])]):
        ours.step(float(v))
        theirs.step(float(v))
        assert opt.lr == pytest.approx(theirs_opt.param_groups[0]["lr"], rel=1e-12)


@pytest.mark.parametrize("make, message", [
    (lambda o: ExponentialLR(o, gamma=0.0), r"gamma must be in \(0.0, 1.0\]"),
    (lambda o: ExponentialLR(o, gamma=1.5), "gamma must be in"),
    (lambda o: StepLR(o, step_size=0), "step_size must be an integer >= 1"),
    (lambda o: ReduceLROnPlateau(o, mode="up"), "mode must be 'min' or 'max'"),
    (lambda o: ReduceLROnPlateau(o, factor=1.0), "factor must be in"),
    (lambda o: ReduceLROnPlateau(o, patience=-1), "patience must be an integer >= 0"),
])
def test_hyperparameters_are_validated(make, message):
    with pytest.raises(ValueError, match=message):
        make(optimizer())
    with pytest.raises(TypeError, match="expected an Optimizer"):
        ExponentialLR("adam", 0.9)


def test_the_rate_stays_in_the_optimizer():
    opt = Adam([Parameter(np.zeros(2))], lr=1e-3)
    sched = ExponentialLR(opt, 0.5)
    sched.step()
    assert opt.lr == 5e-4 == sched.get_last_lr()
    assert "ExponentialLR(gamma=0.5, last_epoch=1" in repr(sched)
