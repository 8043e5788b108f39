"""cs231n.classifiers.rnn.CaptioningRNN: the notebooks' loss and gradient checks, and params write-through."""

import numpy as np
import pytest

from minitorch_cap import CaptioningModel
from minitorch_cap.cs231n.classifiers.rnn import COURSE_NAMES, CaptioningRNN
from minitorch_cap.cs231n.gradient_check import eval_numerical_gradient, rel_error
from minitorch_cap.gradcheck import fourth_order_gradient
from tests.course_values import MODEL_LOSS


@pytest.mark.parametrize("cell_type, features_range, expected_loss", [
    ("rnn", *MODEL_LOSS["rnn"]),
    ("lstm", *MODEL_LOSS["lstm"]),
])
def test_loss_matches_the_notebooks(cell_type, features_range, expected_loss):
    N, D, W, H = 10, 20, 30, 40
    word_to_idx = {'<NULL>': 0, 'cat': 2, 'dog': 3}
    V = len(word_to_idx)
    T = 13

    model = CaptioningRNN(word_to_idx, input_dim=D, wordvec_dim=W, hidden_dim=H, cell_type=cell_type,
                          dtype=np.float64)
    # Set all model parameters to fixed values
    for k, v in model.params.items():
        model.params[k] = np.linspace(-1.4, 1.3, num=v.size).reshape(*v.shape)

    features = np.linspace(*features_range, num=(N * D)).reshape(N, D)
    captions = (np.arange(N * T) % V).reshape(N, T)

    loss, grads = model.loss(features, captions)
    assert abs(loss - expected_loss) < 1e-10
    assert list(grads) == list(COURSE_NAMES)


def gradient_check_cell(cell_type, numerical_gradient):
    """The RNN notebook's gradient-check cell; returns the relative error of each parameter."""
    np.random.seed(231)
    batch_size = 2
    timesteps = 3
    input_dim = 4
    wordvec_dim = 5
    hidden_dim = 6
    word_to_idx = {'<NULL>': 0, 'cat': 2, 'dog': 3}
    vocab_size = len(word_to_idx)

    captions = np.random.randint(vocab_size, size=(batch_size, timesteps))
    features = np.random.randn(batch_size, input_dim)

    model = CaptioningRNN(word_to_idx, input_dim=input_dim, wordvec_dim=wordvec_dim, hidden_dim=hidden_dim,
                          cell_type=cell_type, dtype=np.float64)
    loss, grads = model.loss(features, captions)
    errors = {}
    for param_name in sorted(grads):
        f = lambda _: model.loss(features, captions)[0]
        param_grad_num = numerical_gradient(f, model.params[param_name])
        errors[param_name] = rel_error(param_grad_num, grads[param_name])
    return errors


def test_gradient_check_cell():
    errors = gradient_check_cell("rnn", lambda f, x: eval_numerical_gradient(f, x, verbose=False, h=1e-6))
    assert max(errors.values()) < 1e-6, errors            # "errors around the order of e-6 or less"


def test_gradient_check_cell_lstm():
    """The same cell for an LSTM (the notebooks have none), with the library's five-point stencil.

    The centred differences at h=1e-6 leave 6e-4 on a dWx entry of size 1e-7; the stencil's
    error is near 1e-13 absolute: the largest relative error left is 1.3e-6, on that entry.
    """
    errors = gradient_check_cell("lstm", fourth_order_gradient)
    assert max(errors.values()) < 1e-5, errors


def test_initial_weights_are_the_courses():
    """Drawn from numpy's global state in the course's order, then cast to the model's dtype."""
    word_to_idx = {"<NULL>": 0, "<START>": 1, "<END>": 2, "cat": 3}
    V, D, W, H = 4, 5, 6, 7
    np.random.seed(231)
    model = CaptioningRNN(word_to_idx, input_dim=D, wordvec_dim=W, hidden_dim=H, cell_type="lstm")
    np.random.seed(231)
    expected = {"W_embed": np.random.randn(V, W) / 100}
    expected["W_proj"] = np.random.randn(D, H) / np.sqrt(D)
    expected["b_proj"] = np.zeros(H)
    expected["Wx"] = np.random.randn(W, 4 * H) / np.sqrt(W)
    expected["Wh"] = np.random.randn(H, 4 * H) / np.sqrt(H)
    expected["b"] = np.zeros(4 * H)
    expected["W_vocab"] = np.random.randn(H, V) / np.sqrt(H)
    expected["b_vocab"] = np.zeros(V)
    assert list(model.params) == list(expected)
    for k, v in expected.items():
        np.testing.assert_array_equal(model.params[k], v.astype(np.float32))
        assert model.params[k].dtype == np.float32


def test_params_read_and_write_through_to_the_model():
    model = CaptioningRNN({"<NULL>": 0, "<START>": 1, "<END>": 2, "a": 3}, input_dim=5, wordvec_dim=4, hidden_dim=3)
    assert isinstance(model.model, CaptioningModel)
    model.params["Wx"] = np.ones((4, 3))                      # float64 in, converted to the model's float32
    np.testing.assert_array_equal(model.model.rnn.Wx.data, 1.0)
    assert model.model.rnn.Wx.data.dtype == np.float32
    model.params["b_vocab"][2] = 5.0                          # in place on the array read
    assert model.model.vocab.b.data[2] == 5.0
    assert model.params["W_proj"] is model.model.proj.W.data
    features, captions = np.ones((2, 5)), np.array([[1, 3, 2], [1, 2, 0]])
    before = model.loss(features, captions)[0]
    model.params["W_vocab"] = np.zeros((3, 4))
    assert model.loss(features, captions)[0] != before
    model.params = {"W_embed": np.full((4, 4), 0.5)}         # the course's solver may assign a whole dict
    np.testing.assert_array_equal(model.model.embed.W.data, 0.5)
    assert model.sample(features, max_length=4).shape == (2, 4)
    assert model.idx_to_word[3] == "a" and model._null == 0 and model._start == 1 and model._end == 2


def test_params_errors():
    model = CaptioningRNN({"<NULL>": 0, "a": 1}, input_dim=5, wordvec_dim=4, hidden_dim=3)
    with pytest.raises(ValueError, match=r"CaptioningRNN.params: 'Wx' has shape \(4, 3\), got an array of "
                                         r"shape \(3, 4\)"):
        model.params["Wx"] = np.zeros((3, 4))
    with pytest.raises(KeyError, match="no parameter 'W'; the names are"):
        model.params["W"] = np.zeros(3)
    with pytest.raises(TypeError, match="cannot be deleted"):
        del model.params["Wx"]
    with pytest.raises(TypeError, match="'b' must be a real-valued array"):
        model.params["b"] = np.array(["x", "y", "z"])
    with pytest.raises(ValueError, match="NaN or infinity"):
        model.params["b"] = np.array([0.0, np.nan, 0.0])
    assert not np.isnan(model.params["b"]).any()
    assert len(model.params) == 8 and "W_proj" in model.params
    assert "Wx': float32(4, 3)" in repr(model.params)
