"""Run folders: the one home of a run's file names and of the checks on the folder it writes.

A run folder holds the files ``RUN_FILES`` (``checkpoint.h5`` and ``history.json`` mark a
folder as holding a run; the pictures and ``metrics.json`` are drawn by the command line).

* **One owner.** ``open_run_dir`` takes an exclusive lock on ``FOLDER/.lock`` (POSIX
  ``flock``, with the owner's pid written in the file) for the whole run; a second run on
  the folder, in another process or in this one, is refused with ``RunFolderError`` naming
  the process holding it. The kernel drops the lock when its process dies, however it dies
  (``kill -9`` included), so a stale lock of a dead process never blocks anyone.
* **Atomic default folder.** ``claim_default_run_dir("runs/shapes-lstm")`` takes the first
  of ``runs/shapes-lstm``, ``-2``, ``-3``, ... that holds no run and is not locked,
  locking it before returning: two runs started at the same moment get two folders.
* **Refusal, and overwrite that loses nothing.** A folder holding another run is refused
  unless ``overwrite=True``; then its files are moved into ``FOLDER/.previous`` and deleted
  only once the new run has written its first checkpoint (``RunDir.checkpoint_saved``).
  A run that fails (or is killed) before that gets them back (``RunDir.close``, or the next
  ``open_run_dir``/``complete_run`` of the folder). Resuming into the run's own folder is allowed.
* **Clean folders.** Opening a folder removes the temporary files of writers that died
  (``remove_stale_temp_files``).
* **Completing a killed run.** ``complete_run(folder)`` says whether the run in a folder is
  complete and rewrites ``history.json`` and ``best.h5`` from ``checkpoint.h5`` when a kill
  left them behind it; see its docstring for what the caller does next.

This module is long (about 420 lines) because a folder's one owner needs a real lock (flock
with stale-lock recovery), an atomic default choice, a reversible overwrite and the repair
of killed runs; they share the lock, so they live together.

"""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path
from typing import Any, Mapping

import attrs

from ..data import files
from .checkpoint import CheckpointError, load_checkpoint
from ..data.files import remove_stale_temp_files, write_json

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no flock; runs are then not locked
    fcntl = None

CHECKPOINT_NAME, BEST_NAME, HISTORY_NAME = "checkpoint.h5", "best.h5", "history.json"
#: The files of a run; a folder holding either of the first two holds a run.
RUN_FILES = (CHECKPOINT_NAME, HISTORY_NAME, BEST_NAME, "loss.png", "captions.png", "captions.html",
             "captions.json", "metrics.json")
#: Files drawn after training by the command line (not by the ``Trainer``).
REPORT_FILES = RUN_FILES[3:]
LOCK_NAME, PREVIOUS_NAME = ".lock", ".previous"


class RunFolderError(ValueError):
    """A run folder cannot be used: it holds another run, another process is writing it, or
    it cannot be created or written."""


def holds_run(folder) -> bool:
    """Whether ``folder`` holds a run, or any file a run would replace (a file named as one of ``RUN_FILES``).

    A user's own ``captions.json`` or ``metrics.json`` counts: a new run never replaces it
    without ``overwrite``.
    """
    folder = Path(folder)
    return any((folder / name).exists() for name in RUN_FILES)


