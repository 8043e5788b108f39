"""score_captions: inputs as sequences or mappings, tokenisation applied, scale, errors."""

import pytest

from minitorch_cap.metrics import METRIC_NAMES, score_captions


def test_sequences_and_mappings_agree_and_strings_are_tokenised():
    hyps = ["A red square.", "a blue circle <END>"]
    refs = [["a red square", "A RED SQUARE!"], ["a blue circle", "<START> a circle <END>"]]
    by_seq = score_captions(hyps, refs)
    by_map = score_captions({"x": hyps[0], "y": hyps[1]}, {"y": refs[1], "x": refs[0]})
    assert list(by_seq) == list(METRIC_NAMES)
    assert by_seq == pytest.approx(by_map)
    assert by_seq["BLEU-1"] == pytest.approx(1.0, abs=1e-8)
    assert score_captions(hyps, refs, percent=True)["ROUGE-L"] == pytest.approx(100 * by_seq["ROUGE-L"])


def test_one_image():
    scores = score_captions(["a dog"], [["a dog", "a brown dog"]])
    assert scores["CIDEr-D"] == 0.0 and scores["ROUGE-L"] > 0.9


@pytest.mark.parametrize("hyps, refs, error, message", [
    (["a"], [["a"], ["b"]], ValueError, "1 hypotheses but 2"),
    ({"x": "a"}, {"y": ["a"]}, ValueError, "same image ids"),
    ({"x": "a"}, [["a"]], TypeError, "both as mappings"),
    (["a"], [[]], ValueError, "non-empty list"),
    (["a"], ["a b"], ValueError, "non-empty list"),
    ([], [], ValueError, "no images"),
])
def test_errors(hyps, refs, error, message):
    with pytest.raises(error, match=message):
        score_captions(hyps, refs)
