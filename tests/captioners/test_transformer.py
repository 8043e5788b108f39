"""CaptioningTransformer (minitorch_cap/captioners/transformer.py): gradients, the course's PyTorch
model as the oracle (both layer variants), cached decoding equal to uncached decoding, the
captioner interface (checkpoints, Trainer) and the course's weights."""

import math

import numpy as np
import pytest

from tests.conftest import require_oracle
from minitorch_cap.captioners import decoding
from minitorch_cap.captioners.base import Captioner
from minitorch_cap.gradcheck import check_module
from minitorch_cap.nn import Affine, LayerNorm, dropout_disabled
from minitorch_cap.captioners.transformer import CaptioningTransformer, load_course_state_dict

WORDS = {"<NULL>": 0, "<START>": 1, "<END>": 2, "<UNK>": 3, "a": 4, "red": 5, "blue": 6, "circle": 7, "square": 8}
N, D, W, HEADS, FF, T = 3, 6, 8, 2, 12, 6


def make_model(activation="relu", seed=0, dtype=np.float64, wordvec_dim=W, dim_feedforward=FF, **options):
    model = CaptioningTransformer(WORDS, D, wordvec_dim, num_heads=HEADS, num_layers=2, max_length=12,
                                  activation=activation, dtype=dtype, rng=seed, dim_feedforward=dim_feedforward,
                                  **options)
    rng = np.random.default_rng(seed + 50)   # non-trivial biases and norms (the course's init zeroes them)
    for m in model.modules():
        if isinstance(m, Affine):
            m.W.data[...] = rng.standard_normal(m.W.shape) / math.sqrt(m.W.shape[0])
            m.b.data[...] = 0.2 * rng.standard_normal(m.b.shape)
        if isinstance(m, LayerNorm):
            m.gamma.data[...] += 0.3 * rng.standard_normal(m.gamma.shape)
            m.beta.data[...] = 0.3 * rng.standard_normal(m.beta.shape)
    model.embedding.W.data[...] = rng.standard_normal(model.embedding.W.shape)
    return model


def batch(seed=1, regions=None):
    rng = np.random.default_rng(seed)
    shape = (N, D) if regions is None else (N, regions, D)
    features = rng.standard_normal(shape)
    captions = rng.integers(4, len(WORDS), size=(N, T))
    captions[:, 0] = WORDS["<START>"]
    captions[0, 3] = WORDS["<END>"]
    captions[0, 4:] = WORDS["<NULL>"]        # padding: masked targets and <NULL> inputs
    captions[1, -1] = WORDS["<END>"]
    return features, captions


# ---------------------------------------------------------------------------------- gradients
def test_whole_model_gradient_check():
    # GELU (smooth; ReLU's gradients are checked against PyTorch below), region features, two
    # rows, small sizes (the check perturbs every parameter)
    model = make_model("gelu", wordvec_dim=4, dim_feedforward=6)
    features, captions = batch(regions=3)
    features, captions = features[:2], captions[:2]
    captions[captions == WORDS["<NULL>"]] = WORDS["a"]   # <NULL> inputs get no gradient on purpose (padding_idx)
    with dropout_disabled(model):
        report = check_module(model, features, captions)
        _, grads = model.loss(features, captions)
    # the key bias adds the same score to every key of a query: its true gradient is zero
    bad = {k: v for k, v in report.errors.items() if v > 1e-6 and not k.endswith(".key.b")}
    assert not bad and len(report.errors) == 1 + len(grads), bad
    for name, grad in grads.items():
        if name.endswith(".key.b"):
            assert np.abs(grad).max() < 1e-12


def test_null_inputs_get_no_embedding_gradient_and_interface_shapes():
    model = make_model()
    features, captions = batch(regions=4)
    with dropout_disabled(model):
        loss, grads = model.loss(features, captions)
        dfeatures = model.backward(1.0)
    assert np.isfinite(loss) and dfeatures.shape == features.shape
    assert np.all(grads["embedding.W"][WORDS["<NULL>"]] == 0)
    assert isinstance(model, Captioner) and model.scores(features, captions).shape == (N, T, len(WORDS))


