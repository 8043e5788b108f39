"""The course's ``cs231n/image_utils.py`` as the captioning notebooks use it: ``image_from_url``.

Decoding uses Pillow: matplotlib (a dependency of this package) requires it, so it is always
installed, it is actively maintained, and it returns the same ``uint8`` arrays as the course's
``imageio.imread`` (matplotlib's own ``imread`` would give PNGs as floats in [0, 1]).
Fetching uses the standard library's ``urllib`` as the course does, with a deadline.
"""

from __future__ import annotations

import io
import os
import threading
import urllib.error
import urllib.request
import warnings

import numpy as np

__all__ = ["image_from_url", "ImageUnavailable"]

MAX_BYTES = 64 * 2 ** 20          # refuse anything larger than 64 MiB: no image of the data set comes close


class ImageUnavailable(UserWarning):
    """An image could not be fetched or decoded (offline, dead link, not an image)."""


def image_from_url(url, timeout=10.0, errors="warn"):
    """Read an image from a URL, a ``file://`` URL or a local path -> pixels (H, W) or (H, W, C) ``uint8``.

    The whole fetch has a deadline of ``timeout`` seconds (connection, DNS lookup and transfer
    together), so an offline machine or a stalled server cannot hang a notebook.

    When the image cannot be had (no network, HTTP 404 of a dead Flickr link, a missing file,
    bytes that are not an image): with ``errors="warn"`` (the default) an :class:`ImageUnavailable`
    warning names the URL and the reason and ``None`` is returned, as the course's function
    (which prints and returns None; its notebooks skip such images with ``if img is None``);
    with ``errors="raise"`` an ``OSError`` with the same message is raised.
    """
    if errors not in ("warn", "raise"):
        raise ValueError(f"image_from_url: errors must be 'warn' or 'raise', got {errors!r}")
    try:
        timeout = float(timeout)
    except (TypeError, ValueError):
        raise ValueError(f"image_from_url: timeout must be a number of seconds, got {timeout!r}") from None
    if not timeout > 0:
        raise ValueError(f"image_from_url: timeout must be positive, got {timeout!r}")
    url = os.fspath(url) if isinstance(url, os.PathLike) else str(url)
    try:
        return _decode(_fetch(url, timeout), url)
    except OSError as exc:
        if errors == "raise":
            raise
        warnings.warn(str(exc), ImageUnavailable, stacklevel=2)
        return None


def _fetch(url: str, timeout: float) -> bytes:
    """The bytes at ``url`` within ``timeout`` seconds, or ``OSError`` saying why not."""
    if "://" not in url:                           # a local path
        try:
            with open(url, "rb") as f:
                return f.read(MAX_BYTES + 1)
        except OSError as exc:
            raise OSError(f"image_from_url: cannot read {url!r} ({exc.strerror or exc})") from None

    result: dict = {}

    def work():
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                result["data"] = response.read(MAX_BYTES + 1)
        except urllib.error.HTTPError as exc:
            result["error"] = f"HTTP Error {exc.code}: {exc.reason}"
        except urllib.error.URLError as exc:
            result["error"] = f"URL Error: {exc.reason}"
        except (OSError, ValueError) as exc:   # timeouts, resets, malformed URLs
            result["error"] = f"{type(exc).__name__}: {exc}"

    # urlopen's own timeout covers each socket operation but not the DNS lookup, and a slow
    # server could trickle bytes forever: the thread gives the whole fetch one deadline.
    worker = threading.Thread(target=work, name="image_from_url", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise OSError(f"image_from_url: no image from {url!r} within {timeout:g} s (offline, or the server is slow)")
    if "error" in result:
        raise OSError(f"image_from_url: cannot fetch {url!r} ({result['error']})")
    return result["data"]


def _decode(data: bytes, url: str) -> np.ndarray:
    if len(data) > MAX_BYTES:
        raise OSError(f"image_from_url: {url!r} is larger than {MAX_BYTES // 2 ** 20} MiB; "
                      "not an image of the data set")
    from PIL import Image, UnidentifiedImageError
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.mode in ("P", "1"):     # palette or 1-bit: give pixels, not palette indices or bools
                image = image.convert("RGBA" if "transparency" in image.info else ("RGB" if image.mode == "P" else "L"))
            return np.asarray(image)
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise OSError(f"image_from_url: {url!r} is not an image Pillow can read ({exc})") from None
