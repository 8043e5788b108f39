"""The tests mirror the package: ``tests/X/test_Y.py`` tests ``minitorch_cap/X/Y.py`` (issue 12, item 5).

A test file may add an aspect after the module's name (``tests/training/test_trainer_resume.py``
tests ``minitorch_cap/training/trainer.py``); ``test_init.py`` tests a package's ``__init__.py``.
``tests/examples/`` and ``tests/benchmarks/`` mirror the top-level folders ``examples/`` and
``benchmarks/`` the same way. The few files that test something other than one module are
listed below with their reason.
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TESTS = ROOT / "tests"

#: Test files that mirror no single module, and why.
NOT_ONE_MODULE = {
    "test_layout.py": "this file: the layout of tests/ itself",
    "test_readme.py": "README.md's promises (its commands and code)",
    "cs231n/test_notebook.py": "a course notebook run cell by cell through the whole cs231n package",
    "metrics/test_oracle.py": "bleu.py, cider.py and rouge.py together against pycocoevalcap",
    "metrics/test_score_captions.py": "score_captions, defined in metrics/__init__.py",
    "nn/test_contract.py": "the module contract, run on every Module exported by minitorch_cap.nn",
}


def mirrored_stems(test_file: Path) -> tuple[Path, set[str]]:
    """The source folder a test file mirrors and the module names there (``init`` for ``__init__``)."""
    rel = test_file.parent.relative_to(TESTS)
    top = rel.parts[0] if rel.parts else None
    source = ROOT / rel if top in ("examples", "benchmarks") else ROOT / "minitorch_cap" / rel
    return source, {p.stem.strip("_") for p in source.glob("*.py")}


def test_every_test_file_mirrors_a_module():
    strays = []
    for path in sorted(TESTS.rglob("test_*.py")):
        rel = path.relative_to(TESTS).as_posix()
        if rel in NOT_ONE_MODULE:
            continue
        source, stems = mirrored_stems(path)
        name = path.stem[len("test_"):]
        if not any(name == s or name.startswith(s + "_") for s in stems):
            strays.append(f"tests/{rel} (no module {source.relative_to(ROOT)}/{name.split('_')[0]}*.py)")
    assert not strays, "test files that mirror no module: " + ", ".join(strays)


def test_the_exceptions_exist():
    missing = [rel for rel in NOT_ONE_MODULE if not (TESTS / rel).is_file()]
    assert not missing, missing
