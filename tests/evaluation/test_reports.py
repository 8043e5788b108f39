"""Caption reports: one accuracy rule for every command, which images the grid shows, captions.json."""

import numpy as np

from minitorch_cap.evaluation.reports import grid_selection


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
    from minitorch_cap.evaluation.reports import caption_report, write_caption_outputs

    data = load_shapes_data(seed=1, num_train=5, num_val=3)
    model = CaptioningModel(data["word_to_idx"], input_dim=data["val_features"].shape[1], wordvec_dim=4,
                            hidden_dim=4, rng=np.random.default_rng(0))
    report = caption_report(model, data, "val", max_length=5, with_references=True)
    write_caption_outputs(report, data, tmp_path)
    rows = json.loads((tmp_path / "captions.json").read_text())
    assert len(rows) == 3 and all("url" not in row and "image" in row for row in rows)
    assert (tmp_path / "captions.png").is_file()


class _Says:
    """A stand-in captioner that says one fixed caption for every image (through ``sample``)."""

    def __init__(self, data, words):
        self.word_to_idx, self.input_dim = data["word_to_idx"], data["val_features"].shape[1]
        self.ids = [data["word_to_idx"][w] for w in words]

    def sample(self, features, max_length):
        row = (self.ids + [0] * max_length)[:max_length]
        return np.array([row] * len(features))

    def eval(self):
        return self

    def train(self, mode=True):
        return self


def test_every_path_to_the_accuracy_judges_a_caption_with_unk_alike():
    """Issue 12: 'a red <UNK> circle <END>' was wrong for train/sample and right for evaluate."""
    from minitorch_cap import evaluate
    from minitorch_cap.data import load_shapes_data
    from minitorch_cap.evaluation import model_caption_accuracy
    from minitorch_cap.evaluation.reports import caption_report

    data = load_shapes_data(seed=3, num_train=5, num_val=40)
    truths = data["val_attributes"]
    single_red_circles = [k for k, t in enumerate(truths) if t["relation"] is None
                          and t["objects"][0]["colour"] == "red" and t["objects"][0]["shape"] == "circle"]
    assert single_red_circles, "the fixture needs a red circle alone"
    for words, right in ((["a", "red", "circle", "<END>"], True), (["a", "red", "<UNK>", "circle", "<END>"], False)):
        model = _Says(data, words)
        report = caption_report(model, data, "val", max_length=8)
        by_image = dict(zip(report["image_idxs"].tolist(), report["correct"]))
        assert all(by_image[k] is right for k in single_red_circles)
        figures = {report["accuracy"], model_caption_accuracy(model, data),
                   evaluate(model, data, "val", max_length=8, cider_df="train").diagnostics["caption_accuracy"]}
        assert len(figures) == 1, figures
        assert figures.pop() == (len(single_red_circles) / 40 if right else 0.0)
