"""Evaluation: all references per image, special tokens removed, free-running decoding, Trainer metric."""

import numpy as np
import pytest

from minitorch_cap.evaluation.scoring import SCORE_NAMES, evaluate, image_ids, make_metric, split_references
from minitorch_cap.metrics import DocumentFrequency, score_captions

WORDS = ["<NULL>", "<START>", "<END>", "<UNK>", "a", "red", "blue", "square", "circle", "big"]
W = {w: i for i, w in enumerate(WORDS)}


def enc(text, T=8):
    ids = [W["<START>"]] + [W[w] for w in text.split()] + [W["<END>"]]
    return ids + [W["<NULL>"]] * (T - len(ids))


def toy_data():
    """Two val images (rows 0, 1), references interleaved; image 1 has a <UNK> in one reference."""
    val = [(1, "a blue circle"), (0, "a red square"), (1, "a big blue circle"), (0, "a red big square"),
           (1, "a <UNK> circle"), (0, "red square")]
    train = [(0, "a red square"), (1, "a blue square"), (2, "a red circle")]
    return {
        "idx_to_word": WORDS, "word_to_idx": W,
        "val_captions": np.array([enc(t) for _, t in val], dtype=np.int32),
        "val_image_idxs": np.array([i for i, _ in val], dtype=np.int32),
        "val_features": np.arange(4.0).reshape(2, 2).astype(np.float32),
        "val_urls": np.array(["http://x/COCO_val2014_000000391895.jpg", "http://x/COCO_val2014_000000000042.jpg"]),
        "train_captions": np.array([enc(t) for _, t in train], dtype=np.int32),
        "train_image_idxs": np.array([i for i, _ in train], dtype=np.int32),
        "train_features": np.zeros((3, 2), dtype=np.float32),
    }


class FixedCaptioner:
    """Says the given captions (word-id rows); refuses any teacher-forced call."""

    def __init__(self, rows, L=6):
        self.rows = [r + [W["<NULL>"]] * (L - len(r)) for r in rows]

    def sample(self, features, max_length=30):
        first = int(features[0, 0]) // 2
        return np.array(self.rows[first:first + len(features)])[:, :max_length]

    def forward(self, *args):
        raise AssertionError("evaluation must never teacher-force")

    loss = forward


HYPS = [[W["a"], W["red"], W["square"], W["<END>"]], [W["blue"], W["circle"], W["<END>"], W["red"]]]


def test_references_are_grouped_per_image_without_special_tokens():
    images, refs = split_references(toy_data(), "val")
    np.testing.assert_array_equal(images, [0, 1])
    assert refs[0] == [["a", "red", "square"], ["a", "red", "big", "square"], ["red", "square"]]
    assert refs[1] == [["a", "blue", "circle"], ["a", "big", "blue", "circle"], ["a", "circle"]]
    images, refs = split_references(toy_data(), "val", max_images=1)
    assert list(images) == [0] and len(refs) == 1


def test_evaluate_scores_what_score_captions_scores():
    data = toy_data()
    result = evaluate(FixedCaptioner(HYPS), data)
    assert result.hypotheses == ["a red square", "blue circle"]   # stops at <END>
    expected = score_captions(["a red square", "blue circle"],
                              [["a red square", "a red big square", "red square"],
                               ["a blue circle", "a big blue circle", "a circle"]])
    assert result.metrics == pytest.approx(expected, abs=1e-12)
    assert result.references[1] == ["a blue circle", "a big blue circle", "a circle"]
    assert result.diagnostics == {"distinct_captions": 1.0, "vocabulary_used": 5.0, "mean_length": 2.5,
                                  "repetition_rate": 0.0}
    assert result.results() == [{"image_id": 391895, "caption": "a red square"},
                                {"image_id": 42, "caption": "blue circle"}]
    assert result.settings["scale"] == "coco-caption" and result.decode_seconds >= 0
    percent = evaluate(FixedCaptioner(HYPS), data, percent=True)
    assert percent.metrics["BLEU-1"] == pytest.approx(100 * result.metrics["BLEU-1"])


def test_evaluate_tokenises_its_words_as_score_captions_does():
    """One path (evaluate scored the vocabulary's words as they are, score_captions lower-cases them and drops
    punctuation, as the README promises for evaluate): with a vocabulary of one's own holding capitals and
    punctuation, evaluate's scores are score_captions' of the captions it records, CIDEr-D's training
    frequencies counted on the same tokens."""
    from minitorch_cap.metrics import document_frequencies, tokenize

    data = toy_data()
    data["idx_to_word"] = [{"red": "Red", "big": "."}.get(w, w) for w in WORDS]
    data["word_to_idx"] = {w: i for i, w in enumerate(data["idx_to_word"])}
    result = evaluate(FixedCaptioner(HYPS), data)
    assert result.hypotheses == ["a Red square", "blue circle"] and result.references[0][1] == "a Red . square"
    assert result.metrics == score_captions(result.hypotheses, result.references)
    train = document_frequencies([[tokenize(t)] for t in ("a red square", "a blue square", "a red circle")])
    assert evaluate(FixedCaptioner(HYPS), data, cider_df="train").metrics == \
        score_captions(result.hypotheses, result.references, document_frequency=train)


