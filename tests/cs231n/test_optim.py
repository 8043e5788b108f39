"""cs231n.optim: the notebooks' expected updates, the course's Adam to 1e-12, and one Adam code for both APIs."""

import numpy as np
import pytest

from minitorch_cap.cs231n.gradient_check import rel_error
from minitorch_cap.cs231n.optim import adam, rmsprop, sgd, sgd_momentum
from minitorch_cap.nn import Parameter
from minitorch_cap.optim import Adam

N, D = 4, 5


def linspace(lo, hi):
    return np.linspace(lo, hi, num=N * D).reshape(N, D)


def test_sgd_momentum():
    w, dw, v = linspace(-0.4, 0.6), linspace(-0.6, 0.4), linspace(0.6, 0.9)
    config = {'learning_rate': 1e-3, 'velocity': v}
    next_w, _ = sgd_momentum(w, dw, config=config)
    expected_next_w = np.asarray([
        [0.1406, 0.20738947, 0.27417895, 0.34096842, 0.40775789],
        [0.47454737, 0.54133684, 0.60812632, 0.67491579, 0.74170526],
        [0.80849474, 0.87528421, 0.94207368, 1.00886316, 1.07565263],
        [1.14244211, 1.20923158, 1.27602105, 1.34281053, 1.4096]])
    expected_velocity = np.asarray([
        [0.5406, 0.55475789, 0.56891579, 0.58307368, 0.59723158],
        [0.61138947, 0.62554737, 0.63970526, 0.65386316, 0.66802105],
        [0.68217895, 0.69633684, 0.71049474, 0.72465263, 0.73881053],
        [0.75296842, 0.76712632, 0.78128421, 0.79544211, 0.8096]])
    assert rel_error(next_w, expected_next_w) < 1e-8
    assert rel_error(expected_velocity, config['velocity']) < 1e-8


def test_rmsprop():
    w, dw, cache = linspace(-0.4, 0.6), linspace(-0.6, 0.4), linspace(0.6, 0.9)
    config = {'learning_rate': 1e-2, 'cache': cache}
    next_w, _ = rmsprop(w, dw, config=config)
    expected_next_w = np.asarray([
        [-0.39223849, -0.34037513, -0.28849239, -0.23659121, -0.18467247],
        [-0.132737, -0.08078555, -0.02881884, 0.02316247, 0.07515774],
        [0.12716641, 0.17918792, 0.23122175, 0.28326742, 0.33532447],
        [0.38739248, 0.43947102, 0.49155973, 0.54365823, 0.59576619]])
    expected_cache = np.asarray([
        [0.5976, 0.6126277, 0.6277108, 0.64284931, 0.65804321],
        [0.67329252, 0.68859723, 0.70395734, 0.71937285, 0.73484377],
        [0.75037008, 0.7659518, 0.78158892, 0.79728144, 0.81302936],
        [0.82883269, 0.84469141, 0.86060554, 0.87657507, 0.8926]])
    assert rel_error(expected_next_w, next_w) < 1e-7
    assert rel_error(expected_cache, config['cache']) < 1e-7


