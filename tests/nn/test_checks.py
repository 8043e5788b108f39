"""Bad settings are refused by name before numpy sees them; empty batches work (issue 14, item 4).

One validator per kind of value (minitorch_cap/nn/checks.py: int_option, float_option,
bool_option); every constructor and option of nn, optim, decoding, metrics and data uses it.
"""

import numpy as np
import pytest

from minitorch_cap import CaptioningModel
from minitorch_cap.data import Vocabulary, sample_coco_minibatch
from minitorch_cap.captioners.decoding import beam_search, decode, sample_stochastic
from minitorch_cap.evaluation.scoring import decode_images
from minitorch_cap.gradcheck import check_module
from minitorch_cap.metrics import cider_d, corpus_bleu, rouge_l, score_captions
from minitorch_cap.nn import GRU, LSTM, RNN, Affine, Embedding, Sequential, TemporalAffine, TemporalSoftmaxLoss
from minitorch_cap.optim import SGD, Adam, ExponentialLR, ReduceLROnPlateau, StepLR, clip_grad_norm_
from minitorch_cap.evaluation.grid import caption_grid_size, plot_caption_grid

pytestmark = pytest.mark.filterwarnings("error")  # no RuntimeWarning on the way to the error either

MODULES = {  # module: names of its size arguments
    Affine: ("in_dim", "out_dim"), TemporalAffine: ("in_dim", "out_dim"), Embedding: ("vocab_size", "dim"),
    RNN: ("input_dim", "hidden_dim"), LSTM: ("input_dim", "hidden_dim"), GRU: ("input_dim", "hidden_dim"),
}
BAD_SIZES = [-1, 0, 2.5, True, "4", None]


@pytest.mark.parametrize("cls", list(MODULES), ids=lambda c: c.__name__)
@pytest.mark.parametrize("position", [0, 1])
@pytest.mark.parametrize("bad", BAD_SIZES, ids=repr)
def test_sizes_are_refused_by_name(cls, position, bad):
    args = [4, 5]
    args[position] = bad
    name = MODULES[cls][position]
    with pytest.raises(ValueError, match=rf"^{cls.__name__}: {name} must be an integer >= 1, got {bad!r}$"):
        cls(*args)


def test_numpy_integers_are_sizes():
    lstm = LSTM(np.int64(4), np.int32(5))
    assert (lstm.input_dim, lstm.hidden_dim) == (4, 5) and type(lstm.input_dim) is int


WORDS = {"<NULL>": 0, "<START>": 1, "<END>": 2, "<UNK>": 3, "a": 4}


def model():
    return CaptioningModel(WORDS, input_dim=3, wordvec_dim=4, hidden_dim=5, cell_type="lstm",
                           rng=np.random.default_rng(0), dtype=np.float64)


@pytest.mark.parametrize("cls", [RNN, LSTM, GRU], ids=lambda c: c.__name__)
def test_recurrent_cells_take_an_empty_batch(cls):
    cell = cls(4, 5, dtype=np.float64, rng=np.random.default_rng(0))
    h = cell(np.zeros((0, 3, 4)), np.zeros((0, 5)))     # was "cannot reshape array of size 0"
    assert h.shape == (0, 3, 5)
    dx, dh0 = cell.backward(np.zeros((0, 3, 5)))
    assert dx.shape == (0, 3, 4) and dh0.shape == (0, 5)
    assert not any(p.grad.any() for p in cell.parameters())
    check_module(cell, np.zeros((0, 3, 4)), np.zeros((0, 5))).assert_close(1e-7)
    with pytest.raises(ValueError, match=rf"{cls.__name__}.forward: x has no time steps \(T=0\)"):
        cell(np.zeros((2, 0, 4)), np.zeros((2, 5)))


