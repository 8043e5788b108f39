"""Checkpoints: one HDF5 file holding everything needed to use a model or resume training.

Layout (format ``minitorch_cap.checkpoint``, version ``FORMAT_VERSION``)::

    /                  attrs: format, format_version, library_version
    /model             attrs: class, config (JSON); dataset vocab (V,) str, the words in id order;
                       dataset vocab_ids (V,) int64, their ids (only when the ids have gaps)
    /model/params      one dataset per parameter, by dotted name (``rnn.Wx``)
    /optimizer         (optional) the optimizer's state_dict: type, hyperparams, per-parameter arrays
    /scheduler         (optional) the schedule's state_dict
    /trainer           (optional) counters, RNG state, histories, config: what ``Trainer.resume`` needs

Inside each group, arrays are datasets (with a Fletcher-32 checksum, so corrupted bytes
are detected on reading) and the other values one JSON attribute. No pickle: loading a
file never runs code.

Files are written atomically: a temporary file in the same directory, flushed and
fsynced, then renamed over the target (and the directory fsynced), so a crash at any
moment leaves the previous checkpoint loadable. Non-finite weights are never written.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable, Mapping

import h5py
import numpy as np

from ..captioner import Captioner, captioner_from_config
from ..nn.checks import check_finite_weights
from ..tokens import check_word_to_idx

FORMAT = "minitorch_cap.checkpoint"
FORMAT_VERSION = 1
_JSON_ATTR = "json"


class CheckpointError(ValueError):
    """A checkpoint file is damaged, truncated, foreign, or from an incompatible version."""


# ---------------------------------------------------------------------------- atomic files
def atomic_write(path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp_path)``, fsync the file, then rename it to ``path`` (atomic on POSIX).

    On any failure the temporary file is removed and ``path`` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        write(tmp)
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    try:  # make the rename itself durable
        fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:  # some file systems refuse fsync on a directory; the data is already safe
        pass
    return path


def write_json(path, obj: Any) -> Path:
    """Write ``obj`` as indented JSON, atomically (numpy scalars and arrays become plain values)."""
    def write(tmp: Path) -> None:
        with open(tmp, "w", encoding="utf-8") as fh:
            json.dump(obj, fh, indent=2, default=_json_default)
            fh.write("\n")
            fh.flush()
    return atomic_write(path, write)


def _json_default(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"cannot store a {type(value).__name__} in a checkpoint (expected numbers, strings, "
                    "lists, dicts or arrays)")


# ---------------------------------------------------------------------------- generic trees
def _write_tree(group: h5py.Group, tree: Mapping[str, Any]) -> None:
    """Arrays -> datasets, dicts -> subgroups, everything else -> the group's JSON attribute."""
    plain = {}
    for key, value in tree.items():
        if not isinstance(key, str) or not key or "/" in key or key == ".":
            raise ValueError(f"checkpoint: invalid entry name {key!r} in group {group.name!r}")
        if isinstance(value, np.ndarray):
            if value.dtype == object or value.dtype.kind in "USO":
                raise TypeError(f"checkpoint: {group.name}/{key} has dtype {value.dtype}; only numeric arrays are stored")
            checksum = value.ndim > 0 and value.size > 0
            group.create_dataset(key, data=value, fletcher32=checksum, chunks=True if checksum else None)
        elif isinstance(value, Mapping):
            _write_tree(group.create_group(key, track_order=True), value)
        else:
            plain[key] = value
    group.attrs[_JSON_ATTR] = json.dumps(plain, default=_json_default)


def _read_tree(group: h5py.Group) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for key, item in group.items():
        tree[key] = _read_tree(item) if isinstance(item, h5py.Group) else item[()]
    raw = group.attrs.get(_JSON_ATTR)
    if raw is not None:
        tree.update(json.loads(raw))
    return tree


# ---------------------------------------------------------------------------- saving
def save_checkpoint(path, model: Captioner, optimizer=None, scheduler=None,
                    trainer: Mapping[str, Any] | None = None) -> Path:
    """Write ``model`` (weights, config, vocabulary) and optionally the optimizer, schedule and trainer state.

    ``trainer`` is a mapping of plain values and arrays (``Trainer`` builds it). Raises
    ``ValueError`` — and writes nothing — if any weight is NaN or infinite.
    """
    check_finite_weights(f"save_checkpoint({path})", ((n, p.data) for n, p in model.named_parameters()))
    words, ids = _vocabulary_arrays(model.word_to_idx)
    from .. import __version__  # late: the package imports this module

    def write(tmp: Path) -> None:
        with h5py.File(tmp, "w", track_order=True) as f:
            f.attrs["format"] = FORMAT
            f.attrs["format_version"] = FORMAT_VERSION
            f.attrs["library_version"] = __version__
            group = f.create_group("model", track_order=True)
            group.attrs["class"] = type(model).__name__
            group.attrs["config"] = json.dumps(model.config())
            group.create_dataset("vocab", data=np.array(words, dtype=object), dtype=h5py.string_dtype("utf-8"))
            if ids is not None:
                group.create_dataset("vocab_ids", data=ids)
            _write_tree(group.create_group("params", track_order=True), model.state_dict())
            if optimizer is not None:
                _write_tree(f.create_group("optimizer", track_order=True), optimizer.state_dict())
            if scheduler is not None:
                _write_tree(f.create_group("scheduler", track_order=True), scheduler.state_dict())
            if trainer is not None:
                _write_tree(f.create_group("trainer", track_order=True), trainer)
            f.flush()

    return atomic_write(path, write)


