"""Shared test helpers: fixed seeds and the optional oracles (PyTorch, pycocoevalcap)."""

import importlib
import os

import pytest
from threadpoolctl import threadpool_limits

# The suite's matrices are small: one BLAS thread is as fast on an idle machine and 5-20x faster
# on a shared one, where several BLAS threads spin against the other processes.
threadpool_limits(limits=1, user_api="blas")


def require_oracle(name: str):
    """Import an optional test oracle; skip when absent, but fail in CI, which installs it.

    ``.ci/run`` sets MINITORCH_CAP_REQUIRE_ORACLES=1 so that a check against PyTorch or
    pycocoevalcap can never pass there by being skipped.
    """
    try:
        return importlib.import_module(name)
    except ImportError:
        if os.environ.get("MINITORCH_CAP_REQUIRE_ORACLES"):
            raise
        pytest.skip(f"{name} is not installed (CI installs it)")
