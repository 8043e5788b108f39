"""nn.AttentionLSTM: EECS 498-007 A4's printed values, the PyTorch oracle, lengths, the state API, errors.

The gradient check, save/load, float32 and eval-mode checks of both kinds run in
tests/nn/test_contract.py; here, what is particular to the attention LSTM.
"""

import numpy as np
import pytest

from minitorch_cap.gradcheck import check_module, rel_error
from minitorch_cap.nn import AttentionLSTM
from tests.conftest import course_linspace, require_oracle, set_params
from tests.course_values import (EECS_ATTENTION_FORWARD_H, EECS_ATTN_STEP_NEXT_C, EECS_ATTN_STEP_NEXT_H,
                                 EECS_DOT_ATTN, EECS_DOT_ATTN_WEIGHTS)
from tests.nn.attention_lstm_reference import attention_lstm

KINDS = ["dot", "additive"]


def grid_to_regions(A):
    """The assignment's projected feature grid A (N, H, 4, 4) -> regions (N, P=16, H)."""
    N, H = A.shape[:2]
    return A.reshape(N, H, -1).transpose(0, 2, 1)


def make(attention, D=3, H=6, A=5, seed=0, dtype=np.float64):
    rng = np.random.default_rng(seed)
    cell = AttentionLSTM(D, H, attention, A if attention == "additive" else None, dtype=dtype, rng=rng)
    for _, p in cell.named_parameters():         # non-zero biases, unit-scale weights
        p.data[...] = 0.6 * rng.standard_normal(p.shape)
    return cell


def inputs(N=5, T=4, D=3, H=6, P=4, seed=1):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((N, T, D)), rng.standard_normal((N, P, H))


# ---------------------------------------------------------------------------- EECS 498-007 A4
def test_eecs498_dot_product_attention():
    N, H = 2, 5
    prev_h = course_linspace(-0.4, 0.6, N, H)
    A = course_linspace(-0.4, 1.8, N, H, 4, 4)
    context, weights = AttentionLSTM(3, H, dtype=np.float64).attend(prev_h, grid_to_regions(A))
    assert rel_error(EECS_DOT_ATTN, context) < 1e-7
    assert rel_error(EECS_DOT_ATTN_WEIGHTS, weights.reshape(N, 4, 4)) < 1e-7


def test_eecs498_step_forward_with_a_given_context():
    """The assignment's step takes the context ``attn`` as given: P copies of it as the regions make
    the attention return exactly it (uniform weights over equal regions)."""
    N, D, H = 3, 4, 5
    cell = AttentionLSTM(D, H, dtype=np.float64)
    set_params(cell, Wx=course_linspace(-2.1, 1.3, D, 4 * H), Wh=course_linspace(-0.7, 2.2, H, 4 * H),
               b=course_linspace(0.3, 0.7, 4 * H), Wattn=course_linspace(1.3, 4.2, H, 4 * H))
    attn = course_linspace(0.6, 1.8, N, H)
    state = (course_linspace(-0.3, 0.7, N, H), course_linspace(-0.4, 0.9, N, H), np.repeat(attn[:, None], 3, axis=1))
    next_h, (_, next_c, _) = cell.step_state(course_linspace(-0.4, 1.2, N, D), state)
    assert rel_error(EECS_ATTN_STEP_NEXT_H, next_h) < 1e-7
    assert rel_error(EECS_ATTN_STEP_NEXT_C, next_c) < 1e-7


def test_eecs498_attention_forward():
    N, D, H, T = 2, 5, 4, 3
    cell = AttentionLSTM(D, H, dtype=np.float64)
    set_params(cell, Wx=course_linspace(-0.2, 0.9, D, 4 * H), Wh=course_linspace(-0.3, 0.6, H, 4 * H),
               Wattn=course_linspace(1.3, 4.2, H, 4 * H), b=course_linspace(0.2, 0.7, 4 * H))
    h = cell.forward(course_linspace(-0.4, 0.6, N, T, D), grid_to_regions(course_linspace(-0.4, 1.8, N, H, 4, 4)))
    assert rel_error(EECS_ATTENTION_FORWARD_H, h) < 1e-7


