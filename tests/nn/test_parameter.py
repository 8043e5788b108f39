import numpy as np
import pytest

from minitorch_cap.nn import Parameter


def test_grad_is_zeros_of_same_shape_and_dtype():
    p = Parameter(np.ones((2, 3)), np.float32)
    assert p.data.dtype == np.float32 and p.grad.dtype == np.float32
    assert p.grad.shape == (2, 3) and not p.grad.any()
    assert p.shape == (2, 3) and p.size == 6


def test_data_is_copied_and_writable_in_place():
    source = np.zeros(3)
    p = Parameter(source)
    p.data[...] = 5
    assert not source.any()


def test_zero_grad_and_astype_keep_identity():
    p = Parameter(np.ones(4))
    p.grad += 2
    p.zero_grad()
    assert not p.grad.any()
    p.astype(np.float32)
    assert p.data.dtype == p.grad.dtype == np.float32


def test_rejects_integer_data():
    with pytest.raises(TypeError, match="floating-point"):
        Parameter(np.arange(3))
