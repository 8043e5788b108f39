"""cs231n.gradient_check is the library's gradcheck under the course's names (one copy)."""

import numpy as np

import minitorch_cap.gradcheck as library
from minitorch_cap.cs231n import gradient_check


def test_the_course_names_are_the_library_functions():
    for name in ("eval_numerical_gradient", "eval_numerical_gradient_array", "rel_error"):
        assert getattr(gradient_check, name) is getattr(library, name)


def test_eval_numerical_gradient_prints_as_the_course(capsys):
    x = np.array([1.0, 2.0])
    grad = gradient_check.eval_numerical_gradient(lambda v: float(np.sum(v ** 2)), x)
    np.testing.assert_allclose(grad, [2.0, 4.0], rtol=1e-8)
    assert capsys.readouterr().out.splitlines()[0].startswith("(0,) 2.0000")