def test_adam():
    w, dw = linspace(-0.4, 0.6), linspace(-0.6, 0.4)
    m, v = linspace(0.6, 0.9), linspace(0.7, 0.5)
    config = {'learning_rate': 1e-2, 'm': m, 'v': v, 't': 5}
    next_w, _ = adam(w, dw, config=config)
    expected_next_w = np.asarray([
        [-0.40094747, -0.34836187, -0.29577703, -0.24319299, -0.19060977],
        [-0.1380274, -0.08544591, -0.03286534, 0.01971428, 0.0722929],
        [0.1248705, 0.17744702, 0.23002243, 0.28259667, 0.33516969],
        [0.38774145, 0.44031188, 0.49288093, 0.54544852, 0.59801459]])
    expected_v = np.asarray([
        [0.69966, 0.68908382, 0.67851319, 0.66794809, 0.65738853],
        [0.64683452, 0.63628604, 0.6257431, 0.61520571, 0.60467385],
        [0.59414753, 0.58362676, 0.57311152, 0.56260183, 0.55209767],
        [0.54159906, 0.53110598, 0.52061845, 0.51013645, 0.49966]])
    expected_m = np.asarray([
        [0.48, 0.49947368, 0.51894737, 0.53842105, 0.55789474],
        [0.57736842, 0.59684211, 0.61631579, 0.63578947, 0.65526316],
        [0.67473684, 0.69421053, 0.71368421, 0.73315789, 0.75263158],
        [0.77210526, 0.79157895, 0.81105263, 0.83052632, 0.85]])
    # "around e-7 or less": the values are printed to 8 decimals (next_w[1, 3] = 0.0197 carries 1e-7
    # relative rounding), so this check cannot tell the two Adam forms apart (1.136e-7 here, 1.140e-7
    # for PyTorch's); the random-input test below does.
    assert rel_error(expected_next_w, next_w) < 2e-7
    assert rel_error(expected_v, config['v']) < 1e-7
    assert rel_error(expected_m, config['m']) < 1e-7
    assert config['t'] == 6
    np.testing.assert_array_equal(m, linspace(0.6, 0.9))       # the caller's arrays are not changed


def independent_adam(w, grads, lr, beta1, beta2, eps):
    """The course's adam written out here from its text (a separate implementation)."""
    m, v, out = np.zeros_like(w), np.zeros_like(w), []
    for t, g in enumerate(grads, start=1):
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * (g * g)
        alpha = lr * np.sqrt(1 - beta2 ** t) / (1 - beta1 ** t)
        w = w - alpha * (m / (np.sqrt(v) + eps))
        out.append(w)
    return out


@pytest.mark.parametrize("seed, scale", [(0, 1.0), (1, 1e-7)])   # 1e-7: gradients near eps, where forms part
def test_adam_matches_the_course_formula_to_1e_12(seed, scale):
    rng = np.random.default_rng(seed)
    w0 = rng.standard_normal((6, 7))
    grads = [scale * rng.standard_normal((6, 7)) for _ in range(8)]
    lr, beta1, beta2, eps = 5e-3, 0.8, 0.95, 1e-8
    expected = independent_adam(w0, grads, lr, beta1, beta2, eps)
    w, config = w0.copy(), {"learning_rate": lr, "beta1": beta1, "beta2": beta2, "epsilon": eps}
    for g, e in zip(grads, expected):
        w, config = adam(w, g, config)
        np.testing.assert_allclose(w, e, rtol=1e-12, atol=0)


def test_library_adam_with_the_course_formula_is_the_same_code():
    """minitorch_cap.optim.Adam(formula='cs231n') and cs231n.optim.adam give bit-identical weights."""
    rng = np.random.default_rng(3)
    w0 = rng.standard_normal((3, 4)).astype(np.float32)
    grads = [rng.standard_normal((3, 4)).astype(np.float32) * s for s in (1, 1e-6, 1e-9, 1)]
    p = Parameter(w0)
    opt = Adam([("w", p)], lr=1e-2, formula="cs231n")
    w, config = w0.copy(), {"learning_rate": 1e-2}
    for g in grads:
        p.grad[...] = g
        opt.step()
        w, config = adam(w, g, config)
        np.testing.assert_array_equal(p.data, w)
        assert w.dtype == np.float32
    pytorch = Adam([("w", Parameter(w0))], lr=1e-2)
    assert pytorch.formula == "pytorch"


def test_defaults_and_sgd():
    w = np.ones(3)
    next_w, config = sgd(w, np.ones(3))
    assert next_w is w and config == {"learning_rate": 1e-2}
    np.testing.assert_allclose(w, 0.99)
    _, config = adam(np.ones(3), np.ones(3))
    assert (config["learning_rate"], config["beta1"], config["beta2"], config["epsilon"], config["t"]) == \
        (1e-3, 0.9, 0.999, 1e-8, 1)
    _, config = sgd_momentum(np.ones(3), np.ones(3))
    assert config["momentum"] == 0.9
    _, config = rmsprop(np.ones(3), np.ones(3))
    assert config["decay_rate"] == 0.99
