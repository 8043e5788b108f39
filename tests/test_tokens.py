"""The one vocabulary rule (minitorch_cap/tokens.py): every place a vocabulary enters applies it."""

import json

import numpy as np
import pytest

from minitorch_cap import CaptioningModel, CaptioningTransformer, load_model, save_checkpoint
from minitorch_cap.data import Vocabulary, load_coco_data
from minitorch_cap.tokens import SPECIAL_TOKENS, check_word_to_idx

from .conftest import write_coco_dir

BAD_WORDS = [("w\x00x", r"holds a NUL character"), ("\ud800x", r"is not valid Unicode .*lone surrogate")]


def vocabulary(word):
    return {**{w: i for i, w in enumerate(SPECIAL_TOKENS)}, "a": 4, word: 5}


@pytest.mark.parametrize("word, why", BAD_WORDS)
def test_a_word_a_checkpoint_cannot_store_is_refused_where_a_vocabulary_enters(word, why, tmp_path):
    """Issue 24: such a word was accepted by the models and the Trainer, which trained an epoch and then
    failed in save_checkpoint with h5py's raw ValueError."""
    with pytest.raises(ValueError, match=rf"^owner: the word .*{why}"):
        check_word_to_idx("owner", vocabulary(word))
    with pytest.raises(ValueError, match=rf"^CaptioningModel: the word .*{why}.*cannot store"):
        CaptioningModel(vocabulary(word), input_dim=3, wordvec_dim=2, hidden_dim=2)
    with pytest.raises(ValueError, match=rf"the word .*{why}"):
        CaptioningTransformer(vocabulary(word), input_dim=3, wordvec_dim=4, num_heads=1, num_layers=1)
    with pytest.raises(ValueError, match=rf"^Vocabulary: the word .*{why}"):
        Vocabulary(list(vocabulary(word)))


@pytest.mark.parametrize("word, why", BAD_WORDS)
def test_the_coco_loader_refuses_such_a_word_in_the_vocabulary_file(word, why, tmp_path):
    write_coco_dir(tmp_path)
    path = tmp_path / "coco2014_vocab.json"
    payload = json.loads(path.read_text(encoding="utf-8"))
    old = payload["idx_to_word"][5]
    payload["idx_to_word"][5] = word
    payload["word_to_idx"][word] = payload["word_to_idx"].pop(old)
    path.write_text(json.dumps(payload), encoding="utf-8")        # ASCII JSON: "\u0000", "\ud800" escapes
    with pytest.raises(ValueError, match=rf"^load_coco_data: the vocabulary .*coco2014_vocab\.json': the word .*{why}"):
        load_coco_data(tmp_path, pca_features=False)


@pytest.mark.parametrize("word", ["", " a", "x\ny", "caf\u00e9", "\U0001f600", "\ufeff"])
def test_every_word_the_rule_accepts_round_trips_through_a_checkpoint(word, tmp_path):
    model = CaptioningModel(vocabulary(word), input_dim=3, wordvec_dim=2, hidden_dim=2, rng=np.random.default_rng(0))
    save_checkpoint(tmp_path / "m.h5", model)
    assert load_model(tmp_path / "m.h5").word_to_idx == vocabulary(word)
