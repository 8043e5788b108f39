"""examples/own_data.py: the README's own-data block, runnable."""

import subprocess
import sys

from .conftest import EXAMPLES


def test_own_data_example_imports_trains_and_samples(tmp_path):
    """Import, train with no --no-pca, sample with no data option (the run records its data)."""
    result = subprocess.run([sys.executable, str(EXAMPLES / "own_data.py"), "--out", str(tmp_path)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "imported: " in result.stdout and "<UNK> rate on val 0.000" in result.stdout
    assert result.stdout.count("image ") == 3
    assert (tmp_path / "run" / "checkpoint.h5").is_file() and (tmp_path / "run" / "sample" / "captions.html").is_file()
