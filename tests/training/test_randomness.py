"""The run's random streams (minitorch_cap/training/randomness.py): seeding, state, the masks of the
global minibatch, and a Trainer's dropout drawn from them (resume: test_trainer_resume.py; K ranks:
tests/distributed/test_parallel_mpi.py)."""

import json

import numpy as np
import pytest

from minitorch_cap import CaptioningTransformer, Trainer
from minitorch_cap.nn.dropout import dropouts
from minitorch_cap.optim import Adam
from minitorch_cap.training.randomness import STREAMS, GlobalBatchDraws, RunRandomness, skip_uniforms

from tests.conftest import QUIET, make_caption_data


def test_the_minibatch_stream_is_the_seeds_own_generator_and_the_streams_differ():
    streams = RunRandomness(7)
    assert list(streams.generators) == list(STREAMS) == ["minibatches", "dropout"]
    np.testing.assert_array_equal(streams.minibatches.random(5), np.random.default_rng(7).random(5))
    child = np.random.Generator(np.random.PCG64(np.random.SeedSequence(7).spawn(2)[1]))
    np.testing.assert_array_equal(streams.dropout.random(5), child.random(5))     # numpy's child 1 of the seed
    again = RunRandomness(7)
    again.minibatches.random(5)
    assert not np.array_equal(again.dropout.random(5), again.minibatches.random(5))
    fresh = [RunRandomness(None), RunRandomness(None)]
    assert not np.array_equal(fresh[0].dropout.random(3), fresh[1].dropout.random(3))   # fresh entropy


def test_state_round_trip_and_a_state_without_the_dropout_stream():
    streams = RunRandomness(3)
    streams.minibatches.random(4)
    streams.dropout.random(9)
    saved = json.loads(json.dumps(streams.state()))         # as a checkpoint holds it
    expected = (streams.minibatches.random(3), streams.dropout.random(3))
    other = RunRandomness(99)
    assert other.load_state(saved) == []
    np.testing.assert_array_equal(other.minibatches.random(3), expected[0])
    np.testing.assert_array_equal(other.dropout.random(3), expected[1])
    old = RunRandomness(3)                                  # a checkpoint of an earlier version: minibatches only
    assert old.load_state({"rng_state": saved["rng_state"]}) == ["dropout"]
    with pytest.raises(ValueError, match="the saved random state is malformed: .*unknown random streams"):
        old.load_state({**saved, "rng_streams": json.dumps({"noise": {}})})
    with pytest.raises(ValueError, match="the saved random state is malformed"):
        old.load_state({"rng_streams": saved["rng_streams"]})


def test_skipping_numbers_leaves_the_state_drawing_them_leaves():
    choose = np.random.default_rng(123)
    for trial in range(300):
        drawn, skipped = np.random.default_rng(trial), np.random.default_rng(trial)
        for _ in range(8):                 # mixed widths: a float32 may start on a buffered half
            dtype = (np.float32, np.float64)[choose.integers(2)]
            count = int(choose.integers(0, 9) if choose.integers(2) else choose.integers(0, 5000))
            if choose.integers(3):
                drawn.random(count, dtype=dtype)
                skip_uniforms(skipped, count, dtype)
            else:
                np.testing.assert_array_equal(skipped.random(count, dtype=dtype), drawn.random(count, dtype=dtype))
            assert skipped.bit_generator.state == drawn.bit_generator.state


def one_process(seed, shape, dtype):
    """The numbers one process draws for ``shape``, and the generator's state afterwards."""
    rng = np.random.default_rng(seed)
    rng.random(3, dtype=np.float32)        # an odd start: the next float32 is a buffered half
    return rng.random(shape, dtype=dtype), rng.bit_generator.state


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("B, K", [(10, 2), (10, 3), (7, 3), (2, 3), (1, 3)])
@pytest.mark.parametrize("rest, m", [((4, 5), 1), ((5,), 3)])     # (n, T, E), and (n * T, F) flattened
def test_k_ranks_keep_disjoint_rows_of_the_one_process_draw(B, K, rest, m, dtype):
    whole, after = one_process(0, (B * m, *rest), dtype)
    kept = []
    for k in range(K):
        lo, hi = B * k // K, B * (k + 1) // K
        rng = np.random.default_rng(0)
        rng.random(3, dtype=np.float32)
        draws = GlobalBatchDraws(rng)
        draws.rows = (B, lo, hi) if hi > lo else (B, 0, 1)      # an empty part computes row 0 with share 0
        part = draws.random((max(hi - lo, 1) * m, *rest), dtype)
        assert part.dtype == dtype
        assert draws.rng.bit_generator.state == after          # every rank went through the whole draw
        if hi == lo:
            np.testing.assert_array_equal(part, whole[:m])
        else:
            kept.append(part)
    np.testing.assert_array_equal(np.concatenate(kept), whole)  # each row once, in order, as alone


