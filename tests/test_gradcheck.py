import numpy as np
import pytest

from minitorch_cap import CaptioningModel
from minitorch_cap.gradcheck import (check_module, eval_numerical_gradient, eval_numerical_gradient_array,
                                     extrapolated_gradient, fourth_order_gradient, gradient_error, rel_error)
from minitorch_cap.nn import Affine, Module, Parameter

from .conftest import require_oracle


def test_rel_error_is_the_course_definition():
    assert rel_error(np.array([1.0, 2.0]), np.array([1.0, 2.0])) == 0
    assert rel_error(1.0, 3.0) == pytest.approx(0.5)
    assert rel_error(0.0, 1e-12) == pytest.approx(1e-4)  # the 1e-8 floor


def test_course_helpers_on_known_functions(capsys):
    x = np.array([1.0, -2.0, 0.5])
    grad = eval_numerical_gradient(lambda v: np.sum(v ** 3), x, verbose=True)
    assert rel_error(grad, 3 * x ** 2) < 1e-8
    assert capsys.readouterr().out.count("\n") == 3
    df = np.array([1.0, 2.0, 3.0])
    assert rel_error(eval_numerical_gradient_array(np.sin, x, df), np.cos(x) * df) < 1e-8
    assert rel_error(fourth_order_gradient(lambda v: np.sum(np.exp(v)), x), np.exp(x)) < 1e-11
    np.testing.assert_array_equal(x, [1.0, -2.0, 0.5])  # restored


class WrongBias(Affine):
    """An Affine whose backward forgets half of db: the check must catch it."""

    def backward(self, dout):
        dx = super().backward(dout)
        self.b.grad -= 0.5 * dout.sum(axis=0)
        return dx


def test_check_module_catches_a_wrong_gradient_and_names_it():
    rng = np.random.default_rng(0)
    layer = WrongBias(3, 2, dtype=np.float64, rng=rng)
    report = check_module(layer, rng.standard_normal((4, 3)))
    assert report.errors["W"] < 1e-9 and report.errors["input[0]"] < 1e-9
    assert report.errors["b"] > 0.1
    assert not report.passed()
    with pytest.raises(AssertionError, match=r"gradient check of WrongBias failed .*b: 0\.\d+"):
        report.assert_close()
    assert "relative error" in str(report)


def test_check_module_works_on_a_float32_module_without_changing_it():
    rng = np.random.default_rng(0)
    layer = Affine(3, 2, rng=rng)
    before = layer.W.data.copy()
    check_module(layer, rng.standard_normal((4, 3)).astype(np.float32)).assert_close(1e-7)
    assert layer.W.data.dtype == np.float32
    np.testing.assert_array_equal(layer.W.data, before)
    assert not layer.W.grad.any()


def test_integer_inputs_are_index_inputs_skipped_by_name_or_refused_when_they_have_a_gradient():
    """Issue 24: check_module(lstm, x_int64, h0) raised a raw AssertionError (2 gradients for 1 float input)."""
    from minitorch_cap.nn import LSTM, Embedding

    rng = np.random.default_rng(0)
    lstm = LSTM(4, 5, dtype=np.float64, rng=rng)
    x, h0 = rng.integers(-2, 3, (2, 3, 4)), rng.standard_normal((2, 5))
    with pytest.raises(TypeError, match=r"^check_module: LSTM\.backward returns a gradient for input\[0\] \(int64\), "
                                        r"an integer array, .* pass the input as a float array"):
        check_module(lstm, x, h0)
    report = check_module(lstm, x.astype(np.float64), h0)                # as floats, it is checked
    assert set(report.errors) == {"input[0]", "input[1]", "Wx", "Wh", "b"} and report.passed(1e-7)
    report = check_module(Embedding(7, 3, dtype=np.float64, rng=rng), rng.integers(0, 7, (2, 3)))
    assert report.skipped == ["input[0]"] and set(report.errors) == {"W"} and report.passed(1e-7)
    assert "input[0]  skipped (integer)" in str(report)


