import numpy as np
import pytest

from minitorch_cap.gradcheck import (check_module, eval_numerical_gradient, eval_numerical_gradient_array,
                                     fourth_order_gradient, rel_error)
from minitorch_cap.nn import Affine


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
