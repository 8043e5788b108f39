"""CIDEr-D: hand-checked TF-IDF cosine, clipping, length penalty, document frequencies."""

import math

import pytest

from minitorch_cap.metrics import DocumentFrequency, cider_d, document_frequencies


def tok(rs):
    return [r.split() for r in rs]


FLAT = DocumentFrequency({}, 100)   # every n-gram has df <= 1: the same idf log(100) for all


def test_identical_caption_scores_ten():
    score, per_image = cider_d([["a", "red", "square", "on", "black"]], [tok(["a red square on black"])],
                               document_frequency=FLAT)
    assert score == pytest.approx(10.0, abs=1e-9) and per_image == [score]
    # two words have no 3- or 4-grams: the mean over n = 1..4 is (1 + 1 + 0 + 0) / 4
    assert cider_d([["a", "b"]], [tok(["a b"])], document_frequency=FLAT)[0] == pytest.approx(5.0, abs=1e-9)


def test_clipping():
    # unigrams: h = {a: 2}, r = {a: 1, b: 1}: min(2, 1) * 1 / (2 * sqrt 2); no shared bigram, no 3/4-grams.
    score, _ = cider_d([["a", "a"]], [tok(["a b"])], document_frequency=FLAT)
    assert score == pytest.approx(10 * (1 / (2 * math.sqrt(2))) / 4, abs=1e-9)


def test_gaussian_length_penalty_on_bigram_counts():
    # unigrams only: cos = 2 / (sqrt 2 * 2); the lengths differ by 2 bigrams (1 vs 3), sigma = 6.
    score, _ = cider_d([["a", "b"]], [tok(["a b c d"])], document_frequency=FLAT, n=1)
    assert score == pytest.approx(10 * (2 / (math.sqrt(2) * 2)) * math.exp(-4 / 72), abs=1e-9)


def test_mean_over_references_and_images():
    one, _ = cider_d([["a", "b"]], [tok(["a b"])], document_frequency=FLAT)
    two, _ = cider_d([["a", "b"]], [tok(["a b", "x y"])], document_frequency=FLAT)
    assert two == pytest.approx(one / 2, abs=1e-9)
    both, per_image = cider_d([["a", "b"], ["x", "y"]], [tok(["a b"]), tok(["c d"])], document_frequency=FLAT)
    assert per_image == pytest.approx([5.0, 0.0]) and both == pytest.approx(2.5)


def test_document_frequencies_count_images_not_captions():
    df = document_frequencies([tok(["a b", "a c"]), tok(["a b"])])
    assert df.num_images == 2
    assert df.counts[("a",)] == 2 and df.counts[("a", "b")] == 2 and df.counts[("c",)] == 1


def test_one_image_scores_zero_unless_frequencies_are_supplied():
    hyp, refs = [["a", "dog", "runs"]], [tok(["a dog runs", "a dog is running"])]
    assert cider_d(hyp, refs)[0] == 0.0
    train = document_frequencies([tok(["a cat"]), tok(["a dog sits"]), tok(["a bird"]), tok(["the sea"])])
    assert cider_d(hyp, refs, document_frequency=train)[0] > 1.0


def test_empty_hypothesis_scores_zero():
    assert cider_d([[]], [tok(["a b"])], document_frequency=FLAT)[0] == 0.0


def test_empty_frequency_corpus_is_refused():
    with pytest.raises(ValueError, match="empty corpus"):
        cider_d([["a"]], [tok(["a"])], document_frequency=DocumentFrequency({}, 0))