# ---------------------------------------------------------------------------- the lock
class RunLock:
    """An exclusive, non-blocking lock on a run folder (``FOLDER/.lock`` holds the owner's pid)."""

    def __init__(self, folder):
        self.folder = Path(folder)
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> "RunLock":
        """Take the lock, or raise ``RunFolderError`` naming the process that holds it."""
        if fcntl is None or self._fd is not None:
            return self
        path = self.folder / LOCK_NAME
        for _ in range(100):
            fd = self._open_locked(path)
            try:  # the holder we waited for may have deleted the file: then lock the new one
                same = os.path.samestat(os.fstat(fd), os.stat(path))
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        else:
            raise RunFolderError(f"cannot lock the run folder {str(self.folder)!r}: its lock file keeps changing")
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        except OSError:  # the pid is only informative
            pass
        self._fd = fd
        return self

    def _open_locked(self, path: Path) -> int:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise RunFolderError(f"cannot lock the run folder {str(self.folder)!r}: "
                                 f"{exc.strerror or exc}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            owner = _read_pid(fd)
            os.close(fd)
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise RunFolderError(f"cannot lock the run folder {str(self.folder)!r}: "
                                     f"{exc.strerror or exc}") from None
            who = "this process" if owner == os.getpid() else f"process {owner}" if owner else "another process"
            raise RunFolderError(f"the run folder {str(self.folder)!r} is in use: {who} is writing a run into it; "
                                 "wait for it to finish, or choose another folder") from None
        return fd

    def release(self) -> None:
        """Delete the lock file and drop the lock (a ``kill -9`` leaves the file, but not the lock)."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            try:
                os.unlink(self.folder / LOCK_NAME)   # still holding the lock: waiters re-check the inode
            except OSError:
                pass
            os.close(fd)          # closing the descriptor drops the flock

    def __enter__(self) -> "RunLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
        return int(text) if text.isdigit() else None
    except OSError:
        return None


# Folders claimed by ``claim_default_run_dir`` whose lock the next ``open_run_dir`` of this process takes over.
_claimed: dict[str, RunLock] = {}


def _key(folder: Path) -> str:
    return os.path.realpath(folder)


def _make_folder(folder: Path) -> None:
    if folder.exists() and not folder.is_dir():
        raise RunFolderError(f"out_dir {str(folder)!r} exists and is not a folder; give a folder (it is created "
                             "if needed)")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:          # a file in the way, a missing or read-only parent, ...
        raise RunFolderError(f"out_dir {str(folder)!r} cannot be created as a folder "
                             f"({exc.strerror or exc})") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise RunFolderError(f"out_dir {str(folder)!r} is not writable")


def claim_default_run_dir(base, max_tries: int = 1000) -> Path:
    """Atomically choose ``base``, or the first of ``base-2``, ``base-3``, ... holding no run.

    The chosen folder is created and locked before this returns, so concurrent callers
    (other processes, or this one) never choose the same folder; the lock passes to the
    next ``open_run_dir`` of that folder in this process (``release_claim`` gives it up).
    """
    base = Path(base)
    for k in range(1, max_tries + 1):
        folder = base if k == 1 else base.with_name(f"{base.name}-{k}")
        if holds_run(folder) or _key(folder) in _claimed:
            continue
        _make_folder(folder)
        lock = RunLock(folder)
        try:
            lock.acquire()
        except RunFolderError:
            continue
        _recover_previous(folder)
        if holds_run(folder):        # written between our check and our lock
            lock.release()
            continue
        _claimed[_key(folder)] = lock
        return folder
    raise RunFolderError(f"no free run folder among {str(base)!r} and its first {max_tries - 1} numbered variants")


def release_claim(folder) -> None:
    """Give up a folder chosen by ``claim_default_run_dir`` that will not be opened after all."""
    lock = _claimed.pop(_key(Path(folder)), None)
    if lock is not None:
        lock.release()


# ---------------------------------------------------------------------------- opening a run folder
@attrs.define(eq=False)
class RunDir:
    """A run folder opened by ``open_run_dir``: locked until ``close()``.

    ``previous`` is the ``.previous`` folder holding the files of the run being overwritten
    (``None`` when nothing was overwritten); they are deleted by ``checkpoint_saved()`` and
    restored by ``close()`` if no checkpoint of the new run was written.
    """

    path: Path
    lock: RunLock
    previous: Path | None = None

    def checkpoint_saved(self) -> None:
        """The new run has a checkpoint: delete the overwritten run's files."""
        if self.previous is not None and (self.path / CHECKPOINT_NAME).is_file():
            shutil.rmtree(self.previous, ignore_errors=True)
            self.previous = None

    def close(self) -> None:
        """Delete or restore the overwritten run's files (see the class docstring); release the lock."""
        try:
            if self.previous is not None:
                if (self.path / CHECKPOINT_NAME).is_file():
                    self.checkpoint_saved()
                else:
                    _restore_previous(self.path)
                    self.previous = None
        finally:
            self.lock.release()

    def __enter__(self) -> "RunDir":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _other_run(path: Path, resume_from) -> bool:
    """Whether ``path`` holds a run other than the one of checkpoint ``resume_from``.

    Resuming from the folder's own ``checkpoint.h5`` continues its run; resuming from another
    file of it (``best.h5``, an older copy) while a ``checkpoint.h5`` is there would replace
    that later checkpoint: it counts as another run (a new ``--out``, or ``overwrite``).
    """
    same_run = resume_from is not None and (
        _key(Path(resume_from)) == _key(path / CHECKPOINT_NAME)
        or (_key(Path(resume_from).parent) == _key(path) and not (path / CHECKPOINT_NAME).exists()))
    return holds_run(path) and not same_run


def _refuse_other_run(path: Path) -> None:
    held = [name for name in RUN_FILES if (path / name).exists()]
    continue_it = (f"continue it by resuming from {path / CHECKPOINT_NAME}, " if (path / CHECKPOINT_NAME).exists()
                   else "")
    raise RunFolderError(f"out_dir {str(path)!r} already holds a run or files a run would replace ({', '.join(held)}); "
                         f"{continue_it}choose another folder, or overwrite it "
                         "(its files are kept until the new run's first checkpoint)")


def check_run_dir(path, *, overwrite: bool = False, resume_from=None) -> Path:
    """The checks of :func:`open_run_dir`, touching no file of a run: for a command to make
    before any long work. Creates the folder if needed; raises ``RunFolderError`` when it
    cannot be created or written, when another process holds its lock, or when it holds
    another run and ``overwrite`` is false."""
    path = Path(path)
    _make_folder(path)
    if _other_run(path, resume_from) and not overwrite:
        _refuse_other_run(path)
    if _key(path) not in _claimed:
        RunLock(path).acquire().release()
    return path


def open_run_dir(path, *, overwrite: bool = False, resume_from=None) -> RunDir:
    """Create (if needed), check and lock the run folder ``path``; return its ``RunDir``.

    * Raises ``RunFolderError`` when ``path`` cannot be created or written, when another run
      (in any process) holds its lock, or when it holds another run and ``overwrite`` is
      false. With ``overwrite`` the other run's files are set aside in ``.previous`` (see
      ``RunDir``). The folder of ``resume_from`` (the checkpoint being resumed) is the same
      run, never "another" one.
    * When ``resume_from`` lies in another folder, its ``best.h5`` is copied into ``path``
      (so a resumed run that does not improve still has one).
    * Leftovers of crashed writers are cleaned: stale temporary files, and the ``.previous``
      of an overwrite killed before its first checkpoint (restored) or after it (deleted).
    """
    path = Path(path)
    _make_folder(path)
    lock = _claimed.pop(_key(path), None) or RunLock(path).acquire()
    try:
        _recover_previous(path)
        remove_stale_temp_files(path)
        previous = None
        if _other_run(path, resume_from):
            if not overwrite:
                _refuse_other_run(path)
            previous = _set_aside(path)
        if resume_from is not None and _key(Path(resume_from).parent) != _key(path):
            best = Path(resume_from).parent / BEST_NAME
            if best.is_file() and not (path / BEST_NAME).exists():
                files.atomic_write_bytes(path / BEST_NAME, best.read_bytes())
    except BaseException:
        lock.release()
        raise
    return RunDir(path, lock, previous)


def _set_aside(path: Path) -> Path:
    """Move the run files of ``path`` into ``path/.previous`` (renames: nothing is copied or lost)."""
    previous = path / PREVIOUS_NAME
    previous.mkdir(exist_ok=True)
    for name in RUN_FILES:
        if (path / name).exists():
            os.replace(path / name, previous / name)
    return previous


def _restore_previous(path: Path) -> None:
    previous = path / PREVIOUS_NAME
    for item in previous.iterdir():
        os.replace(item, path / item.name)
    previous.rmdir()


def _recover_previous(path: Path) -> None:
    """A ``.previous`` left by a killed overwrite: delete it if the new run had a checkpoint, else restore it.

    Only called with the folder's lock held (so no live run owns the ``.previous``)."""
    if not (path / PREVIOUS_NAME).is_dir():
        return
    if (path / CHECKPOINT_NAME).is_file():
        shutil.rmtree(path / PREVIOUS_NAME, ignore_errors=True)
    else:
        _restore_previous(path)


# ---------------------------------------------------------------------------- completing a run
def history_from_state(state: Mapping[str, Any]) -> dict[str, Any]:
    """``history.json``'s content from a checkpoint's trainer state (``Trainer.history`` uses it too)."""
    return {
        "loss_history": [float(x) for x in state["loss_history"]],
        "val_loss_history": [float(x) for x in state["val_loss_history"]],
        "epochs": [dict(r) for r in state["epochs"]],
        "iterations_per_epoch": int(state["iterations_per_epoch"]),
        "monitor": state["monitor"], "mode": state["config"]["mode"],
        "best_epoch": state["best_epoch"], "best_value": state["best_value"],
        "stopped_early": bool(state["stopped_early"]),
        "config": dict(state["config"]),
    }


@attrs.frozen
class RunStatus:
    """What ``complete_run`` found and did.

    * ``complete``: the checkpoint holds every epoch of the run (or it stopped early).
    * ``epoch`` / ``num_epochs``: epochs done / planned; ``checkpoint``: its path (``None``
      when the folder has none: the run never reached its first checkpoint).
    * ``repaired``: the files rewritten from the checkpoint (``history.json``, ``best.h5``).
    * ``missing``: report files (``loss.png``, ``metrics.json``, ...) absent from the folder.
    """

    folder: Path
    checkpoint: Path | None
    complete: bool
    epoch: int
    num_epochs: int
    repaired: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()


def complete_run(folder) -> RunStatus:
    """Bring a run folder's ``history.json`` and ``best.h5`` up to its ``checkpoint.h5``; say what is left.

    A run killed at any point leaves a loadable ``checkpoint.h5`` (atomic writes) but may
    leave ``history.json`` and ``best.h5`` one epoch behind it (they are written just after
    it) and lack the report files the command line draws after training. This function
    (holding the folder's lock; ``RunFolderError`` if a run is writing it) cleans crashed
    writers' leftovers, rewrites ``history.json`` from the checkpoint's trainer state when
    it differs, and copies ``checkpoint.h5`` to ``best.h5`` when the checkpoint's last epoch
    is the run's best and ``best.h5`` is missing or older. Then the caller:

    * ``complete`` false: ``Trainer.resume(status.checkpoint, data=...).train()`` (with
      ``num_epochs=status.num_epochs``), then this function again;
    * ``complete`` true: draws ``status.missing`` (loss curve, captions, metrics).

    The result is the folder an uninterrupted run leaves (``history.json`` equal to its,
    ``best.h5`` the same epoch). Raises ``CheckpointError`` for a damaged checkpoint.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise RunFolderError(f"{str(folder)!r} is not a run folder (it does not exist or is not a folder)")
    with RunLock(folder):
        _recover_previous(folder)
        remove_stale_temp_files(folder)
        path = folder / CHECKPOINT_NAME
        missing = tuple(n for n in REPORT_FILES if not (folder / n).exists())
        if not path.is_file():
            return RunStatus(folder, None, False, 0, 0, (), missing)
        saved = load_checkpoint(path)
        state = saved["trainer"]
        if state is None:
            raise CheckpointError(f"{path} holds weights but no training state: not the checkpoint of a run")
        try:
            epoch, num_epochs = int(state["epoch"]), int(state["config"]["num_epochs"])
            mid_epoch = int(state["epoch_iteration"]) != 0
            complete = not mid_epoch and (epoch >= num_epochs or bool(state["stopped_early"]))
            history = history_from_state(state) if "iterations_per_epoch" in state else None
        except (KeyError, TypeError, ValueError) as exc:
            raise CheckpointError(f"{path}: its trainer state lacks what a run needs ({exc!r})") from None
        repaired = []
        if history is not None and not mid_epoch and _read_json(folder / HISTORY_NAME) != history:
            write_json(folder / HISTORY_NAME, history)
            repaired.append(HISTORY_NAME)
        best_epoch = state.get("best_epoch")
        if (state["config"].get("keep_best", True) and not mid_epoch and best_epoch is not None
                and int(best_epoch) == epoch and _saved_epoch(folder / BEST_NAME) != epoch):
            files.atomic_write_bytes(folder / BEST_NAME, path.read_bytes())
            repaired.append(BEST_NAME)
    return RunStatus(folder, path, complete, epoch, num_epochs, tuple(repaired), missing)


def _read_json(path: Path):
    import json
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _saved_epoch(path: Path) -> int | None:
    try:
        return int(load_checkpoint(path)["trainer"]["epoch"])
    except (OSError, CheckpointError, KeyError, TypeError, ValueError):
        return None