# ---------------------------------------------------------------------------------- PyTorch oracle
def course_classes(torch, variant):
    """The course's PyTorch CaptioningTransformer, written anew from its published code
    (cs231n/transformer_layers.py and classifiers/transformer.py; 2021-2024 ReLU layer with
    multihead_attn/linear1/norm1 names, 2025+ GELU layer with cross_attn/ffn/norm_self names)."""
    nn = torch.nn

    class PositionalEncoding(nn.Module):
        def __init__(self, embed_dim, dropout=0.1, max_len=5000):
            super().__init__()
            self.dropout = nn.Dropout(p=dropout)
            # float64 table: the course fills a float32 one (within 6e-8 of this), which would
            # hide a 1e-10 comparison; load_course_state_dict checks it but keeps the exact table
            pe = torch.zeros(1, max_len, embed_dim, dtype=torch.float64)
            pos = torch.arange(max_len, dtype=torch.float64)[:, None]
            rate = 10000.0 ** (-torch.arange(0, embed_dim, 2, dtype=torch.float64) / embed_dim)
            pe[0, :, 0::2] = torch.sin(pos * rate)
            pe[0, :, 1::2] = torch.cos(pos * rate)
            self.register_buffer("pe", pe)

        def forward(self, x):
            return self.dropout(x + self.pe[:, :x.shape[1]])

    class MultiHeadAttention(nn.Module):
        def __init__(self, embed_dim, num_heads, dropout=0.1):
            super().__init__()
            self.key, self.query = nn.Linear(embed_dim, embed_dim), nn.Linear(embed_dim, embed_dim)
            self.value, self.proj = nn.Linear(embed_dim, embed_dim), nn.Linear(embed_dim, embed_dim)
            self.attn_drop = nn.Dropout(dropout)
            self.n_head, self.head_dim = num_heads, embed_dim // num_heads

        def forward(self, query, key, value, attn_mask=None):
            N, S, E = query.shape
            L = value.shape[1]
            H, Dh = self.n_head, self.head_dim
            q = self.query(query).view(N, S, H, Dh).transpose(1, 2)
            k = self.key(key).view(N, L, H, Dh).transpose(1, 2)
            v = self.value(value).view(N, L, H, Dh).transpose(1, 2)
            scores = q @ k.transpose(2, 3) / math.sqrt(Dh)
            if attn_mask is not None:
                scores = scores.masked_fill(attn_mask == 0, float("-inf"))
            y = self.attn_drop(torch.softmax(scores, dim=-1)) @ v
            return self.proj(y.transpose(1, 2).reshape(N, S, E))

    class FeedForwardNetwork(nn.Module):
        def __init__(self, embed_dim, ffn_dim, dropout=0.1):
            super().__init__()
            self.fc1, self.gelu = nn.Linear(embed_dim, ffn_dim), nn.GELU()
            self.dropout, self.fc2 = nn.Dropout(dropout), nn.Linear(ffn_dim, embed_dim)

        def forward(self, x):
            return self.fc2(self.dropout(self.gelu(self.fc1(x))))

    class LayerRelu(nn.Module):                     # 2021-2024
        def __init__(self, input_dim, num_heads, dim_feedforward=2048, dropout=0.1):
            super().__init__()
            self.self_attn = MultiHeadAttention(input_dim, num_heads, dropout)
            self.multihead_attn = MultiHeadAttention(input_dim, num_heads, dropout)
            self.linear1, self.dropout = nn.Linear(input_dim, dim_feedforward), nn.Dropout(dropout)
            self.linear2 = nn.Linear(dim_feedforward, input_dim)
            self.norm1, self.norm2, self.norm3 = (nn.LayerNorm(input_dim) for _ in range(3))
            self.dropout1, self.dropout2, self.dropout3 = (nn.Dropout(dropout) for _ in range(3))
            self.activation = nn.ReLU()

        def forward(self, tgt, memory, tgt_mask=None):
            tgt = self.norm1(tgt + self.dropout1(self.self_attn(tgt, tgt, tgt, attn_mask=tgt_mask)))
            tgt = self.norm2(tgt + self.dropout2(self.multihead_attn(tgt, memory, memory)))
            tgt2 = self.linear2(self.dropout(self.activation(self.linear1(tgt))))
            return self.norm3(tgt + self.dropout3(tgt2))

    class LayerGelu(nn.Module):                     # 2025+
        def __init__(self, input_dim, num_heads, dim_feedforward=2048, dropout=0.1):
            super().__init__()
            self.self_attn = MultiHeadAttention(input_dim, num_heads, dropout)
            self.cross_attn = MultiHeadAttention(input_dim, num_heads, dropout)
            self.ffn = FeedForwardNetwork(input_dim, dim_feedforward, dropout)
            self.norm_self, self.norm_cross, self.norm_ffn = (nn.LayerNorm(input_dim) for _ in range(3))
            self.dropout_self, self.dropout_cross, self.dropout_ffn = (nn.Dropout(dropout) for _ in range(3))

        def forward(self, tgt, memory, tgt_mask=None):
            tgt = self.norm_self(tgt + self.dropout_self(self.self_attn(tgt, tgt, tgt, attn_mask=tgt_mask)))
            tgt = self.norm_cross(tgt + self.dropout_cross(self.cross_attn(tgt, memory, memory)))
            return self.norm_ffn(tgt + self.dropout_ffn(self.ffn(tgt)))

    class TransformerDecoder(nn.Module):
        def __init__(self, decoder_layer, num_layers):
            super().__init__()
            import copy
            self.layers = nn.ModuleList([copy.deepcopy(decoder_layer) for _ in range(num_layers)])

        def forward(self, tgt, memory, tgt_mask=None):
            for layer in self.layers:
                tgt = layer(tgt, memory, tgt_mask=tgt_mask)
            return tgt

    Layer = LayerRelu if variant == "2021" else LayerGelu

    class Course(nn.Module):
        def __init__(self, word_to_idx, input_dim, wordvec_dim, num_heads=4, num_layers=2, max_length=50,
                     dim_feedforward=2048):
            super().__init__()
            self._null = word_to_idx["<NULL>"]
            self.visual_projection = nn.Linear(input_dim, wordvec_dim)
            self.embedding = nn.Embedding(len(word_to_idx), wordvec_dim, padding_idx=self._null)
            self.positional_encoding = PositionalEncoding(wordvec_dim, max_len=max_length)
            self.transformer = TransformerDecoder(Layer(wordvec_dim, num_heads, dim_feedforward), num_layers)
            self.apply(self._init_weights)
            self.output = nn.Linear(wordvec_dim, len(word_to_idx))

        def _init_weights(self, module):
            if isinstance(module, (nn.Linear, nn.Embedding)):
                module.weight.data.normal_(mean=0.0, std=0.02)
                if isinstance(module, nn.Linear) and module.bias is not None:
                    module.bias.data.zero_()
            elif isinstance(module, nn.LayerNorm):
                module.bias.data.zero_()
                module.weight.data.fill_(1.0)

        def forward(self, features, captions):
            T = captions.shape[1]
            x = self.positional_encoding(self.embedding(captions))
            memory = self.visual_projection(features)
            if memory.dim() == 2:
                memory = memory.unsqueeze(1)
            mask = torch.tril(torch.ones(T, T, dtype=x.dtype))
            return self.output(self.transformer(x, memory, tgt_mask=mask))

    return Course


