import numpy as np
import pytest

from minitorch_cap import CaptioningModel, summary
from minitorch_cap.summary import summary_rows


def test_table_lists_every_parameter_and_totals():
    model = CaptioningModel({"<NULL>": 0, "<START>": 1, "<END>": 2, "x": 3}, input_dim=10, wordvec_dim=6,
                            hidden_dim=5, cell_type="lstm")
    text = summary(model)
    lines = text.splitlines()
    assert lines[0] == "CaptioningModel: 343 parameters, 1.3 KiB"
    assert lines[1].split() == ["name", "shape", "dtype", "count", "bytes"]
    assert lines[3].split() == ["proj.W", "10x5", "float32", "50", "200", "B"]
    assert lines[6].split()[:4] == ["rnn.Wx", "6x20", "float32", "120"]
    assert lines[-1].split() == ["total", "(8", "parameters)", "343", "1.3", "KiB"]
    rows = summary_rows(model)
    assert sum(r[3] for r in rows) == model.num_parameters() == 343
    assert sum(r[4] for r in rows) == 343 * 4


def test_repr_and_summary_come_from_named_parameters():
    model = CaptioningModel({"<NULL>": 0}, input_dim=3, wordvec_dim=2, hidden_dim=2, dtype=np.float64)
    assert [r[0] for r in summary_rows(model)] == [n for n, _ in model.named_parameters()]
    assert "float64" in summary(model)


def test_bad_arguments_are_named():
    from minitorch_cap.nn import Affine

    with pytest.raises(TypeError, match="summary: expected a minitorch_cap Module .* got int"):
        summary(3)
    with pytest.raises(ValueError, match="summary: tablefmt must be one of tabulate's formats"):
        summary(Affine(2, 3), tablefmt="nonsense")
