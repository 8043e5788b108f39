"""cs231n.layers: the course's affine checks (assignment 2's notebook values), through the course names."""

import numpy as np
import pytest

from minitorch_cap.cs231n.gradient_check import eval_numerical_gradient_array, rel_error
from minitorch_cap.cs231n.layers import affine_backward, affine_forward


def test_affine_forward():
    num_inputs, input_shape, output_dim = 2, (4, 5, 6), 3
    input_size = num_inputs * np.prod(input_shape)
    weight_size = output_dim * np.prod(input_shape)
    x = np.linspace(-0.1, 0.5, num=input_size).reshape(num_inputs, *input_shape)
    w = np.linspace(-0.2, 0.3, num=weight_size).reshape(np.prod(input_shape), output_dim)
    b = np.linspace(-0.3, 0.1, num=output_dim)
    out, _ = affine_forward(x, w, b)
    correct_out = np.array([[1.49834967, 1.70660132, 1.91485297],
                            [3.25553199, 3.5141327, 3.77273342]])
    assert rel_error(out, correct_out) < 1e-9


def test_affine_backward():
    np.random.seed(231)
    x = np.random.randn(10, 2, 3)
    w = np.random.randn(6, 5)
    b = np.random.randn(5)
    dout = np.random.randn(10, 5)
    dx_num = eval_numerical_gradient_array(lambda x: affine_forward(x, w, b)[0], x, dout)
    dw_num = eval_numerical_gradient_array(lambda w: affine_forward(x, w, b)[0], w, dout)
    db_num = eval_numerical_gradient_array(lambda b: affine_forward(x, w, b)[0], b, dout)
    _, cache = affine_forward(x, w, b)
    dx, dw, db = affine_backward(dout, cache)
    assert dx.shape == x.shape
    assert max(rel_error(dx_num, dx), rel_error(dw_num, dw), rel_error(db_num, db)) < 1e-9


def test_affine_errors():
    with pytest.raises(ValueError, match=r"affine_forward: expected w of shape \(D=6, M\), got shape \(5, 2\)"):
        affine_forward(np.zeros((2, 3, 2)), np.zeros((5, 2)), np.zeros(2))
    with pytest.raises(ValueError, match=r"affine_forward: expected b of shape \(M\) = \(2,\), got shape \(3,\)"):
        affine_forward(np.zeros((2, 6)), np.zeros((6, 2)), np.zeros(3))
    _, cache = affine_forward(np.zeros((2, 6)), np.zeros((6, 2)), np.zeros(2))
    with pytest.raises(ValueError, match=r"affine_backward: expected dout of shape \(N=2, M=2\)"):
        affine_backward(np.zeros((3, 2)), cache)


def test_every_course_backward_names_the_cache_it_expects_before_reading_it():
    """Issue 24: affine_backward(dout, (w, x, b)) (the course's own cache layout) raised a raw AttributeError
    from reading cache.shape; temporal_affine_backward did the same. Each backward checks the cache first."""
    from minitorch_cap.cs231n import rnn_layers

    x, w, b = np.zeros((2, 6)), np.zeros((6, 2)), np.zeros(2)
    out, cache = affine_forward(x, w, b)
    _, rnn_cache = rnn_layers.rnn_forward(np.zeros((2, 3, 6)), np.zeros((2, 4)), np.zeros((6, 4)),
                                          np.zeros((4, 4)), np.zeros(4))
    backwards = {"affine_backward": (affine_backward, "affine_forward", (out,)),
                 "temporal_affine_backward": (rnn_layers.temporal_affine_backward, "temporal_affine_forward",
                                              (np.zeros((2, 3, 2)),)),
                 "word_embedding_backward": (rnn_layers.word_embedding_backward, "word_embedding_forward",
                                             (np.zeros((2, 3, 2)),)),
                 "rnn_step_backward": (rnn_layers.rnn_step_backward, "rnn_step_forward", (np.zeros((2, 4)),)),
                 "lstm_backward": (rnn_layers.lstm_backward, "lstm_forward", (np.zeros((2, 3, 4)),)),
                 "lstm_step_backward": (rnn_layers.lstm_step_backward, "lstm_step_forward",
                                        (np.zeros((2, 4)), np.zeros((2, 4))))}
    for name, (backward, forward, grads) in backwards.items():
        for wrong, got in (((w, x, b), "a tuple"), (None, "a NoneType"), (rnn_cache, "'rnn_forward'")):
            with pytest.raises(TypeError, match=rf"^{name}: expected the cache returned by {forward}, got {got}$"):
                backward(*grads, wrong)
    with pytest.raises(TypeError, match="^rnn_backward: expected the cache returned by rnn_forward, got a tuple$"):
        rnn_layers.rnn_backward(np.zeros((2, 3, 4)), (w, x, b))
    assert affine_backward(out, cache)[0].shape == x.shape        # the right cache still works