@pytest.mark.parametrize("make, x, dout", [
    (lambda: Affine(4, 5), np.zeros((0, 4)), np.zeros((0, 5))),
    (lambda: TemporalAffine(4, 5), np.zeros((0, 3, 4)), np.zeros((0, 3, 5))),
    (lambda: TemporalAffine(4, 5), np.zeros((2, 0, 4)), np.zeros((2, 0, 5))),
    (lambda: Embedding(6, 5), np.zeros((0, 3), dtype=int), np.zeros((0, 3, 5))),
    (lambda: Embedding(6, 5), np.zeros((2, 0), dtype=int), np.zeros((2, 0, 5))),
], ids=["Affine N=0", "TemporalAffine N=0", "TemporalAffine T=0", "Embedding N=0", "Embedding T=0"])
def test_layers_take_empty_inputs(make, x, dout):
    layer = make()
    assert layer(x).shape == dout.shape
    dx = layer.backward(dout)
    assert dx is None or dx.shape == x.shape


@pytest.mark.parametrize("N, T", [(0, 3), (2, 0)])
def test_the_loss_of_an_empty_batch_is_zero(N, T):
    loss = TemporalSoftmaxLoss()
    assert loss(np.zeros((N, T, 4)), np.zeros((N, T), dtype=int)) == 0.0   # N=0 was ZeroDivisionError
    assert loss.backward().shape == (N, T, 4)
    with pytest.raises(ValueError, match=r"TemporalSoftmaxLoss.forward: scores need V >= 1 classes"):
        loss(np.zeros((2, 3, 0)), np.zeros((2, 3), dtype=int))


def test_decoding_an_empty_batch():
    m, features = model(), np.zeros((0, 3))
    assert m.sample(features).shape == (0, 30)
    assert beam_search(m, features, beam_size=2).best.shape == (0, 30)
    assert sample_stochastic(m, features, rng=0).shape == (0, 30)


def params():
    return model().named_parameters()


