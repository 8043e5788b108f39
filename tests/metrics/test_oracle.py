"""Agreement with pycocoevalcap's pure-Python scorers (Bleu, Cider = CIDEr-D, Rouge) to 1e-6."""

import numpy as np
import pytest

from minitorch_cap.metrics import METRIC_NAMES, corpus_bleu, cider_d, rouge_l, score_captions
from tests.conftest import require_oracle

from .captions_fixture import HYPOTHESES, REFERENCES


def oracle_scores(hypotheses, references):
    """pycocoevalcap on {id: [caption]} / {id: [refs]} of space-joined pre-tokenised strings."""
    require_oracle("pycocoevalcap")
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.rouge.rouge import Rouge
    res = {k: [h] for k, h in hypotheses.items()}
    gts = {k: list(r) for k, r in references.items()}
    bleu, bleu_per_image = Bleu(4).compute_score(gts, res, verbose=0)
    cider, cider_per_image = Cider().compute_score(gts, res)
    rouge, rouge_per_image = Rouge().compute_score(gts, res)
    return [*bleu, cider, rouge], (bleu_per_image, cider_per_image, rouge_per_image)


def split(hypotheses, references):
    keys = list(hypotheses)
    return [hypotheses[k].split() for k in keys], [[r.split() for r in references[k]] for k in keys]


CASES = {
    "fixture": (HYPOTHESES, REFERENCES),
    "one image": ({7: HYPOTHESES[101]}, {7: REFERENCES[101]}),
    "one reference each": ({k: h for k, h in HYPOTHESES.items()}, {k: r[:1] for k, r in REFERENCES.items()}),
    "empty hypothesis": ({**HYPOTHESES, 109: ""}, REFERENCES),
    "longer than every reference": ({**HYPOTHESES, 103: " ".join(["a cat sitting on top of a wooden bench"] * 3)},
                                    REFERENCES),
    "hypothesis equals a reference": ({k: r[2] for k, r in REFERENCES.items()}, REFERENCES),
}


@pytest.mark.parametrize("case", list(CASES))
def test_corpus_scores_agree_with_pycocoevalcap(case):
    hypotheses, references = CASES[case]
    expected, _ = oracle_scores(hypotheses, references)
    got = score_captions(hypotheses, references)
    assert list(got) == list(METRIC_NAMES)
    np.testing.assert_allclose([got[n] for n in METRIC_NAMES], expected, rtol=0, atol=1e-6)


def test_per_image_scores_agree_with_pycocoevalcap():
    _, (bleu_expected, cider_expected, rouge_expected) = oracle_scores(HYPOTHESES, REFERENCES)
    hyps, refs = split(HYPOTHESES, REFERENCES)
    _, bleu = corpus_bleu(hyps, refs)
    _, cider = cider_d(hyps, refs)
    _, rouge = rouge_l(hyps, refs)
    np.testing.assert_allclose(bleu, bleu_expected, atol=1e-9)
    np.testing.assert_allclose(cider, cider_expected, atol=1e-9)
    np.testing.assert_allclose(rouge, rouge_expected, atol=1e-12)


def test_the_fixture_is_not_trivial():
    scores = score_captions(HYPOTHESES, REFERENCES)
    assert 0.5 < scores["BLEU-1"] < 0.95 and 0.05 < scores["BLEU-4"] < scores["BLEU-1"]
    assert 0.3 < scores["CIDEr-D"] < 3.0 and 0.3 < scores["ROUGE-L"] < 0.9
