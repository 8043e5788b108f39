"""Files read and written safely: the one home of the library's file utilities.

Writing. Every file the library writes (checkpoints, ``history.json``, ``metrics.json``, pictures,
an imported data set's files) is written to a temporary ``.NAME.tmp-PID`` in the same folder,
fsynced, and renamed over the target (and the folder fsynced): a crash at any moment leaves the
previous file complete. A failed write (no space left, read-only file system, I/O error) raises
one ``WriteError`` naming the folder, removes the temporary file and leaves the previous file as
it was; ``remove_stale_temp_files`` deletes the temporary files of crashed processes.

Reading. :func:`read_json` reads the small JSON files (vocabularies, captions) with errors that
name the file; :func:`from_record` reads a settings record into its class.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import shutil
from pathlib import Path
from typing import Any, Mapping

import attrs

import numpy as np

from .._version import __version__
from ..nn.checks import MissingFileError, SettingsError, UserError
from .checks import DataError


class WriteError(UserError, OSError):
    """Writing a file failed (no space left, read-only file system, I/O error, no permission).

    An ``OSError`` with the original ``errno``; its message names the file and its folder
    and says that the previous file is intact. No temporary file is left behind.
    """

    def __str__(self) -> str:
        return str(self.strerror)


# ---------------------------------------------------------------------------- atomic files
_TMP_PATTERN = re.compile(r"^\.(?P<name>.+)\.tmp-(?P<pid>\d+)$")
_WHY = {
    errno.ENOSPC: "no space left on the device",
    getattr(errno, "EDQUOT", -1): "the disk quota is exceeded",
    errno.EROFS: "the file system is read-only",
    errno.EIO: "an input/output error occurred (a failing disk or network file system?)",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
}


def _temp_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp-{os.getpid()}")


def write_error(path: Path, exc: OSError, owner: str | None = None, kept: str | None = None) -> WriteError:
    """The ``WriteError`` for ``exc`` raised while writing the file ``path`` (the previous file intact, no
    temporary file left) or, with ``owner``, the whole folder ``path`` (an imported data set; ``kept``:
    what is left). The message says why (``ENOSPC``: no space left, ...)."""
    why = _WHY.get(exc.errno, exc.strerror or str(exc))
    if owner is not None:
        return WriteError(exc.errno, f"{owner}: cannot write the folder {str(path)!r}: {why}; {kept}", str(path))
    kept = f"the previous {path.name} is intact" if path.exists() else f"no {path.name} was written"
    return WriteError(exc.errno, f"cannot write {path.name} in {str(path.parent)!r}: {why}; {kept} and no "
                                 "temporary file was left", str(path))


def atomic_write_bytes(path, data) -> Path:
    """Write ``data`` (bytes-like) to ``path`` atomically (see the module docstring): temp file,
    ``os.write``, fsync, rename; ``WriteError`` (an ``OSError``) naming the folder on any failure."""
    path = Path(path)
    tmp = _temp_path(path)
    view = memoryview(data).cast("B")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            written = 0
            while written < len(view):
                written += os.write(fd, view[written:written + (1 << 24)])
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):      # an I/O error removing it too: nothing more can be done
            tmp.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise write_error(path, exc) from exc
        raise
    with contextlib.suppress(OSError):          # make the rename durable (some file systems refuse a folder's fsync)
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    return path


def remove_stale_temp_files(folder, name: str | None = None) -> list[Path]:
    """Delete the ``.NAME.tmp-PID`` files that processes no longer alive left in ``folder``.

    A process killed while writing (``kill -9``, power loss) leaves its temporary file; the
    temporary files of live processes (this one included) are kept. With ``name``, only the
    temporaries of that target are considered, folders included (``import_captions`` stages
    a whole folder as ``.NAME.tmp-PID``). Returns the removed paths.
    """
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        match = _TMP_PATTERN.match(entry.name)
        if match is None or (name is not None and match["name"] != name):
            continue
        folder_too = name is not None and entry.is_dir(follow_symlinks=False)
        if not (entry.is_file(follow_symlinks=False) or folder_too) or _process_alive(int(match["pid"])):
            continue
        with contextlib.suppress(OSError):
            shutil.rmtree(entry.path) if folder_too else os.unlink(entry.path)
            removed.append(Path(entry.path))
    return removed


def _process_alive(pid: int) -> bool:
    """Whether a process ``pid`` runs on this machine (``True`` when unsure)."""
    if pid == os.getpid():
        return True
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        pass
    return True


def write_json(path, obj: Any) -> Path:
    """Write ``obj`` as indented JSON, atomically (numpy scalars and arrays become plain values)."""
    text = json.dumps(obj, indent=2, default=json_default) + "\n"
    return atomic_write_bytes(path, text.encode("utf-8"))


def json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot store a {type(value).__name__} in a checkpoint (expected numbers, strings, "
                    "lists, dicts or arrays)")


def from_record(cls, values: Mapping[str, Any], **overrides):
    """``cls(**values, **overrides)``, the one rule for reading a settings record into an attrs class: a key
    an earlier version's record lacks takes its default; one ``cls`` does not know (a newer version's, another
    program's) raises ``SettingsError`` naming the keys, as ignoring it could silently give other settings."""
    unknown = sorted(set(values) - {a.name for a in attrs.fields(cls)})
    if unknown:
        raise SettingsError(f"{cls.__name__}: unknown options {unknown}, not in minitorch_cap {__version__}'s "
                            "records (written by a newer version, or not by minitorch_cap?)")
    return cls(**{**values, **overrides})


def read_json(path, owner: str, what: str = "file"):
    """The JSON value in ``path`` (UTF-8).

    Raises ``MissingFileError`` (no such file) or ``DataError`` (not UTF-8, not JSON), each
    starting with ``owner`` and naming the file (``what`` it is), with the way to fix an
    encoding problem.
    """
    where = repr(os.fspath(path))
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        raise MissingFileError(f"{owner}: no {what} at {where}") from None
    except json.JSONDecodeError as e:
        raise DataError(f"{owner}: {where} is not valid JSON ({e})") from None
    except UnicodeDecodeError as e:
        raise DataError(f"{owner}: {where} is not UTF-8 text ({e}); save it as UTF-8 JSON "
                         "(e.g. `iconv -f latin1 -t utf-8`)") from None


def read_json_or_none(path):
    """The JSON value in ``path``, or ``None`` when it is missing or unreadable (a file a kill may have left)."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
