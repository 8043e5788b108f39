"""Helpers shared by the commands: which images the grid shows, readable captions, option types."""

import argparse

import numpy as np
import pytest

from minitorch_cap.cli.common import decode, grid_selection, non_negative_int, positive_float, unit_float


def test_grid_shows_the_first_images_when_no_caption_is_wrong():
    assert grid_selection(4, [True] * 10) == ([0, 1, 2, 3], 0)
    assert grid_selection(4, None) == ([0, 1, 2, 3], 0)


def test_grid_gives_a_quarter_of_the_slots_to_later_wrong_captions():
    correct = [True] * 20
    for k in (3, 9, 12, 15, 18):
        correct[k] = False
    # 8 slots: 1 wrong among the first 8 already, so 1 more slot (8 // 4 - 1) for image 9
    assert grid_selection(8, correct) == ([0, 1, 2, 3, 4, 5, 6, 9], 1)
    # 16 slots: 4 wrong in the first 16 already: nothing added
    assert grid_selection(16, correct) == (list(range(16)), 0)
    correct[3] = True
    assert grid_selection(8, correct) == ([0, 1, 2, 3, 4, 5, 9, 12], 2)


def test_decode_drops_the_start_and_end_markers_but_keeps_unk():
    idx_to_word = ["<NULL>", "<START>", "<END>", "<UNK>", "a", "cat"]
    rows = np.array([[1, 4, 3, 5, 2, 0], [4, 5, 2, 4, 4, 0]])
    assert decode(rows, idx_to_word) == ["a <UNK> cat", "a cat"]


@pytest.mark.parametrize("parse, text", [(non_negative_int, "-1"), (non_negative_int, "x"), (positive_float, "0"),
                                         (positive_float, "inf"), (unit_float, "1.01"), (unit_float, "0")])
def test_option_types_reject_bad_values(parse, text):
    with pytest.raises(argparse.ArgumentTypeError):
        parse(text)
