"""The README's promises: CI runs exactly its test command, and its code runs as printed."""

import re
from pathlib import Path

import matplotlib

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
TEST_COMMAND = "pip install -e '.[test]' && pytest"
MAIN_JOB_COMMAND = "pip install -e . && minitorch-cap train"


def _quick_start() -> str:
    return README.split("## Quick start", 1)[1].split("\n## ", 1)[0]


def test_quick_start_has_exactly_the_two_commands():
    blocks = re.findall(r"```bash\n(.*?)```", _quick_start(), flags=re.S)
    assert [b.strip() for b in blocks] == [MAIN_JOB_COMMAND, TEST_COMMAND]


def test_ci_runs_the_readme_test_command():
    ci = (ROOT / ".ci" / "run").read_text()
    assert f"\n{TEST_COMMAND}\n" in README
    assert f"\n{TEST_COMMAND}\n" in ci


def test_python_examples_run(tmp_path, monkeypatch, capsys):
    """Every ```python block of the README runs, in order, in one namespace."""
    matplotlib.use("Agg")
    monkeypatch.chdir(tmp_path)
    blocks = re.findall(r"```python\n(.*?)```", README, flags=re.S)
    assert blocks, "the README has no Python example"
    namespace: dict = {"__name__": "readme"}
    for i, block in enumerate(blocks):
        exec(compile(block, f"README.md python block {i}", "exec"), namespace)
