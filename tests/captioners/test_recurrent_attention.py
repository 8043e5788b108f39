"""CaptioningModel(cell_type='attention'): the whole model against PyTorch, the doubly stochastic
penalty, region and pooled features, decoding, attention_sample, checkpoints, errors.

(tests/captioners/test_recurrent.py keeps the rnn/lstm/gru model; the gradient check, save/load
and float32 checks of the attention model run in tests/nn/test_contract.py.)
"""

import numpy as np
import pytest

from minitorch_cap import CaptioningModel, beam_search, summary
from minitorch_cap.gradcheck import check_module
from minitorch_cap.training import load_model, save_checkpoint
from tests.conftest import require_oracle
from tests.nn.attention_lstm_reference import captioning_loss

WORDS = ["<NULL>", "<START>", "<END>", "<UNK>", "a", "red", "square", "circle"]
W2I = {w: i for i, w in enumerate(WORDS)}
V = len(WORDS)
KINDS = ["dot", "additive"]


def make(attention="dot", reg=0.0, dtype=np.float64, seed=0, D=6, W=5, H=4, A=None, scale=0.5):
    rng = np.random.default_rng(seed)
    model = CaptioningModel(W2I, input_dim=D, wordvec_dim=W, hidden_dim=H, cell_type="attention", dtype=dtype,
                            rng=rng, attention=attention, attention_dim=A, attention_reg=reg)
    for _, p in model.named_parameters():     # non-zero biases, sensible scales
        p.data[...] = scale * rng.standard_normal(p.shape)
    return model


def batch(N=4, T=7, D=6, P=3, seed=1):
    """Region features (N, P, D) (P=None: pooled (N, D)) and captions of mixed lengths, with a <NULL>
    hole inside one caption and a row with no target at all."""
    rng = np.random.default_rng(seed)
    captions = rng.integers(3, V, size=(N, T))
    captions[:, 0] = W2I["<START>"]
    captions[0, 4:] = W2I["<NULL>"]
    captions[1, 2] = W2I["<NULL>"]           # a hole: masked, but the cell still runs that step
    captions[2, 1:] = W2I["<NULL>"]          # no target
    features = rng.standard_normal((N, D) if P is None else (N, P, D))
    return features, captions


@pytest.mark.parametrize("attention", KINDS)
@pytest.mark.parametrize("reg", [0.0, 0.8])
@pytest.mark.parametrize("P", [3, 1, None], ids=["regions", "one-region", "pooled"])
def test_loss_and_every_gradient_equal_pytorch(attention, reg, P):
    torch = require_oracle("torch")
    model = make(attention, reg, A=5 if attention == "additive" else None)
    features, captions = batch(P=P)
    loss, grads = model.loss(features, captions)
    model.zero_grad()
    model.forward(features, captions)
    dfeatures = model.backward(1.0)

    params = {n: torch.tensor(p.data, requires_grad=True) for n, p in model.named_parameters()}
    tfeatures = torch.tensor(features, requires_grad=True)
    theirs = captioning_loss(torch, params, tfeatures, torch.tensor(captions), W2I["<NULL>"], attention, reg)
    theirs.backward()
    assert abs(loss - theirs.item()) <= 1e-10 * abs(theirs.item())
    scale = max(np.abs(g).max() for g in grads.values())
    for name, g in grads.items():
        assert np.abs(g - params[name].grad.numpy()).max() <= 1e-10 * scale, name
    assert dfeatures.shape == features.shape
    assert np.abs(dfeatures - tfeatures.grad.numpy()).max() <= 1e-10 * scale


def test_penalty_is_the_doubly_stochastic_term_over_unmasked_steps():
    features, captions = batch()
    plain, penalised = make("additive"), make("additive", reg=0.8)
    mask = captions[:, 1:] != W2I["<NULL>"]
    base = plain.forward(features, captions)
    loss = penalised.forward(features, captions)
    alpha = penalised.rnn.attn_weights                              # (N, T, P)
    coverage = (alpha * mask[:, :, None]).sum(axis=1)
    assert loss == pytest.approx(base + 0.8 / 4 * np.sum((1 - coverage) ** 2), rel=1e-14)
    assert not alpha[2].any()                                       # no target: the cell did not run


@pytest.mark.parametrize("attention", KINDS)
def test_gradient_check_with_the_penalty(attention):
    features, captions = batch(N=3, T=5, seed=4)
    check_module(make(attention, reg=1.5, D=6, W=3, H=4), features, captions).assert_close(1e-7)




@pytest.mark.parametrize("attention, shapes", [
    ("dot", [("proj.W", (6, 4)), ("proj.b", (4,)), ("embed.W", (V, 5)), ("rnn.Wx", (5, 16)), ("rnn.Wh", (4, 16)),
             ("rnn.Wattn", (4, 16)), ("rnn.b", (16,)), ("vocab.W", (4, V)), ("vocab.b", (V,))]),
    ("additive", [("proj.W", (6, 4)), ("proj.b", (4,)), ("embed.W", (V, 5)), ("rnn.Wx", (5, 16)),
                  ("rnn.Wh", (4, 16)), ("rnn.Wattn", (4, 16)), ("rnn.b", (16,)), ("rnn.Wq", (4, 7)),
                  ("rnn.Wk", (4, 7)), ("rnn.ba", (7,)), ("rnn.v", (7,)), ("rnn.Wbeta", (4, 1)), ("rnn.bbeta", (1,)),
                  ("vocab.W", (4, V)), ("vocab.b", (V,))]),
])
def test_parameters(attention, shapes):
    model = make(attention, A=7 if attention == "additive" else None)
    assert [(n, p.shape) for n, p in model.named_parameters()] == shapes
    assert "rnn.Wattn" in summary(model)


