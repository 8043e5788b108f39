"""The Module contract: registration, names, gradients, saving, modes and repr."""

import numpy as np
import pytest

from minitorch_cap.nn import Affine, Dropout, Module, Parameter, Sequential, inference_mode
from minitorch_cap.nn.module import inference_enabled


class Scale(Module):
    """y = x * w, a minimal module written against the contract."""

    def __init__(self, dim, dtype=np.float64):
        super().__init__(dtype)
        self.w = Parameter(np.arange(1, dim + 1), self.dtype)

    def forward(self, x):
        self._save_for_backward(x=x)
        return x * self.w.data

    def backward(self, dout):
        x = self._saved()["x"]
        self.w.grad += (dout * x).sum(axis=0)
        return dout * self.w.data


class Pair(Module):
    def __init__(self):
        super().__init__(np.float64)
        self.first = Scale(2)
        self.bias = Parameter(np.zeros(2))
        self.second = Scale(2)


def test_registration_order_and_dotted_names():
    net = Pair()
    assert [n for n, _ in net.named_parameters()] == ["bias", "first.w", "second.w"]
    assert [type(c).__name__ for c in net.children()] == ["Scale", "Scale"]
    assert len(list(net.modules())) == 3
    assert net.num_parameters() == 6


def test_reassigning_an_attribute_unregisters():
    net = Pair()
    net.second = None
    assert [n for n, _ in net.named_parameters()] == ["bias", "first.w"]
    del net.bias
    assert [n for n, _ in net.named_parameters()] == ["first.w"]


def test_setattr_before_init_is_a_clear_error():
    class Broken(Module):
        def __init__(self):
            self.w = Parameter(np.zeros(1))

    with pytest.raises(RuntimeError, match="super\\(\\).__init__"):
        Broken()


def test_backward_accumulates_and_zero_grad_resets():
    m = Scale(3)
    x = np.ones((2, 3))
    m.forward(x)
    m.backward(np.ones((2, 3)))
    once = m.w.grad.copy()
    m.backward(np.ones((2, 3)))
    np.testing.assert_array_equal(m.w.grad, 2 * once)
    m.zero_grad()
    assert not m.w.grad.any()


def test_backward_without_forward_is_a_clear_error():
    with pytest.raises(RuntimeError, match="Scale.backward: no forward"):
        Scale(2).backward(np.ones((1, 2)))


def test_eval_mode_keeps_no_cache_and_backward_says_so():
    m = Scale(2)
    m.forward(np.ones((1, 2)))
    m.eval()
    assert m._cache is None
    out = m.forward(np.ones((1, 2)))
    np.testing.assert_array_equal(out, [[1, 2]])
    with pytest.raises(RuntimeError, match="eval mode"):
        m.backward(np.ones((1, 2)))
    m.train()
    m.forward(np.ones((1, 2)))
    m.backward(np.ones((1, 2)))


def test_inference_mode_keeps_no_cache_leaves_the_last_one_and_drops_nothing():
    net = Sequential(Scale(2), Dropout(0.5, rng=0, dtype=np.float64))
    x = np.ones((4, 2))
    with inference_mode():
        np.testing.assert_array_equal(net.forward(x), x * [1, 2])   # no cache, no dropout, training mode
    assert all(m._cache is None for m in net.modules()) and net.training
    out = net.forward(x)                                             # a training forward: a mask is drawn
    saved = [m._cache for m in net.modules()]
    state = net[1].rng.bit_generator.state
    with inference_mode(), inference_mode():                         # blocks nest
        assert inference_enabled()
        np.testing.assert_array_equal(net.forward(3 * x), 3 * x * [1, 2])
    assert not inference_enabled()
    assert all(m._cache is c for m, c in zip(net.modules(), saved))   # the training caches, untouched
    assert net[1].rng.bit_generator.state == state                   # and no random number drawn
    np.testing.assert_array_equal(net.backward(np.ones_like(out)), (out != 0) * 2.0 * [1, 2])


def test_train_eval_propagate_to_children():
    net = Pair().eval()
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())


def test_state_dict_round_trip_and_copy_semantics():
    a, b = Pair(), Pair()
    a.first.w.data[...] = [7, 8]
    state = a.state_dict()
    assert list(state) == ["bias", "first.w", "second.w"]
    state["first.w"][...] = 0  # a copy: the model is untouched
    assert a.first.w.data.tolist() == [7, 8]
    b.load_state_dict(a.state_dict())
    for (_, p), (_, q) in zip(a.named_parameters(), b.named_parameters()):
        np.testing.assert_array_equal(p.data, q.data)


