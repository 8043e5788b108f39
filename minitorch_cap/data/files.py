"""Reading the data's small text files with errors that name the file (one rule for JSON)."""

from __future__ import annotations

import json
import os


def read_json(path, owner: str, what: str = "file"):
    """The JSON value in ``path`` (UTF-8).

    Raises ``FileNotFoundError`` (no such file) or ``ValueError`` (not UTF-8, not JSON), each
    starting with ``owner`` and naming the file (``what`` it is), with the way to fix an
    encoding problem.
    """
    where = repr(os.fspath(path))
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        raise FileNotFoundError(f"{owner}: no {what} at {where}") from None
    except json.JSONDecodeError as e:
        raise ValueError(f"{owner}: {where} is not valid JSON ({e})") from None
    except UnicodeDecodeError as e:
        raise ValueError(f"{owner}: {where} is not UTF-8 text ({e}); save it as UTF-8 JSON "
                         "(e.g. `iconv -f latin1 -t utf-8`)") from None
