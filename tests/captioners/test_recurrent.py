"""CaptioningModel: the SPEC's composition, loss, gradients, greedy sampling and errors."""

import numpy as np
import pytest

from minitorch_cap import CaptioningModel
from minitorch_cap.nn.functional import log_softmax
from tests.course_values import MODEL_LOSS

WORDS = ["<NULL>", "<START>", "<END>", "<UNK>", "a", "red", "square", "circle"]
W2I = {w: i for i, w in enumerate(WORDS)}
V = len(WORDS)
CELLS = ["rnn", "lstm", "gru"]


def make(cell, dtype=np.float64, seed=0, D=6, W=5, H=4):
    rng = np.random.default_rng(seed)
    model = CaptioningModel(W2I, input_dim=D, wordvec_dim=W, hidden_dim=H, cell_type=cell, dtype=dtype, rng=rng)
    for _, p in model.named_parameters():  # sensible, non-tiny scales for the gradient check
        p.data[...] = 0.5 * rng.standard_normal(p.shape)
    return model


def batch(N=3, T=6, D=6, seed=1):
    rng = np.random.default_rng(seed)
    captions = rng.integers(3, V, size=(N, T))
    captions[:, 0] = W2I["<START>"]
    captions[0, 4:] = W2I["<NULL>"]  # padding is masked out
    return rng.standard_normal((N, D)), captions


@pytest.mark.parametrize("cell, shapes", [
    ("rnn", [(6, 4), (4,), (8, 5), (5, 4), (4, 4), (4,), (4, 8), (8,)]),
    ("lstm", [(6, 4), (4,), (8, 5), (5, 16), (4, 16), (16,), (4, 8), (8,)]),
    ("gru", [(6, 4), (4,), (8, 5), (5, 12), (4, 12), (12,), (4, 8), (8,)]),
])
def test_the_eight_parameters(cell, shapes):
    model = make(cell)
    assert [(n, p.shape) for n, p in model.named_parameters()] == list(zip(
        ["proj.W", "proj.b", "embed.W", "rnn.Wx", "rnn.Wh", "rnn.b", "vocab.W", "vocab.b"], shapes))


def test_init_reproduces_the_course_draws():
    np.random.seed(231)
    model = CaptioningModel(W2I, input_dim=6, wordvec_dim=5, hidden_dim=4, cell_type="lstm")
    np.random.seed(231)
    embed = np.random.randn(V, 5) / 100
    proj = np.random.randn(6, 4) / np.sqrt(6)
    Wx = np.random.randn(5, 16) / np.sqrt(5)
    Wh = np.random.randn(4, 16) / np.sqrt(4)
    vocab = np.random.randn(4, V) / np.sqrt(4)
    for name, expected in [("embed.W", embed), ("proj.W", proj), ("rnn.Wx", Wx), ("rnn.Wh", Wh), ("vocab.W", vocab)]:
        p = dict(model.named_parameters())[name]
        assert p.dtype == np.float32
        np.testing.assert_array_equal(p.data, expected.astype(np.float32))
    assert not model.proj.b.data.any() and not model.rnn.b.data.any() and not model.vocab.b.data.any()


@pytest.mark.parametrize("cell", CELLS)
def test_loss_matches_a_step_by_step_reference(cell):
    model = make(cell)
    features, captions = batch()
    loss, grads = model.loss(features, captions)
    assert list(grads) == [n for n, _ in model.named_parameters()]
    state = model.initial_state(features)
    expected = 0.0
    for t in range(captions.shape[1] - 1):
        scores, state = model.decode_step(captions[:, t], state)
        logp = log_softmax(scores)[np.arange(3), captions[:, t + 1]]
        expected -= np.sum(logp * (captions[:, t + 1] != 0))
    assert abs(loss - expected / 3) < 1e-12 * abs(loss)


def test_loss_gradients_are_fresh_each_call():
    model = make("lstm")
    features, captions = batch()
    _, grads = model.loss(features, captions)
    first = {k: v.copy() for k, v in grads.items()}
    _, grads = model.loss(features, captions)
    for k in first:
        np.testing.assert_array_equal(grads[k], first[k])


