"""The module contract, as reusable checks for the Transformer modules' tests.

Each helper takes a ``make(dtype)`` factory that builds the module with fixed weights
(the same for both dtypes) and the float64 inputs of one forward.
"""

import numpy as np

from minitorch_cap.gradcheck import check_module
from minitorch_cap.nn import dropout_disabled

# The gradient of every attention key bias is exactly zero (adding a constant to all keys
# shifts each score row by a constant, which the softmax ignores), so a relative error
# there compares rounding noise with rounding noise; those are checked to be ~0 instead.
ZERO_GRADIENT_SUFFIX = "key.b"


def assert_gradients(module, *inputs, tol=1e-7):
    """check_module in float64 with dropout off; every tensor's relative error <= tol."""
    with dropout_disabled(module):
        report = check_module(module, *inputs)
    errors = {k: v for k, v in report.errors.items() if not k.endswith(ZERO_GRADIENT_SUFFIX)}
    bad = {k: v for k, v in errors.items() if not v <= tol}
    assert not bad, f"gradient check of {report.module} failed: {bad}"
    zero_grad_names = [k for k in report.errors if k.endswith(ZERO_GRADIENT_SUFFIX)]
    if zero_grad_names:
        net = module
        with dropout_disabled(net):
            net.zero_grad()
            out = net.forward(*inputs)
            net.backward(np.ones_like(out))
        params = dict(net.named_parameters())
        for name in zero_grad_names:
            assert np.abs(params[name].grad).max() < 1e-10 * max(1.0, np.abs(out).max())
        net.zero_grad()
    return report


def _as_tuple(grads):
    return grads if isinstance(grads, tuple) else (grads,)


def assert_two_backwards_double_parameter_grads(module, *inputs):
    with dropout_disabled(module):
        module.zero_grad()
        out = module.forward(*inputs)
        dout = np.random.default_rng(5).standard_normal(out.shape)
        first_inputs = _as_tuple(module.backward(dout))
        first = {n: p.grad.copy() for n, p in module.named_parameters()}
        second_inputs = _as_tuple(module.backward(dout))
    for a, b in zip(first_inputs, second_inputs):
        np.testing.assert_array_equal(a, b)  # input gradients are returned, not accumulated
    for name, p in module.named_parameters():
        np.testing.assert_allclose(p.grad, 2 * first[name], rtol=1e-13, atol=1e-300, err_msg=name)
    module.zero_grad()


def assert_state_dict_round_trip(make, *inputs, seed_a=1, seed_b=2):
    """A second module of other weights, loaded with the first's state, gives the same outputs."""
    first, second = make(np.float64, seed_a), make(np.float64, seed_b)
    first.eval()
    second.eval()
    before = second.forward(*inputs)
    second.load_state_dict(first.state_dict())
    expected = first.forward(*inputs)
    if list(first.parameters()):
        assert not np.allclose(before, expected)
    np.testing.assert_array_equal(second.forward(*inputs), expected)


def assert_float32_agrees_with_float64(make, *inputs, tol=1e-5):
    m32, m64 = make(np.float32), make(np.float64)
    with dropout_disabled(m32), dropout_disabled(m64):
        out32, out64 = m32.forward(*inputs), m64.forward(*inputs)
        assert out32.dtype == np.float32 and out64.dtype == np.float64
        dout = np.random.default_rng(7).standard_normal(out64.shape)
        g32, g64 = _as_tuple(m32.backward(dout)), _as_tuple(m64.backward(dout))
    assert np.linalg.norm(out32 - out64) / np.linalg.norm(out64) < tol
    for a, b in zip(g32, g64):
        assert a.dtype == np.float32
        assert np.linalg.norm(a - b) / np.linalg.norm(b) < tol
    largest = max((np.linalg.norm(p.grad) for p in m64.parameters()), default=0.0)
    for (name, p32), p64 in zip(m32.named_parameters(), m64.parameters()):
        assert p32.grad.dtype == np.float32
        scale = largest if name.endswith(ZERO_GRADIENT_SUFFIX) else np.linalg.norm(p64.grad)
        assert np.linalg.norm(p32.grad - p64.grad) / scale < tol, name


def assert_eval_keeps_no_cache(module, *inputs):
    import pytest

    module.eval()
    module.forward(*inputs)
    for m in module.modules():
        assert m._cache is None, type(m).__name__
    with pytest.raises(RuntimeError, match="eval mode"):
        module.backward(np.zeros(1))
    module.train()