@pytest.mark.parametrize("attention", KINDS)
def test_beam_of_one_is_greedy_and_attention_sample_is_sample(attention):
    model = make(attention, scale=1.0).eval()
    features = batch(N=5, seed=6)[0]
    greedy = model.sample(features, max_length=8)
    np.testing.assert_array_equal(beam_search(model, features, beam_size=1, max_length=8).best, greedy)
    captions, weights = model.attention_sample(features, 8)
    np.testing.assert_array_equal(captions, greedy)
    generated = captions != W2I["<NULL>"]
    assert weights.shape == (5, 8, 3)
    np.testing.assert_allclose(weights.sum(-1)[generated], 1.0, atol=1e-12)
    assert np.all(weights[~generated] == 0)
    # the first word's attention is the first step's, from the initial state (teacher forcing agrees)
    words = np.concatenate([np.full((5, 1), W2I["<START>"]), captions], axis=1)
    model.train().forward(features, words)
    np.testing.assert_allclose(weights[:, 0], model.rnn.attn_weights[:, 0], atol=1e-12)


def test_beam_search_scores_are_the_model_log_probabilities():
    model = make("additive", scale=1.0).eval()
    features = batch(N=3, seed=8)[0]
    result = beam_search(model, features, beam_size=3, max_length=6)
    model.train()
    for n in range(3):
        if result.finished[n, 0]:
            words = result.captions[n, 0, :result.lengths[n, 0]]
            caption = np.concatenate([[W2I["<START>"]], words])[None]
            assert -model.forward(features[n:n + 1], caption) == pytest.approx(result.logprobs[n, 0], abs=1e-9)


@pytest.mark.parametrize("attention", KINDS)
def test_checkpoint_round_trip(tmp_path, attention):
    model = make(attention, reg=0.3, dtype=np.float32, A=5 if attention == "additive" else None)
    features, captions = batch()
    save_checkpoint(tmp_path / "m.h5", model)
    loaded = load_model(tmp_path / "m.h5")
    assert loaded.config() == model.config() == {
        "input_dim": 6, "wordvec_dim": 5, "hidden_dim": 4, "cell_type": "attention", "dtype": "float32",
        "attention": attention, "attention_dim": 5 if attention == "additive" else None, "attention_reg": 0.3}
    assert loaded.forward(features, captions) == model.forward(features, captions)
    np.testing.assert_array_equal(loaded.sample(features, 6), model.sample(features, 6))


def test_other_cells_keep_their_config_and_refuse_attention_options():
    lstm = CaptioningModel(W2I, input_dim=6, wordvec_dim=5, hidden_dim=4, cell_type="lstm")
    assert lstm.config() == {"input_dim": 6, "wordvec_dim": 5, "hidden_dim": 4, "cell_type": "lstm",
                             "dtype": "float32"}
    assert not lstm.attends
    with pytest.raises(NotImplementedError, match="CaptioningModel does not attend over image regions"):
        lstm.attention_sample(np.zeros((1, 6)))
    for options in ({"attention": "additive"}, {"attention_dim": 3}, {"attention_reg": 0.1}):
        with pytest.raises(ValueError, match="apply to cell_type='attention' only, got cell_type='gru'"):
            CaptioningModel(W2I, cell_type="gru", **options)


class TestBadInput:
    def test_options(self):
        with pytest.raises(ValueError, match=r"CaptioningModel: attention_reg must be in \[0.0, inf\), got -1.0"):
            CaptioningModel(W2I, cell_type="attention", attention_reg=-1.0)
        with pytest.raises(ValueError, match="rnn: AttentionLSTM: attention must be one of"):
            CaptioningModel(W2I, cell_type="attention", attention="bahdanau")

    def test_features(self):
        model = make()
        _, captions = batch()
        with pytest.raises(ValueError, match=r"CaptioningModel.forward: region features need P >= 1 regions"):
            model.forward(np.zeros((4, 0, 6)), captions)
        with pytest.raises(ValueError, match="CaptioningModel.forward: features contains NaN"):
            model.forward(np.full((4, 3, 6), np.nan), captions)
        with pytest.raises(ValueError, match=r"CaptioningModel.initial_state: expected features of shape \(N, P, D=6\)"):
            model.initial_state(np.zeros((4, 3, 5)))


def test_captions_picture_colours_words_by_the_attended_region():
    from minitorch_cap.data import caption_text, load_shapes_data
    from minitorch_cap.evaluation.reports import attention_picture
    from minitorch_cap.optim import Adam

    data = load_shapes_data(seed=0, num_train=8, num_val=4, region_features=True)
    model = CaptioningModel(data["word_to_idx"], input_dim=30, wordvec_dim=8, hidden_dim=16, cell_type="attention",
                            attention="additive", rng=np.random.default_rng(0))
    optimizer = Adam(model.named_parameters(), lr=1e-2)
    features = data["train_features"][data["train_image_idxs"]]
    for _ in range(60):                 # a few steps, so that the captions are words ended by <END>
        optimizer.zero_grad()
        model.forward(features, data["train_captions"])
        model.backward()
        optimizer.step()
    ids = model.sample(data["val_features"])
    idxs = np.flatnonzero((ids == model.end_id).any(axis=1))
    generated = list(caption_text(ids[idxs], data["idx_to_word"]))
    assert all(generated)
    picture = attention_picture(model, data, "val", idxs, generated)
    assert [a.shape for a in picture["attention"]] == [(len(g.split()), 3) for g in generated]
    assert picture["region_names"][2] == "pair token (no box)"
    lstm = CaptioningModel(data["word_to_idx"], input_dim=30, cell_type="lstm")
    assert attention_picture(lstm, data, "val", idxs, generated) == {}