@pytest.mark.parametrize("helper", [
    lambda x: eval_numerical_gradient(lambda v: np.sum(v ** 2), x, verbose=False),
    lambda x: eval_numerical_gradient_array(lambda v: v ** 2, x, np.ones(3)),
    lambda x: fourth_order_gradient(lambda v: np.sum(v ** 2), x),
    lambda x: extrapolated_gradient(lambda v: np.sum(v ** 2), x),
])
def test_finite_differences_refuse_an_integer_x_instead_of_returning_zeros(helper):
    """An integer x rounds every step x + h back to x: the gradient came back as zeros."""
    with pytest.raises(TypeError, match=r"x must be a floating-point numpy array .* got dtype int64"):
        helper(np.array([1, -2, 3]))
    np.testing.assert_allclose(helper(np.array([1.0, -2.0, 3.0])), [2.0, -4.0, 6.0], rtol=1e-8)


def test_extrapolated_gradient_is_sixth_order_with_a_step_scaled_to_x():
    x = np.array([1e-3, -2.0, 300.0, 3e7])
    grad = extrapolated_gradient(lambda v: np.sum(np.log1p(v ** 2)), x)
    # at 3e7 the step is 1.5e5: a fixed 5e-3 would leave rounding noise of 2e-5 relative
    np.testing.assert_allclose(grad, 2 * x / (1 + x ** 2), rtol=1e-9, atol=0)
    np.testing.assert_array_equal(x, [1e-3, -2.0, 300.0, 3e7])


def test_gradient_error_is_relative_to_the_tensor_scale():
    a = np.array([1.0, 1e-8])
    assert gradient_error(a, a * [1, 1.5]) == pytest.approx(0.25e-8 / 1.0, rel=1e-6)  # not 0.2 (entrywise)
    assert rel_error(a, a * [1, 1.5]) == pytest.approx(0.2)
    assert gradient_error(2.0, 3.0) == rel_error(2.0, 3.0)  # one entry: the course's measure
    assert gradient_error(np.zeros(3), np.full(3, 1e-14), floor=1e-6) < 1e-7
    assert gradient_error(np.zeros(0), np.zeros(0)) == 0.0


# The issue's model: course initialisation, whose gradient entries reach 1e-8 (rnn.Wx).
WORDS = {"<NULL>": 0, "<START>": 1, "<END>": 2, "<UNK>": 3, "a": 4, "b": 5}
CAPTIONS = np.array([[1, 4, 5, 2], [1, 5, 2, 0]])


def course_model(cell, seed):
    rng = np.random.default_rng(seed)
    model = CaptioningModel(WORDS, input_dim=3, wordvec_dim=4, hidden_dim=5, cell_type=cell, rng=rng,
                            dtype=np.float64)
    return model, rng.standard_normal((2, 3))


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_a_correct_model_with_course_init_passes_1e_7(cell):
    for seed in range(12):  # with an entrywise error, 10 of these 12 LSTMs failed (rnn.Wx 9.4e-6 at seed 4)
        model, features = course_model(cell, seed)
        report = check_module(model, features, CAPTIONS)
        assert report.passed(1e-7), (seed, report.errors)


def torch_lstm_captioning_grads(model, features, captions):
    """The issue's LSTM captioner rebuilt in PyTorch: autograd gives an independent gradient."""
    torch = require_oracle("torch")
    p = {name: torch.tensor(q.data, requires_grad=True) for name, q in model.named_parameters()}
    H = model.hidden_dim
    h = torch.tensor(features) @ p["proj.W"] + p["proj.b"]
    c = torch.zeros_like(h)
    x = p["embed.W"][torch.tensor(captions[:, :-1])]
    targets, loss = torch.tensor(captions[:, 1:]), 0
    for t in range(x.shape[1]):
        a = x[:, t] @ p["rnn.Wx"] + h @ p["rnn.Wh"] + p["rnn.b"]
        i, f, o, g = (torch.sigmoid(a[:, :H]), torch.sigmoid(a[:, H:2 * H]), torch.sigmoid(a[:, 2 * H:3 * H]),
                      torch.tanh(a[:, 3 * H:]))
        c = f * c + i * g
        h = o * torch.tanh(c)
        logp = torch.log_softmax(h @ p["vocab.W"] + p["vocab.b"], dim=1)
        picked = logp[torch.arange(len(captions)), targets[:, t]]
        loss = loss - (picked * (targets[:, t] != 0)).sum() / len(captions)
    loss.backward()
    return {name: q.grad.numpy() for name, q in p.items()}


