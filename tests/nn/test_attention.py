"""MultiHeadAttention (minitorch_cap/nn/attention.py): gradients, masks, the cache path, and
PyTorch re-running the course's class with the same weights as the oracle."""

import math

import numpy as np
import pytest

from tests.conftest import require_oracle
from tests.nn import contract
from minitorch_cap.nn import MultiHeadAttention, causal_mask, dropout_disabled
from minitorch_cap.nn.attention import masked_softmax

N, S, L, E, H = 2, 3, 5, 8, 2
_rng = np.random.default_rng(0)
Q = _rng.standard_normal((N, S, E))
KV = _rng.standard_normal((N, L, E))
MASK = _rng.random((S, L)) < 0.6
MASK[:, 0] = True  # no fully masked row (PyTorch would give NaN there)


def make(dtype=np.float64, seed=0, dropout=0.0):
    rng = np.random.default_rng(seed)
    attn = MultiHeadAttention(E, H, dropout=dropout, dtype=dtype, rng=rng)
    for layer in (attn.key, attn.query, attn.value, attn.proj):
        layer.b.data[...] = 0.3 * rng.standard_normal(E)
    return attn


CASES = {
    "self": lambda: (Q, Q, Q, None),
    "masked": lambda: (Q, Q, Q, causal_mask(S)),
    "cross": lambda: (Q, KV, 0.5 * KV + 1, MASK),
}


@pytest.mark.parametrize("case", CASES)
def test_gradients(case):
    query, key, value, mask = CASES[case]()
    report = contract.assert_gradients(make(), query, key, value, mask)
    assert {"input[0]", "input[1]", "input[2]", "query.W", "proj.b"} <= set(report.errors)


def test_contract():
    args = (Q, KV, KV, MASK)
    contract.assert_two_backwards_double_parameter_grads(make(), *args)
    contract.assert_state_dict_round_trip(lambda dtype, seed: make(dtype, seed), *args)
    contract.assert_float32_agrees_with_float64(lambda dtype, seed=0: make(dtype, seed), *args)
    contract.assert_eval_keeps_no_cache(make(), *args)


def test_children_names_and_shapes():
    attn = MultiHeadAttention(E, H)
    assert [(n, p.shape) for n, p in attn.named_parameters()] == [
        (f"{c}.{w}", (E, E) if w == "W" else (E,)) for c in ("key", "query", "value", "proj") for w in ("W", "b")]
    assert attn.head_dim == E // H and attn.scale == 1 / math.sqrt(E // H)


def test_fully_masked_row_gives_zero_weights_not_nan():
    attn = make()
    mask = np.ones((S, L), dtype=bool)
    mask[1] = False
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        out = attn.forward(Q, KV, KV, mask)
        grads = attn.backward(np.ones_like(out))
    assert np.isfinite(out).all() and all(np.isfinite(g).all() for g in grads)
    assert not attn.attn_weights[:, :, 1].any()
    np.testing.assert_allclose(out[:, 1], np.broadcast_to(attn.proj.b.data, (N, E)))  # zero context -> bias
    np.testing.assert_allclose(attn.attn_weights[:, :, [0, 2]].sum(-1), 1)
    contract.assert_gradients(make(), Q, KV, KV, mask)


def test_softmax_is_stable_for_huge_scores():
    scores = np.array([[[1e4, 1e4, -1e4]]])  # exp(1e4) overflows without the shift
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        np.testing.assert_allclose(masked_softmax(scores.copy(), None), [[[0.5, 0.5, 0]]])


def test_attention_weights_are_kept_in_eval_mode_and_masked():
    attn = make().eval()
    attn.forward(Q, KV, KV, MASK)
    assert attn.attn_weights.shape == (N, H, S, L)
    assert not attn.attn_weights[..., ~MASK].any()
    np.testing.assert_allclose(attn.attn_weights.sum(-1), 1)


def test_attention_dropout_is_seeded_and_drops_weights():
    a, b = make(dropout=0.5, seed=3), make(dropout=0.5, seed=3)
    out_a = a.forward(Q, KV, KV)
    np.testing.assert_array_equal(out_a, b.forward(Q, KV, KV))
    with dropout_disabled(a):
        assert not np.allclose(out_a, a.forward(Q, KV, KV))
    a.eval()
    np.testing.assert_array_equal(a.forward(Q, KV, KV), make(seed=3).eval().forward(Q, KV, KV))


