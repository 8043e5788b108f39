"""Helpers shared by the commands: option types."""

import argparse

import numpy as np
import pytest

from minitorch_cap.cli.common import non_negative_int, positive_float, unit_float


@pytest.mark.parametrize("parse, text", [(non_negative_int, "-1"), (non_negative_int, "x"), (positive_float, "0"),
                                         (positive_float, "inf"), (unit_float, "1.01"), (unit_float, "0")])
def test_option_types_reject_bad_values(parse, text):
    with pytest.raises(argparse.ArgumentTypeError):
        parse(text)
