"""Run folders: one owner per folder, from the first check to the last file written.

A run folder holds the files ``RUN_FILES``: the ``Trainer``'s (``checkpoint.h5`` and ``history.json``
mark a folder as holding a run) and the report drawn after training (``REPORT_FILES``;
:func:`minitorch_cap.runs.write_run_outputs`).

:class:`RunDir` is that owner. ``RunDir.claim(path)`` (or ``RunDir.claim_default("runs/shapes-lstm")``)
creates, checks and locks the folder and keeps the lock until ``close()``; a ``Trainer`` handed a
``RunDir`` as its ``out_dir`` writes through it and leaves it open, so a command (``minitorch-cap
train``) holds one lock for everything it writes, pictures included (a ``Trainer`` given a path
claims and closes its own).

* **One writer.** The lock is ``filelock``'s (POSIX ``flock``) on ``FOLDER/.lock``; a second claim,
  in another process or in this one, raises ``RunFolderError`` naming the process. The kernel drops
  the lock when its process dies, however it dies (``kill -9`` included).
* **Atomic default folder.** ``claim_default(base)`` takes the first of ``base``, ``base-2``, ...
  that holds no run and is not locked: two runs started at the same moment get two folders.
* **Refusal, and overwrite that loses nothing.** A folder holding another run (or any file a run
  would replace) is refused unless ``overwrite``; then its files are moved into ``.previous`` and
  deleted only once the new run has written its first checkpoint (``checkpoint_saved``). A run that
  fails (or is killed) before that gets them back (``close``, or the next claim of the folder).
* **Nothing left behind.** A claim that created the folder removes it again when the run fails
  before writing anything (``close(failed=True)``); claiming removes the temporary files of
  writers that died.
* **Completing a killed run.** ``repair(checkpoint)`` rewrites ``history.json`` and ``best.h5``
  from the checkpoint a kill left them behind, and says what is left (:class:`RunStatus`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path
from typing import Any, Mapping

import attrs
import filelock

from ..data import files
from ..nn.checks import UserError
from .checkpoint import CHECKPOINT_NAME, CheckpointError, load_checkpoint

BEST_NAME, HISTORY_NAME = "best.h5", "history.json"
LOSS_NAME, METRICS_NAME = "loss.png", "metrics.json"
#: What a run writes after training: the loss curve, the caption report (``CAPTION_FILES``: captions.png on
#: the built-in data or captions.html on COCO, the two ``CAPTION_PICTURES``, and captions.json) and the metrics.
CAPTION_PICTURES = ("captions.png", "captions.html")
CAPTION_FILES = (*CAPTION_PICTURES, "captions.json")
REPORT_FILES = (LOSS_NAME, *CAPTION_FILES, METRICS_NAME)
#: The files of a run; a folder holding either of the first two holds a run.
RUN_FILES = (CHECKPOINT_NAME, HISTORY_NAME, BEST_NAME, *REPORT_FILES)
LOCK_NAME, PID_NAME, PREVIOUS_NAME = ".lock", ".lock.pid", ".previous"


def missing_report_files(folder) -> tuple[str, ...]:
    """The report files a run in ``folder`` has not written yet (one caption picture of the two is all a run writes)."""
    held = {name for name in REPORT_FILES if (Path(folder) / name).exists()}
    return tuple(name for name in REPORT_FILES if name not in held and not (name in CAPTION_PICTURES and
                                                                            held & set(CAPTION_PICTURES)))


class RunFolderError(UserError, ValueError):
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
    """An exclusive, non-blocking lock on a run folder: ``FOLDER/.lock`` held with ``filelock`` (POSIX
    ``flock``, which the kernel drops when its process dies, ``kill -9`` included, so a dead run's lock
    never blocks anyone); ``FOLDER/.lock.pid`` names the process holding it."""

    def __init__(self, folder):
        self.folder = Path(folder)
        self._lock = filelock.FileLock(self.folder / LOCK_NAME, timeout=0)

    @property
    def held(self) -> bool:
        return self._lock.is_locked

    def acquire(self) -> "RunLock":
        """Take the lock, or raise ``RunFolderError`` naming the process that holds it."""
        try:
            self._lock.acquire()
        except filelock.Timeout:
            try:
                owner = int((self.folder / PID_NAME).read_text())
            except (OSError, ValueError):
                owner = None
            who = "this process" if owner == os.getpid() else f"process {owner}" if owner else "another process"
            raise RunFolderError(f"the run folder {str(self.folder)!r} is in use: {who} is writing a run into it; "
                                 "wait for it to finish, or choose another folder") from None
        except OSError as exc:
            raise RunFolderError(f"cannot lock the run folder {str(self.folder)!r}: {exc.strerror or exc}") from None
        with contextlib.suppress(OSError):     # the pid is only informative
            (self.folder / PID_NAME).write_text(f"{os.getpid()}\n")
        return self

    def release(self) -> None:
        if self._lock.is_locked:
            (self.folder / PID_NAME).unlink(missing_ok=True)
            self._lock.release()

    def __enter__(self) -> "RunLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def _same(a, b) -> bool:
    return os.path.realpath(a) == os.path.realpath(b)


def make_folder(folder: Path, what: str = "out_dir") -> Path | None:
    """Create ``folder`` (with its parents) if needed; the topmost folder created here (``folder`` or
    a parent of it), ``None`` when it existed. ``RunFolderError`` naming it (as ``what``) when it
    cannot be made, or is not writable."""
    if folder.exists() and not folder.is_dir():
        raise RunFolderError(f"{what} {str(folder)!r} exists and is not a folder; give a folder (it is created "
                             "if needed)")
    top = next((p for p in reversed((folder, *folder.parents)) if not p.exists()), None)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:          # a file in the way, a missing or read-only parent, ...
        raise RunFolderError(f"{what} {str(folder)!r} cannot be created as a folder "
                             f"({exc.strerror or exc})") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise RunFolderError(f"{what} {str(folder)!r} is not writable")
    return top


def remove_made_folder(folder: Path, top: Path | None, leftovers: frozenset = frozenset()) -> None:
    """Undo :func:`make_folder` (which returned ``top``) when nothing was written: ``folder`` if it
    holds nothing but ``leftovers`` (names), then its parents up to ``top`` while they are empty."""
    if top is None or not folder.is_dir() or not {p.name for p in folder.iterdir()} <= leftovers:
        return
    for name in leftovers:
        with contextlib.suppress(OSError):
            (folder / name).unlink()
    for level in (folder, *folder.parents):
        try:
            level.rmdir()                   # only while empty
        except OSError:
            return
        if level == top:
            return


# ---------------------------------------------------------------------------- the owner
@attrs.define(eq=False)
class RunDir:
    """The owner of a run folder (see the module docstring): ``path``, locked until :meth:`close`.

    ``previous`` is the ``.previous`` folder holding the files of the run being overwritten
    (``None`` when nothing was overwritten); ``created``: the topmost folder the claim made (``None``:
    the folder was there).
    """

    path: Path
    lock: RunLock
    previous: Path | None = None
    created: Path | None = None

    def __fspath__(self) -> str:
        return str(self.path)

    __str__ = __fspath__

    @classmethod
    def claim(cls, path, *, overwrite: bool = False, resume_from=None, label=str) -> "RunDir":
        """Create (if needed), check and lock the run folder ``path``.

        Raises ``RunFolderError`` when ``path`` cannot be created or written, when another run
        (in any process) holds its lock, or when it holds another run and ``overwrite`` is false
        (with ``overwrite`` that run's files are set aside, see the module docstring). The folder
        of ``resume_from`` (the checkpoint being resumed) is the same run, never another one;
        resuming from another file of it (``best.h5``) while its ``checkpoint.h5`` is there would
        replace that later checkpoint, so it counts as another run. The resumed run's ``best.h5``
        is copied in when the folder has none (from another folder, or from the files set aside):
        a resumed run that does not improve still has one. ``label`` names the settings ``out_dir``
        and ``overwrite`` in messages (the command line passes its options).
        """
        path = Path(path)
        created = make_folder(path, label("out_dir"))
        run = cls(path, RunLock(path).acquire(), created=created)
        try:
            if (path / PREVIOUS_NAME).is_dir():     # left by a killed overwrite
                run.previous = path / PREVIOUS_NAME
                run._settle_previous()
            files.remove_stale_temp_files(path)
            if run._other_run(resume_from):
                if not overwrite:
                    run._refuse(label)
                run._set_aside()
            if resume_from is not None:     # its run's best.h5 (set aside with it when this folder's)
                home = Path(resume_from).parent
                best = (run.previous if run.previous is not None and _same(home, path) else home) / BEST_NAME
                if best.is_file() and not (path / BEST_NAME).exists():
                    files.atomic_write_bytes(path / BEST_NAME, best.read_bytes())
        except BaseException:
            run.close(failed=True)
            raise
        return run

    @classmethod
    def claim_default(cls, base, max_tries: int = 1000) -> "RunDir":
        """Claim ``base``, or the first of ``base-2``, ``base-3``, ... that holds no run and is not in use."""
        base = Path(base)
        for k in range(1, max_tries + 1):
            folder = base if k == 1 else base.with_name(f"{base.name}-{k}")
            if holds_run(folder):
                continue
            try:
                return cls.claim(folder)
            except RunFolderError:      # in use by another run, or filled by one since we looked
                if not folder.is_dir():
                    raise               # it cannot be created: neither can the next ones
                continue
        raise RunFolderError(f"no free run folder among {str(base)!r} and its first {max_tries - 1} numbered variants")

    def checkpoint_saved(self) -> None:
        """The new run has a checkpoint: delete the overwritten run's files."""
        if self.previous is not None and (self.path / CHECKPOINT_NAME).is_file():
            shutil.rmtree(self.previous, ignore_errors=True)
            self.previous = None

    def close(self, failed: bool = False) -> None:
        """Delete or restore the overwritten run's files and release the lock; with ``failed``, also
        remove the folder if this claim created it and nothing was written into it."""
        try:
            self._settle_previous()
        finally:
            self.lock.release()
        if failed:                          # nothing was written: nothing is left
            remove_made_folder(self.path, self.created, frozenset({LOCK_NAME}))

    def __enter__(self) -> "RunDir":
        return self

    def __exit__(self, kind, exc, tb) -> None:
        self.close(failed=kind is not None)

    # ------------------------------------------------------------------ another run in the folder
    def _other_run(self, resume_from) -> bool:
        own = resume_from is not None and (
            _same(resume_from, self.path / CHECKPOINT_NAME)
            or (_same(Path(resume_from).parent, self.path) and not (self.path / CHECKPOINT_NAME).exists()))
        return holds_run(self.path) and not own

    def _refuse(self, label=str) -> None:
        held = [name for name in RUN_FILES if (self.path / name).exists()]
        checkpoint = self.path / CHECKPOINT_NAME
        continue_it = ""
        if checkpoint.exists():
            try:
                load_checkpoint(checkpoint)
                continue_it = f"continue it by resuming from {checkpoint}, "
            except (CheckpointError, OSError) as exc:
                continue_it = f"its checkpoint.h5 cannot be resumed ({exc}); "
        raise RunFolderError(f"{label('out_dir')} {str(self.path)!r} already holds a run or files a run would "
                             f"replace ({', '.join(held)}); {continue_it}choose another folder, or overwrite it "
                             f"({label('overwrite')}: its files are kept until the new run's first checkpoint)")

    def _set_aside(self) -> None:
        """Move the run files into ``.previous`` (renames: nothing is copied or lost)."""
        self.previous = self.path / PREVIOUS_NAME
        self.previous.mkdir(exist_ok=True)
        for name in RUN_FILES:
            if (self.path / name).exists():
                os.replace(self.path / name, self.previous / name)

    def _settle_previous(self) -> None:
        """The overwritten run's files (``.previous``, also one a killed overwrite left): deleted once the new
        run has a checkpoint, else put back."""
        if self.previous is None:
            return
        self.checkpoint_saved()
        if self.previous is not None:
            for item in self.previous.iterdir():
                os.replace(item, self.path / item.name)
            self.previous.rmdir()
            self.previous = None

    # ------------------------------------------------------------------ completing a killed run
    def repair(self, checkpoint: Mapping[str, Any] | None) -> "RunStatus":
        """Bring ``history.json`` and ``best.h5`` up to the folder's ``checkpoint.h5`` (its content
        ``checkpoint``, read by the caller; ``None`` when the folder has none) and say what is left.

        A run killed at any point leaves a loadable ``checkpoint.h5`` (atomic writes) but may leave
        ``history.json`` and ``best.h5`` one epoch behind it (they are written just after it) and
        lack the report files. ``history.json`` is rewritten from the checkpoint's trainer state when
        it differs; ``checkpoint.h5`` is copied to ``best.h5`` when its epoch is the run's best and
        ``best.h5`` is missing or older. Then the caller resumes training when ``complete`` is false
        and draws ``missing``: the folder an uninterrupted run leaves.
        """
        path = self.path / CHECKPOINT_NAME
        missing = missing_report_files(self.path)
        if checkpoint is None:
            return RunStatus(self.path, None, False, 0, 0, (), missing)
        state = checkpoint["trainer"]
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
        if history is not None and not mid_epoch and files.read_json_or_none(self.path / HISTORY_NAME) != history:
            files.write_json(self.path / HISTORY_NAME, history)
            repaired.append(HISTORY_NAME)
        best_epoch = state.get("best_epoch")
        if (state["config"].get("keep_best", True) and not mid_epoch and best_epoch is not None
                and int(best_epoch) == epoch and _saved_epoch(self.path / BEST_NAME) != epoch):
            files.atomic_write_bytes(self.path / BEST_NAME, path.read_bytes())
            repaired.append(BEST_NAME)
        report = files.read_json_or_none(self.path / METRICS_NAME)
        if not missing and not (isinstance(report, dict) and report.get("epochs") == epoch):
            missing = (METRICS_NAME,)    # the report is an earlier epoch's (a kill after the checkpoint): redraw it
        return RunStatus(self.path, path, complete, epoch, num_epochs, tuple(repaired), missing)


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
    """What :meth:`RunDir.repair` found and did.

    * ``complete``: the checkpoint holds every epoch of the run (or it stopped early).
    * ``epoch`` / ``num_epochs``: epochs done / planned; ``checkpoint``: its path (``None``
      when the folder has none: the run never reached its first checkpoint).
    * ``repaired``: the files rewritten from the checkpoint (``history.json``, ``best.h5``).
    * ``missing``: report files (``loss.png``, ``metrics.json``, ...) absent from the folder, or
      ``metrics.json`` when the report is of another epoch than the checkpoint.
    """

    folder: Path
    checkpoint: Path | None
    complete: bool
    epoch: int
    num_epochs: int
    repaired: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()


def complete_run(folder) -> RunStatus:
    """Repair a run folder's ``history.json`` and ``best.h5`` from its checkpoint (:meth:`RunDir.repair`),
    holding its lock; ``RunFolderError`` when it is not a folder or a run is writing it,
    ``CheckpointError`` for a damaged checkpoint. ``minitorch_cap.runs.complete_run`` also
    resumes the missing epochs and draws the pictures."""
    folder = Path(folder)
    if not folder.is_dir():
        raise RunFolderError(f"{str(folder)!r} is not a run folder (it does not exist or is not a folder)")
    checkpoint = folder / CHECKPOINT_NAME
    with RunDir.claim(folder, resume_from=checkpoint) as run:
        return run.repair(load_checkpoint(checkpoint) if checkpoint.is_file() else None)


def _saved_epoch(path: Path) -> int | None:
    try:
        return int(load_checkpoint(path)["trainer"]["epoch"])
    except (OSError, CheckpointError, KeyError, TypeError, ValueError):
        return None
