"""Fixtures of the data tests: a tiny COCO-format directory (``write_coco_dir``, tests/conftest.py)."""

import pytest

from tests.conftest import write_coco_dir


@pytest.fixture
def coco_dir(tmp_path):
    arrays = write_coco_dir(tmp_path)
    return tmp_path, arrays
