"""The course's ``cs231n/gradient_check.py``: the library's numerical gradients, under the course's names.

``eval_numerical_gradient(f, x, verbose=True, h=1e-5)`` and
``eval_numerical_gradient_array(f, x, df, h=1e-5)`` are :mod:`minitorch_cap.gradcheck`'s,
which keep the course's behaviour (``x`` perturbed in place and restored, centred differences);
``rel_error`` is the course's notebook helper. For a whole module, see
:func:`minitorch_cap.gradcheck.check_module`.
"""

from ..gradcheck import eval_numerical_gradient, eval_numerical_gradient_array, rel_error

__all__ = ["eval_numerical_gradient", "eval_numerical_gradient_array", "rel_error"]
