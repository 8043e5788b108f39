"""cs231n.coco_utils: the course's data directory, numpy's global random state, captions with <START>/<END>."""

import numpy as np
import pytest

from minitorch_cap.cs231n.coco_utils import decode_captions, load_coco_data, sample_coco_minibatch
from tests.conftest import write_coco_dir

from .conftest import IDX_TO_WORD


def test_finds_the_courses_directory(course_coco, capsys):
    base, arrays = course_coco
    data = load_coco_data(pca_features=True)
    assert capsys.readouterr().out.startswith("base dir  cs231n")
    np.testing.assert_array_equal(data["train_captions"], arrays["train_captions"])
    assert data["train_features"].shape == (6, 8)
    assert list(data["train_urls"]) == arrays["train_urls"]
    assert load_coco_data(pca_features=False)["val_features"].shape == (3, 16)


def test_finds_the_librarys_directory_and_says_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(FileNotFoundError, match=r"no coco2014_captions.h5 in .*cs231n/datasets/coco_captioning'?, "
                                                r".*daseCV/datasets/coco_captioning'?, .*input/datasets/coco_captioning'?, "
                                                r".*datasets/coco_captioning.*get_datasets.sh"):
        load_coco_data()
    (tmp_path / "datasets" / "coco_captioning").mkdir(parents=True)
    arrays = write_coco_dir(tmp_path / "datasets" / "coco_captioning")
    np.testing.assert_array_equal(load_coco_data()["val_captions"], arrays["val_captions"])


@pytest.mark.parametrize("place", ["daseCV/datasets/coco_captioning", "input/datasets/coco_captioning"])
def test_finds_the_ecnu_copies_directory(tmp_path, monkeypatch, capsys, place):
    """Issue 24: the ECNU copies of the course (daseCV) keep COCO in daseCV/datasets/coco_captioning (their
    notebooks read ./input/datasets/coco_captioning); load_coco_data() did not look there."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / place).mkdir(parents=True)
    arrays = write_coco_dir(tmp_path / place)
    np.testing.assert_array_equal(load_coco_data()["train_captions"], arrays["train_captions"])
    assert capsys.readouterr().out == f"base dir  {place}\n"


def test_the_librarys_validation_applies(course_coco):
    base, _ = course_coco
    (base / "val2014_urls.txt").write_text("only-one\n")
    with pytest.raises(ValueError, match="has 1 URLs but the val features have 3 rows"):
        load_coco_data()


def test_max_train_and_minibatches_use_the_global_random_state(course_coco):
    base, arrays = course_coco
    np.random.seed(231)
    data = load_coco_data(max_train=5)
    np.random.seed(231)
    mask = np.random.randint(12, size=5)
    np.testing.assert_array_equal(data["train_captions"], arrays["train_captions"][mask])
    state = np.random.get_state()
    captions, features, urls = sample_coco_minibatch(data, batch_size=3, split="val")
    np.random.set_state(state)
    mask = np.random.choice(6, 3)
    np.testing.assert_array_equal(captions, data["val_captions"][mask])
    np.testing.assert_array_equal(features, data["val_features"][data["val_image_idxs"][mask]])
    assert list(urls) == [arrays["val_urls"][i] for i in data["val_image_idxs"][mask]]


def test_decode_captions_keeps_start_and_end():
    captions = np.array([[1, 4, 5, 2, 0, 0], [1, 6, 2, 7, 8, 0]])
    assert decode_captions(captions, IDX_TO_WORD) == ["<START> a cat <END>", "<START> dog <END>"]
    assert decode_captions(captions[0], IDX_TO_WORD) == "<START> a cat <END>"
