"""The built-in shapes data set: the load_coco_data format, determinism, disjoint splits."""

import hashlib

import numpy as np
import pytest

from minitorch_cap.data import DEFAULT_SIZES, decode_captions, load_shapes_data
from minitorch_cap.data.shapes_features import FEATURE_DIM

SMALL = dict(num_train=120, num_val=40, image_size=32)


@pytest.fixture(scope="module")
def data():
    return load_shapes_data(seed=3, **SMALL)


def test_format_matches_coco_plus_images_and_attributes(data):
    V = len(data["idx_to_word"])
    assert data["idx_to_word"][:4] == ["<NULL>", "<START>", "<END>", "<UNK>"]
    assert all(data["word_to_idx"][w] == i for i, w in enumerate(data["idx_to_word"]))
    for split, n in (("train", 120), ("val", 40)):
        caps, idxs = data[f"{split}_captions"], data[f"{split}_image_idxs"]
        assert caps.dtype == np.int32 and caps.shape == (5 * n, 17)
        assert idxs.dtype == np.int32 and idxs.shape == (5 * n,) and set(idxs) == set(range(n))
        assert data[f"{split}_features"].dtype == np.float32 and data[f"{split}_features"].shape == (n, FEATURE_DIM)
        assert data[f"{split}_images"].dtype == np.uint8 and data[f"{split}_images"].shape == (n, 32, 32, 3)
        assert len(data[f"{split}_attributes"]) == n and data[f"{split}_urls"].shape == (n,)
        assert caps.min() >= 0 and caps.max() < V
        assert (caps[:, 0] == 1).all() and ((caps == 2).sum(1) == 1).all()
        ends = (caps == 2).argmax(1)
        cols = np.arange(17)
        assert ((caps == 0) == (cols > ends[:, None])).all()         # <NULL> exactly after <END>
        assert not (caps[:, 1:][cols[1:] < ends[:, None]] < 4).any()  # only words in between


def test_each_image_has_distinct_captions(data):
    texts = decode_captions(data["train_captions"], data["idx_to_word"])
    for i in range(10):
        mine = [t for t, k in zip(texts, data["train_image_idxs"]) if k == i]
        assert len(mine) == 5 and len(set(mine)) == 5


def test_deterministic_per_seed(data):
    again = load_shapes_data(seed=3, **SMALL)
    other = load_shapes_data(seed=4, **SMALL)
    for key, value in data.items():
        if isinstance(value, np.ndarray):
            np.testing.assert_array_equal(value, again[key])
        else:
            assert value == again[key]
    assert not np.array_equal(data["train_images"], other["train_images"])
    assert data["train_attributes"] != other["train_attributes"]


def test_splits_share_no_image(data):
    digest = lambda im: hashlib.sha1(im.tobytes()).hexdigest()
    train = {digest(im) for im in data["train_images"]}
    val = {digest(im) for im in data["val_images"]}
    assert len(train) == 120 and len(val) == 40 and not train & val


def test_attributes_are_valid(data):
    for a in data["train_attributes"] + data["val_attributes"]:
        objs = a["objects"]
        assert a["relation"] in (None, "left of", "above") and len(objs) == (1 if a["relation"] is None else 2)
        if len(objs) == 2:
            assert objs[0]["colour"] != objs[1]["colour"]
            axis = "x" if a["relation"] == "left of" else "y"
            assert objs[0][axis] < objs[1][axis]


def test_val_words_are_in_the_training_vocabulary(data):
    assert not (data["val_captions"] == 3).any()


def test_the_default_sizes_are_the_loaders_defaults():
    import inspect

    parameters = inspect.signature(load_shapes_data).parameters
    assert {name: parameters[name].default for name in DEFAULT_SIZES} == DEFAULT_SIZES


@pytest.mark.parametrize("kwargs,match", [
    (dict(num_train=0), "num_train"), (dict(num_val=1.5), "num_val"), (dict(image_size=16), "image_size"),
    (dict(captions_per_image=7), "captions_per_image"), (dict(seed=-1), "seed"), (dict(seed="a"), "seed"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        load_shapes_data(**kwargs)


def test_memorising_captions_is_not_enough():
    """Captioning each val image with the caption of its nearest training image stays far below 90%."""
    from minitorch_cap.data import caption_accuracy
    d = load_shapes_data(seed=2, num_train=1000, num_val=200)
    texts = decode_captions(d["train_captions"], d["idx_to_word"])
    caption_of = {int(i): t for t, i in zip(texts, d["train_image_idxs"])}
    F, V = d["train_features"], d["val_features"]
    nearest = ((V ** 2).sum(1)[:, None] - 2 * V @ F.T + (F ** 2).sum(1)[None]).argmin(1)
    assert caption_accuracy([caption_of[int(j)] for j in nearest], d["val_attributes"]) < 0.75


def test_model_caption_accuracy_plumbing(data):
    """A stand-in model that returns each val image's first reference caption scores 1.0; a wrong one 0."""
    from minitorch_cap.evaluation import model_caption_accuracy

    first_row = {int(i): r for r, i in zip(data["val_captions"][::-1], data["val_image_idxs"][::-1])}

    class Oracle:
        def sample(self, features, max_length):
            rows = [np.flatnonzero((data["val_features"] == f).all(1))[0] for f in features]
            return np.stack([first_row[int(i)][1:max_length + 1] for i in rows])

    class Silent:
        def sample(self, features, max_length):
            return np.full((len(features), max_length), 2)

    assert model_caption_accuracy(Oracle(), data) == 1.0
    assert model_caption_accuracy(Silent(), data) == 0.0


def test_the_vocabulary_is_fixed(data):
    """Word ids do not depend on the seed or the split sizes: a model reads any draw of the data."""
    from minitorch_cap.data.shapes import VOCABULARY
    from minitorch_cap.data.shapes_captions import TEMPLATE_WORDS

    other = load_shapes_data(seed=0, num_train=30, num_val=5, image_size=32)
    assert data["word_to_idx"] == other["word_to_idx"] == VOCABULARY.word_to_idx
    assert data["idx_to_word"][4:] == sorted(TEMPLATE_WORDS)


def test_model_caption_accuracy_refuses_a_model_of_another_vocabulary(data):
    from minitorch_cap import CaptioningModel
    from minitorch_cap.evaluation import model_caption_accuracy

    words = {**data["word_to_idx"], "hexagon": len(data["word_to_idx"])}
    model = CaptioningModel(words, input_dim=FEATURE_DIM, wordvec_dim=4, hidden_dim=4)
    with pytest.raises(ValueError, match=r"model_caption_accuracy: the model's vocabulary \(42 words\) differs .*hexagon"):
        model_caption_accuracy(model, data)
    narrow = CaptioningModel(data["word_to_idx"], input_dim=FEATURE_DIM - 1, wordvec_dim=4, hidden_dim=4)
    with pytest.raises(ValueError, match="expects 48-d image features but train_features are 49-d"):
        model_caption_accuracy(narrow, data)


def test_a_data_set_larger_than_the_machine_is_refused_before_any_work():
    """Review finding: --max-train 100000000 grew memory until killed."""
    with pytest.raises(ValueError, match=r"load_shapes_data: 100,000,500 images of 48x48 would take about .* GiB"):
        load_shapes_data(num_train=100_000_000)
