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


def test_captions_json_of_the_builtin_data_names_no_file_that_does_not_exist(tmp_path):
    """Issue 14: its 'url' named a PNG that was never written."""
    import json

    import numpy as np

    from minitorch_cap import CaptioningModel
    from minitorch_cap.data import load_shapes_data
    from minitorch_cap.reports import caption_report, write_caption_outputs

    data = load_shapes_data(seed=1, num_train=5, num_val=3)
    model = CaptioningModel(data["word_to_idx"], input_dim=data["val_features"].shape[1], wordvec_dim=4,
                            hidden_dim=4, rng=np.random.default_rng(0))
    report = caption_report(model, data, "val", max_length=5, with_references=True)
    write_caption_outputs(report, data, tmp_path)
    rows = json.loads((tmp_path / "captions.json").read_text())
    assert len(rows) == 3 and all("url" not in row and "image" in row for row in rows)
    assert (tmp_path / "captions.png").is_file()
