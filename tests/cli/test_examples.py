"""The notebook walk-throughs in examples/ run offline and show what they promise."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.parametrize("script, expected_loss, overfit_bound", [
    ("rnn_captioning.py", 9.83235591003, 3.0),
    ("lstm_captioning.py", 9.82445935443, 0.5),
])
def test_notebook_walkthrough_runs(script, expected_loss, overfit_bound, tmp_path):
    result = subprocess.run([sys.executable, str(EXAMPLES / script), "--out", str(tmp_path)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for step in ("== 1.", "== 2.", "== 3.", "== 4.", "== 5."):
        assert step in out
    loss = float(re.search(r"loss (\d+\.\d+)\s+expected", out).group(1))
    assert abs(loss - expected_loss) < 1e-9
    final = float(re.search(r"final loss (\d+\.\d+)", out).group(1))
    assert final < overfit_bound
    assert out.count("generated:") == 6
    assert any(p.suffix == ".png" for p in tmp_path.iterdir())


def test_own_data_example_imports_trains_and_samples(tmp_path):
    """The README's own-data block, runnable: import, train with no --no-pca, sample with no data option."""
    result = subprocess.run([sys.executable, str(EXAMPLES / "own_data.py"), "--out", str(tmp_path)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "imported: " in result.stdout and "<UNK> rate on val 0.000" in result.stdout
    assert result.stdout.count("image ") == 3
    assert (tmp_path / "run" / "checkpoint.h5").is_file() and (tmp_path / "run" / "sample" / "captions.html").is_file()