def test_load_state_dict_is_strict_and_atomic():
    net = Pair()
    good = net.state_dict()
    with pytest.raises(ValueError, match="missing \\['bias'\\]"):
        net.load_state_dict({k: v for k, v in good.items() if k != "bias"})
    with pytest.raises(ValueError, match="unexpected \\['extra'\\]"):
        net.load_state_dict({**good, "extra": np.zeros(1)})
    bad_shape = {**good, "first.w": np.zeros(3)}
    with pytest.raises(ValueError, match="'first.w' expected shape \\(2,\\), got \\(3,\\)"):
        net.load_state_dict(bad_shape)
    changed = {**good, "bias": np.full(2, 9.0), "second.w": np.zeros(2, np.float32)}
    with pytest.raises(TypeError, match="'second.w' expected dtype float64, got float32"):
        net.load_state_dict(changed)
    assert not net.bias.data.any(), "a failed load must not write anything"
    poisoned = {**good, "bias": np.full(2, 9.0), "second.w": np.array([1.0, np.nan])}
    with pytest.raises(ValueError, match="the weights of 'second.w' hold NaN or infinity"):
        net.load_state_dict(poisoned)
    assert not net.bias.data.any(), "a failed load must not write anything"
    net.load_state_dict({"bias": np.ones(2)}, strict=False)
    assert net.bias.data.tolist() == [1, 1]


def test_to_converts_parameters_and_grads():
    net = Pair().to(np.float32)
    assert all(p.data.dtype == p.grad.dtype == np.float32 for p in net.parameters())
    assert all(m.dtype == np.float32 for m in net.modules())
    with pytest.raises(TypeError, match="float32 or float64"):
        net.to(np.int32)


def test_repr_is_a_tree():
    net = Sequential(Affine(3, 4), Sequential(Affine(4, 2)))
    assert repr(net) == (
        "Sequential(\n"
        "  (0): Affine(in_dim=3, out_dim=4, dtype=float32)\n"
        "  (1): Sequential(\n"
        "    (0): Affine(in_dim=4, out_dim=2, dtype=float32)\n"
        "  )\n"
        ")"
    )


def test_every_weight_drawing_module_takes_an_int_seed_as_one_stream():
    """rng=7 is default_rng(7), drawn once per constructor (Affine, Embedding and the recurrent
    modules raised a raw AttributeError on an int); anything else is a TypeError naming rng."""
    from minitorch_cap import CaptioningModel
    from minitorch_cap.nn import GRU, LSTM, RNN, Affine, AttentionLSTM, Embedding

    w2i = {"<NULL>": 0, "<START>": 1, "<END>": 2, "a": 3}
    makers = [lambda r: Affine(3, 4, rng=r), lambda r: Embedding(5, 3, rng=r), lambda r: RNN(3, 4, rng=r),
              lambda r: LSTM(3, 4, rng=r), lambda r: GRU(3, 4, rng=r), lambda r: AttentionLSTM(3, 4, rng=r),
              lambda r: CaptioningModel(w2i, 3, 2, 4, "lstm", rng=r)]
    for make in makers:
        seeded, generated = make(7), make(np.random.default_rng(7))
        for p, q in zip(seeded.parameters(), generated.parameters()):
            np.testing.assert_array_equal(p.data, q.data)
        with pytest.raises(TypeError, match="rng must be None, an int seed or a numpy.random.Generator, got str"):
            make("x")
    lstm = LSTM(3, 4, rng=7)
    assert not np.array_equal(lstm.Wx.data[:3], lstm.Wh.data[:3])       # one stream, not a fresh one per weight


def test_load_state_dict_names_a_state_that_is_not_one_and_a_strict_that_is_not_a_bool():
    layer = Affine(2, 2)
    with pytest.raises(TypeError, match="Affine.load_state_dict: expected a mapping .*got NoneType"):
        layer.load_state_dict(None)
    with pytest.raises(TypeError, match="Affine.load_state_dict: strict must be True or False, got 'no'"):
        layer.load_state_dict(layer.state_dict(), strict="no")
