"""The captioner interface's model kinds: each declaration's counts agree with the model it builds."""

import tracemalloc

import attrs
import numpy as np
import pytest

from minitorch_cap.captioners.base import KINDS, kind_of
from minitorch_cap.runs import RunSettings
from minitorch_cap.data.spec import DataSpec

V, D, N, T = 13, 7, 6, 9


def settings_of(kind):
    """Small settings of ``kind``: its COCO preset's sizes divided by 8."""
    values = {f.name: f.default for f in attrs.fields(KINDS[kind].settings)}
    values = {**values, **{k: v for k, v in KINDS[kind].presets["coco"].items() if k in values}}
    small = {k: (v // 8 if isinstance(v, int) and v >= 64 else v) for k, v in values.items()}
    return KINDS[kind].settings(**small)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_kind_counts_the_parameters_of_the_model_it_builds(kind):
    sizes = settings_of(kind)
    word_to_idx = {"<NULL>": 0, "<START>": 1, "<END>": 2, **{f"w{i}": i for i in range(3, V)}}
    model = KINDS[kind].build(word_to_idx, D, sizes, np.random.default_rng(0))
    assert KINDS[kind].parameters(sizes, V, D) == model.num_parameters()
    assert kind_of(model) is KINDS[kind]
    assert KINDS[kind].settings_of(model.config()) == sizes


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_kinds_activation_estimate_bounds_what_a_training_step_allocates(kind):
    sizes = settings_of(kind)
    word_to_idx = {"<NULL>": 0, "<START>": 1, "<END>": 2, **{f"w{i}": i for i in range(3, V)}}
    model = KINDS[kind].build(word_to_idx, D, sizes, np.random.default_rng(0))
    rng = np.random.default_rng(1)
    features = rng.standard_normal((N, D)).astype(np.float32)
    captions = np.concatenate([np.ones((N, 1), int), rng.integers(3, V, (N, T - 1))], axis=1)
    model.loss(features, captions)                      # warm: the gradient buffers exist
    tracemalloc.start()
    model.loss(features, captions)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # the step allocates fresh gradients (one per parameter) and its activations
    estimate = 4 * (KINDS[kind].parameters(sizes, V, D) + KINDS[kind].activations(sizes, N, T, V, D, 1))
    assert estimate >= peak, (estimate, peak)
    assert estimate <= 20 * peak                        # an estimate, not a wild guess


def test_the_default_run_settings_build_their_kind():
    settings = RunSettings.resolve({}, DataSpec())
    assert settings.kind is KINDS[settings.model] and settings.kind.default


@pytest.mark.parametrize("attention, regions", [("dot", 3), ("additive", 1), ("additive", 16)])
def test_the_attention_kinds_estimates_hold_for_its_variants(attention, regions):
    kind = KINDS["attention"]
    sizes = kind.settings(hidden_dim=64, wordvec_dim=32, attention=attention)
    word_to_idx = {"<NULL>": 0, "<START>": 1, "<END>": 2, **{f"w{i}": i for i in range(3, V)}}
    model = kind.build(word_to_idx, D, sizes, np.random.default_rng(0))
    assert kind.parameters(sizes, V, D) == model.num_parameters()
    rng = np.random.default_rng(1)
    features = rng.standard_normal((N, regions, D)).astype(np.float32)
    captions = np.concatenate([np.ones((N, 1), int), rng.integers(3, V, (N, T - 1))], axis=1)
    model.loss(features, captions)
    tracemalloc.start()
    model.loss(features, captions)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    estimate = 4 * (kind.parameters(sizes, V, D) + kind.activations(sizes, N, T, V, D, regions))
    assert peak <= estimate <= 20 * peak