def course_loss(torch, scores, captions_out, null):
    """The course's Transformer solver loss: masked cross-entropy, mean over all N*T positions."""
    N, T, V = scores.shape
    loss = torch.nn.functional.cross_entropy(scores.reshape(N * T, V), captions_out.reshape(-1), reduction="none")
    return torch.mean(loss * (captions_out.reshape(-1) != null))


@pytest.mark.parametrize("variant,regions", [("2021", None), ("2025", None), ("2021", 3)])
def test_matches_the_course_pytorch_model(variant, regions):
    torch = require_oracle("torch")
    torch.manual_seed(231)
    theirs = course_classes(torch, variant)(WORDS, D, W, num_heads=HEADS, num_layers=2, max_length=12,
                                             dim_feedforward=FF).double().eval()
    with torch.no_grad():                           # non-trivial biases and norms
        for name, p in theirs.named_parameters():
            if "norm" in name or name.endswith("bias"):
                p.add_(0.3 * torch.randn_like(p))
    state = {k: v.detach().numpy() for k, v in theirs.state_dict().items()}
    ours = CaptioningTransformer.from_course_state_dict(WORDS, state, num_heads=HEADS)
    assert ours.activation == ("relu" if variant == "2021" else "gelu")
    features, captions = batch(regions=regions)

    tf = torch.tensor(features, requires_grad=True)
    tscores = theirs(tf, torch.tensor(captions[:, :-1]))
    tloss = course_loss(torch, tscores, torch.tensor(captions[:, 1:]), WORDS["<NULL>"])
    tloss.backward()

    ours.eval()
    np.testing.assert_allclose(ours.scores(features, captions[:, :-1]), tscores.detach().numpy(), rtol=0, atol=1e-10)
    ours.train()
    with dropout_disabled(ours):
        ours.zero_grad()
        loss = ours.forward(features, captions)
        dfeatures = ours.backward(1.0)
    grads = {name: p.grad for name, p in ours.named_parameters()}
    assert abs(loss - tloss.item()) < 1e-10
    np.testing.assert_allclose(dfeatures, tf.grad.numpy(), rtol=0, atol=1e-10)
    from minitorch_cap.captioners.transformer import course_state_dict_layout
    theirs_grads = {k: p.grad.numpy() for k, p in theirs.named_parameters()}
    for name, (key, transposed) in course_state_dict_layout(ours, variant).items():
        expected = theirs_grads[key].T if transposed else theirs_grads[key]
        np.testing.assert_allclose(grads[name], expected, rtol=0, atol=1e-10, err_msg=name)


