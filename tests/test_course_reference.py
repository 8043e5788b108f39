"""The course's published reference values (CS231n assignment 3 notebooks), through the SPEC API.

Each case sets the weights with ``np.linspace`` exactly as the notebooks do and compares
with the printed expectations; the notebooks accept a relative error around 1e-8, the
values being printed to 8 decimals.
"""

import numpy as np

from minitorch_cap import CaptioningModel, rel_error
from minitorch_cap.nn import LSTM, RNN, Embedding, TemporalSoftmaxLoss


def linspace(lo, hi, *shape):
    return np.linspace(lo, hi, num=int(np.prod(shape))).reshape(*shape)


def set_params(module, **arrays):
    for name, value in arrays.items():
        getattr(module, name).data[...] = value


def test_rnn_step_forward():
    N, D, H = 3, 10, 4
    rnn = RNN(D, H, dtype=np.float64)
    set_params(rnn, Wx=linspace(-0.1, 0.9, D, H), Wh=linspace(-0.3, 0.7, H, H), b=linspace(-0.2, 0.4, H))
    next_h = rnn.step(linspace(-0.4, 0.7, N, D), linspace(-0.2, 0.5, N, H))
    expected = np.asarray([
        [-0.58172089, -0.50182032, -0.41232771, -0.31410098],
        [0.66854692, 0.79562378, 0.87755553, 0.92795967],
        [0.97934501, 0.99144213, 0.99646691, 0.99854353]])
    assert rel_error(next_h, expected) < 1e-8


def test_rnn_forward():
    N, T, D, H = 2, 3, 4, 5
    rnn = RNN(D, H, dtype=np.float64)
    set_params(rnn, Wx=linspace(-0.2, 0.4, D, H), Wh=linspace(-0.4, 0.1, H, H), b=linspace(-0.7, 0.1, H))
    h = rnn.forward(linspace(-0.1, 0.3, N, T, D), linspace(-0.3, 0.1, N, H))
    expected = np.asarray([
        [[-0.42070749, -0.27279261, -0.11074945, 0.05740409, 0.22236251],
         [-0.39525808, -0.22554661, -0.0409454, 0.14649412, 0.32397316],
         [-0.42305111, -0.24223728, -0.04287027, 0.15997045, 0.35014525]],
        [[-0.55857474, -0.39065825, -0.19198182, 0.02378408, 0.23735671],
         [-0.27150199, -0.07088804, 0.13562939, 0.33099728, 0.50158768],
         [-0.51014825, -0.30524429, -0.06755202, 0.17806392, 0.40333043]]])
    assert rel_error(h, expected) < 1e-7


def test_word_embedding_forward():
    V, D = 5, 3
    emb = Embedding(V, D, dtype=np.float64)
    emb.W.data[...] = linspace(0, 1, V, D)
    out = emb.forward(np.asarray([[0, 3, 1, 2], [2, 1, 0, 3]]))
    expected = np.asarray([
        [[0., 0.07142857, 0.14285714], [0.64285714, 0.71428571, 0.78571429],
         [0.21428571, 0.28571429, 0.35714286], [0.42857143, 0.5, 0.57142857]],
        [[0.42857143, 0.5, 0.57142857], [0.21428571, 0.28571429, 0.35714286],
         [0., 0.07142857, 0.14285714], [0.64285714, 0.71428571, 0.78571429]]])
    assert rel_error(out, expected) < 1e-7


def test_lstm_step_forward():
    N, D, H = 3, 4, 5
    lstm = LSTM(D, H, dtype=np.float64)
    set_params(lstm, Wx=linspace(-2.1, 1.3, D, 4 * H), Wh=linspace(-0.7, 2.2, H, 4 * H), b=linspace(0.3, 0.7, 4 * H))
    next_h, next_c = lstm.step(linspace(-0.4, 1.2, N, D), linspace(-0.3, 0.7, N, H), linspace(-0.4, 0.9, N, H))
    expected_h = np.asarray([
        [0.24635157, 0.28610883, 0.32240467, 0.35525807, 0.38474904],
        [0.49223563, 0.55611431, 0.61507696, 0.66844003, 0.7159181],
        [0.56735664, 0.66310127, 0.74419266, 0.80889665, 0.858299]])
    expected_c = np.asarray([
        [0.32986176, 0.39145139, 0.451556, 0.51014116, 0.56717407],
        [0.66382255, 0.76674007, 0.87195994, 0.97902709, 1.08751345],
        [0.74192008, 0.90592151, 1.07717006, 1.25120233, 1.42395676]])
    assert rel_error(next_h, expected_h) < 1e-7
    assert rel_error(next_c, expected_c) < 1e-7


def test_lstm_forward():
    N, D, H, T = 2, 5, 4, 3
    lstm = LSTM(D, H, dtype=np.float64)
    set_params(lstm, Wx=linspace(-0.2, 0.9, D, 4 * H), Wh=linspace(-0.3, 0.6, H, 4 * H), b=linspace(0.2, 0.7, 4 * H))
    h = lstm.forward(linspace(-0.4, 0.6, N, T, D), linspace(-0.4, 0.8, N, H))
    expected = np.asarray([
        [[0.01764008, 0.01823233, 0.01882671, 0.0194232],
         [0.11287491, 0.12146228, 0.13018446, 0.13902939],
         [0.31358768, 0.33338627, 0.35304453, 0.37250975]],
        [[0.45767879, 0.4761092, 0.4936887, 0.51041945],
         [0.6704845, 0.69350089, 0.71486014, 0.7346449],
         [0.81733511, 0.83677871, 0.85403753, 0.86935314]]])
    assert rel_error(h, expected) < 1e-7


def test_temporal_softmax_loss_sanity():
    """The notebook's sanity check: about 2.3, 23 and 2.2 for uniform-ish scores."""
    rng = np.random.default_rng(231)
    loss = TemporalSoftmaxLoss(dtype=np.float64)

    def check(N, T, V, p):
        x = 0.001 * rng.standard_normal((N, T, V))
        y = rng.integers(0, V, size=(N, T))
        mask = rng.random((N, T)) <= p
        return loss.forward(x, y, mask)

    assert abs(check(100, 1, 10, 1.0) - np.log(10)) < 0.01
    assert abs(check(100, 10, 10, 1.0) - 10 * np.log(10)) < 0.1
    assert abs(check(5000, 10, 10, 0.1) - np.log(10)) < 0.1


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
    model, features, captions = _course_model("rnn", (-1.5, 0.3))
    loss, _ = model.loss(features, captions)
    assert abs(loss - 9.83235591003) < 1e-10


def test_captioning_lstm_loss():
    model, features, captions = _course_model("lstm", (-0.5, 1.7))  # the LSTM notebook's features
    loss, _ = model.loss(features, captions)
    assert abs(loss - 9.82445935443) < 1e-10
