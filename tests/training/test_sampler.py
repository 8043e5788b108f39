"""MinibatchSampler ('replacement' as the course, 'shuffle': every caption once per epoch), its checkpoint state,
and the fixed validation subset."""

import copy
import math

import numpy as np
import pytest

from minitorch_cap.training.sampler import MinibatchSampler, validation_subset


def epoch_batches(sampler):
    """One epoch's batches, begin to end."""
    sampler.begin_epoch()
    batches = [sampler.batch(k) for k in range(sampler.iterations_per_epoch)]
    sampler.end_epoch()
    return batches


@pytest.mark.parametrize("num_train, batch_size", [(40, 16), (40, 8), (40, 100), (21, 5), (1, 1), (7, 7), (100, 3)])
def test_iterations_per_epoch(num_train, batch_size):
    """'replacement': the SPEC's max(N // B, 1); 'shuffle': ceil(N / B), so that every caption is used."""
    assert MinibatchSampler(num_train, batch_size).iterations_per_epoch == max(num_train // batch_size, 1)
    assert MinibatchSampler(num_train, batch_size, "shuffle").iterations_per_epoch == math.ceil(num_train / batch_size)


def test_replacement_draws_batch_size_indices_with_replacement():
    sampler = MinibatchSampler(5, 5, seed=0)
    batches = [epoch_batches(sampler)[0] for _ in range(30)]
    for batch in batches:
        assert batch.shape == (5,) and np.issubdtype(batch.dtype, np.integer)
        assert batch.min() >= 0 and batch.max() < 5
    assert any(len(set(b.tolist())) < 5 for b in batches)          # a repeat within a batch: with replacement
    assert len({tuple(b) for b in batches}) > 1                     # and fresh draws each time


def test_replacement_draws_afresh_whatever_the_iteration_number():
    a, b = MinibatchSampler(40, 8, seed=4), MinibatchSampler(40, 8, seed=4)
    first = a.batch(0)
    np.testing.assert_array_equal(b.batch(3), first)                # the index only matters for 'shuffle'
    assert not np.array_equal(a.batch(0), first)                    # a second draw is another batch


@pytest.mark.parametrize("num_train, batch_size", [(21, 5), (40, 8), (3, 10)])
def test_shuffle_uses_every_caption_once_per_epoch(num_train, batch_size):
    sampler = MinibatchSampler(num_train, batch_size, "shuffle", seed=1)
    orders = []
    for _ in range(3):
        batches = epoch_batches(sampler)
        sizes = [len(b) for b in batches]
        assert sizes[:-1] == [batch_size] * (len(sizes) - 1) and sum(sizes) == num_train   # only the last is smaller
        order = np.concatenate(batches)
        assert sorted(order.tolist()) == list(range(num_train))
        orders.append(order)
    assert not all(np.array_equal(order, np.arange(num_train)) for order in orders)      # shuffled
    assert len({tuple(order) for order in orders}) > 1                                  # afresh each epoch


@pytest.mark.parametrize("sampling", ["replacement", "shuffle"])
def test_the_same_seed_gives_the_same_batches_and_another_seed_others(sampling):
    def run(seed=None, rng=None):
        sampler = MinibatchSampler(23, 4, sampling, seed, rng=rng)
        return np.concatenate([np.concatenate(epoch_batches(sampler)) for _ in range(3)])

    np.testing.assert_array_equal(run(7), run(7))
    np.testing.assert_array_equal(run(rng=np.random.default_rng(7)), run(7))    # the run's generator, given
    assert not np.array_equal(run(7), run(8))


def test_the_given_generator_is_the_one_drawn_from():
    rng = np.random.default_rng(3)
    before = copy.deepcopy(rng.bit_generator.state)
    sampler = MinibatchSampler(10, 2, "shuffle", seed=99, rng=rng)    # rng wins over seed
    assert rng.bit_generator.state == before                          # nothing drawn until an epoch begins
    sampler.begin_epoch()
    assert rng.bit_generator.state != before
    for k in range(sampler.iterations_per_epoch):
        sampler.batch(k)
    reference = np.random.default_rng(3)
    reference.permutation(10)
    assert rng.bit_generator.state == reference.bit_generator.state   # one permutation per epoch, nothing more


def test_state_holds_the_order_of_a_shuffled_epoch_in_progress_only():
    sampler = MinibatchSampler(12, 5, "shuffle", seed=0)
    assert sampler.state() == {}
    sampler.begin_epoch()
    state = sampler.state()
    assert set(state) == {"epoch_order"} and state["epoch_order"].dtype == np.int64
    np.testing.assert_array_equal(state["epoch_order"], np.concatenate([sampler.batch(k) for k in range(3)]))
    sampler.end_epoch()
    assert sampler.state() == {}
    replacement = MinibatchSampler(12, 5, seed=0)
    replacement.begin_epoch()
    replacement.batch(0)
    assert replacement.state() == {}               # its only state is the generator's, which the run saves


@pytest.mark.parametrize("sampling", ["replacement", "shuffle"])
def test_a_mid_epoch_state_and_the_generator_continue_the_same_batches(sampling):
    """What a checkpoint holds (the sampler's state and the run's generator) gives the rest of the run exactly."""
    original = MinibatchSampler(23, 4, sampling, seed=5)
    original.begin_epoch()
    for k in range(2):
        original.batch(k)
    state = {k: v.copy() for k, v in original.state().items()}
    generator = copy.deepcopy(original.rng.bit_generator.state)
    restored = MinibatchSampler(23, 4, sampling, seed=1234)          # another seed: everything comes from the state
    restored.rng.bit_generator.state = generator
    restored.load_state(state, mid_epoch=True)
    for k in range(2, original.iterations_per_epoch):
        np.testing.assert_array_equal(restored.batch(k), original.batch(k))
    for sampler in (original, restored):
        sampler.end_epoch()
    for _ in range(2):
        for a, b in zip(epoch_batches(original), epoch_batches(restored)):
            np.testing.assert_array_equal(a, b)


def test_a_mid_epoch_shuffled_state_without_its_order_is_refused():
    sampler = MinibatchSampler(12, 5, "shuffle", seed=0)
    with pytest.raises(ValueError, match="mid-epoch checkpoint of a shuffled run lacks its epoch order"):
        sampler.load_state({}, mid_epoch=True)
    sampler.load_state({}, mid_epoch=False)          # at an epoch boundary there is no order to keep
    assert sampler.epoch_order is None
    MinibatchSampler(12, 5, "replacement", seed=0).load_state({}, mid_epoch=True)   # nothing to lack


def test_loading_an_epoch_boundary_state_drops_a_stale_order():
    sampler = MinibatchSampler(12, 5, "shuffle", seed=0)
    sampler.begin_epoch()
    sampler.load_state({}, mid_epoch=False)
    assert sampler.epoch_order is None and sampler.state() == {}


# ---------------------------------------------------------------------------- validation_subset
def test_validation_subset_whole_split_and_empty():
    np.testing.assert_array_equal(validation_subset(12, None), np.arange(12))
    np.testing.assert_array_equal(validation_subset(12, 12), np.arange(12))
    np.testing.assert_array_equal(validation_subset(12, 50), np.arange(12))       # more than there is: all of it
    for num_val, size in ((12, 0), (0, None), (0, 5)):
        subset = validation_subset(num_val, size)
        assert subset.shape == (0,) and subset.dtype == np.int64


def test_validation_subset_is_evenly_spaced_from_first_to_last():
    for num_val in range(2, 40):
        for size in range(2, num_val):
            subset = validation_subset(num_val, size)
            assert subset.shape == (size,) and np.issubdtype(subset.dtype, np.integer), (num_val, size)
            assert subset[0] == 0 and subset[-1] == num_val - 1, (num_val, size)
            gaps = np.diff(subset)
            assert gaps.min() >= 1, (num_val, size)                 # distinct, increasing
            assert gaps.max() - gaps.min() <= 1, (num_val, size)    # even: the gaps differ by at most one
            ideal = np.arange(size) * (num_val - 1) / (size - 1)
            assert np.abs(subset - ideal).max() <= 0.5, (num_val, size)
    assert validation_subset(12, 1).tolist() == [0]

