"""The Optimizer base: what parameters it accepts, zero_grad, lr, repr."""

import numpy as np
import pytest

from minitorch_cap import CaptioningModel
from minitorch_cap.nn import Parameter
from minitorch_cap.optim import SGD, Adam


def small_model():
    words = {"<NULL>": 0, "<START>": 1, "<END>": 2, "a": 3}
    return CaptioningModel(words, input_dim=3, wordvec_dim=2, hidden_dim=4, rng=np.random.default_rng(0))


def test_accepts_named_parameters_parameters_or_a_module():
    model = small_model()
    names = [n for n, _ in model.named_parameters()]
    assert [n for n, _ in Adam(model.named_parameters()).params] == names
    assert [n for n, _ in Adam(model).params] == names
    assert [n for n, _ in Adam(model.parameters()).params] == [str(i) for i in range(len(names))]


def test_updates_the_models_arrays_in_place():
    model = small_model()
    before = model.vocab.W.data
    opt = SGD(model.named_parameters(), lr=0.1)
    model.loss(np.ones((2, 3)), np.array([[1, 3, 2], [1, 2, 0]]))
    grad = model.vocab.W.grad.copy()
    expected = before.copy() - 0.1 * grad
    opt.step()
    assert model.vocab.W.data is before
    np.testing.assert_allclose(before, expected, rtol=1e-6)
    opt.zero_grad()
    assert all(not p.grad.any() for p in model.parameters())


def test_bad_parameter_lists():
    p = Parameter(np.zeros(2))
    with pytest.raises(ValueError, match="empty parameter list"):
        SGD([], lr=0.1)
    with pytest.raises(TypeError, match="item 1 is ndarray"):
        SGD([p, np.zeros(2)], lr=0.1)
    with pytest.raises(ValueError, match="names must be unique"):
        SGD([("a", p), ("a", Parameter(np.zeros(2)))], lr=0.1)
    with pytest.raises(ValueError, match="appears twice"):
        SGD([("a", p), ("b", p)], lr=0.1)
    with pytest.raises(TypeError, match="got int"):
        SGD(3, lr=0.1)


def test_lr_is_adjustable_and_validated():
    opt = Adam([Parameter(np.zeros(2))], lr=1e-3)
    opt.lr = 5e-4
    assert opt.lr == 5e-4
    with pytest.raises(ValueError, match="lr must be"):
        opt.lr = float("inf")
    assert repr(opt) == "Adam(lr=0.0005, betas=[0.9, 0.999], eps=1e-08, weight_decay=0.0, formula='pytorch', 1 parameters)"


def test_check_params_of_refuses_an_optimizer_of_another_copy():
    import copy

    from minitorch_cap.nn import TemporalAffine
    model = small_model()
    Adam(model.named_parameters()).check_params_of(model)             # its own: fine
    Adam([("W", model.vocab.W), ("b", model.vocab.b)]).check_params_of(model)  # a subset (frozen rest): fine
    for other in (copy.deepcopy(model), small_model()):               # deep copy, or built twice
        with pytest.raises(ValueError, match=r"Trainer: the Adam updates 8 of 8 parameters that are not this "
                                             r"CaptioningModel's \(proj.W, proj.b, .*model="):
            Adam(other.named_parameters()).check_params_of(model, "Trainer")
    opt = SGD(model.named_parameters(), lr=0.1)
    model.vocab = TemporalAffine(4, 4, rng=np.random.default_rng(1))  # a child rebuilt after the optimizer
    with pytest.raises(ValueError, match=r"2 of 8 parameters .*\(vocab.W, vocab.b\)"):
        opt.check_params_of(model)
    with pytest.raises(TypeError, match="expected a Module"):
        opt.check_params_of("model")


def test_clipping_through_an_optimizer_clips_what_it_steps():
    from minitorch_cap.optim import clip_grad_norm_, grad_norm
    model = small_model()
    model.loss(np.ones((2, 3)), np.array([[1, 3, 2], [1, 2, 0]]))
    opt = SGD([("vocab.W", model.vocab.W)], lr=0.1)
    before = model.proj.W.grad.copy()
    norm = float(np.linalg.norm(model.vocab.W.grad))
    assert norm > 1e-2 and clip_grad_norm_(opt, 1e-3) == pytest.approx(norm)
    assert grad_norm(opt) == pytest.approx(1e-3, rel=1e-3)
    np.testing.assert_array_equal(model.proj.W.grad, before)          # not the optimizer's: untouched
