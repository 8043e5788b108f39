"""The captioner base (minitorch_cap/captioners/base.py): the model kinds (each declaration's
counts agree with the model it builds), the masked vocabulary step the captioners share, and the
lengths a causal decoder needs (the positions up to the last target)."""

import tracemalloc

import attrs
import numpy as np
import pytest

from minitorch_cap import CaptioningModel
from minitorch_cap.captioners.base import KINDS, kind_of, last_target_lengths
from minitorch_cap.captioners.transformer import CaptioningTransformer
from minitorch_cap.data.spec import DataSpec
from minitorch_cap.nn import causal_mask, dropout_disabled
from minitorch_cap.runs import RunSettings

WORDS = ["<NULL>", "<START>", "<END>", "<UNK>", "a", "red", "square", "circle"]
W2I = {w: i for i, w in enumerate(WORDS)}
N, T, D, W = 4, 7, 6, 8


def test_last_target_lengths():
    mask = np.array([[1, 1, 0, 0], [0, 0, 0, 0], [0, 1, 0, 1], [1, 1, 1, 1]], dtype=bool)
    np.testing.assert_array_equal(last_target_lengths(mask), [2, 0, 4, 4])
    assert last_target_lengths(np.zeros((0, 3), dtype=bool)).shape == (0,)


def captions_of_every_kind(seed=1):
    """(N, T) captions: a short one, one with a <NULL> target inside, one with no target, a full one."""
    rng = np.random.default_rng(seed)
    captions = rng.integers(4, len(WORDS), size=(N, T))
    captions[:, 0] = W2I["<START>"]
    captions[0, 3], captions[0, 4:] = W2I["<END>"], W2I["<NULL>"]
    captions[1, 2] = W2I["<NULL>"]
    captions[2, 1:] = W2I["<NULL>"]
    return captions


def make(kind):
    rng = np.random.default_rng(0)
    if kind == "transformer":
        model = CaptioningTransformer(W2I, D, W, num_heads=2, num_layers=2, max_length=12, dim_feedforward=10,
                                      dtype=np.float64, rng=rng)
    else:
        model = CaptioningModel(W2I, D, W, 5, kind, dtype=np.float64, rng=rng)
    for p in model.parameters():
        p.data[...] = 0.5 * rng.standard_normal(p.shape)
    return model


def padded_reference(model, features, captions):
    """The loss and gradients through the children with nothing skipped: every position decoded
    and scored, the criterion given the whole (N, T, V) scores and the mask."""
    words, targets = captions[:, :-1], captions[:, 1:]
    mask = targets != W2I["<NULL>"]
    model.zero_grad()
    if isinstance(model, CaptioningTransformer):
        memory = model.visual_projection.forward(features)[:, None]
        x = model.positional_encoding.forward(model.embedding.forward(words))
        h = model.transformer.forward(x, memory, causal_mask(T - 1))
        loss = model.criterion.forward(model.output.forward(h), targets, mask)
        dx, dmemory = model.transformer.backward(model.output.backward(model.criterion.backward(1.0)))
        model.embedding.backward(model.positional_encoding.backward(dx))
        dfeatures = model.visual_projection.backward(dmemory[:, 0])
    else:
        h = model.rnn.forward(model.embed.forward(words), model.proj.forward(features))
        loss = model.criterion.forward(model.vocab.forward(h), targets, mask)
        dx, dh0 = model.rnn.backward(model.vocab.backward(model.criterion.backward(1.0)))
        model.embed.backward(dx)
        dfeatures = model.proj.backward(dh0)
    return loss, dfeatures, {name: p.grad.copy() for name, p in model.named_parameters()}