def test_grads_returned_by_loss_survive_later_calls():
    """The course's habit: hold ``grads`` while numerical checks call ``loss`` many more times."""
    model = make("lstm")
    features, captions = batch()
    _, grads = model.loss(features, captions)
    kept = {k: v.copy() for k, v in grads.items()}
    other_features, other_captions = batch(seed=5)
    _, other = model.loss(other_features, other_captions)
    assert not np.array_equal(other["vocab.b"], kept["vocab.b"])
    for k in kept:
        np.testing.assert_array_equal(grads[k], kept[k])
        assert other[k] is dict(model.named_parameters())[k].grad


@pytest.mark.parametrize("cell", CELLS)
def test_float32_agrees_with_float64(cell):
    m64 = make(cell)
    m32 = make(cell).to(np.float32)
    features, captions = batch()
    l64, g64 = m64.loss(features, captions)
    l32, g32 = m32.loss(features, captions)
    assert abs(l32 - l64) < 1e-5 * abs(l64)
    for name in g64:
        assert g32[name].dtype == np.float32
        assert np.linalg.norm(g32[name] - g64[name]) <= 1e-5 * np.linalg.norm(g64[name])


def test_state_dict_round_trip_reproduces_loss_and_samples():
    a, b = make("gru", seed=0), make("gru", seed=5)
    b.load_state_dict(a.state_dict())
    features, captions = batch()
    assert a.loss(features, captions)[0] == b.loss(features, captions)[0]
    np.testing.assert_array_equal(a.sample(features, 7), b.sample(features, 7))


class TestSample:
    def test_greedy_rows_stop_at_end_and_pad_with_null(self):
        model = make("rnn", seed=3)
        # make <END> likely after the first word for some rows only
        features, _ = batch(N=8)
        captions = model.sample(features, max_length=9)
        assert captions.shape == (8, 9) and captions.dtype.kind == "i"
        for row in captions:
            ends = np.flatnonzero(row == W2I["<END>"])
            if ends.size:
                assert not row[ends[0] + 1:].any()

    @pytest.mark.parametrize("cell", CELLS)
    def test_equals_argmax_of_decode_steps(self, cell):
        model = make(cell, seed=4)
        features, _ = batch(N=5)
        captions = model.sample(features, max_length=6)
        state = model.initial_state(features)
        words = np.full(5, W2I["<START>"])
        done = np.zeros(5, bool)
        for t in range(6):
            scores, state = model.decode_step(words, state)
            words = scores.argmax(axis=1)
            expected = np.where(done, W2I["<NULL>"], words)
            np.testing.assert_array_equal(captions[:, t], expected)
            done |= words == W2I["<END>"]

    def test_end_token_stops_everything(self):
        model = make("lstm")
        model.vocab.b.data[W2I["<END>"]] = 1e3
        captions = model.sample(batch()[0], max_length=5)
        np.testing.assert_array_equal(captions[:, 0], W2I["<END>"])
        assert not captions[:, 1:].any()

    def test_sampling_leaves_training_caches_alone(self):
        model = make("lstm")
        features, captions = batch()
        _, grads = model.loss(features, captions)
        expected = {name: g.copy() for name, g in grads.items()}
        model.zero_grad()
        model.forward(features, captions)
        model.sample(features, 4)                   # decodes between the forward and its backward
        model.backward()
        for name, param in model.named_parameters():
            np.testing.assert_array_equal(param.grad, expected[name], err_msg=name)

    def test_needs_a_start_token(self):
        model = CaptioningModel({"<NULL>": 0, "cat": 1}, input_dim=2, wordvec_dim=2, hidden_dim=2)
        with pytest.raises(ValueError, match="no '<START>' token"):
            model.sample(np.zeros((1, 2)))


def test_course_vocabulary_without_special_tokens_trains():
    model = CaptioningModel({"<NULL>": 0, "cat": 2, "dog": 3}, input_dim=4, wordvec_dim=3, hidden_dim=5)
    loss, _ = model.loss(np.ones((2, 4)), np.array([[1, 2, 0], [2, 1, 2]]))
    assert np.isfinite(loss)


