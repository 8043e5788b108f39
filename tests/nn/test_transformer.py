"""TransformerDecoderLayer and TransformerDecoder (minitorch_cap/nn/transformer.py): names,
PyTorch's own decoder layer as the oracle, ragged batches (lengths), and decoding with the key/value
cache (gradients and the rest of the module contract: tests/nn/test_contract.py)."""

import numpy as np
import pytest

from tests.conftest import require_oracle
from minitorch_cap.nn import (Affine, DecoderCache, KeyValueCache, LayerNorm, TransformerDecoder,
                              TransformerDecoderLayer, causal_mask, dropout_disabled, inference_mode)

N, T, K, E, H, F = 2, 4, 3, 8, 2, 12
_rng = np.random.default_rng(0)
TGT = _rng.standard_normal((N, T, E))
MEMORY = _rng.standard_normal((N, K, E))
ACTIVATIONS = ["relu", "gelu"]


def perturb(module, seed):
    """Non-trivial biases and LayerNorm affine parameters (the defaults are zeros and ones)."""
    rng = np.random.default_rng(seed)
    for m in module.modules():
        if isinstance(m, Affine):
            m.b.data[...] = 0.2 * rng.standard_normal(m.b.shape)
        if isinstance(m, LayerNorm):
            m.gamma.data[...] += 0.3 * rng.standard_normal(m.gamma.shape)
            m.beta.data[...] = 0.3 * rng.standard_normal(m.beta.shape)
    return module


def make_layer(dtype=np.float64, seed=0, activation="relu", dropout=0.0):
    layer = TransformerDecoderLayer(E, H, F, dropout=dropout, activation=activation, dtype=dtype,
                                    rng=np.random.default_rng(seed))
    return perturb(layer, seed + 100)


def make_decoder(dtype=np.float64, seed=0, activation="relu", num_layers=2, dropout=0.0):
    decoder = TransformerDecoder(make_layer(dtype, seed, activation, dropout), num_layers)
    return perturb(decoder, seed + 200)  # layers differ from each other


def test_names_follow_pytorch():
    layer = TransformerDecoderLayer(E, H, F)
    assert [name for name, _ in layer.named_children()] == [
        "self_attn", "multihead_attn", "linear1", "dropout", "linear2", "norm1", "norm2", "norm3",
        "dropout1", "dropout2", "dropout3", "activation"]
    assert layer.linear1.W.shape == (E, F) and layer.linear2.W.shape == (F, E)
    decoder = TransformerDecoder(layer, 3)
    names = [name for name, _ in decoder.named_parameters()]
    assert names[0] == "layers.0.self_attn.key.W" and names[-1] == "layers.2.norm3.beta"
    assert len(names) == 3 * len(list(layer.named_parameters()))
    assert TransformerDecoderLayer(E, H).dim_feedforward == 2048


def test_copies_start_identical_but_draw_different_dropout_masks():
    decoder = TransformerDecoder(TransformerDecoderLayer(E, H, F, dropout=0.5, dtype=np.float64, rng=1), 2)
    first, second = decoder.layers
    for (name, a), b in zip(first.named_parameters(), second.parameters()):
        np.testing.assert_array_equal(a.data, b.data, err_msg=name)
    assert first.dropout1.rng is second.dropout1.rng
    x = np.ones((N, T, E))
    assert not np.array_equal(first.dropout1.forward(x), second.dropout1.forward(x))


def test_dropout_is_seeded():
    outputs = [make_decoder(dropout=0.3, seed=4).forward(TGT, MEMORY, causal_mask(T)) for _ in range(2)]
    np.testing.assert_array_equal(*outputs)
    off = make_decoder(dropout=0.3, seed=4)
    with dropout_disabled(off):
        assert not np.allclose(outputs[0], off.forward(TGT, MEMORY, causal_mask(T)))


