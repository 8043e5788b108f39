"""Helpers of the tests of examples/: run a notebook walk-through as a user would."""

import re
import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def check_walkthrough(script, expected_loss, overfit_bound, out):
    """Run ``examples/<script> --out out`` offline; check its five steps, the course's loss, the overfit, pictures."""
    result = subprocess.run([sys.executable, str(EXAMPLES / script), "--out", str(out)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    text = result.stdout
    for step in ("== 1.", "== 2.", "== 3.", "== 4.", "== 5."):
        assert step in text
    loss = float(re.search(r"loss (\d+\.\d+)\s+expected", text).group(1))
    assert abs(loss - expected_loss) < 1e-9
    final = float(re.search(r"final loss (\d+\.\d+)", text).group(1))
    assert final < overfit_bound
    assert text.count("generated:") == 6
    assert any(p.suffix == ".png" for p in Path(out).iterdir())