def test_course_weights_refuse_the_wrong_variant_and_names():
    torch = require_oracle("torch")
    torch.manual_seed(0)
    theirs = course_classes(torch, "2025")(WORDS, D, W, num_heads=HEADS, max_length=12, dim_feedforward=FF).double()
    state = {k: v.detach().numpy() for k, v in theirs.state_dict().items()}
    with pytest.raises(ValueError, match="activation='relu'"):
        load_course_state_dict(make_model("relu"), state)
    del state["output.bias"]
    with pytest.raises(ValueError, match="missing.*output.bias"):
        load_course_state_dict(make_model("gelu"), state)


def test_initialisation_follows_the_course():
    model = CaptioningTransformer(WORDS, 40, 64, num_heads=4, num_layers=2, dim_feedforward=256, rng=0)
    p = dict(model.named_parameters())
    assert abs(p["transformer.layers.1.linear1.W"].data.std() - 0.02) < 2e-3
    assert abs(p["embedding.W"].data.std() - 0.02) < 3e-3
    assert not np.array_equal(p["transformer.layers.0.linear1.W"].data, p["transformer.layers.1.linear1.W"].data)
    assert np.all(p["visual_projection.b"].data == 0) and np.all(p["transformer.layers.0.norm2.gamma"].data == 1)
    bound = 1 / math.sqrt(64)
    assert np.abs(p["output.W"].data).max() <= bound and np.abs(p["output.b"].data).max() > 0.3 * bound


