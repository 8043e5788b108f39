"""Vocabulary: special ids, building from training text, encoding, <UNK> report, JSON round trip."""

import json

import numpy as np
import pytest

from minitorch_cap.data import Vocabulary, decode_captions, tokenize
from minitorch_cap.metrics import tokenize as metrics_tokenize

TRAIN = ["A dog runs.", "The dog, and a CAT!", "a cat sleeps", "A bird"]


def test_tokenize_is_the_metrics_rule():
    assert tokenize is metrics_tokenize
    assert tokenize("A Dog, running! (fast) it's") == ["a", "dog", "running", "fast", "it", "'s"]
    assert tokenize("<START> a dog <END>") == ["a", "dog"]
    with pytest.raises(TypeError):
        tokenize(3)


def test_decoded_captions_tokenise_back_to_the_same_words():
    """What the vocabulary encodes, decoded to text, is what the metrics see: no 'it s' vs "it 's"."""
    texts = ["A man's T-shirt, isn't it?", "Two dogs; 3.5 metres apart."]
    vocab = Vocabulary.build(texts)
    for text in texts:
        assert tokenize(vocab.decode(vocab.encode(text, max_length=20))) == tokenize(text)


def test_build_special_ids_min_count_and_order():
    v = Vocabulary.build(TRAIN, min_count=2)
    assert v.idx_to_word == ["<NULL>", "<START>", "<END>", "<UNK>", "a", "cat", "dog"]
    assert (v.null_id, v.start_id, v.end_id, v.unk_id) == (0, 1, 2, 3)
    assert all(v.word_to_idx[w] == i for i, w in enumerate(v.idx_to_word))
    assert len(Vocabulary.build(TRAIN)) == 4 + 8
    assert len(Vocabulary.build(TRAIN, max_size=6)) == 6
    with pytest.raises(ValueError, match="min_count"):
        Vocabulary.build(TRAIN, min_count=0)


def test_encode_layout_unknown_words_and_truncation():
    v = Vocabulary.build(TRAIN, min_count=2)
    row = v.encode("A dog chases a cat", max_length=10)
    assert row.dtype == np.int32 and row.shape == (10,)
    assert decode_captions(row, v.idx_to_word) == "<START> a dog <UNK> a cat <END>"
    long = v.encode("a " * 30, max_length=6)
    assert list(long) == [1, 4, 4, 4, 4, 2]
    batch = v.encode_batch(["a dog", "cat"], max_length=5)
    np.testing.assert_array_equal(batch, [[1, 4, 6, 2, 0], [1, 5, 2, 0, 0]])
    assert v.decode(batch) == ["<START> a dog <END>", "<START> cat <END>"]
    with pytest.raises(ValueError, match="max_length"):
        v.encode("a", max_length=2)


def test_unk_report_on_val_text():
    v = Vocabulary.build(TRAIN, min_count=2)
    r = v.report(["a dog flies", "a zebra"], max_length=17)
    assert r == {"captions": 2, "tokens": 5, "unk_tokens": 2, "unk_rate": 0.4, "truncated": 0, "empty": 0,
                 "vocab_size": 7}
    assert v.report(["!!!", "a"])["empty"] == 1
    assert v.report(["a a a a"], max_length=4)["truncated"] == 1


def test_json_round_trip_and_course_layout(tmp_path):
    v = Vocabulary.build(TRAIN)
    path = tmp_path / "vocab.json"
    v.save(path)
    payload = json.loads(path.read_text())
    assert payload["idx_to_word"] == v.idx_to_word and payload["word_to_idx"] == v.word_to_idx
    assert Vocabulary.load(path) == v
    assert Vocabulary.from_word_to_idx(v.word_to_idx) == v


def test_save_is_atomic(tmp_path, monkeypatch):
    import errno
    import os

    from minitorch_cap.data.files import WriteError

    path = tmp_path / "vocab.json"
    Vocabulary.build(TRAIN).save(path)
    before = path.read_bytes()

    def full(fd, chunk):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "write", full)
    with pytest.raises(WriteError, match=r"cannot write vocab\.json in .*no space left.*the previous vocab\.json is intact"):
        Vocabulary.build(["a b c d e"]).save(path)
    monkeypatch.undo()
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["vocab.json"]


def test_bad_vocabularies(tmp_path):
    with pytest.raises(ValueError, match="first four"):
        Vocabulary(["<START>", "<NULL>", "<END>", "<UNK>"])
    with pytest.raises(ValueError, match="twice"):
        Vocabulary(["<NULL>", "<START>", "<END>", "<UNK>", "a", "a"])
    with pytest.raises(ValueError, match="0..V-1"):
        Vocabulary.from_word_to_idx({"<NULL>": 0, "<START>": 1, "<END>": 2, "<UNK>": 3, "a": 5})
    with pytest.raises(FileNotFoundError, match="nope.json"):
        Vocabulary.load(tmp_path / "nope.json")
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(ValueError, match="not valid JSON"):
        Vocabulary.load(tmp_path / "bad.json")
    (tmp_path / "list.json").write_text("[1, 2]")
    with pytest.raises(ValueError, match="idx_to_word"):
        Vocabulary.load(tmp_path / "list.json")


def test_a_bare_string_is_not_read_letter_by_letter():
    """Review finding: Vocabulary.build("a cat on a mat") made the words a, t, c, m, n, o."""
    with pytest.raises(TypeError, match="expected a list of caption strings, got str"):
        Vocabulary.build("a cat on a mat")
    with pytest.raises(TypeError, match="Vocabulary.report: expected a list"):
        Vocabulary.build(["a cat"]).report("a cat")
