"""The caption pictures: the PNG grid opens with the promised pixel size, the HTML page escapes text."""

import matplotlib.image as mpimg
import numpy as np
import pytest

from minitorch_cap.evaluation.grid import caption_grid_size, plot_caption_grid, write_caption_html
from minitorch_cap.evaluation.plots import plot_loss_curve


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


# ---------------------------------------------------------------- extreme settings (issue 14, item 6)
import itertools  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402

from minitorch_cap.evaluation.grid import caption_grid_figure  # noqa: E402
from minitorch_cap.evaluation.plots import loss_curve_figure  # noqa: E402


def _drawn_labels(fig, axis):
    """Window extents and texts of the tick labels ``axis`` shows (major and minor)."""
    renderer = fig.canvas.get_renderer()
    fig.draw(renderer)
    low, high = sorted(axis.get_view_interval())
    labels = []
    for tick in [*axis.get_major_ticks(), *axis.get_minor_ticks()]:
        label = tick.label1
        if tick.get_visible() and label.get_visible() and label.get_text() and low <= tick.get_loc() <= high:
            labels.append((label.get_text(), label.get_window_extent(renderer)))
    return labels


def _overlaps(labels):
    return [(a, b) for (a, ba), (b, bb) in itertools.combinations(labels, 2) if ba.overlaps(bb)]


LOSSES = {
    "1 decade (35 -> 3)": 3 + 32 * np.exp(-np.arange(500) / 100),
    "2 decades": 0.4 + 40 * np.exp(-np.arange(500) / 60),
    "3 decades (the examples' overfit runs)": 0.02 + 40 * np.exp(-np.arange(1000) / 80),
    "5 decades": 4e-4 + 40 * np.exp(-np.arange(1000) / 60),
    "diverging to 1e25": np.r_[np.linspace(10, 3, 500), np.exp(np.linspace(1, 58, 100))],
    "tiny losses": np.linspace(1e-3, 1e-6, 100),
    "flat": np.full(100, 2.3456789),
    "one iteration": np.array([4.2]),
    "three iterations": np.array([4.0, 3.0, 2.5]),
}


@pytest.mark.parametrize("name", list(LOSSES))
def test_loss_curve_tick_labels_never_overlap(name):
    fig = loss_curve_figure(LOSSES[name], title=name)
    try:
        ax = fig.axes[0]
        for axis in (ax.yaxis, ax.xaxis):
            labels = _drawn_labels(fig, axis)
            assert len(labels) >= 1 and not _overlaps(labels), (name, [t for t, _ in labels])
        xs = [float(t.replace("\u2212", "-")) for t, _ in _drawn_labels(fig, ax.xaxis)]
        assert all(x == int(x) for x in xs)                     # iterations are integers (not 0.96 .. 1.04)
        assert fig.bbox.contains(*ax.title.get_window_extent().p0) and fig.bbox.contains(
            *ax.title.get_window_extent().p1)
    finally:
        plt.close(fig)


def test_loss_curve_keeps_minor_labels_when_they_have_room():
    fig = loss_curve_figure(LOSSES["1 decade (35 -> 3)"])
    try:
        texts = [t for t, _ in _drawn_labels(fig, fig.axes[0].yaxis)]
        assert {"3", "5", "10", "20", "30"} <= set(texts)       # one decade: 10 alone would say little
    finally:
        plt.close(fig)
    fig = loss_curve_figure(LOSSES["3 decades (the examples' overfit runs)"])
    try:
        texts = {t for t, _ in _drawn_labels(fig, fig.axes[0].yaxis)}
        assert {"0.1", "1", "10"} <= texts and not {"3", "4", "7", "9"} & texts  # decades, and 2, 5 at most
    finally:
        plt.close(fig)


LONG_TITLE = ("LSTM from checkpoint.h5 \u2014 val images: 87.5% fully correct captions (14/16); "
              "shown: the first 12 and 4 wrong ones")


@pytest.mark.parametrize("n", [1, 2, 3, 16])
def test_caption_grid_text_stays_inside_the_figure_and_its_cell(n, tmp_path):
    long_caption = " ".join(["a big red circle"] * 8)
    fig = caption_grid_figure(_images(n), [long_caption] * n, [[long_caption, "a circle"]] * n, title=LONG_TITLE,
                              correct=[k % 2 == 0 for k in range(n)])
    try:
        renderer = fig.canvas.get_renderer()
        fig.draw(renderer)
        boxes = [text.get_window_extent(renderer) for text in fig.texts]
        title = boxes[-1]
        assert fig.texts[-1].get_text().replace("\n", " ") == LONG_TITLE
        for box in boxes:                                       # nothing cut at an edge
            assert fig.bbox.x0 <= box.x0 and box.x1 <= fig.bbox.x1 and fig.bbox.y0 <= box.y0 and box.y1 <= fig.bbox.y1
        assert not [(a, b) for a, b in itertools.combinations(boxes, 2) if a.overlaps(b)]
        for ax in fig.axes:                                     # the title is above every image
            assert title.y0 >= ax.get_window_extent(renderer).y1
        size = caption_grid_size(n, title=LONG_TITLE)
        assert (round(fig.bbox.width), round(fig.bbox.height)) == size
    finally:
        plt.close(fig)
    path = plot_caption_grid(_images(n), ["x"] * n, ["y"] * n, tmp_path / "g.png", title=LONG_TITLE)
    assert mpimg.imread(path).shape[:2] == caption_grid_size(n, title=LONG_TITLE)[::-1]


def _full_disk(monkeypatch):
    """os.write writes the first 1000 bytes of a file, then fails as a full disk does."""
    import errno
    import os

    real_write, calls = os.write, []

    def full(fd, chunk):
        calls.append(len(chunk))
        if len(calls) > 1:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd, chunk[:1000])

    monkeypatch.setattr(os, "write", full)


@pytest.mark.parametrize("name, draw", [
    ("loss.png", lambda path, k: plot_loss_curve([3.0, 2.0, 1.0 + k], path)),
    ("captions.png", lambda path, k: plot_caption_grid(_images(2, seed=k), ["a", "b"], ["a", "b"], path)),
    ("captions.html", lambda path, k: write_caption_html([f"u{i}" for i in range(20)], [f"a{k}"] * 20, ["b"] * 20,
                                                         path)),
])
def test_a_full_disk_keeps_the_previous_picture_and_names_the_folder(tmp_path, monkeypatch, name, draw):
    """Issue 24: redrawing captions.png on a full disk truncated the previous good file (savefig writes in place)
    and gave a bare [Errno 28]: every picture and page is drawn in memory and written atomically."""
    from minitorch_cap.data.files import WriteError

    path = draw(tmp_path / name, 0)
    before = path.read_bytes()
    assert len(before) > 1000
    _full_disk(monkeypatch)
    with pytest.raises(WriteError, match=rf"cannot write {name} in '{tmp_path}': no space left on the device; the "
                                         rf"previous {name} is intact"):
        draw(tmp_path / name, 1)
    monkeypatch.undo()
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == [name]
    if name.endswith(".png"):
        assert mpimg.imread(path).ndim == 3                      # still a whole picture