# ---------------------------------------------------------------------------------- decoding
class Uncached(Captioner):
    """The same model decoding without a cache: the state is the words so far, and every step
    runs the whole prefix through ``scores`` (the course's ``sample``)."""

    def __init__(self, model):
        super().__init__(model.word_to_idx, model.input_dim, model.dtype)
        self.model = model

    def initial_state(self, features):
        features = np.asarray(features)
        return features, np.zeros((features.shape[0], 0), dtype=np.int64)

    def decode_step(self, words, state):
        features, prefix = state
        prefix = np.concatenate([prefix, np.asarray(words)[:, None]], axis=1)
        return self.model.scores(features, prefix)[:, -1], (features, prefix)


@pytest.mark.parametrize("regions", [None, 3])
def test_cached_decoding_equals_uncached(regions):
    model = make_model("gelu").eval()
    features = batch(seed=4, regions=regions)[0]
    plain = Uncached(model)
    state_c, state_u = model.initial_state(features), plain.initial_state(features)
    words = np.full(N, WORDS["<START>"])
    for _ in range(5):
        sc, state_c = model.decode_step(words, state_c)
        su, state_u = plain.decode_step(words, state_u)
        np.testing.assert_allclose(sc, su, rtol=0, atol=1e-12)
        words = (sc.argmax(1) + np.arange(N)) % len(WORDS)   # any words, not only greedy ones
    np.testing.assert_array_equal(model.sample(features, 8), plain.sample(features, 8))
    a, b = model.beam_search(features, 3, 8, n_best=3), plain.beam_search(features, 3, 8, n_best=3)
    np.testing.assert_array_equal(a.captions, b.captions)
    np.testing.assert_allclose(a.logprobs, b.logprobs, rtol=0, atol=1e-12)


def test_decoding_beyond_max_length_is_refused_and_training_caches_are_kept():
    model = make_model()
    features, captions = batch()
    with dropout_disabled(model):
        model.forward(features, captions)
        model.sample(features, 5)                  # decoding in the middle of training ...
        _, grads = model.loss(features, captions)
        expected = {k: v.copy() for k, v in grads.items()}
        model.forward(features, captions)
        model.sample(features, 5)
        model.zero_grad()
        model.backward(1.0)                        # ... leaves the next backward's cache intact
    for name, p in model.named_parameters():
        np.testing.assert_allclose(p.grad, expected[name], rtol=0, atol=1e-12)
    state = model.initial_state(features)
    words = np.full(N, WORDS["a"])
    for _ in range(model.max_length):
        _, state = model.decode_step(words, state)
    with pytest.raises(ValueError, match="beyond max_length=12"):
        model.decode_step(words, state)
    with pytest.raises(ValueError, match="exceed max_length=12"):
        model.forward(features, np.ones((N, 14), dtype=np.int64))


def test_attention_sample_matches_sample_and_weights_are_distributions():
    model = make_model("gelu").eval()
    features = batch(seed=5, regions=3)[0]
    captions, weights = model.attention_sample(features, 8)
    np.testing.assert_array_equal(captions, model.sample(features, 8))
    generated = captions != WORDS["<NULL>"]
    np.testing.assert_allclose(weights.sum(-1)[generated], 1.0, atol=1e-12)
    assert np.all(weights[~generated] == 0) and weights.shape == (N, 8, 3)


def test_dropout_is_seeded_in_training_and_off_in_decoding():
    features, captions = batch()
    a, b = make_model(seed=3, dropout=0.3), make_model(seed=3, dropout=0.3)
    assert a.forward(features, captions) == b.forward(features, captions)
    assert a.forward(features, captions) != a.forward(features, captions)
    np.testing.assert_array_equal(a.sample(features, 6), a.eval().sample(features, 6))
    # scores() is a prediction (inference_mode): no dropout in training mode either, no mask drawn
    rng = a.train().positional_encoding.dropout.rng          # the model's generator, shared by every Dropout
    state = rng.bit_generator.state
    in_training = a.scores(features, captions)
    assert rng.bit_generator.state == state
    np.testing.assert_array_equal(in_training, a.eval().scores(features, captions))