def test_one_process_and_no_step_draw_the_shape_as_is():
    for rows in (None, (6, 0, 6)):
        draws = GlobalBatchDraws(np.random.default_rng(1))
        draws.rows = rows
        np.testing.assert_array_equal(draws.random((3, 5), np.float64), np.random.default_rng(1).random((3, 5)))
    draws.rows = (6, 0, 6)                  # alone, an input without the batch on axis 0 still works
    assert draws.random((4,), np.float32).shape == (4,)


def test_a_data_parallel_draw_needs_the_rows_on_axis_0_and_pcg64():
    draws = GlobalBatchDraws(np.random.default_rng(0))
    draws.rows = (10, 5, 10)
    with pytest.raises(ValueError, match=r"an input of shape \(7, 3\) does not hold this rank's 5 rows"):
        draws.random((7, 3), np.float32)
    with pytest.raises(TypeError, match="GlobalBatchDraws: rng must be a numpy Generator on PCG64"):
        GlobalBatchDraws(np.random.Generator(np.random.MT19937(0)))


# --------------------------------------------------------------------- a Trainer's dropout
def transformer_data():
    return make_caption_data(num_train=30, num_val=0, dim=6, T=8)


def transformer(data, rng, dropout=0.3):
    model = CaptioningTransformer(data["word_to_idx"], input_dim=6, wordvec_dim=8, num_heads=2, num_layers=2,
                                  max_length=12, dropout=dropout, dtype=np.float64, rng=rng, dim_feedforward=16)
    return model, Adam(model.named_parameters(), lr=1e-3)


def test_the_trainers_seed_alone_fixes_the_masks_of_a_model_built_with_rng_none():
    data = transformer_data()
    np.random.seed(0)
    model, opt = transformer(data, None)
    weights = model.state_dict()
    runs = []
    for global_seed in (1, 2):              # numpy's global state differs: the run does not
        np.random.seed(global_seed)
        model.load_state_dict(weights)
        opt = Adam(model.named_parameters(), lr=1e-3)
        runs.append(Trainer(model, data, opt, batch_size=10, num_epochs=2, seed=4, **QUIET).train()["loss_history"])
    assert runs[0] == runs[1]
    model.load_state_dict(weights)
    other_seed = Trainer(model, data, Adam(model.named_parameters(), lr=1e-3), batch_size=10, num_epochs=2, seed=5,
                         **QUIET).train()["loss_history"]
    assert other_seed != runs[0]


def test_training_leaves_the_models_own_generator_untouched():
    data = transformer_data()
    model, opt = transformer(data, np.random.default_rng(0))
    rng = next(dropouts(model)).rng
    before = rng.bit_generator.state
    trainer = Trainer(model, data, opt, batch_size=10, num_epochs=1, seed=0, **QUIET)
    drawn = []
    original = trainer.randomness.masks.random
    trainer.randomness.masks.random = lambda shape, dtype: (drawn.append(shape), original(shape, dtype))[1]
    trainer.train()
    n_dropouts = len(list(dropouts(model)))      # positional encoding + 6 per layer: each drew once per step
    assert n_dropouts == 13 and len(drawn) == n_dropouts * trainer.iteration
    assert rng.bit_generator.state == before
    assert all(layer.source is None for layer in dropouts(model))      # outside a step: the model's own
    x = np.ones((2, 3, 8))
    layer = model.positional_encoding.dropout
    twin = np.random.default_rng()
    twin.bit_generator.state = before
    np.testing.assert_array_equal(layer.forward(x), (twin.random(x.shape) >= 0.3) / 0.7)


def test_without_dropout_the_mask_stream_is_never_drawn():
    data = transformer_data()
    model, opt = transformer(data, np.random.default_rng(0), dropout=0.0)
    trainer = Trainer(model, data, opt, batch_size=10, num_epochs=1, seed=0, **QUIET)
    before = trainer.randomness.dropout.bit_generator.state
    trainer.train()
    assert trainer.randomness.dropout.bit_generator.state == before