# --------------------------------------------------------------------------- decoding with the cache
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_cached_steps_equal_the_causal_forward(activation):
    decoder = make_decoder(activation=activation, dropout=0.1).train()  # step ignores the mode
    with dropout_disabled(decoder):
        full = decoder.forward(TGT, MEMORY, causal_mask(T))
    cache = decoder.start(MEMORY)
    assert cache.length == 0 and cache.batch_size == N
    outputs = []
    for t in range(T):
        y, cache = decoder.step(TGT[:, t:t + 1], cache)
        outputs.append(y)
    assert cache.length == T
    assert len(cache.self_attn) == 2 and cache.self_attn[1].k.shape == (N, H, T, E // H)
    assert cache.cross_attn[0].v.shape == (N, H, K, E // H)
    np.testing.assert_allclose(np.concatenate(outputs, axis=1), full, rtol=1e-12, atol=1e-12)
    weights = decoder.layers[1].multihead_attn.attn_weights  # the last step's cross-attention
    assert weights.shape == (N, H, 1, K)
    # several positions per step (a prompt, or a chunk after cached positions) give the same rows
    for split in (1, 2, 3):
        y1, cache = decoder.step(TGT[:, :split], decoder.start(MEMORY))
        y2, cache = decoder.step(TGT[:, split:], cache)
        assert cache.length == T
        np.testing.assert_allclose(np.concatenate([y1, y2], axis=1), full, rtol=1e-12, atol=1e-12)
    decoder.eval()
    np.testing.assert_allclose(decoder.forward(TGT, MEMORY, causal_mask(T)), full, rtol=1e-14, atol=1e-14)


def test_select_reorders_rows_for_beam_search():
    decoder = make_decoder()
    rows = np.array([1, 1, 0])
    cache = decoder.start(MEMORY)
    y, cache = decoder.step(TGT[:, :2], cache)
    y_sel, _ = decoder.step(TGT[rows, 2:3], cache.select(rows))
    y_ref, _ = decoder.step(TGT[rows, :3], decoder.start(MEMORY[rows]))
    np.testing.assert_allclose(y_sel, y_ref[:, 2:], rtol=1e-12, atol=1e-12)
    old = cache.self_attn[0].k.copy()
    decoder.step(TGT[:, 2:3], cache)
    np.testing.assert_array_equal(cache.self_attn[0].k, old)  # a cache is never changed in place
    assert cache.length == 2
    with pytest.raises(ValueError, match=r"DecoderCache.select: rows must lie in \[0, 2\)"):
        cache.select(np.array([2]))
    with pytest.raises(TypeError, match="DecoderCache.select: rows must be a 1-D integer array"):
        cache.select(np.array([True, False]))


def test_steps_keep_no_module_cache():
    decoder = make_decoder()
    decoder.step(TGT[:, :1], decoder.start(MEMORY))
    assert all(m._cache is None for m in decoder.modules())


def test_forward_with_a_cache_is_the_decoding_path():
    """A step is the ordinary forward under inference_mode with a DecoderCache, which it extends;
    the training cache of the last forward is left as it was."""
    decoder = make_decoder(activation="gelu", dropout=0.2)
    dout = np.random.default_rng(7).standard_normal((N, T, E))
    with dropout_disabled(decoder):
        decoder.forward(TGT, MEMORY, causal_mask(T))
        expected = decoder.backward(dout)
        full = decoder.forward(TGT, MEMORY, causal_mask(T))
    cache = DecoderCache.empty(2)
    with inference_mode():                              # dropout is off in there, in training mode too
        decoder.forward(TGT[:, :0], MEMORY, cache=cache)                         # reads the memory
        y1 = decoder.forward(TGT[:, :2], None, causal_mask(2), cache=cache)     # two positions at once
        y2 = decoder.forward(TGT[:, 2:3], None, cache=cache)                    # then one
    assert cache.length == 3 and cache.batch_size == N
    np.testing.assert_allclose(np.concatenate([y1, y2], axis=1), full[:, :3], rtol=1e-12, atol=1e-12)
    with dropout_disabled(decoder):
        for a, b in zip(decoder.backward(dout), expected):   # the training forward's cache is intact
            np.testing.assert_allclose(a, b, rtol=0, atol=0)
    with pytest.raises(RuntimeError, match="a key/value cache is for decoding; call forward under inference_mode"):
        decoder.forward(TGT[:, 3:], None, cache=cache)
    with inference_mode():
        with pytest.raises(ValueError, match="layers.0: TransformerDecoderLayer.forward: the cache already holds"):
            decoder.forward(TGT[:, 3:], MEMORY, cache=cache)
        with pytest.raises(ValueError, match="lengths are for training batches"):
            decoder.forward(TGT[:, 3:], None, lengths=np.ones(N, dtype=int), cache=cache)
        with pytest.raises(ValueError, match="TransformerDecoder.forward: memory is required"):
            decoder.forward(TGT, None)
        with pytest.raises(TypeError, match="cache must be a DecoderCache"):
            decoder.forward(TGT, MEMORY, cache=(KeyValueCache(), KeyValueCache()))


# --------------------------------------------------------------------------- ragged batches
LENGTHS = np.array([3, 0])       # a shorter row and an empty one (T = 4)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_lengths_give_the_causal_forward_without_the_padding(activation):
    """With the causal mask, rows computed up to ``lengths`` equal the padded computation on those
    positions: outputs, every gradient (dout ignored beyond), float64 to 1e-12; beyond, exactly 0."""
    keep = np.arange(T) < LENGTHS[:, None]
    dout = np.random.default_rng(8).standard_normal((N, T, E))
    padded, ragged = make_decoder(activation=activation), make_decoder(activation=activation)
    with dropout_disabled(padded), dropout_disabled(ragged):
        full = padded.forward(TGT, MEMORY, causal_mask(T))
        dtgt_full, dmem_full = padded.backward(dout * keep[:, :, None])
        out = ragged.forward(TGT, MEMORY, causal_mask(T), lengths=LENGTHS)
        dtgt, dmem = ragged.backward(dout)
    np.testing.assert_allclose(out[keep], full[keep], rtol=1e-12, atol=1e-12)
    assert not out[~keep].any() and not dtgt[~keep].any()
    np.testing.assert_allclose(dtgt, dtgt_full, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dmem, dmem_full, rtol=1e-12, atol=1e-12)
    theirs = dict(padded.named_parameters())
    for name, p in ragged.named_parameters():
        np.testing.assert_allclose(p.grad, theirs[name].grad, rtol=1e-12, atol=1e-12, err_msg=name)


def test_lengths_without_a_causal_mask_give_the_truncated_rows():
    layer = make_layer(activation="gelu")
    lengths = np.array([2, 4])
    out = layer.forward(TGT, MEMORY, lengths=lengths)        # no mask: each row sees its own positions only
    for n, length in enumerate(lengths):
        alone = layer.forward(TGT[n:n + 1, :length], MEMORY[n:n + 1])
        np.testing.assert_allclose(out[n:n + 1, :length], alone, rtol=1e-12, atol=1e-12)


def test_lengths_draw_the_dropout_masks_of_the_padded_batch():
    """Masks are drawn for the padded (N, T, ...) arrays, as without lengths: the same generator
    state gives the padded computation's values on the positions computed."""
    keep = np.arange(T) < LENGTHS[:, None]
    full = make_decoder(dropout=0.3, seed=4).forward(TGT, MEMORY, causal_mask(T))
    ragged = make_decoder(dropout=0.3, seed=4).forward(TGT, MEMORY, causal_mask(T), lengths=LENGTHS)
    np.testing.assert_allclose(ragged[keep], full[keep], rtol=1e-12, atol=1e-12)


def test_bad_lengths():
    decoder = make_decoder()
    with pytest.raises(ValueError, match=r"TransformerDecoder.forward: lengths must lie in \[0, T=4\]"):
        decoder.forward(TGT, MEMORY, lengths=np.array([5, 1]))
    with pytest.raises(TypeError, match="TransformerDecoder.forward: expected lengths to be an integer array"):
        decoder.forward(TGT, MEMORY, lengths=np.array([1.0, 2.0]))
    with pytest.raises(ValueError, match=r"TransformerDecoder.forward: expected lengths of shape \(N=2\)"):
        decoder.forward(TGT, MEMORY, lengths=np.array([1, 2, 3]))


# --------------------------------------------------------------------------- PyTorch oracle
def load_into_torch(torch, ours, theirs):
    """Copy a TransformerDecoderLayer's weights into torch.nn.TransformerDecoderLayer."""
    t = lambda a: torch.tensor(a)  # noqa: E731
    with torch.no_grad():
        for name in ("self_attn", "multihead_attn"):
            attn, ref = getattr(ours, name), getattr(theirs, name)
            ref.in_proj_weight.copy_(t(np.concatenate([attn.query.W.data.T, attn.key.W.data.T, attn.value.W.data.T])))
            ref.in_proj_bias.copy_(t(np.concatenate([attn.query.b.data, attn.key.b.data, attn.value.b.data])))
            ref.out_proj.weight.copy_(t(attn.proj.W.data.T))
            ref.out_proj.bias.copy_(t(attn.proj.b.data))
        for name in ("linear1", "linear2"):
            getattr(theirs, name).weight.copy_(t(getattr(ours, name).W.data.T))
            getattr(theirs, name).bias.copy_(t(getattr(ours, name).b.data))
        for name in ("norm1", "norm2", "norm3"):
            getattr(theirs, name).weight.copy_(t(getattr(ours, name).gamma.data))
            getattr(theirs, name).bias.copy_(t(getattr(ours, name).beta.data))


def torch_grads_as_ours(ours, theirs):
    """theirs' parameter gradients under our names and layout."""
    grads = {}
    for name in ("self_attn", "multihead_attn"):
        ref = getattr(theirs, name)
        wq, wk, wv = np.split(ref.in_proj_weight.grad.numpy(), 3)
        bq, bk, bv = np.split(ref.in_proj_bias.grad.numpy(), 3)
        grads.update({f"{name}.query.W": wq.T, f"{name}.key.W": wk.T, f"{name}.value.W": wv.T,
                      f"{name}.query.b": bq, f"{name}.key.b": bk, f"{name}.value.b": bv,
                      f"{name}.proj.W": ref.out_proj.weight.grad.numpy().T,
                      f"{name}.proj.b": ref.out_proj.bias.grad.numpy()})
    for name in ("linear1", "linear2"):
        grads[f"{name}.W"] = getattr(theirs, name).weight.grad.numpy().T
        grads[f"{name}.b"] = getattr(theirs, name).bias.grad.numpy()
    for name in ("norm1", "norm2", "norm3"):
        grads[f"{name}.gamma"] = getattr(theirs, name).weight.grad.numpy()
        grads[f"{name}.beta"] = getattr(theirs, name).bias.grad.numpy()
    assert set(grads) == {n for n, _ in ours.named_parameters()}
    return grads


def torch_layer(torch, activation):
    return torch.nn.TransformerDecoderLayer(E, H, F, dropout=0.0, activation=activation, batch_first=True,
                                            norm_first=False, dtype=torch.float64)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_layer_matches_torch_decoder_layer(activation):
    torch = require_oracle("torch")
    ours = make_layer(activation=activation)
    theirs = torch_layer(torch, activation)
    load_into_torch(torch, ours, theirs)
    dout = np.random.default_rng(3).standard_normal((N, T, E))
    out = ours.forward(TGT, MEMORY, causal_mask(T))
    dtgt, dmemory = ours.backward(dout)
    tgt, memory = torch.tensor(TGT, requires_grad=True), torch.tensor(MEMORY, requires_grad=True)
    tout = theirs(tgt, memory, tgt_mask=~torch.tensor(causal_mask(T)))  # torch: True = may NOT attend
    tout.backward(torch.tensor(dout))
    np.testing.assert_allclose(out, tout.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dtgt, tgt.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dmemory, memory.grad.numpy(), rtol=1e-10, atol=1e-12)
    expected = torch_grads_as_ours(ours, theirs)
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad, expected[name], rtol=1e-10, atol=1e-12, err_msg=name)


def test_decoder_matches_torch_decoder():
    torch = require_oracle("torch")
    ours = make_decoder(activation="gelu")
    theirs = torch.nn.TransformerDecoder(torch_layer(torch, "gelu"), 2)
    for k in range(2):
        load_into_torch(torch, ours.layers[k], theirs.layers[k])
    dout = np.random.default_rng(4).standard_normal((N, T, E))
    out = ours.forward(TGT, MEMORY, causal_mask(T))
    dtgt, dmemory = ours.backward(dout)
    tgt, memory = torch.tensor(TGT, requires_grad=True), torch.tensor(MEMORY, requires_grad=True)
    tout = theirs(tgt, memory, tgt_mask=~torch.tensor(causal_mask(T)))
    tout.backward(torch.tensor(dout))
    np.testing.assert_allclose(out, tout.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dtgt, tgt.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(dmemory, memory.grad.numpy(), rtol=1e-10, atol=1e-12)
    for k in range(2):
        expected = torch_grads_as_ours(ours.layers[k], theirs.layers[k])
        for name, p in ours.layers[k].named_parameters():
            np.testing.assert_allclose(p.grad, expected[name], rtol=1e-10, atol=1e-12, err_msg=f"layers.{k}.{name}")


# --------------------------------------------------------------------------- errors, repr
def test_bad_input():
    with pytest.raises(ValueError, match="TransformerDecoderLayer: activation must be one of"):
        TransformerDecoderLayer(E, H, activation="tanh")
    with pytest.raises(TypeError, match="TransformerDecoder: decoder_layer must be a TransformerDecoderLayer"):
        TransformerDecoder(LayerNorm(E), 2)
    with pytest.raises(ValueError, match="TransformerDecoder: num_layers must be an integer >= 1"):
        TransformerDecoder(TransformerDecoderLayer(E, H, F), 0)
    layer = TransformerDecoderLayer(E, H, F)
    with pytest.raises(ValueError, match=r"TransformerDecoderLayer.forward: expected memory of shape \(N=2, K, E=8\)"):
        layer.forward(TGT, MEMORY[:1])
    with pytest.raises(ValueError, match=r"TransformerDecoderLayer.forward: expected tgt_mask of shape \(S=4, L=4\)"):
        layer.forward(TGT, MEMORY, causal_mask(3))
    decoder = TransformerDecoder(layer, 2)
    with pytest.raises(ValueError, match=r"TransformerDecoder.forward: expected tgt of shape \(N, T, E=8\)"):
        decoder.forward(TGT[..., :4], MEMORY)
    decoder.forward(TGT, MEMORY)
    with pytest.raises(ValueError, match=r"TransformerDecoder.backward: expected dout of shape \(N=2, T=4, E=8\)"):
        decoder.backward(np.zeros((2, 3, 8)))
    with pytest.raises(TypeError, match="TransformerDecoder.step: cache must be a DecoderCache"):
        decoder.step(TGT[:, :1], None)
    cache = decoder.start(MEMORY)
    assert isinstance(cache, DecoderCache)
    with pytest.raises(ValueError, match=r"TransformerDecoder.step: expected x of shape \(N=2, S, E=8\)"):
        decoder.step(TGT[:1, :1], cache)


def test_repr():
    text = repr(TransformerDecoder(TransformerDecoderLayer(E, H, F, activation="gelu"), 2))
    lines = text.splitlines()
    assert lines[0] == "TransformerDecoder(num_layers=2, dtype=float32"
    assert lines[1] == "  (layers): ModuleList("
    assert lines[2] == ("    (0): TransformerDecoderLayer(input_dim=8, num_heads=2, dim_feedforward=12, "
                        "activation='gelu', dtype=float32")
    assert "(activation): GELU(dtype=float32)" in text


def test_cached_steps_in_float32_stay_float32():
    decoder = make_decoder(np.float32, activation="gelu").eval()
    full = decoder.forward(TGT, MEMORY, causal_mask(T))
    cache, outputs = decoder.start(MEMORY), []
    for t in range(T):
        y, cache = decoder.step(TGT[:, t:t + 1], cache)
        outputs.append(y)
    assert y.dtype == np.float32 and cache.self_attn[0].k.dtype == np.float32
    np.testing.assert_allclose(np.concatenate(outputs, axis=1), full, rtol=1e-5, atol=1e-5)