class TestBadInput:
    def test_constructor(self):
        with pytest.raises(ValueError, match="cell_type must be one of \\['attention', 'gru', 'lstm', 'rnn'\\], got 'transformer'"):
            CaptioningModel(W2I, cell_type="transformer")
        with pytest.raises(ValueError, match="has no '<NULL>' token"):
            CaptioningModel({"a": 0})
        with pytest.raises(ValueError, match=r"gives several words the same id 1"):
            CaptioningModel({"<NULL>": 0, "<START>": 1, "<END>": 1})
        with pytest.raises(ValueError, match=r"<END> has id 5, outside \[0, V\) with V = len\(word_to_idx\) = 3"):
            CaptioningModel({"<NULL>": 0, "<START>": 1, "<END>": 5})
        for name in ("input_dim", "wordvec_dim", "hidden_dim"):
            with pytest.raises(ValueError, match=f"CaptioningModel: {name} must be an integer >= 1, got 0"):
                CaptioningModel(W2I, **{name: 0})

    @pytest.mark.parametrize("max_length", [0, -1, 2.5, "3"])
    def test_sample_length(self, max_length):
        with pytest.raises(ValueError, match="sample: max_length must be an integer >= 1"):
            make("rnn").sample(np.zeros((1, 6)), max_length=max_length)

    @pytest.mark.parametrize("features, captions, error, message", [
        (np.zeros((3, 5)), None, ValueError, r"expected features of shape \(N, D=6\), got shape \(3, 5\)"),
        (np.zeros((2, 6)), None, ValueError, r"expected captions of shape \(N=2, T\), got shape \(3, 6\)"),
        (np.full((3, 6), np.nan), None, ValueError, "features contains NaN or infinity"),
        (None, np.full((3, 6), -1), ValueError, r"captions holds id -1, outside the valid range \[0, 8\)"),
        (None, np.full((3, 6), 8), ValueError, r"captions holds id 8, outside the valid range \[0, 8\)"),
        (None, np.full((3, 6), 1.0), TypeError, "expected captions to be an integer array of ids, got dtype float64"),
        (None, np.full((3, 1), 1), ValueError, "captions need T >= 2 columns"),
    ])
    def test_loss(self, features, captions, error, message):
        model = make("lstm")
        good_features, good_captions = batch()
        features = good_features if features is None else features
        captions = good_captions if captions is None else captions
        with pytest.raises(error, match="CaptioningModel.forward: " + message):
            model.loss(features, captions)

    def test_backward_before_forward_and_in_eval(self):
        model = make("rnn")
        with pytest.raises(RuntimeError, match="CaptioningModel.backward: no forward"):
            model.backward()
        model.eval()
        with pytest.raises(RuntimeError, match="CaptioningModel.backward: the module is in eval mode"):
            model.loss(*batch())
        assert np.isfinite(model.forward(*batch()))

    def test_errors_inside_a_child_name_the_child(self):
        model = make("lstm")
        model.forward(*batch())
        model.rnn.clear_cache()
        with pytest.raises(RuntimeError, match="^rnn: LSTM.backward: no forward"):
            model.backward()


def test_repr_names_every_child():
    text = repr(make("lstm"))
    assert text.splitlines() == [
        "CaptioningModel(cell_type='lstm', vocab_size=8, dtype=float64",
        "  (proj): Affine(in_dim=6, out_dim=4, dtype=float64)",
        "  (embed): Embedding(vocab_size=8, dim=5, dtype=float64)",
        "  (rnn): LSTM(input_dim=5, hidden_dim=4, dtype=float64)",
        "  (vocab): TemporalAffine(in_dim=4, out_dim=8, dtype=float64)",
        "  (criterion): TemporalSoftmaxLoss(normalize='batch')",
        ")",
    ]


# --- The course's published reference values (CS231n assignment 3 notebooks): the weights set
# with np.linspace as the notebooks do, compared with the printed expectations (8 decimals).


