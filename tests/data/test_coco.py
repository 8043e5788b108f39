"""load_coco_data / sample_coco_minibatch / decode_captions: round trip and every malformed input."""

import json

import h5py
import numpy as np
import pytest

from minitorch_cap.data import decode_captions, load_coco_data, sample_coco_minibatch
from tests.conftest import IDX_TO_WORD, write_coco_dir

KEYS = {"train_captions", "train_image_idxs", "val_captions", "val_image_idxs", "train_features", "val_features",
        "idx_to_word", "word_to_idx", "train_urls", "val_urls"}


@pytest.mark.parametrize("pca", [True, False])
def test_round_trip(coco_dir, pca):
    path, arrays = coco_dir
    data = load_coco_data(path, pca_features=pca)
    assert set(data) == KEYS
    suffix = "pca" if pca else "full"
    for split in ("train", "val"):
        np.testing.assert_array_equal(data[f"{split}_captions"], arrays[f"{split}_captions"])
        np.testing.assert_array_equal(data[f"{split}_image_idxs"], arrays[f"{split}_image_idxs"])
        np.testing.assert_array_equal(data[f"{split}_features"], arrays[f"{split}_features_{suffix}"])
        assert data[f"{split}_captions"].dtype == np.int32 and data[f"{split}_features"].dtype == np.float32
        assert list(data[f"{split}_urls"]) == arrays[f"{split}_urls"]
    assert data["idx_to_word"] == IDX_TO_WORD
    assert data["word_to_idx"]["cat"] == IDX_TO_WORD.index("cat")


def test_max_train_subsamples_captions_only(coco_dir):
    path, arrays = coco_dir
    data = load_coco_data(path, max_train=5, rng=np.random.default_rng(0))
    assert data["train_captions"].shape == (5, 7) and data["train_image_idxs"].shape == (5,)
    assert data["train_features"].shape[0] == arrays["train_features_pca"].shape[0]
    rows = [int(np.flatnonzero((arrays["train_captions"] == c).all(1))[0]) for c in data["train_captions"]]
    np.testing.assert_array_equal(arrays["train_image_idxs"][rows], data["train_image_idxs"])


def test_sample_minibatch_matches_features_and_urls(coco_dir):
    path, _ = coco_dir
    data = load_coco_data(path)
    captions, features, urls = sample_coco_minibatch(data, batch_size=4, split="val", rng=np.random.default_rng(1))
    assert captions.shape == (4, 7) and features.shape == (4, 8) and urls.shape == (4,)
    for c, f, u in zip(captions, features, urls):
        row = int(np.flatnonzero((data["val_captions"] == c).all(1))[0])
        image = data["val_image_idxs"][row]
        np.testing.assert_array_equal(f, data["val_features"][image])
        assert u == data["val_urls"][image]
    with pytest.raises(ValueError, match="split"):
        sample_coco_minibatch(data, split="test")


def test_sample_minibatch_uses_global_state_like_the_course(coco_dir):
    data = load_coco_data(coco_dir[0])
    np.random.seed(3)
    a = sample_coco_minibatch(data, batch_size=5)
    np.random.seed(3)
    b = sample_coco_minibatch(data, batch_size=5)
    np.testing.assert_array_equal(a[0], b[0])


def test_decode_captions():
    caps = np.array([[1, 4, 5, 2, 0, 0], [1, 6, 0, 7, 2, 5]])
    assert decode_captions(caps, IDX_TO_WORD) == ["<START> a cat <END>", "<START> dog on <END>"]
    assert decode_captions(caps[0], IDX_TO_WORD) == "<START> a cat <END>"
    with pytest.raises(ValueError, match=r"decode_captions: captions holds id 99, outside the valid range \[0, 9\)"):
        decode_captions(np.array([1, 99]), IDX_TO_WORD)
    with pytest.raises(ValueError, match="holds id -1"):
        decode_captions(np.array([1, -1]), IDX_TO_WORD)
    with pytest.raises(TypeError, match="integer array of ids"):
        decode_captions(np.array([1.0, 2.0]), IDX_TO_WORD)
    with pytest.raises(ValueError, match="shape"):
        decode_captions(np.zeros((2, 2, 2), np.int64), IDX_TO_WORD)