def test_attend_with_projected_kv_equals_forward_and_keeps_no_cache():
    attn = make()
    k, v = attn.project_kv(KV, KV)
    assert k.shape == v.shape == (N, H, L, E // H)
    out = attn.attend(Q, k, v, MASK)
    assert attn._cache is None and attn.query._cache is None
    np.testing.assert_allclose(out, attn.forward(Q, KV, KV, MASK), rtol=1e-13, atol=1e-14)


def test_bad_input():
    with pytest.raises(ValueError, match=r"MultiHeadAttention: embed_dim \(6\) must be divisible by num_heads \(4\)"):
        MultiHeadAttention(6, 4)
    with pytest.raises(ValueError, match="MultiHeadAttention: num_heads must be an integer >= 1"):
        MultiHeadAttention(6, 0)
    attn = MultiHeadAttention(E, H)
    with pytest.raises(ValueError, match=r"MultiHeadAttention.forward: expected query of shape \(N, S, E=8\)"):
        attn.forward(np.zeros((2, 3, 4)), KV, KV)
    with pytest.raises(ValueError, match=r"MultiHeadAttention.forward: expected value of shape \(N=2, L=5, E=8\)"):
        attn.forward(Q, KV, KV[:, :4])
    with pytest.raises(ValueError, match=r"MultiHeadAttention.forward: expected attn_mask of shape \(S=3, L=5\)"):
        attn.forward(Q, KV, KV, np.ones((5, 3), dtype=bool))
    with pytest.raises(TypeError, match="MultiHeadAttention.forward: expected attn_mask to be a boolean mask"):
        attn.forward(Q, KV, KV, np.full((S, L), "x"))
    attn.forward(Q, KV, KV)
    with pytest.raises(ValueError, match=r"MultiHeadAttention.backward: expected dout of shape \(N=2, S=3, E=8\)"):
        attn.backward(np.zeros((2, 5, 8)))
    with pytest.raises(ValueError, match=r"MultiHeadAttention.attend: expected k of shape \(N=2, H=2, L, Dh=4\)"):
        attn.attend(Q, np.zeros((2, 2, 5, 3)), np.zeros((2, 2, 5, 4)))


def test_repr():
    text = repr(MultiHeadAttention(8, 2))
    assert text.splitlines()[0] == "MultiHeadAttention(embed_dim=8, num_heads=2, dropout=0.1, dtype=float32"
    assert "(query): Affine(in_dim=8, out_dim=8, dtype=float32)" in text
    assert "(attn_drop): Dropout(p=0.1)" in text


# --------------------------------------------------------------------------- PyTorch oracle
def torch_linear(torch, layer):
    """A torch Linear holding an Affine's weights (torch keeps W transposed, (out, in))."""
    lin = torch.nn.Linear(layer.in_dim, layer.out_dim, dtype=torch.float64)
    with torch.no_grad():
        lin.weight.copy_(torch.tensor(layer.W.data.T))
        lin.bias.copy_(torch.tensor(layer.b.data))
    return lin


def course_attention(torch, lins, query, key, value, mask, num_heads):
    """The course's MultiHeadAttention.forward (separate query/key/value/proj Linear layers)."""
    N, S, E = query.shape
    L = value.shape[1]
    Dh = E // num_heads
    q = lins["query"](query).view(N, S, num_heads, Dh).transpose(1, 2)
    k = lins["key"](key).view(N, L, num_heads, Dh).transpose(1, 2)
    v = lins["value"](value).view(N, L, num_heads, Dh).transpose(1, 2)
    scores = q @ k.transpose(2, 3) / math.sqrt(Dh)
    if mask is not None:
        scores = scores.masked_fill(~torch.tensor(mask), float("-inf"))
    weights = torch.softmax(scores, dim=-1)
    return lins["proj"]((weights @ v).transpose(1, 2).reshape(N, S, E))


@pytest.mark.parametrize("case", CASES)
def test_matches_the_course_class_in_torch(case):
    torch = require_oracle("torch")
    query, key, value, mask = CASES[case]()
    attn = make()
    dout = np.random.default_rng(9).standard_normal((N, S, E))
    out = attn.forward(query, key, value, mask)
    grads = attn.backward(dout)
    lins = {name: torch_linear(torch, getattr(attn, name)) for name in ("query", "key", "value", "proj")}
    tin = [torch.tensor(a, requires_grad=True) for a in (query, key, value)]  # three leaves even for self-attention
    tout = course_attention(torch, lins, *tin, mask, H)
    tout.backward(torch.tensor(dout))
    np.testing.assert_allclose(out, tout.detach().numpy(), rtol=1e-10, atol=1e-12)
    for ours, theirs in zip(grads, tin):
        np.testing.assert_allclose(ours, theirs.grad.numpy(), rtol=1e-10, atol=1e-12)
    for name, lin in lins.items():
        layer = getattr(attn, name)
        np.testing.assert_allclose(layer.W.grad, lin.weight.grad.numpy().T, rtol=1e-10, atol=1e-12, err_msg=name)
        np.testing.assert_allclose(layer.b.grad, lin.bias.grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=name)
