"""Checkpoints: one HDF5 file holding everything needed to use a model or resume training.

Layout (format ``minitorch_cap.checkpoint``, version ``FORMAT_VERSION``)::

    bytes 0..511       the seal (an HDF5 "user block", ASCII, zero-padded):
                       "minitorch_cap checkpoint\nformat_version 2\nsize N\nsha256 HEX\n"
    /                  attrs: format, format_version, library_version
    /model             attrs: class, config (JSON); dataset vocab (V,) str, the words in id order;
                       dataset vocab_ids (V,) int64, their ids (only when the ids have gaps)
    /model/params      one dataset per parameter, by dotted name (``rnn.Wx``)
    /optimizer         (optional) the optimizer's state_dict: type, hyperparams, per-parameter arrays
    /scheduler         (optional) the schedule's state_dict
    /trainer           (optional) counters, RNG state, histories, config: what ``Trainer.resume`` needs

Inside each group, arrays are datasets (with a Fletcher-32 checksum) and the other values one JSON
attribute. No pickle: loading a file never runs code.

**Integrity.** The seal holds the file's size and the SHA-256 of every byte HDF5 reads (bytes
512..N-1). ``load_checkpoint`` reads the whole file and checks the seal *before* h5py sees a byte,
so a damaged file (a flipped bit, a truncated or extended copy, a modified attribute) raises
``CheckpointError`` naming it: no wrong values, no hang inside HDF5 (SHA-256 runs at about 0.5-1
GB/s: ~0.1-0.2 s for a 100 MB COCO checkpoint). A file with a valid seal written by other tools is
then bounded before any array is read (``MAX_OBJECTS`` groups and datasets, ``MAX_DEPTH`` levels,
no dataset larger than the file, numeric arrays only); any failure is a ``CheckpointError``. (The
SHA-256 guards against accidents, not forgery.)

**Old files.** 0.1.0 checkpoints (format 1: plain HDF5, no seal) still load, checked only by the
Fletcher-32 checksums of their arrays (measured: 257 of 12,112 single-byte flips load different
content); as HDF5 can loop forever on such damage (1 in 12,112), an unsealed file is first copied by
HDF5 in a child process killed after ``UNSEALED_READ_TIMEOUT`` seconds. Saving writes the sealed format.

**Writing.** The HDF5 file is built in memory (a full disk cannot crash the HDF5 library), then
written atomically (:func:`minitorch_cap.data.files.atomic_write_bytes`, see :func:`save_checkpoint`).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any, Callable, Mapping

import h5py
import numpy as np

from ..captioners.base import Captioner
from ..nn.checks import MissingFileError, UserError, check_finite_weights
from ..tokens import check_word_to_idx
from ..data import files

FORMAT = "minitorch_cap.checkpoint"
CHECKPOINT_NAME = "checkpoint.h5"
FORMAT_VERSION = 2
_JSON_ATTR = "json"
#: Size in bytes of the seal at the start of the file (an HDF5 user block: a power of two >= 512).
SEAL_SIZE = 512
_SEAL_MAGIC = b"minitorch_cap checkpoint\n"
_SEAL_PATTERN = re.compile(rb"minitorch_cap checkpoint\nformat_version (\d{1,3})\nsize (\d{1,15})\n"
                           rb"sha256 ([0-9a-f]{64})\n")
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
#: Bounds on the structure of a file, checked before reading any array.
MAX_OBJECTS = 100_000
MAX_DEPTH = 8


class CheckpointError(UserError, ValueError):
    """A checkpoint file is damaged, truncated, foreign, or from an incompatible version."""


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
    group.attrs[_JSON_ATTR] = json.dumps(plain, default=files.json_default)


def _read_tree(group: h5py.Group) -> dict[str, Any]:
    """The tree :func:`_write_tree` wrote (its depth and size bounded first by :func:`_check_structure`)."""
    tree = {key: _read_tree(item) if isinstance(item, h5py.Group) else item[()] for key, item in group.items()}
    raw = group.attrs.get(_JSON_ATTR)
    if raw is not None:
        plain = json.loads(raw)
        if not isinstance(plain, dict):
            raise CheckpointError(f"the {_JSON_ATTR!r} attribute of {group.name!r} is not a JSON object")
        tree.update(plain)
    return tree


# ---------------------------------------------------------------------------- saving
def save_checkpoint(path, model: Captioner, optimizer=None, scheduler=None,
                    trainer: Mapping[str, Any] | None = None) -> Path:
    """Write ``model`` (weights, config, vocabulary) and optionally the optimizer, schedule and trainer state.

    ``trainer`` is a mapping of plain values and arrays (``Trainer`` builds it). Raises
    ``TypeError`` for a model that is not a captioner or an optimizer/scheduler without
    ``state_dict()``, ``ValueError`` — and writes nothing — if any weight is NaN or infinite; ``WriteError``
    (an ``OSError``) naming the folder when the disk is full, read-only or failing (the
    previous file at ``path`` is then intact). The file is sealed (see the module docstring).
    """
    if not isinstance(model, Captioner):
        raise TypeError(f"save_checkpoint: model must be a captioner (CaptioningModel, CaptioningTransformer), "
                        f"got {type(model).__name__}")
    for name, given in (("optimizer", optimizer), ("scheduler", scheduler)):
        if given is not None and not callable(getattr(given, "state_dict", None)):
            raise TypeError(f"save_checkpoint: {name} must be a minitorch_cap.optim {name} (with state_dict()) "
                            f"or None, got {type(given).__name__}")
    check_finite_weights(f"save_checkpoint({path})", ((n, p.data) for n, p in model.named_parameters()))
    words, ids = _vocabulary_arrays(model.word_to_idx)
    from .._version import __version__

    def fill(f: h5py.File) -> None:
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

    return files.atomic_write_bytes(path, _sealed_image(fill))


def _sealed_image(fill: Callable[[h5py.File], None], version: int = FORMAT_VERSION) -> bytes:
    """Build an HDF5 file in memory with ``fill(file)`` and return its bytes, sealed."""
    # The core driver without a backing store: the file lives in memory (HDF5 never touches the
    # disk, so a full disk cannot crash it) and C code builds it, as fast as writing to a file.
    f = h5py.File(f"minitorch_cap-checkpoint-{os.getpid()}-{id(fill)}.h5", "w", driver="core",
                  backing_store=False, track_order=True)
    try:
        fill(f)
        f.flush()
        image = f.id.get_file_image()
    finally:
        f.close()
    # The seal goes in front, as an HDF5 user block: HDF5 finds its superblock at byte 512
    # and takes that as the base of every address in the file.
    return _seal(bytes(SEAL_SIZE) + image, version)


def _seal(image: bytes, version: int = FORMAT_VERSION) -> bytes:
    """Write the seal (size and SHA-256 of bytes ``SEAL_SIZE..``) into the user block of ``image``."""
    body = memoryview(image)[SEAL_SIZE:]
    return _seal_bytes(version, len(image), hashlib.sha256(body).hexdigest()) + bytes(body)


def _seal_bytes(version: int, size: int, digest: str) -> bytes:
    text = b"%sformat_version %d\nsize %d\nsha256 %s\n" % (_SEAL_MAGIC, version, size, digest.encode())
    return text.ljust(SEAL_SIZE, b"\0")


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
    """Read a checkpoint (or a run folder's ``checkpoint.h5``) into plain values and arrays, checked as a whole.

    Returns ``{"format_version", "library_version", "model": {"class", "config",
    "word_to_idx", "state_dict"}, "optimizer", "scheduler", "trainer"}`` (the last three
    ``None`` when absent). A missing file raises ``MissingFileError`` (a ``FileNotFoundError``); a
    damaged, truncated, modified, unreadable or foreign file raises ``CheckpointError`` naming the
    file — never another exception (see the module docstring for how each format is checked).
    """
    path = checkpoint_path(path)
    raw = _read_verified(path)
    if not raw.startswith(_SEAL_MAGIC):
        raw = _rewrite_unsealed(raw, path)
    try:
        return _parse(raw, path)
    except CheckpointError as exc:
        if str(path) in str(exc):
            raise
        raise CheckpointError(f"{path} is damaged: {exc}") from exc.__cause__
    except Exception as exc:  # h5py, json, numpy: whatever a damaged or foreign structure raises
        raise CheckpointError(f"{path} is damaged: reading it failed ({type(exc).__name__}: {exc})") from exc


def checkpoint_path(path) -> Path:
    """``path``, or ``path/checkpoint.h5`` for a run folder; ``MissingFileError`` saying how to get one."""
    path = Path(path)
    if path.is_dir():
        path = path / CHECKPOINT_NAME
    if not path.is_file():
        raise MissingFileError(f"checkpoint {str(path)!r} does not exist (train one with 'minitorch-cap train', "
                               "which writes checkpoint.h5 into its run folder)")
    return path


def _read_verified(path: Path) -> bytes:
    """The file's bytes; for a sealed file, checked against its seal (size and SHA-256)."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(SEAL_SIZE)
            if head.startswith(_SEAL_MAGIC):
                version, size, digest = _parse_seal(head, path)
                actual = os.fstat(fh.fileno()).st_size
                if actual != size:
                    raise CheckpointError(f"{path} is damaged: it holds {actual} bytes, its seal says {size} "
                                          f"({'truncated' if actual < size else 'bytes added at the end'})")
                raw = head + fh.read(size - SEAL_SIZE)
                if len(raw) != size:
                    raise CheckpointError(f"{path} is damaged: truncated while reading ({len(raw)} of {size} bytes)")
                if hashlib.sha256(memoryview(raw)[SEAL_SIZE:]).hexdigest() != digest:
                    raise CheckpointError(f"{path} is damaged: its content does not match the SHA-256 in its seal "
                                          "(corrupted or modified after it was written)")
                if version < 2:
                    raise CheckpointError(f"{path} is damaged: a sealed file cannot have format version {version}")
                return raw
            if head.startswith(_HDF5_SIGNATURE):    # format 1 (0.1.0): plain HDF5, no seal
                return head + fh.read()
    except OSError as exc:
        raise CheckpointError(f"cannot read checkpoint {path}: {exc.strerror or exc}") from exc
    raise CheckpointError(f"{path} is not a readable HDF5 checkpoint: the file is damaged, truncated or of "
                          "another kind (it starts with neither a minitorch_cap seal nor the HDF5 signature)")


#: Seconds HDF5 may take to read an unsealed (0.1.0) file in a child process (see ``_rewrite_unsealed``).
UNSEALED_READ_TIMEOUT = 30.0
_NOT_A_CHECKPOINT = 3
_REWRITE = r"""
import sys
import h5py
raw = sys.stdin.buffer.read()
fapl = h5py.h5p.create(h5py.h5p.FILE_ACCESS)
fapl.set_fapl_core(backing_store=False)
fapl.set_file_image(raw)
src = h5py.File(h5py.h5f.open(b"unsealed.h5", h5py.h5f.ACC_RDONLY, fapl=fapl))
fmt = src.attrs.get("format")
if fmt != sys.argv[1]:
    sys.stderr.write(repr(fmt))
    sys.exit(%d)
dst = h5py.File("copy.h5", "w", driver="core", backing_store=False, track_order=True)
for key, value in src.attrs.items():
    dst.attrs[key] = value
for name in src:
    src.copy(src[name], dst, name=name)
dst.flush()
sys.stdout.buffer.write(dst.id.get_file_image())
""" % _NOT_A_CHECKPOINT


def _rewrite_unsealed(raw: bytes, path: Path) -> bytes:
    """An unsealed (0.1.0) HDF5 file, copied by HDF5 in a child process killed after ``UNSEALED_READ_TIMEOUT``.

    HDF5 can loop forever on a damaged chunk index or object header (one hang in 12,112 single-byte
    flips, see benchmarks/checkpoint_faults.py). The child walks the whole file (``H5Ocopy``) into a
    fresh image whose structure HDF5 itself wrote; chunk checksums are copied as they are, so
    Fletcher-32 still catches damaged arrays when they are read.
    """
    import subprocess
    import sys
    try:
        result = subprocess.run([sys.executable, "-c", _REWRITE, FORMAT], input=raw, capture_output=True,
                                timeout=UNSEALED_READ_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise CheckpointError(f"{path} is damaged: HDF5 did not finish reading it within "
                              f"{UNSEALED_READ_TIMEOUT:g} s (an unsealed 0.1.0-format file)") from None
    except OSError as exc:
        raise CheckpointError(f"cannot read checkpoint {path}: starting a process to read it failed "
                              f"({exc.strerror or exc})") from None
    if result.returncode == _NOT_A_CHECKPOINT:
        raise CheckpointError(f"{path} is an HDF5 file but not a minitorch_cap checkpoint (format attribute "
                              f"{result.stderr.decode('utf-8', 'replace')}, expected {FORMAT!r})")
    if result.returncode != 0 or not result.stdout:
        why = (result.stderr.decode("utf-8", "replace").strip().splitlines() or ["no output"])[-1]
        raise CheckpointError(f"{path} is not a readable HDF5 checkpoint: the file is damaged, truncated or of "
                              f"another kind ({why})")
    return result.stdout


def _parse_seal(head: bytes, path: Path) -> tuple[int, int, str]:
    match = _SEAL_PATTERN.match(head)
    version, size, digest = (int(match[1]), int(match[2]), match[3].decode()) if match else (0, 0, "")
    if match is None or head != _seal_bytes(version, size, digest):
        raise CheckpointError(f"{path} is damaged: its seal (the first {SEAL_SIZE} bytes) is garbled")
    if version > FORMAT_VERSION:
        raise CheckpointError(f"{path} has checkpoint format version {version}; this library reads "
                              f"versions 1..{FORMAT_VERSION} (upgrade minitorch_cap to read newer files)")
    return version, size, digest


def _check_structure(f: h5py.File, size: int) -> None:
    """Refuse absurd structures before reading any array: too many objects, too deep, too big, odd dtypes."""
    count = 0
    stack = [(f, 0)]
    while stack:
        group, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise CheckpointError(f"groups nested deeper than {MAX_DEPTH} levels at {group.name!r}")
        for key in group:
            count += 1
            if count > MAX_OBJECTS:
                raise CheckpointError(f"more than {MAX_OBJECTS} groups and datasets")
            item = group.get(key, getlink=False)
            if isinstance(item, h5py.Group):
                stack.append((item, depth + 1))
            elif isinstance(item, h5py.Dataset):
                kind = item.dtype.kind
                if kind not in "fiub" and not (kind == "O" and item.name == "/model/vocab"):
                    raise CheckpointError(f"dataset {item.name!r} has dtype {item.dtype}; checkpoints hold numbers")
                nbytes = int(np.prod(item.shape, dtype=object)) * max(item.dtype.itemsize, 1)
                if nbytes > size:
                    raise CheckpointError(f"dataset {item.name!r} declares shape {item.shape} ({nbytes} bytes), "
                                          f"more than the whole file ({size} bytes)")
            else:
                raise CheckpointError(f"{group.name}/{key} is neither a group nor a dataset")


def _parse(raw: bytes, path: Path) -> dict[str, Any]:
    try:
        fapl = h5py.h5p.create(h5py.h5p.FILE_ACCESS)    # the bytes in memory: the core driver, no disk, no callbacks
        fapl.set_fapl_core(backing_store=False)
        fapl.set_file_image(raw)
        f = h5py.File(h5py.h5f.open(f"minitorch_cap-image-{os.getpid()}.h5".encode(), h5py.h5f.ACC_RDONLY, fapl=fapl))
    except OSError as exc:
        raise CheckpointError(f"{path} is not a readable HDF5 checkpoint: the file is damaged, truncated "
                              f"or of another kind ({exc})") from exc
    with f:
        fmt = f.attrs.get("format")
        if fmt != FORMAT:
            raise CheckpointError(f"{path} is an HDF5 file but not a minitorch_cap checkpoint "
                                  f"(format attribute {fmt!r}, expected {FORMAT!r})")
        version = f.attrs.get("format_version", -1)
        if not isinstance(version, (int, np.integer)) or not 1 <= version <= FORMAT_VERSION:
            raise CheckpointError(f"{path} has checkpoint format version {version}; this library reads "
                                  f"versions 1..{FORMAT_VERSION} (upgrade minitorch_cap to read newer files)")
        sealed = raw.startswith(_SEAL_MAGIC)
        if sealed != (version >= 2):
            raise CheckpointError(f"{path} is damaged: format version {version} "
                                  f"{'cannot be' if sealed else 'must be'} sealed")
        _check_structure(f, len(raw))
        model = f["model"]
        words = [str(w) for w in model["vocab"].asstr()[()]]
        if model["vocab"].ndim != 1 or len(set(words)) != len(words):
            raise CheckpointError(f"{path} is damaged: its vocabulary is not a list of distinct words")
        config = json.loads(model.attrs["config"])
        if not isinstance(config, dict):
            raise CheckpointError(f"{path} is damaged: the model config is not a JSON object")
        ids = [int(i) for i in model["vocab_ids"][()]] if "vocab_ids" in model else list(range(len(words)))
        if len(ids) != len(words):
            raise CheckpointError(f"{path} is damaged: {len(words)} words but {len(ids)} ids")
        try:
            word_to_idx = check_word_to_idx(str(path), dict(zip(words, ids)))
        except (TypeError, ValueError) as exc:
            raise CheckpointError(f"{path} is damaged: {exc}") from None
        checkpoint = {
            "format_version": int(version),
            "library_version": str(f.attrs.get("library_version", "")),
            "model": {
                "class": str(model.attrs["class"]),
                "config": config,
                "word_to_idx": word_to_idx,
                "state_dict": _read_tree(model["params"]),
            },
        }
        for section in ("optimizer", "scheduler", "trainer"):
            checkpoint[section] = _read_tree(f[section]) if section in f else None
    return checkpoint