@pytest.mark.parametrize("name", ["coco2014_captions.h5", "train2014_vgg16_fc7_pca.h5", "val2014_vgg16_fc7_pca.h5",
                                  "coco2014_vocab.json", "train2014_urls.txt", "val2014_urls.txt"])
def test_missing_file_names_it_and_says_how_to_get_the_data(coco_dir, name):
    path, _ = coco_dir
    (path / name).unlink()
    with pytest.raises(FileNotFoundError) as err:
        load_coco_data(path)
    assert name in str(err.value) and "get_datasets.sh" in str(err.value)


def test_missing_pca_file_suggests_the_other_features(coco_dir):
    path, _ = coco_dir
    (path / "train2014_vgg16_fc7_pca.h5").unlink()
    with pytest.raises(FileNotFoundError, match="pca_features=False"):
        load_coco_data(path)
    assert load_coco_data(path, pca_features=False)["train_features"].shape[1] == 16


def test_the_loader_and_the_folder_check_give_one_hint_for_the_other_features(coco_dir):
    """One rule (features_hint): the loader's missing-file error and check_coco_folder's name the same files
    of the other kind and the same option (they had two wordings)."""
    from minitorch_cap.data.coco import features_hint
    from minitorch_cap.data.spec import check_coco_folder

    path, _ = coco_dir
    assert features_hint(path, True) == ""                                  # nothing missing, nothing to say
    for split in ("train", "val"):
        (path / f"{split}2014_vgg16_fc7_pca.h5").unlink()
    hint = features_hint(path, True, ("train",))
    assert hint == "train2014_vgg16_fc7.h5 is there: pass pca_features=False (--no-pca on the command line)"
    with pytest.raises(FileNotFoundError) as loader:
        load_coco_data(path, pca_features=True)
    with pytest.raises(ValueError) as folder:
        check_coco_folder(path, True)
    assert hint in str(loader.value)
    assert str(folder.value).endswith("; train2014_vgg16_fc7.h5 and val2014_vgg16_fc7.h5 are there: pass "
                                      "pca_features=False (--no-pca on the command line)")
    assert features_hint(path, False) == ""                                  # the full ones are all there


def _rewrite(path, file, key, value):
    with h5py.File(path / file, "a") as f:
        del f[key]
        if value is not None:
            f[key] = value


def test_missing_key(coco_dir):
    path, _ = coco_dir
    _rewrite(path, "coco2014_captions.h5", "val_image_idxs", None)
    with pytest.raises(KeyError, match="val_image_idxs"):
        load_coco_data(path)


def test_missing_features_key(coco_dir):
    path, _ = coco_dir
    _rewrite(path, "val2014_vgg16_fc7_pca.h5", "features", None)
    with pytest.raises(KeyError, match="'features'.*val2014|val2014.*'features'"):
        load_coco_data(path)


@pytest.mark.parametrize("file,key,value,match", [
    ("coco2014_captions.h5", "train_captions", np.zeros((12,), np.int32), "train_captions.*2 dimension"),
    ("coco2014_captions.h5", "train_captions", np.zeros((12, 7), np.float32), "train_captions.*integer"),
    ("coco2014_captions.h5", "train_image_idxs", np.zeros((12, 1), np.int32), "train_image_idxs.*1 dimension"),
    ("coco2014_captions.h5", "train_image_idxs", np.zeros((11,), np.int32), "12 rows but train_image_idxs has 11"),
    ("coco2014_captions.h5", "val_captions", np.ones((6, 1), np.int32), "at least 2 columns"),
    ("train2014_vgg16_fc7_pca.h5", "features", np.zeros((6, 8), np.int64), "floating-point"),
    ("train2014_vgg16_fc7_pca.h5", "features", np.zeros((6, 8, 1), np.float32), "2 dimension"),
    ("val2014_vgg16_fc7_pca.h5", "features", np.zeros((3, 9), np.float32), "train features have 8 columns but val features have 9"),
    ("val2014_vgg16_fc7_pca.h5", "features", np.zeros((2, 8), np.float32), "3 URLs but the val features have 2"),
])
def test_wrong_shape_or_dtype(coco_dir, file, key, value, match):
    path, _ = coco_dir
    _rewrite(path, file, key, value)
    with pytest.raises(ValueError, match=match):
        load_coco_data(path)