# ---------------------------------------------------------------------------------- the interface
def test_checkpoint_round_trip_and_stochastic_sampling(tmp_path):
    from minitorch_cap.training import load_model, save_checkpoint

    model = make_model("gelu", dtype=np.float32).eval()
    path = tmp_path / "t.h5"
    save_checkpoint(path, model)
    loaded = load_model(path).eval()
    assert type(loaded) is CaptioningTransformer and loaded.config() == model.config()
    features, captions = batch(regions=2)
    np.testing.assert_array_equal(loaded.scores(features, captions), model.scores(features, captions))
    np.testing.assert_array_equal(decoding.sample_stochastic(loaded, features, 6, rng=1),
                                  decoding.sample_stochastic(model, features, 6, rng=1))


def test_trainer_overfits_fifty_captions():
    from minitorch_cap.optim import Adam
    from minitorch_cap.training import Trainer
    from minitorch_cap.training.synthetic import random_caption_data

    data = random_caption_data(50, input_dim=D, vocab_size=20, T=12, seed=0)
    model = CaptioningTransformer(data["word_to_idx"], data["train_features"].shape[-1], 32, num_heads=2,
                                  num_layers=2, dim_feedforward=64, dropout=0.0, rng=0)
    trainer = Trainer(model, data, Adam(model.named_parameters(), lr=5e-3), batch_size=25, num_epochs=150,
                      verbose=False, seed=0, progress=False)
    trainer.train()
    assert trainer.loss_history[0] > 1.0 and trainer.loss_history[-1] < 0.1


@pytest.mark.parametrize("activation,variant", [("relu", "2021"), ("gelu", "2025")])
def test_the_course_notebook_captioning_check(activation, variant):
    """The notebook's ``test_case_transformer_captioning`` setting: every parameter set to
    ``linspace(-1.4, 1.3)`` in the PyTorch model's order and layout. The notebook prints the
    scores of a training-mode forward (PyTorch's dropout stream decides most of them); the
    dropout-free value, which it prints for image 2 at positions 0 and 2, is what every
    position of images 0-2 gives in eval mode (the layers saturate)."""
    from minitorch_cap.captioners.transformer import course_state_dict_layout

    word_to_idx = {"<NULL>": 0, "cat": 2, "dog": 3}
    N_, D_, W_, T_ = 4, 20, 30, 3
    model = CaptioningTransformer(word_to_idx, D_, W_, num_heads=2, num_layers=2, max_length=30,
                                  activation=activation, dtype=np.float64, rng=0)
    layout = course_state_dict_layout(model, variant)
    for name, p in model.named_parameters():            # our order is the course's registration order
        transposed = layout[name][1]
        values = np.linspace(-1.4, 1.3, num=p.size).reshape(p.shape[::-1] if transposed else p.shape)
        p.data[...] = values.T if transposed else values
    features = np.linspace(-1.5, 0.3, num=N_ * D_).reshape(N_, D_)
    captions = (np.arange(N_ * T_) % 3).reshape(N_, T_)
    scores = model.eval().scores(features, captions)
    published = np.array([-17.2172, 4.7701, 26.7574])    # expected_scores[2, 0] and [2, 2]
    np.testing.assert_allclose(scores[2, [0, 2]], [published, published], rtol=0, atol=1e-4)
    np.testing.assert_allclose(scores[:3], np.broadcast_to(published, (3, T_, 3)), rtol=0, atol=1e-4)


