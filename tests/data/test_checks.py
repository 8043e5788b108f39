"""The caption rule (minitorch_cap/data/checks.py): captions a model can learn from, wherever they enter."""

import h5py
import numpy as np
import pytest

from minitorch_cap import CaptioningModel, Trainer
from minitorch_cap.data import load_coco_data
from minitorch_cap.data.checks import check_captions, check_training_data
from minitorch_cap.optim import SGD

from ..conftest import make_caption_data, write_coco_dir

GOOD = np.array([[1, 5, 6, 2, 0], [1, 7, 2, 0, 0]])


def test_good_captions_pass():
    check_captions("owner", "captions", GOOD, null_id=0, start_id=1)
    check_captions("owner", "captions", GOOD[:0], null_id=0, start_id=1)       # an empty split
    check_captions("owner", "captions", np.array([[4, 5, 0]]), null_id=0, start_id=None)   # no <START> in the vocabulary


@pytest.mark.parametrize("bad_row, why", [
    ([0, 0, 0, 0, 0], "do not begin with <START>"),                   # all <NULL>
    ([5, 6, 2, 0, 0], "do not begin with <START>"),                   # encoded without <START>
    ([0, 0, 1, 5, 2], "do not begin with <START>"),                   # left-padded
    ([1, 0, 0, 0, 0], r"hold no word after their first column, only <NULL>"),
])
def test_captions_a_model_cannot_learn_from_are_named(bad_row, why):
    captions = np.vstack([GOOD, [bad_row], [bad_row]])
    with pytest.raises(ValueError, match=rf"^owner: 2 of the 4 rows of train_captions {why}.*the first is row 2: "
                                         rf"\[{', '.join(map(str, bad_row))}\]"):
        check_captions("owner", "train_captions", captions, null_id=0, start_id=1)


@pytest.mark.parametrize("split", ["train", "val"])
@pytest.mark.parametrize("how", ["all_null", "no_start"])
def test_the_trainer_refuses_them_before_any_step(split, how, tmp_path):
    """Issue 24: training captions all <NULL>, or without <START>, trained to "done" (a zero or meaningless loss)."""
    data = make_caption_data()
    captions = data[f"{split}_captions"].copy()
    if how == "all_null":
        captions[:] = 0
    else:
        captions = np.roll(captions, -1, axis=1)          # the words moved left: no <START> in front
    data[f"{split}_captions"] = captions
    model = CaptioningModel(data["word_to_idx"], input_dim=12, wordvec_dim=4, hidden_dim=8)
    with pytest.raises(ValueError, match=rf"^Trainer: \d+ of the \d+ rows of {split}_captions do not begin with <START>"):
        Trainer(model, data, SGD(model.named_parameters(), lr=0.1), out_dir=str(tmp_path / "run"))
    assert not (tmp_path / "run").exists()
    with pytest.raises(ValueError, match=rf"^check: .* rows of {split}_captions"):
        check_training_data(data, model, "check")


def test_a_vocabulary_without_start_needs_no_start_but_targets():
    w2i = {"<NULL>": 0, "cat": 1, "dog": 2}
    model = CaptioningModel(w2i, input_dim=3, wordvec_dim=2, hidden_dim=2)
    data = {"word_to_idx": w2i, "train_captions": np.array([[1, 2, 0]]), "train_image_idxs": np.array([0]),
            "train_features": np.zeros((1, 3), dtype=np.float32)}
    assert check_training_data(data, model) == (1, 0)
    data["train_captions"] = np.array([[1, 0, 0]])
    with pytest.raises(ValueError, match="hold no word after their first column"):
        check_training_data(data, model)


def test_load_coco_data_applies_the_same_rule(tmp_path):
    write_coco_dir(tmp_path)
    assert load_coco_data(tmp_path)["train_captions"].shape[0] > 0
    with h5py.File(tmp_path / "coco2014_captions.h5", "r+") as f:
        captions = f["val_captions"][()]
        captions[3, 0] = 0                                     # one caption without its <START>
        f["val_captions"][...] = captions
    with pytest.raises(ValueError, match=r"^load_coco_data: 1 of the 6 rows of val_captions in '.*coco2014_captions\.h5' "
                                         r"do not begin with <START> \(id 1\).*row 3"):
        load_coco_data(tmp_path)


def test_a_missing_data_key_is_a_user_error_and_a_key_error():
    """Data without a split's keys: one UserError (the family a caller catches for bad input) that
    is also the KeyError it used to be, its message as written."""
    from minitorch_cap import UserError, evaluate
    from tests.conftest import make_setup

    data = make_caption_data()
    model, optimizer, _ = make_setup(data)
    broken = {k: v for k, v in data.items() if k != "train_captions"}
    for call in (lambda: Trainer(model, broken, optimizer), lambda: evaluate(model, data, "test")):
        with pytest.raises(UserError) as caught:
            call()
        assert isinstance(caught.value, KeyError) and isinstance(caught.value, ValueError)
        assert not str(caught.value).startswith(("'", '"'))