def test_image_ids_out_of_range(coco_dir):
    path, arrays = coco_dir
    bad = arrays["train_image_idxs"].copy()
    bad[3] = 6
    _rewrite(path, "coco2014_captions.h5", "train_image_idxs", bad)
    with pytest.raises(ValueError, match=r"train_image_idxs holds id 6, outside \[0, 6\)"):
        load_coco_data(path)
    bad[3] = -1
    _rewrite(path, "coco2014_captions.h5", "train_image_idxs", bad)
    with pytest.raises(ValueError, match="holds id -1"):
        load_coco_data(path)


def test_vocabulary_and_captions_out_of_step(coco_dir):
    path, _ = coco_dir
    short = IDX_TO_WORD[:6]
    (path / "coco2014_vocab.json").write_text(json.dumps({"idx_to_word": short,
                                                          "word_to_idx": {w: i for i, w in enumerate(short)}}))
    with pytest.raises(ValueError, match="captions holds id .* outside \\[0, 6\\).*out of step"):
        load_coco_data(path)


def test_vocabulary_maps_disagree(coco_dir):
    path, _ = coco_dir
    w2i = {w: i for i, w in enumerate(IDX_TO_WORD)}
    w2i["cat"], w2i["dog"] = w2i["dog"], w2i["cat"]
    (path / "coco2014_vocab.json").write_text(json.dumps({"idx_to_word": IDX_TO_WORD, "word_to_idx": w2i}))
    with pytest.raises(ValueError, match="disagree"):
        load_coco_data(path)


def test_not_hdf5(coco_dir):
    path, _ = coco_dir
    (path / "coco2014_captions.h5").write_text("not an hdf5 file")
    with pytest.raises(ValueError, match="coco2014_captions.h5.*not a readable HDF5"):
        load_coco_data(path)


def test_bad_max_train(coco_dir):
    with pytest.raises(ValueError, match="max_train"):
        load_coco_data(coco_dir[0], max_train=0)


def test_vocabulary_file_malformed(coco_dir):
    path, _ = coco_dir
    (path / "coco2014_vocab.json").write_text(json.dumps({"idx_to_word": IDX_TO_WORD}))
    with pytest.raises(ValueError, match="coco2014_vocab.json.*'word_to_idx' map"):
        load_coco_data(path)
    (path / "coco2014_vocab.json").write_text("{")
    with pytest.raises(ValueError, match="not valid JSON"):
        load_coco_data(path)
    words = ["<PAD>"] + IDX_TO_WORD[1:]
    (path / "coco2014_vocab.json").write_text(json.dumps({"idx_to_word": words,
                                                          "word_to_idx": {w: i for i, w in enumerate(words)}}))
    with pytest.raises(ValueError, match="no '<NULL>'"):
        load_coco_data(path)


def _write_features(path, name, features):
    with h5py.File(path / name, "w") as f:
        f["features"] = features


@pytest.mark.parametrize("value", [np.inf, np.nan])
def test_non_finite_features_are_refused_naming_file_and_row(coco_dir, value):
    """Issue 13: an inf in row 4 used to be accepted and crash training later, naming no file or row."""
    path, arrays = coco_dir
    features = arrays["train_features_full"].copy()
    features[4, 3] = value
    _write_features(path, "train2014_vgg16_fc7.h5", features)
    with pytest.raises(ValueError, match=r"load_coco_data: the features in '.*train2014_vgg16_fc7\.h5' hold NaN or "
                                         r"infinity in row 4; every image's features must be finite"):
        load_coco_data(path, pca_features=False)
    load_coco_data(path, pca_features=True)               # the other features are fine


def test_a_repeated_word_is_refused(coco_dir):
    """Issue 13: idx_to_word repeating a word (word_to_idx built from it) passed, then failed at the first forward."""
    path, _ = coco_dir
    words = IDX_TO_WORD + ["cat"]
    (path / "coco2014_vocab.json").write_text(json.dumps({"idx_to_word": words,
                                                          "word_to_idx": {w: i for i, w in enumerate(words)}}))
    with pytest.raises(ValueError, match=r"'idx_to_word' holds 'cat' twice \(ids 5 and 9\); each word must have "
                                         "one id"):
        load_coco_data(path)