@pytest.mark.parametrize("kind", ["transformer", "lstm", "gru"])
def test_skipping_masked_positions_changes_no_number(kind):
    """The shared vocabulary step scores only the unmasked positions, and the Transformer decodes
    no position after a caption's last target: loss, dfeatures and every parameter gradient are
    those of the padded computation (float64, 1e-12)."""
    model = make(kind)
    features = np.random.default_rng(2).standard_normal((N, D))
    captions = captions_of_every_kind()
    with dropout_disabled(model):
        expected_loss, expected_dfeatures, expected = padded_reference(model, features, captions)
        model.zero_grad()
        loss = model.forward(features, captions)
        dfeatures = model.backward(1.0)
    assert abs(loss - expected_loss) < 1e-12
    np.testing.assert_allclose(dfeatures, expected_dfeatures, rtol=0, atol=1e-12)
    for name, p in model.named_parameters():
        np.testing.assert_allclose(p.grad, expected[name], rtol=0, atol=1e-12, err_msg=name)
    assert model.VOCABULARY in dict(model.named_children())


KV, KD, KN, KT = 13, 7, 6, 9


def settings_of(kind):
    """Small settings of ``kind``: its COCO preset's sizes divided by 8."""
    values = {f.name: f.default for f in attrs.fields(KINDS[kind].settings)}
    values = {**values, **{k: v for k, v in KINDS[kind].presets["coco"].items() if k in values}}
    small = {k: (v // 8 if isinstance(v, int) and v >= 64 else v) for k, v in values.items()}
    return KINDS[kind].settings(**small)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_kind_counts_the_parameters_of_the_model_it_builds(kind):
    sizes = settings_of(kind)
    word_to_idx = {"<NULL>": 0, "<START>": 1, "<END>": 2, **{f"w{i}": i for i in range(3, KV)}}
    model = KINDS[kind].build(word_to_idx, KD, sizes, np.random.default_rng(0))
    assert KINDS[kind].parameters(sizes, KV, KD) == model.num_parameters()
    assert kind_of(model) is KINDS[kind]
    assert KINDS[kind].settings_of(model.config()) == sizes


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_kinds_activation_estimate_bounds_what_a_training_step_allocates(kind):
    sizes = settings_of(kind)
    word_to_idx = {"<NULL>": 0, "<START>": 1, "<END>": 2, **{f"w{i}": i for i in range(3, KV)}}
    model = KINDS[kind].build(word_to_idx, KD, sizes, np.random.default_rng(0))
    rng = np.random.default_rng(1)
    features = rng.standard_normal((KN, KD)).astype(np.float32)
    captions = np.concatenate([np.ones((KN, 1), int), rng.integers(3, KV, (KN, KT - 1))], axis=1)
    model.loss(features, captions)                      # warm: the gradient buffers exist
    tracemalloc.start()
    model.loss(features, captions)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # the step allocates fresh gradients (one per parameter) and its activations
    estimate = 4 * (KINDS[kind].parameters(sizes, KV, KD) + KINDS[kind].activations(sizes, KN, KT, KV, KD, 1))
    assert estimate >= peak, (estimate, peak)
    assert estimate <= 20 * peak                        # an estimate, not a wild guess


def test_the_default_run_settings_build_their_kind():
    settings = RunSettings.resolve({}, DataSpec())
    assert settings.kind is KINDS[settings.model] and settings.kind.default


@pytest.mark.parametrize("attention, regions", [("dot", 3), ("additive", 1), ("additive", 16)])
def test_the_attention_kinds_estimates_hold_for_its_variants(attention, regions):
    kind = KINDS["attention"]
    sizes = kind.settings(hidden_dim=64, wordvec_dim=32, attention=attention)
    word_to_idx = {"<NULL>": 0, "<START>": 1, "<END>": 2, **{f"w{i}": i for i in range(3, KV)}}
    model = kind.build(word_to_idx, KD, sizes, np.random.default_rng(0))
    assert kind.parameters(sizes, KV, KD) == model.num_parameters()
    rng = np.random.default_rng(1)
    features = rng.standard_normal((KN, regions, KD)).astype(np.float32)
    captions = np.concatenate([np.ones((KN, 1), int), rng.integers(3, KV, (KN, KT - 1))], axis=1)
    model.loss(features, captions)
    tracemalloc.start()
    model.loss(features, captions)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    estimate = 4 * (kind.parameters(sizes, KV, KD) + kind.activations(sizes, KN, KT, KV, KD, regions))
    assert peak <= estimate <= 20 * peak
