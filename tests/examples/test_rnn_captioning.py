"""examples/rnn_captioning.py: the notebook walk-through runs offline and shows what it promises."""

from .conftest import check_walkthrough
from tests.course_values import MODEL_LOSS


def test_notebook_walkthrough_runs(tmp_path):
    check_walkthrough("rnn_captioning.py", expected_loss=MODEL_LOSS["rnn"][1], overfit_bound=3.0, out=tmp_path)