# ---------------------------------------------------------------------------- PyTorch oracle
@pytest.mark.parametrize("attention", KINDS)
@pytest.mark.parametrize("lengths", [None, [4, 0, 2, 4, 1]], ids=["full", "mixed"])
def test_forward_backward_equal_pytorch(attention, lengths):
    torch = require_oracle("torch")
    cell = make(attention)
    x, regions = inputs()
    rng = np.random.default_rng(2)
    h = cell.forward(x, regions, None if lengths is None else np.array(lengths))
    dh, dattn = rng.standard_normal(h.shape), rng.standard_normal(cell.attn_weights.shape)
    dx, dregions = cell.backward(dh, dattn)

    params = {n: torch.tensor(p.data, requires_grad=True) for n, p in cell.named_parameters()}
    tx, tregions = torch.tensor(x, requires_grad=True), torch.tensor(regions, requires_grad=True)
    tlengths = torch.tensor(lengths if lengths is not None else [x.shape[1]] * x.shape[0])
    th, talpha = attention_lstm(torch, params, tx, tregions, tlengths, attention)
    ((th * torch.tensor(dh)).sum() + (talpha * torch.tensor(dattn)).sum()).backward()

    def close(ours, theirs, name):
        theirs = theirs.detach().numpy()
        assert np.abs(ours - theirs).max() <= 1e-10 * max(1.0, np.abs(theirs).max()), name
    close(h, th, "h")
    close(cell.attn_weights, talpha, "attn_weights")
    close(dx, tx.grad, "dx")
    close(dregions, tregions.grad, "dregions")
    for name, p in cell.named_parameters():
        close(p.grad, params[name].grad, name)


# ---------------------------------------------------------------------------- lengths
@pytest.mark.parametrize("attention", KINDS)
def test_gradient_check_with_mixed_lengths(attention):
    cell = make(attention, seed=3)
    x, regions = inputs(seed=4)
    report = check_module(cell, x, regions, np.array([4, 0, 1, 3, 4]))
    report.assert_close(1e-7)
    assert len(report.errors) == 2 + len(list(cell.parameters()))


@pytest.mark.parametrize("attention", KINDS)
def test_a_row_with_a_length_is_the_row_run_alone_for_that_many_steps(attention):
    cell = make(attention)
    x, regions = inputs()
    lengths = np.array([4, 0, 2, 4, 1])
    h = cell.forward(x, regions, lengths)
    alpha = cell.attn_weights
    for n, L in enumerate(lengths):
        if L:
            alone = cell.forward(x[n:n + 1, :L], regions[n:n + 1])
            np.testing.assert_allclose(h[n, :L], alone[0], rtol=0, atol=1e-14)
            np.testing.assert_allclose(alpha[n, :L], cell.attn_weights[0], rtol=0, atol=1e-14)
        assert not h[n, L:].any() and not alpha[n, L:].any()    # exactly zero after the length


@pytest.mark.parametrize("attention", KINDS)
def test_backward_ignores_gradients_after_the_lengths(attention):
    cell = make(attention)
    x, regions = inputs()
    lengths = np.array([4, 0, 2, 4, 1])
    rng = np.random.default_rng(5)
    dh, dattn = rng.standard_normal((5, 4, 6)), rng.standard_normal((5, 4, 4))
    after = np.arange(4)[None, :] >= lengths[:, None]             # (N, T) positions after each length
    cell.forward(x, regions, lengths)
    dx, dregions = cell.backward(dh, dattn)
    grads = {n: p.grad.copy() for n, p in cell.named_parameters()}
    cell.zero_grad()
    dh[after], dattn[after] = 1e3, -1e3
    dx2, dregions2 = cell.backward(dh, dattn)
    np.testing.assert_array_equal(dx, dx2)
    np.testing.assert_array_equal(dregions, dregions2)
    for n, p in cell.named_parameters():
        np.testing.assert_array_equal(p.grad, grads[n])
    assert not dx[after].any() and not dregions[1].any()          # row 1 ran no step: its regions count for nothing


def test_lengths_none_is_every_row_full_length():
    cell = make("additive")
    x, regions = inputs()
    np.testing.assert_array_equal(cell.forward(x, regions), cell.forward(x, regions, np.full(5, 4)))


@pytest.mark.parametrize("attention", KINDS)
def test_empty_batch_and_all_rows_empty(attention):
    cell = make(attention)
    x, regions = inputs()
    h = cell.forward(x[:0], regions[:0])
    dx, dregions = cell.backward(np.zeros_like(h))
    assert h.shape == (0, 4, 6) and dx.shape == (0, 4, 3) and dregions.shape == (0, 4, 6)
    h = cell.forward(x, regions, np.zeros(5, dtype=np.int64))
    dx, dregions = cell.backward(np.ones_like(h), np.ones((5, 4, 4)))
    assert not h.any() and not cell.attn_weights.any() and not dx.any() and not dregions.any()
    assert not any(p.grad.any() for p in cell.parameters())