# ---------------------------------------------------------------------------------- built-in data, CLI
def test_region_features_are_the_flat_features_regrouped():
    from minitorch_cap.data import load_shapes_data
    from minitorch_cap.data.shapes_features import PAIR_FEATURES, REGION_DIM, SLOT_FEATURES, slot_boxes

    flat = load_shapes_data(seed=3, num_train=12, num_val=6)
    regions = load_shapes_data(seed=3, num_train=12, num_val=6, region_features=True)
    S, P = len(SLOT_FEATURES), len(PAIR_FEATURES)
    for split in ("train", "val"):
        f, r = flat[f"{split}_features"], regions[f"{split}_features"]
        assert r.shape == (f.shape[0], 3, REGION_DIM) and r.dtype == np.float32
        np.testing.assert_array_equal(np.concatenate([r[:, 0, :S], r[:, 1, :S], r[:, 2, S:S + P]], 1), f)
        np.testing.assert_array_equal(r[:, :, S + P:], np.broadcast_to(np.eye(3), (f.shape[0], 3, 3)))
        np.testing.assert_array_equal(flat[f"{split}_captions"], regions[f"{split}_captions"])
    boxes = slot_boxes(flat["train_images"])
    two = np.array([len(a["objects"]) == 2 for a in flat["train_attributes"]])
    assert np.all(np.isnan(boxes[~two, 1])) and not np.any(np.isnan(boxes[two]))


def test_cli_trains_samples_evaluates_and_summarises_a_transformer(tmp_path):
    from tests.conftest import run_cli

    data = ["--region-features", "--max-train", 40, "--max-val", 8]
    out = tmp_path / "run"
    code, stdout, stderr = run_cli(["train", "--model", "transformer", "--num-heads", 2, "--num-layers", 1,
                                    "--dim-feedforward", 16, "--wordvec-dim", 8, "--epochs", 1, "--no-progress",
                                    *data, "--out", out])
    assert code == 0, stderr
    assert "transformer (wordvec_dim=8, num_heads=2, num_layers=1, dim_feedforward=16" in stdout
    assert (out / "captions.png").is_file()
    ckpt = out / "checkpoint.h5"
    code, stdout, stderr = run_cli(["sample", ckpt, "--out", tmp_path / "s"])   # the run's own data
    assert code == 0, stderr
    code, stdout, stderr = run_cli(["evaluate", ckpt, *data, "--out", tmp_path / "e", "--beam-size", 2])
    assert code == 0, stderr
    code, stdout, stderr = run_cli(["summary", ckpt])
    assert code == 0 and "transformer.layers.0.multihead_attn.key.W" in stdout, stderr
    # options given go on top of the recorded ones: the run's region features stay
    code, _, stderr = run_cli(["sample", ckpt, "--max-train", 40, "--max-val", 8, "--out", tmp_path / "s2"])
    assert code == 0, stderr


def test_caption_grid_with_attention(tmp_path):
    from minitorch_cap.evaluation.grid import caption_grid_size, plot_caption_grid

    images = np.zeros((2, 24, 24, 3), dtype=np.uint8)
    generated, refs = ["a red circle", "a blue square above a red circle"], [["x"], ["y"]]
    attention = [np.eye(3)[[2, 0, 0]], np.eye(3)[[2, 1, 1, 2, 2, 0, 0]]]
    regions = [[(2, 2, 10, 10), None, None], [(2, 2, 10, 10), (12, 12, 20, 20), None]]
    path = plot_caption_grid(images, generated, refs, tmp_path / "a.png", correct=[True, False], title="t",
                             attention=attention, regions=regions)
    from PIL import Image
    assert Image.open(path).size == caption_grid_size(2, title=True)
    with pytest.raises(ValueError, match="attention\\[1\\] must have shape"):
        plot_caption_grid(images, generated, refs, tmp_path / "b.png", attention=[attention[0], attention[0]],
                          regions=regions)
    with pytest.raises(ValueError, match="go together"):
        plot_caption_grid(images, generated, refs, tmp_path / "c.png", attention=attention)
