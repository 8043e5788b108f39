"""cs231n.image_utils.image_from_url: local paths, file:// and http URLs; clear failures, no hang."""

import functools
import http.server
import socket
import threading

import numpy as np
import pytest
from PIL import Image

from minitorch_cap.cs231n.image_utils import ImageUnavailable, image_from_url


@pytest.fixture
def picture(tmp_path):
    pixels = np.random.default_rng(0).integers(0, 256, size=(6, 7, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "cat.png")
    (tmp_path / "notes.txt").write_text("not an image")
    return tmp_path, pixels


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def server(picture):
    root, _ = picture
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_local_path_file_url_and_http(picture, server):
    root, pixels = picture
    for source in (str(root / "cat.png"), root / "cat.png", (root / "cat.png").as_uri(), server + "/cat.png"):
        img = image_from_url(source)
        assert img.dtype == np.uint8
        np.testing.assert_array_equal(img, pixels)


def test_palette_images_give_pixels(tmp_path):
    Image.new("P", (3, 2), color=5).save(tmp_path / "p.png")
    assert image_from_url(str(tmp_path / "p.png")).shape == (2, 3, 3)


def test_a_dead_link_warns_and_gives_none_as_the_course(server):
    with pytest.warns(ImageUnavailable, match=r"image_from_url: cannot fetch '.*/gone.jpg' \(HTTP Error 404"):
        assert image_from_url(server + "/gone.jpg") is None
    with pytest.raises(OSError, match="HTTP Error 404"):
        image_from_url(server + "/gone.jpg", errors="raise")


def test_missing_file_and_not_an_image(picture):
    root, _ = picture
    with pytest.warns(ImageUnavailable, match="cannot read .*missing.png"):
        assert image_from_url(str(root / "missing.png")) is None
    with pytest.raises(OSError, match="notes.txt' is not an image Pillow can read"):
        image_from_url((root / "notes.txt").as_uri(), errors="raise")


def test_a_silent_server_cannot_hang_it():
    """A server that accepts the connection and never answers: the deadline ends the wait."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)
    try:
        with pytest.raises(OSError, match="image_from_url: .*127.0.0.1"):
            image_from_url(f"http://127.0.0.1:{silent.getsockname()[1]}/x.jpg", timeout=0.3, errors="raise")
    finally:
        silent.close()


def test_no_server_at_all(picture):
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()                                   # nothing listens there: connection refused
    with pytest.warns(ImageUnavailable, match="URL Error"):
        assert image_from_url(f"http://127.0.0.1:{port}/x.jpg", timeout=2) is None


@pytest.mark.parametrize("kwargs, message", [(dict(errors="ignore"), "errors must be 'warn' or 'raise'"),
                                             (dict(timeout=0), "timeout must be positive"),
                                             (dict(timeout="soon"), "timeout must be a number")])
def test_bad_options(kwargs, message):
    with pytest.raises(ValueError, match=message):
        image_from_url("x.png", **kwargs)