def _course_model(cell_type, features_range):
    N, D, W, H = 10, 20, 30, 40
    word_to_idx = {"<NULL>": 0, "cat": 2, "dog": 3}
    V, T = len(word_to_idx), 13
    model = CaptioningModel(word_to_idx, input_dim=D, wordvec_dim=W, hidden_dim=H, cell_type=cell_type,
                            dtype=np.float64)
    for _, p in model.named_parameters():
        p.data[...] = np.linspace(-1.4, 1.3, num=p.size).reshape(p.shape)
    features = np.linspace(*features_range, num=N * D).reshape(N, D)
    captions = (np.arange(N * T) % V).reshape(N, T)
    return model, features, captions


def test_captioning_rnn_loss():
    feature_range, expected = MODEL_LOSS["rnn"]
    model, features, captions = _course_model("rnn", feature_range)
    loss, _ = model.loss(features, captions)
    assert abs(loss - expected) < 1e-10


def test_captioning_lstm_loss():
    feature_range, expected = MODEL_LOSS["lstm"]          # the LSTM notebook's features
    model, features, captions = _course_model("lstm", feature_range)
    loss, _ = model.loss(features, captions)
    assert abs(loss - expected) < 1e-10


# --- The cell runs each caption only up to its last target (last_target_lengths): the loss and every
# gradient equal those of the cell run over all T steps (the computation before lengths existed).

def loss_over_all_steps(model, features, captions):
    """model.loss as computed before the length-aware recurrence: the cell over all T steps."""
    model.zero_grad()
    words_in, targets = captions[:, :-1], captions[:, 1:]
    mask = targets != W2I["<NULL>"]
    h = model.rnn.forward(model.embed.forward(words_in), model.proj.forward(features))
    N, T, H = h.shape
    rows = np.flatnonzero(mask)
    scores = model.vocab.forward(h.reshape(N * T, H)[rows][None])
    loss = model.criterion.forward(scores, targets.reshape(-1)[rows][None], batch_shape=(N, T))
    dh = np.zeros((N * T, H))
    dh[rows] = model.vocab.backward(model.criterion.backward(1.0))[0]
    dx, dh0 = model.rnn.backward(dh.reshape(N, T, H))
    model.embed.backward(dx)
    model.proj.backward(dh0)
    return loss, {n: p.grad.copy() for n, p in model.named_parameters()}


def captions_of(lengths, T=7, seed=2, hole=None):
    """<START>, lengths[n] - 1 words and <END> (lengths[n] targets), then <NULL>; hole=(n, t) puts
    a <NULL> inside caption n."""
    rng = np.random.default_rng(seed)
    captions = np.zeros((len(lengths), T), dtype=np.int64)
    captions[:, 0] = W2I["<START>"]
    for n, L in enumerate(lengths):
        captions[n, 1:L] = rng.integers(4, V, size=max(L - 1, 0))
        if L:
            captions[n, L] = W2I["<END>"]
    if hole:
        captions[hole] = W2I["<NULL>"]
    return captions


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("lengths, hole", [([3, 6, 1, 4], None), ([5, 5, 5, 5], None), ([6, 6, 6, 6], None),
                                           ([1, 1, 1, 1], None), ([0, 4, 0, 2], None), ([5, 2, 6, 3], (0, 2))],
                         ids=["mixed", "equal", "full", "length-1", "empty-rows", "null-hole"])
def test_loss_and_gradients_equal_the_cell_over_all_steps(cell, lengths, hole):
    captions = captions_of(lengths, hole=hole)
    features = np.random.default_rng(3).standard_normal((4, 6))
    model = make(cell)
    loss, grads = model.loss(features, captions)
    expected_loss, expected = loss_over_all_steps(make(cell), features, captions)
    assert abs(loss - expected_loss) <= 1e-12 * abs(expected_loss)
    for name in expected:
        np.testing.assert_allclose(grads[name], expected[name], rtol=1e-12, atol=1e-15, err_msg=name)


