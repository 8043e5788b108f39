"""MultiHeadAttention (minitorch_cap/nn/attention.py): gradients, masks, ragged batches, the
key/value cache, and PyTorch re-running the course's class with the same weights as the oracle."""

import math

import numpy as np
import pytest

from tests.conftest import require_oracle
from tests.nn import contract
from minitorch_cap.nn import KeyValueCache, MultiHeadAttention, causal_mask, dropout_disabled, inference_mode
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


def test_a_key_value_cache_gives_the_forward_and_keeps_no_module_cache():
    attn = make(dropout=0.5)                     # inference_mode: no dropout, in training mode too
    with dropout_disabled(attn):
        expected = attn.forward(Q, KV, KV, MASK)
        unmasked = attn.forward(Q, KV, KV)
    cross = KeyValueCache()
    with inference_mode():
        np.testing.assert_allclose(attn.forward(Q, KV, KV, MASK, cache=cross), expected, rtol=1e-13, atol=1e-14)
        assert cross.length == L and cross.k.shape == cross.v.shape == (N, H, L, E // H)
        np.testing.assert_allclose(attn.forward(Q, None, None, cache=cross), unmasked, rtol=1e-13, atol=1e-14)
        assert cross.length == L                 # no new keys: the cached ones only
    # self-attention, one position at a time: the rows of the causal forward
    with dropout_disabled(attn):
        causal = attn.forward(Q, Q, Q, causal_mask(S))
    trained = [m._cache for m in attn.modules()]
    own = KeyValueCache()
    with inference_mode():
        steps = [attn.forward(Q[:, t:t + 1], Q[:, t:t + 1], Q[:, t:t + 1], cache=own) for t in range(S)]
    np.testing.assert_allclose(np.concatenate(steps, axis=1), causal, rtol=1e-13, atol=1e-14)
    assert all(m._cache is c for m, c in zip(attn.modules(), trained))   # the training caches, untouched
    kept = own.k
    selected = own.select(np.array([1, 1]))
    with inference_mode():
        attn.forward(Q[:, :1], Q[:, :1], Q[:, :1], cache=own)
    assert own.k is not kept and own.length == S + 1 and selected.length == S   # appended as new arrays
    np.testing.assert_array_equal(selected.k, kept[[1, 1]])


@pytest.mark.parametrize("case", CASES)
def test_lengths_give_the_truncated_rows(case):
    """lengths / key_lengths: each row is the forward of its truncated query and keys; the
    padding's output and input gradients are 0, and parameter gradients sum the rows'."""
    query, key, value, mask = CASES[case]()
    if case == "masked":
        mask = None                              # row-dependent lengths with a full mask
    lengths, key_lengths = np.array([2, 0]), np.array([4, 3])
    if query is key:
        key_lengths = lengths
    dout = np.random.default_rng(9).standard_normal((N, S, E))
    attn = make()
    out = attn.forward(query, key, value, mask, lengths=lengths, key_lengths=key_lengths)
    dquery, dkey, dvalue = attn.backward(dout)
    grads = {n: p.grad.copy() for n, p in attn.named_parameters()}
    attn.zero_grad()
    for n in range(N):
        s, l = lengths[n], key_lengths[n]
        assert not out[n, s:].any() and not dquery[n, s:].any() and not dkey[n, l:].any() and not dvalue[n, l:].any()
        if s == 0:
            continue
        alone = attn.forward(query[n:n + 1, :s], key[n:n + 1, :l], value[n:n + 1, :l],
                             None if mask is None else mask[:s, :l])
        np.testing.assert_allclose(out[n:n + 1, :s], alone, rtol=1e-12, atol=1e-12)
        for ours, theirs in zip((dquery[n:n + 1, :s], dkey[n:n + 1, :l], dvalue[n:n + 1, :l]),
                                attn.backward(dout[n:n + 1, :s])):
            np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12)
    for name, p in attn.named_parameters():
        np.testing.assert_allclose(grads[name], p.grad, rtol=1e-12, atol=1e-12, err_msg=name)


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
    with pytest.raises(ValueError, match=r"MultiHeadAttention.forward: key_lengths must lie in \[0, T=5\]"):
        attn.forward(Q, KV, KV, key_lengths=np.array([6, 1]))
    with pytest.raises(RuntimeError, match="MultiHeadAttention.forward: a key/value cache is for decoding"):
        attn.forward(Q, KV, KV, cache=KeyValueCache())
    with inference_mode():
        with pytest.raises(ValueError, match="the cache is empty: nothing to attend to"):
            attn.forward(Q, None, None, cache=KeyValueCache())
        with pytest.raises(ValueError, match="key and value are both given"):
            attn.forward(Q, KV, None, cache=KeyValueCache())
        with pytest.raises(ValueError, match="lengths are for training batches"):
            attn.forward(Q, KV, KV, lengths=np.array([1, 1]), cache=KeyValueCache())
        with pytest.raises(ValueError, match="the cache holds 2 rows, the query 1"):
            cache = KeyValueCache()
            attn.forward(Q, KV, KV, cache=cache)
            attn.forward(Q[:1], None, None, cache=cache)


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


ORACLE_CASES = {**CASES, "one key": lambda: (Q, KV[:, :1], 0.5 * KV[:, :1] + 1, None)}   # queries, keys: no influence


def test_one_key_is_the_general_softmax_with_every_other_key_masked():
    """With one key the queries and keys are not projected (their weight is 1 whatever the scores):
    the same numbers as the general path given a second key that nobody may attend to, a row
    masked from the one key included (zero weights, zero context)."""
    one, two = make(dropout=0.3, seed=5), make(dropout=0.3, seed=5)
    rows = np.array([[True], [False], [True]])
    dout = np.random.default_rng(4).standard_normal((N, S, E))
    one.forward(Q, KV[:, :1], KV[:, :1], rows)                  # dropout on: the weights before it
    with dropout_disabled(two):
        padded = two.forward(Q, KV[:, :2], KV[:, :2], np.concatenate([rows, np.zeros((S, 1), bool)], axis=1))
        dq2, dk2, dv2 = two.backward(dout)
    np.testing.assert_array_equal(one.attn_weights, np.broadcast_to(rows, (N, H, S, 1)))
    with dropout_disabled(one):
        out = one.forward(Q, KV[:, :1], KV[:, :1], rows)
        dquery, dkey, dvalue = one.backward(dout)
    np.testing.assert_allclose(out, padded, rtol=1e-13, atol=1e-13)
    np.testing.assert_array_equal(dquery, 0)
    np.testing.assert_array_equal(dkey, 0)
    np.testing.assert_allclose(dvalue, dv2[:, :1], rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(dq2, 0, atol=1e-13)
    for name in ("value", "proj"):
        np.testing.assert_allclose(getattr(one, name).W.grad, getattr(two, name).W.grad, rtol=1e-12, atol=1e-13)
    assert not one.query.W.grad.any() and not one.key.b.grad.any()


@pytest.mark.parametrize("case", ORACLE_CASES)
def test_matches_the_course_class_in_torch(case):
    torch = require_oracle("torch")
    query, key, value, mask = ORACLE_CASES[case]()
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