# (call, exception, message): every option of nn, optim, decoding, metrics, data and gradcheck
OPTIONS = [
    (lambda: TemporalSoftmaxLoss(normalize="mean"), ValueError, r"TemporalSoftmaxLoss: normalize must be one of \['batch'"),
    (lambda: Sequential({1: Affine(2, 2)}), ValueError, r"Sequential: child names must be non-empty strings"),
    (lambda: Sequential({"a.b": Affine(2, 2)}), ValueError, r"Sequential: child names .* without dots"),
    (lambda: Affine(2, 2, dtype=np.float16), TypeError, r"Affine: dtype must be float32 or float64"),
    (lambda: SGD(params(), lr=-1), ValueError, r"SGD: lr must be in \[0.0, inf\)"),
    (lambda: SGD(params(), lr="0.1"), TypeError, r"SGD: lr must be a real number, got str"),
    (lambda: SGD(params(), lr=float("nan")), ValueError, r"SGD: lr must be in"),
    (lambda: SGD(params(), momentum=1.0), ValueError, r"SGD: momentum must be in \[0.0, 1.0\)"),
    (lambda: SGD(params(), momentum=0.9, nesterov=1), TypeError, r"SGD: nesterov must be True or False"),
    (lambda: Adam(params(), betas=0.9), TypeError, r"Adam: betas must be a pair"),
    (lambda: Adam(params(), betas=(0.9, 1.0)), ValueError, r"Adam: betas\[1\] must be in \[0.0, 1.0\)"),
    (lambda: Adam(params(), eps=0), ValueError, r"Adam: eps must be in \(0.0, inf\)"),
    (lambda: ExponentialLR(SGD(params()), None), TypeError, r"ExponentialLR: gamma must be a real number"),
    (lambda: ExponentialLR(SGD(params()), 0.0), ValueError, r"ExponentialLR: gamma must be in \(0.0, 1.0\]"),
    (lambda: StepLR(SGD(params()), 2.0), ValueError, r"StepLR: step_size must be an integer >= 1, got 2.0"),
    (lambda: StepLR(SGD(params()), 0), ValueError, r"StepLR: step_size must be an integer >= 1"),
    (lambda: ReduceLROnPlateau(SGD(params()), patience=-1), ValueError, r"patience must be an integer >= 0"),
    (lambda: ReduceLROnPlateau(SGD(params()), cooldown=0.5), ValueError, r"cooldown must be an integer >= 0"),
    (lambda: ReduceLROnPlateau(SGD(params())).step("x"), TypeError, r"ReduceLROnPlateau.step: the metric must be"),
    (lambda: ReduceLROnPlateau(SGD(params())).step(None), TypeError, r"ReduceLROnPlateau.step: the metric must be"),
    (lambda: clip_grad_norm_(params(), 0), ValueError, r"clip_grad_norm_: max_norm must be in \(0.0, inf\)"),
    (lambda: beam_search(model(), np.zeros((1, 3)), alpha="x"), TypeError, r"beam_search: alpha must be a real"),
    (lambda: beam_search(model(), np.zeros((1, 3)), alpha=None), TypeError, r"beam_search: alpha must be a real"),
    (lambda: beam_search(model(), np.zeros((1, 3)), beam_size=0), ValueError, r"beam_search: beam_size must be"),
    (lambda: beam_search(model(), np.zeros((1, 3)), block_unk="no"), TypeError, r"block_unk must be True or False"),
    (lambda: sample_stochastic(model(), np.zeros((1, 3)), temperature=None), TypeError, r"temperature must be a real"),
    (lambda: sample_stochastic(model(), np.zeros((1, 3)), temperature=-1), ValueError, r"temperature must be in"),
    (lambda: sample_stochastic(model(), np.zeros((1, 3)), top_k=0), ValueError, r"top_k must be an integer >= 1"),
    (lambda: decode(model(), np.zeros((1, 3)), alpha=-1.0), ValueError, r"decode: alpha must be in \[0.0, inf\)"),
    (lambda: decode(model(), np.zeros((1, 3)), block_unk="no"), TypeError, r"decode: block_unk must be True"),
    (lambda: decode_images(model(), np.zeros((2, 3)), batch_size=0), ValueError, r"decode_images: batch_size must"),
    (lambda: check_module(Affine(2, 2), np.ones((1, 2)), h=0), ValueError, r"check_module: h must be in \(0.0"),
    (lambda: corpus_bleu([["a"]], [[["a"]]], n=0), ValueError, r"corpus_bleu: n must be an integer >= 1"),
    (lambda: cider_d([["a"]], [[["a"]]], sigma=0), ValueError, r"cider_d: sigma must be in \(0.0, inf\)"),
    (lambda: rouge_l([["a"]], [[["a"]]], beta=-1), ValueError, r"rouge_l: beta must be in \(0.0, inf\)"),
    (lambda: score_captions(["a"], [["a"]], percent="yes"), TypeError, r"score_captions: percent must be True"),
    (lambda: Vocabulary.build(["a b"], min_count=1.5), ValueError, r"Vocabulary.build: min_count must be an integer"),
    (lambda: Vocabulary.build(["a b"], max_size=3), ValueError, r"Vocabulary.build: max_size must be an integer >= 4"),
    (lambda: Vocabulary.build(["a b"]).encode("a", max_length=3.7), ValueError, r"Vocabulary.encode: max_length"),
    (lambda: caption_grid_size(0), ValueError, r"caption_grid_size: n_images must be an integer >= 1"),
    (lambda: plot_caption_grid(np.zeros((1, 4, 4, 3)), ["a"], ["a"], "never.png", columns=0), ValueError,
     r"plot_caption_grid: columns must be an integer >= 1"),
    (lambda: sample_coco_minibatch(DATA, batch_size=-1), ValueError, r"sample_coco_minibatch: batch_size must be"),
    (lambda: sample_coco_minibatch(DATA, batch_size=2.5), ValueError, r"sample_coco_minibatch: batch_size must be"),
    (lambda: sample_coco_minibatch(dict(DATA, train_captions=np.zeros((0, 4), int)), batch_size=2), ValueError,
     r"sample_coco_minibatch: the train split has no captions"),
]
DATA = {"train_captions": np.ones((5, 4), int), "train_image_idxs": np.zeros(5, int),
        "train_features": np.zeros((1, 3)), "train_urls": np.array(["u"])}


@pytest.mark.parametrize("call, error, message", OPTIONS, ids=[m.split(":")[0].lstrip("^\\") for _, _, m in OPTIONS])
def test_options_are_refused_by_name(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_what_the_validators_accept():
    assert sample_coco_minibatch(DATA, batch_size=0)[0].shape == (0, 4)
    assert StepLR(SGD(params()), np.int64(2)).step_size == 2
    assert ReduceLROnPlateau(SGD(params()), patience=np.int32(0)).patience == 0
    assert ReduceLROnPlateau(SGD(params())).step(np.float32(1.5)) == 1e-2
