"""Caption reports: which images the grid shows."""

from minitorch_cap.reports import grid_selection


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