def test_the_issue_model_gradient_agrees_with_pytorch():
    model, features = course_model("lstm", 4)
    model.zero_grad()
    model.forward(features, CAPTIONS)
    model.backward(1.0)
    for name, expected in torch_lstm_captioning_grads(model, features, CAPTIONS).items():
        assert gradient_error(dict(model.named_parameters())[name].grad, expected) < 1e-12, name
    report = check_module(model, features, CAPTIONS)
    assert report.errors["rnn.Wx"] < 1e-9  # 9.4e-6 with the entrywise error


class OneWrongEntry(Module):
    """Wraps a module; its backward makes one entry of one gradient 1% too large."""

    def __init__(self, inner, target, index):
        super().__init__(inner.dtype)
        self.inner, self.target, self.index = inner, target, index

    def forward(self, *inputs):
        return self.inner.forward(*inputs)

    def backward(self, grad_output):
        if self.target.startswith("input"):
            returned = self.inner.backward(grad_output)
            returned[self.index] *= 1.01
            return returned
        p = dict(self.named_parameters())[self.target]
        before = p.grad[self.index]
        returned = self.inner.backward(grad_output)
        p.grad[self.index] += 0.01 * (p.grad[self.index] - before)
        return returned


def entry_of_size(grad, which):
    order = np.argsort(np.abs(grad).ravel())
    return np.unravel_index(order[-1] if which == "largest" else order[len(order) // 2], grad.shape)


@pytest.mark.parametrize("target, which", [
    ("inner.rnn.Wx", "largest"),   # the smallest gradient scale of the model (4e-3)
    ("inner.rnn.Wx", "median"),    # an entry of 1e-4 within it
    ("inner.vocab.b", "largest"),  # the largest (0.6)
    ("inner.embed.W", "median"),
])
def test_one_entry_off_by_one_percent_fails_on_small_and_large_gradients(target, which):
    model, features = course_model("lstm", 4)
    model.zero_grad()
    model.forward(features, CAPTIONS)
    model.backward(1.0)
    grad = dict(model.named_parameters())[target[len("inner."):]].grad
    wrong = OneWrongEntry(model, target, entry_of_size(grad, which))
    report = check_module(wrong, features, CAPTIONS)
    assert not report.passed(1e-7), report.errors
    assert max(report.errors, key=report.errors.get) == target
    assert all(v < 1e-9 for k, v in report.errors.items() if k != target)


@pytest.mark.parametrize("scale", [1e-9, 1.0, 1e6])
def test_one_wrong_input_gradient_entry_fails_at_any_scale(scale):
    rng = np.random.default_rng(3)
    layer = Affine(4, 3, dtype=np.float64, rng=rng)
    x, dout = rng.standard_normal((5, 4)), scale * rng.standard_normal((5, 3))
    assert check_module(layer, x, grad_output=dout).passed(1e-7)
    wrong = OneWrongEntry(layer, "input", (2, 1))
    report = check_module(wrong, x, grad_output=dout)
    assert report.errors["input[0]"] > 1e-4 and not report.passed(1e-7)


class ShiftInvariant(Module):
    """``x - mean(x + b)`` over the last axis: the gradient of ``b`` is zero up to rounding."""

    def __init__(self):
        super().__init__(np.float64)
        self.b = Parameter(np.array([0.3]), np.float64)

    def forward(self, x):
        self._save_for_backward()
        y = x + self.b.data
        return y - y.mean(axis=1, keepdims=True)

    def backward(self, dout):
        self._saved()
        dx = dout - dout.mean(axis=1, keepdims=True)
        self.b.grad += dx.sum()
        return dx


def test_a_gradient_that_is_zero_up_to_rounding_passes():
    rng = np.random.default_rng(0)
    module, x = ShiftInvariant(), 10 * rng.standard_normal((4, 6))
    report = check_module(module, x)
    weight = np.random.default_rng(0).standard_normal((4, 6))  # check_module's default grad_output
    noise = extrapolated_gradient(lambda b: np.sum((x + b - (x + b).mean(axis=1, keepdims=True)) * weight),
                                  np.array([0.3]))
    assert noise[0] != 0  # rounding noise: divided by itself it would report ~1
    assert report.passed(1e-7), report.errors


def test_check_module_names_what_is_not_a_module():
    with pytest.raises(TypeError, match="check_module: expected a minitorch_cap Module .*, got function"):
        check_module(lambda x: x, np.ones(3))