def test_image_ids_fall_back_on_rows():
    data = toy_data()
    data["val_urls"] = np.array(["shapes-val-a.png", "shapes-val-b.png"])
    assert image_ids(data, "val", [0, 1]) == [0, 1]
    del data["val_urls"]
    assert image_ids(data, "val", [1]) == [1]


def test_cider_document_frequencies_from_training_references():
    data = toy_data()
    one = evaluate(FixedCaptioner(HYPS), data, max_images=1)
    assert one.metrics["CIDEr-D"] == 0.0                       # log(1 image) = 0: every n-gram is "common"
    trained = evaluate(FixedCaptioner(HYPS), data, max_images=1, cider_df="train")
    assert trained.metrics["CIDEr-D"] > 0
    given = evaluate(FixedCaptioner(HYPS), data, max_images=1, cider_df=DocumentFrequency({}, 10))
    assert given.metrics["CIDEr-D"] > 0
    with pytest.raises(ValueError, match="cider_df"):
        evaluate(FixedCaptioner(HYPS), data, cider_df="val")


def test_make_metric_for_the_trainer():
    data = toy_data()
    metric = make_metric("CIDEr-D")
    assert metric(FixedCaptioner(HYPS), data) == evaluate(FixedCaptioner(HYPS), data).metrics["CIDEr-D"]
    assert make_metric("mean_length")(FixedCaptioner(HYPS), data) == 2.5
    assert metric.__name__ == "CIDEr-D@val"
    with pytest.raises(ValueError, match="caption_accuracy"):
        make_metric("caption_accuracy")(FixedCaptioner(HYPS), data)
    with pytest.raises(ValueError, match="unknown score"):
        make_metric("BLEU")
    assert "caption_accuracy" in SCORE_NAMES


def test_missing_keys_are_named():
    data = toy_data()
    del data["val_image_idxs"]
    with pytest.raises(KeyError, match="val_image_idxs"):
        evaluate(FixedCaptioner(HYPS), data)


@pytest.fixture(scope="module")
def shapes_data():
    """A small shapes data set (40 training, 12 validation images), generated once for this file."""
    from minitorch_cap.data.shapes import load_shapes_data

    return load_shapes_data(seed=0, num_train=40, num_val=12)


def test_a_real_model_greedy_and_beam_on_the_shapes_data(shapes_data):
    from minitorch_cap import CaptioningModel

    data = shapes_data
    model = CaptioningModel(data["word_to_idx"], input_dim=data["val_features"].shape[1], wordvec_dim=8,
                            hidden_dim=16, cell_type="gru", rng=np.random.default_rng(0))
    greedy = evaluate(model, data, max_length=8)
    beam = evaluate(model, data, beam_size=3, max_length=8)
    assert len(greedy.hypotheses) == 12 == len(beam.references)
    assert set(greedy.scores()) == set(SCORE_NAMES) == set(beam.scores())
    assert 0.0 <= greedy.diagnostics["caption_accuracy"] <= 1.0
    assert all(len(refs) == 5 for refs in greedy.references)


def test_make_metric_plugs_into_the_trainer_for_keep_best(shapes_data, tmp_path):
    from minitorch_cap import CaptioningModel
    from minitorch_cap.optim import Adam
    from minitorch_cap.training import Trainer

    data = shapes_data
    model = CaptioningModel(data["word_to_idx"], input_dim=data["val_features"].shape[1], wordvec_dim=8,
                            hidden_dim=16, cell_type="lstm", rng=np.random.default_rng(0))
    trainer = Trainer(model, data, Adam(model.named_parameters(), lr=1e-2), batch_size=50, num_epochs=2,
                      verbose=False, seed=0, metrics={"CIDEr-D": make_metric("CIDEr-D", max_length=8)},
                      monitor="CIDEr-D", mode="max", out_dir=tmp_path, progress=False)
    trainer.train()
    assert (tmp_path / "best.h5").exists()


def test_a_model_of_another_vocabulary_is_refused():
    from minitorch_cap import CaptioningModel

    data = toy_data()
    model = CaptioningModel({**W, "green": len(W)}, input_dim=2, wordvec_dim=4, hidden_dim=4)
    with pytest.raises(ValueError, match=r"evaluate: the model's vocabulary .* e\.g\. in \['green'\]"):
        evaluate(model, data, "val")
