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