@pytest.mark.parametrize("token", ["<START>", "<END>"])
def test_the_tokens_sampling_needs_are_required(coco_dir, token):
    """Issue 13: a vocabulary without <START> trained every epoch, then crashed while sampling."""
    path, _ = coco_dir
    words = [("<BEGIN>" if w == "<START>" else "<STOP>" if w == "<END>" else w) if w == token else w
             for w in IDX_TO_WORD]
    (path / "coco2014_vocab.json").write_text(json.dumps({"idx_to_word": words,
                                                          "word_to_idx": {w: i for i, w in enumerate(words)}}))
    with pytest.raises(ValueError, match=f"has no '{token}'"):
        load_coco_data(path)


def test_text_files_in_another_encoding_are_named(coco_dir):
    path, _ = coco_dir
    words = IDX_TO_WORD[:-1] + ["caf\u00e9"]
    (path / "coco2014_vocab.json").write_bytes(json.dumps(
        {"idx_to_word": words, "word_to_idx": {w: i for i, w in enumerate(words)}}, ensure_ascii=False)
        .encode("latin-1"))
    with pytest.raises(ValueError, match=r"coco2014_vocab\.json' is not UTF-8 text"):
        load_coco_data(path)
    (path / "coco2014_vocab.json").write_text(json.dumps({"idx_to_word": IDX_TO_WORD,
                                                          "word_to_idx": {w: i for i, w in enumerate(IDX_TO_WORD)}}))
    (path / "val2014_urls.txt").write_bytes("http://x/caf\u00e9.jpg\n".encode("latin-1") * 3)
    with pytest.raises(ValueError, match=r"val2014_urls\.txt' is not UTF-8 text"):
        load_coco_data(path)


def test_what_load_coco_data_accepts_trains_and_decodes(coco_dir):
    """The promise behind the checks: a model trains on the data and samples from it without error."""
    from minitorch_cap import CaptioningModel
    from minitorch_cap.optim import Adam
    from minitorch_cap.training import Trainer

    data = load_coco_data(coco_dir[0])
    model = CaptioningModel(data["word_to_idx"], input_dim=8, wordvec_dim=4, hidden_dim=6,
                            rng=np.random.default_rng(0))
    history = Trainer(model, data, Adam(model.named_parameters()), batch_size=4, num_epochs=1, verbose=False,
                      progress=False).train()
    assert history["loss_history"] and np.all(np.isfinite(history["loss_history"]))
    captions = decode_captions(model.sample(data["val_features"], max_length=5), data["idx_to_word"])
    assert len(captions) == len(data["val_features"])
    assert all(word in data["word_to_idx"] for caption in captions for word in caption.split())


def test_caption_text_drops_the_start_and_end_markers_but_keeps_unk():
    from minitorch_cap.data import caption_text

    idx_to_word = ["<NULL>", "<START>", "<END>", "<UNK>", "a", "cat"]
    rows = np.array([[1, 4, 3, 5, 2, 0], [4, 5, 2, 4, 4, 0]])
    assert caption_text(rows, idx_to_word) == ["a <UNK> cat", "a cat"]


def test_without_base_dir_the_courses_places_are_searched(tmp_path, monkeypatch):
    """One search (COCO_DIRS) for the library's loader and the course's: the course's folder, the ECNU copies'
    (daseCV), then datasets/coco_captioning."""
    from minitorch_cap.data.coco import COCO_DIRS, find_coco_dir

    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"no coco2014_captions\.h5 in .*Or pass base_dir="):
        load_coco_data()
    written = {}
    for place in reversed(COCO_DIRS):          # the earlier places shadow the later ones
        (tmp_path / place).mkdir(parents=True)
        written[place] = write_coco_dir(tmp_path / place, seed=len(written))
        assert find_coco_dir() == place
        np.testing.assert_array_equal(load_coco_data()["train_features"], written[place]["train_features_pca"])
    assert COCO_DIRS[:2] == ("cs231n/datasets/coco_captioning", "daseCV/datasets/coco_captioning")