def _vocabulary_arrays(word_to_idx: Mapping[str, int]) -> tuple[list[str], np.ndarray | None]:
    """The words sorted by id, and their ids when these are not exactly 0..V-1 (else None).

    Any vocabulary the models accept can be saved (the library's one rule,
    :func:`minitorch_cap.tokens.check_word_to_idx`, allows gaps: the course's example has one).
    """
    pairs = sorted(check_word_to_idx("save_checkpoint", word_to_idx).items(), key=lambda wi: wi[1])
    words = [w for w, _ in pairs]
    ids = np.array([i for _, i in pairs], dtype=np.int64)
    return words, (None if np.array_equal(ids, np.arange(len(ids))) else ids)


# ---------------------------------------------------------------------------- loading
def load_checkpoint(path) -> dict[str, Any]:
    """Read a checkpoint into plain values and arrays.

    Returns ``{"format_version", "library_version", "model": {"class", "config",
    "word_to_idx", "state_dict"}, "optimizer", "scheduler", "trainer"}`` (the last three
    ``None`` when absent). A missing file raises ``FileNotFoundError``; a damaged,
    truncated or foreign file raises ``CheckpointError`` saying so.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise CheckpointError(f"{path} is not a readable HDF5 checkpoint: the file is damaged, truncated "
                              f"or of another kind ({exc})") from exc
    with f:
        fmt = f.attrs.get("format")
        if fmt != FORMAT:
            raise CheckpointError(f"{path} is an HDF5 file but not a minitorch_cap checkpoint "
                                  f"(format attribute {fmt!r}, expected {FORMAT!r})")
        version = int(f.attrs.get("format_version", -1))
        if not 1 <= version <= FORMAT_VERSION:
            raise CheckpointError(f"{path} has checkpoint format version {version}; this library reads "
                                  f"versions 1..{FORMAT_VERSION} (upgrade minitorch_cap to read newer files)")
        try:
            model = f["model"]
            words = list(model["vocab"].asstr()[()])
            ids = [int(i) for i in model["vocab_ids"][()]] if "vocab_ids" in model else range(len(words))
            if len(ids) != len(words):
                raise ValueError(f"{len(words)} words but {len(ids)} ids")
            checkpoint = {
                "format_version": version,
                "library_version": str(f.attrs.get("library_version", "")),
                "model": {
                    "class": str(model.attrs["class"]),
                    "config": json.loads(model.attrs["config"]),
                    "word_to_idx": check_word_to_idx(str(path), dict(zip(words, ids))),
                    "state_dict": _read_tree(model["params"]),
                },
            }
            for section in ("optimizer", "scheduler", "trainer"):
                checkpoint[section] = _read_tree(f[section]) if section in f else None
        except (OSError, KeyError, ValueError, TypeError) as exc:
            raise CheckpointError(f"{path} is damaged: reading it failed ({type(exc).__name__}: {exc})") from exc
    return checkpoint


def _model_from(checkpoint: Mapping[str, Any], path) -> Captioner:
    info = checkpoint["model"]
    try:
        model = captioner_from_config(info["class"], info["word_to_idx"], info["config"])
        model.load_state_dict(info["state_dict"])
    except (ValueError, TypeError) as exc:
        raise CheckpointError(f"{path}: the stored model cannot be rebuilt: {exc}") from exc
    return model


def load_model(path) -> Captioner:
    """Rebuild the captioner of a checkpoint (its class, config, vocabulary and weights)."""
    return _model_from(load_checkpoint(path), path)


def init_from_checkpoint(model, path, strict: bool = True) -> None:
    """Copy a checkpoint's weights into ``model`` (weights only: no optimizer, counters or RNG).

    This starts a *new* run from trained weights (fine-tuning); to continue an interrupted
    run exactly use ``Trainer.resume``. The vocabulary must match the model's when the
    model has one. ``strict=False`` allows missing or extra parameter names (shapes and
    dtypes are still checked).
    """
    checkpoint = load_checkpoint(path)
    info = checkpoint["model"]
    word_to_idx = getattr(model, "word_to_idx", None)
    if word_to_idx is not None and dict(word_to_idx) != info["word_to_idx"]:
        raise ValueError(f"init_from_checkpoint: the vocabulary of {path} ({len(info['word_to_idx'])} words) "
                         f"differs from the model's ({len(word_to_idx)} words)")
    state = info["state_dict"]
    dtype = getattr(model, "dtype", None)
    if dtype is not None:  # a float64 model may start from float32 weights, and back
        state = {k: v.astype(dtype, copy=False) for k, v in state.items()}
    model.load_state_dict(state, strict=strict)