# ---------------------------------------------------------------------------- state API
@pytest.mark.parametrize("attention", KINDS)
def test_steps_reproduce_the_sequence(attention):
    cell = make(attention)
    x, regions = inputs()
    h = cell.forward(x, regions)
    state = cell.initial_state(regions)
    np.testing.assert_allclose(state[0], regions.mean(axis=1))
    for t in range(x.shape[1]):
        h_t, state = cell.step_state(x[:, t], state)
        np.testing.assert_allclose(h_t, h[:, t], rtol=0, atol=1e-14)
        np.testing.assert_allclose(cell.step_attn_weights, cell.attn_weights[:, t], rtol=0, atol=1e-14)
    # rows of a state can be dropped, reordered and repeated (beam search)
    rows = np.array([3, 3, 0])
    h_rows, _ = cell.step_state(x[rows, 0], tuple(s[rows] for s in cell.initial_state(regions)))
    np.testing.assert_allclose(h_rows, h[rows, 0], rtol=0, atol=1e-14)


def test_step_keeps_no_cache_and_leaves_the_training_cache():
    cell = make("dot")
    x, regions = inputs()
    cell.forward(x, regions)
    cached = cell._cache
    cell.step_state(x[:, 0], cell.initial_state(regions))
    assert cell._cache is cached


def test_softmax_does_not_overflow():
    cell = make("dot", dtype=np.float32)
    x, regions = inputs()
    h = cell.forward(x, 1e4 * regions)
    assert np.isfinite(h).all() and np.isfinite(cell.attn_weights).all()


def test_initialisation():
    rng = np.random.default_rng(7)
    cell = AttentionLSTM(3, 4, "additive", 5, rng=np.random.default_rng(7))
    expected = {"Wx": rng.standard_normal((3, 16)) / np.sqrt(3), "Wh": rng.standard_normal((4, 16)) / 2,
                "Wattn": rng.standard_normal((4, 16)) / 2, "Wq": rng.standard_normal((4, 5)) / 2,
                "Wk": rng.standard_normal((4, 5)) / 2, "v": rng.standard_normal(5) / np.sqrt(5),
                "Wbeta": rng.standard_normal((4, 1)) / 2}
    assert [n for n, _ in cell.named_parameters()] == ["Wx", "Wh", "Wattn", "b", "Wq", "Wk", "ba", "v", "Wbeta",
                                                      "bbeta"]
    for name, value in expected.items():
        np.testing.assert_array_equal(getattr(cell, name).data, value.astype(np.float32))
    assert not cell.b.data.any() and not cell.ba.data.any() and not cell.bbeta.data.any()
    assert AttentionLSTM(3, 4, "additive").attention_dim == 4       # A defaults to H


class TestBadInput:
    def test_options(self):
        with pytest.raises(ValueError, match="AttentionLSTM: attention must be one of dot, additive, got 'multiplicative'"):
            AttentionLSTM(3, 4, "multiplicative")
        with pytest.raises(ValueError, match="AttentionLSTM: attention_dim applies to attention='additive' only"):
            AttentionLSTM(3, 4, "dot", 8)
        with pytest.raises(ValueError, match="AttentionLSTM: attention_dim must be an integer >= 1"):
            AttentionLSTM(3, 4, "additive", 0)

    def test_inputs(self):
        cell = make("dot")
        x, regions = inputs()
        with pytest.raises(ValueError, match=r"AttentionLSTM.forward: regions need P >= 1 regions"):
            cell.forward(x, regions[:, :0])
        with pytest.raises(ValueError, match=r"AttentionLSTM.forward: expected lengths of shape \(N=5\), got shape \(2,\)"):
            cell.forward(x, regions, np.array([1, 2]))
        with pytest.raises(ValueError, match=r"AttentionLSTM.forward: lengths must lie in \[0, T=4\], got values in "
                                             r"\[-1, 2\]"):
            cell.forward(x, regions, np.array([1, 2, -1, 0, 0]))
        with pytest.raises(ValueError, match=r"AttentionLSTM.forward: x has no time steps"):
            cell.forward(x[:, :0], regions)
        cell.forward(x, regions)
        with pytest.raises(ValueError, match=r"AttentionLSTM.backward: expected dattn of shape \(N=5, T=4, P=4\)"):
            cell.backward(np.zeros((5, 4, 6)), np.zeros((5, 4, 3)))

    def test_state(self):
        cell = make("additive")
        x, regions = inputs()
        state = cell.initial_state(regions)
        with pytest.raises(ValueError, match="AttentionLSTM.step_state: expected a state of 4 arrays"):
            cell.step_state(x[:, 0], state[:3])
        with pytest.raises(ValueError, match=r"AttentionLSTM.step_state: expected h of shape \(K=2, H=6\)"):
            cell.step_state(x[:2, 0], state)
