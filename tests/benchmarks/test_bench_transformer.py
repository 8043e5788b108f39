"""The Transformer benchmark's PyTorch twins compute our step (else its ratios mean nothing): float32, so
the gradients agree to 1e-4 of their largest entry (a different problem would differ at order 1)."""

import os
import sys

import numpy as np
import pytest

from minitorch_cap.nn import dropout_disabled
from tests.conftest import require_oracle

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "benchmarks"))
from bench_transformer import make_problem, torch_model, torch_step  # noqa: E402


@pytest.mark.parametrize("vocabulary", ["padded", "unmasked"])
def test_the_pytorch_steps_give_our_loss_and_gradients(vocabulary):
    torch = require_oracle("torch")
    model, features, captions = make_problem()
    theirs = torch_model(torch, model).eval()            # dropout off on both sides
    step = torch_step(torch, theirs, features, captions, model.null_id, vocabulary)
    with dropout_disabled(model):
        loss, grads = model.loss(features, captions)
    assert abs(step() - loss) < 1e-5 * abs(loss)
    pairs = [("output.W", "output.weight"), ("embedding.W", "embedding.weight"),
             ("transformer.layers.0.linear1.W", "transformer.layers.0.linear1.weight")]
    for ours, key in pairs:
        expected = dict(theirs.named_parameters())[key].grad.numpy()
        expected = expected if ours == "embedding.W" else expected.T
        np.testing.assert_allclose(grads[ours], expected, rtol=0, atol=1e-4 * np.abs(expected).max(), err_msg=ours)
