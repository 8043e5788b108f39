"""The caption pictures: the PNG grid opens with the promised pixel size, the HTML page escapes text."""

import matplotlib.image as mpimg
import numpy as np
import pytest

from minitorch_cap.plots import caption_grid_size, plot_caption_grid, write_caption_html


def _images(n, size=24, seed=0):
    return np.random.default_rng(seed).integers(0, 256, size=(n, size, size, 3), dtype=np.uint8)


@pytest.mark.parametrize("n, columns, title", [(1, 4, None), (5, 4, "five"), (8, 4, "eight"), (3, 2, None)])
def test_grid_png_has_the_promised_pixel_size(tmp_path, n, columns, title):
    refs = [["a red circle", "there is a red circle"]] * n
    path = plot_caption_grid(_images(n), ["a red circle"] * n, refs, tmp_path / "grid.png", columns=columns,
                             title=title, correct=[k % 2 == 0 for k in range(n)])
    pixels = mpimg.imread(path)
    width, height = caption_grid_size(n, columns=columns, title=title is not None)
    assert pixels.shape[:2] == (height, width)
    rows = -(-n // columns)
    assert width == min(n, columns) * 300
    assert height == rows * 310 + (35 if title else 0)


def test_grid_marks_correct_in_green_and_wrong_in_red(tmp_path):
    # Black images, so the only saturated pixels are the captions and frames.
    images = np.zeros((2, 16, 16, 3), dtype=np.uint8)
    path = plot_caption_grid(images, ["a red circle", "a blue square"], ["a red circle", "a blue square"],
                             tmp_path / "grid.png", correct=[True, False])
    rgb = mpimg.imread(path)[..., :3]
    left, right = rgb[:, : rgb.shape[1] // 2], rgb[:, rgb.shape[1] // 2:]

    def count(part, channel):
        others = [c for c in range(3) if c != channel]
        return int(np.sum((part[..., channel] > 0.4) & (part[..., others].max(axis=-1) < part[..., channel] - 0.25)))

    assert count(left, 1) > 50 and count(left, 0) < 5        # green only on the correct one
    assert count(right, 0) > 50 and count(right, 1) < 5      # red only on the wrong one


def test_grid_accepts_single_string_references_and_float_images(tmp_path):
    images = np.random.default_rng(1).random((2, 8, 8, 3))
    path = plot_caption_grid(images, ["x", ""], ["ref one", "ref two"], tmp_path / "sub" / "g.png")
    assert mpimg.imread(path).shape[:2] == caption_grid_size(2)[::-1]


@pytest.mark.parametrize("kwargs, message", [
    (dict(generated=["a"]), "must be equal"),
    (dict(correct=[True]), "correct has 1"),
    (dict(images=np.zeros((2, 8, 8))), r"\(N, S, S, 3\)"),
])
def test_grid_rejects_mismatched_inputs(tmp_path, kwargs, message):
    args = dict(images=_images(2), generated=["a", "b"], references=["a", "b"], path=tmp_path / "g.png")
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        plot_caption_grid(**args)


def test_html_page_lists_every_image_and_escapes_text(tmp_path):
    urls = ["http://images.cocodataset.org/val2014/a.jpg", "http://x/b.jpg?a=1&b=2"]
    path = write_caption_html(urls, ["a <b>dog</b>", "a cat"], [["a dog & a ball", "dog"], "a cat"],
                              tmp_path / "c.html", correct=[True, False])
    page = path.read_text()
    assert page.count("<img ") == 2
    assert 'src="http://images.cocodataset.org/val2014/a.jpg"' in page
    assert "a=1&amp;b=2" in page
    assert "a &lt;b&gt;dog&lt;/b&gt;" in page and "<b>dog</b>" not in page
    assert "a dog &amp; a ball" in page
    assert page.count("<li>") == 3


def test_html_rejects_mismatched_inputs(tmp_path):
    with pytest.raises(ValueError, match="must be equal"):
        write_caption_html(["u"], ["a", "b"], ["r"], tmp_path / "c.html")
