"""Import your own captioning data into the CS231n directory layout that ``load_coco_data`` reads.

Inputs:

* a captions JSON file (or the same structure as a Python object)::

      {"images": [{"split": "train", "url": "http://.../cat.jpg", "captions": ["A cat.", "A cat on a mat."]},
                  {"split": "val", "captions": ["..."]}, ...]}

  (a bare list of image entries is accepted too; ``url`` is optional);
* image features, one row per entry of ``images``, in the same order: a ``.npy`` file
  (memory-mapped, never unpickled), an HDF5 file (dataset ``features_key``), or an array.

Output (``out_dir``): ``coco2014_captions.h5``, ``train2014_vgg16_fc7.h5`` and
``val2014_vgg16_fc7.h5`` (or the ``_pca`` names with ``pca_features=True``),
``coco2014_vocab.json`` (built from the TRAINING captions only) and the two URL files.
Then ``load_coco_data(out_dir, pca_features=False)`` loads it.
"""

from __future__ import annotations

import os
import shutil
from typing import Mapping, Sequence

import numpy as np

from . import files
from ..nn.checks import MissingFileError
from .coco import CAPTIONS_FILE, LAYOUT_FILES, SPLITS, URL_FILES, VOCAB_FILE, feature_file
from .vocabulary import Vocabulary, tokenize
from .checks import DataError, MissingDataKey

_CHUNK = 8192


def _load_entries(captions) -> list[dict]:
    source = "captions"
    if isinstance(captions, (str, os.PathLike)):
        source = repr(os.fspath(captions))
        captions = files.read_json(captions, "import_captions", "captions file")
    entries = captions.get("images") if isinstance(captions, Mapping) else captions
    if not isinstance(entries, Sequence) or isinstance(entries, str):
        raise DataError(f"import_captions: {source} must be {{\"images\": [...]}} or a list of image entries")
    for i, e in enumerate(entries):
        where = f"import_captions: {source}, image entry {i}"
        if not isinstance(e, Mapping):
            raise DataError(f"{where} must be an object with 'split' and 'captions'")
        if e.get("split") not in SPLITS:
            raise DataError(f"{where}: 'split' must be 'train' or 'val', got {e.get('split')!r}")
        caps = e.get("captions")
        if not isinstance(caps, Sequence) or isinstance(caps, str) or not caps or \
                not all(isinstance(c, str) and c.strip() for c in caps):
            raise DataError(f"{where}: 'captions' must be a non-empty list of non-empty strings")
        if "url" in e:
            check_line(where, "'url'", e["url"])
    entries = [_without_wordless_captions(e, i, source) for i, e in enumerate(entries)]
    for s in SPLITS:
        if not any(e["split"] == s for e in entries):
            raise DataError(f"import_captions: {source} has no image in the {s!r} split (both are needed)")
    return list(entries)


def check_line(owner: str, name: str, value) -> str:
    """The rule for a string written as one line of a text file (an image URL): it must read back
    as itself. So no line break of any kind (``\\n``, ``\\r``, and the others ``str.splitlines``
    and the course's reader, Python's universal newlines, split on) and no space at either end
    (readers strip each line). Raises ``ValueError`` naming ``owner``, ``name`` and the value.
    """
    if not isinstance(value, str):
        raise DataError(f"{owner}: {name} must be a string, got {type(value).__name__}")
    if value and (value.splitlines() != [value] or value != value.strip()):
        raise DataError(f"{owner}: {name} {value!r} holds a line break or starts or ends with a space; it is "
                         "written as one line of a text file and must read back unchanged")
    return value


def _without_wordless_captions(entry: Mapping, i: int, source: str) -> dict:
    """The entry with its captions that hold no word (``"!!!"``) set aside in ``"dropped"``.

    Such a caption would become an empty ``<START> <END>`` row; an image left with no
    caption is an error naming it.
    """
    kept = [c for c in entry["captions"] if tokenize(c)]
    if not kept:
        raise DataError(f"import_captions: {source}, image entry {i}: no caption holds a word "
                         f"({list(entry['captions'])[:3]!r}); give at least one caption with words")
    return {**entry, "captions": kept, "dropped": [c for c in entry["captions"] if not tokenize(c)]}


def _open_features(features, features_key: str):
    """-> (array-like with .shape, .dtype and row slicing, closer)."""
    if isinstance(features, (str, os.PathLike)):
        path = os.fspath(features)
        if not os.path.isfile(path):
            raise MissingFileError(f"import_captions: no features file at {path!r}")
        if path.endswith(".npy"):
            try:
                return np.load(path, mmap_mode="r", allow_pickle=False), (lambda: None)
            except ValueError as e:
                raise DataError(f"import_captions: {path!r} is not a plain numeric .npy array ({e})") from None
        import h5py
        try:
            f = h5py.File(path, "r")
        except OSError:
            raise DataError(f"import_captions: {path!r} is neither a .npy file nor a readable HDF5 file") from None
        if features_key not in f:
            keys = sorted(f.keys())
            f.close()
            raise MissingDataKey(f"import_captions: {path!r} has no dataset {features_key!r} (it has {keys})")
        return f[features_key], f.close
    return np.asarray(features), (lambda: None)


def import_captions(out_dir, captions, features, *, features_key: str = "features", min_count: int = 1,
                    max_length: int = 17, pca_features: bool = False, overwrite: bool = False) -> dict:
    """Write captions + features as a CS231n-format directory; return a small report.

    The vocabulary keeps the training words seen at least ``min_count`` times; captions
    are encoded to int32 rows of ``max_length`` ids (``<START> ... <END> <NULL>...``,
    longer ones truncated). Image URLs must read back as written (:func:`check_line`: no line
    break). A folder that holds any file of the layout (:data:`LAYOUT_FILES`) is refused unless
    ``overwrite``; then every file of the earlier import is replaced or removed, so that no
    file of it (e.g. ``*_pca.h5`` features, which ``load_coco_data`` prefers, when the new import
    writes the full ones) mixes with the new data.

    All files are written into a temporary folder next to ``out_dir`` (``.NAME.tmp-PID``),
    which becomes ``out_dir`` (or whose files are moved into it) only once everything is
    written and checked: on any error (NaN features, ``max_length`` too small, ...) nothing
    appears in ``out_dir`` and a retry starts afresh. A full, read-only or failing disk raises
    ``WriteError`` (an ``OSError``) naming the folder.

    Returns ``{"out_dir", "vocab_size", "train": {...}, "val": {...}}``, each split with
    ``images``, ``captions`` and the vocabulary's ``unk_rate`` / ``truncated`` counts, and the captions with no word
    (only punctuation) that were left out: ``dropped_captions`` and up to five ``dropped_examples``.
    """
    import h5py
    entries = _load_entries(captions)
    feats, close = _open_features(features, features_key)
    try:
        if len(feats.shape) != 2 or not np.issubdtype(feats.dtype, np.floating):
            raise DataError(f"import_captions: features must be a floating-point array (N_images, D), "
                             f"got dtype {feats.dtype} and shape {tuple(feats.shape)}")
        if feats.shape[0] != len(entries):
            raise DataError(f"import_captions: features have {feats.shape[0]} rows but the captions list "
                             f"{len(entries)} images; row i must be the features of image entry i")
        out_dir = os.fspath(out_dir)
        names = [CAPTIONS_FILE, VOCAB_FILE] + [feature_file(s, pca_features) for s in SPLITS] + list(URL_FILES.values())
        existing = [n for n in LAYOUT_FILES if os.path.lexists(os.path.join(out_dir, n))]
        if existing and not overwrite:
            raise FileExistsError(f"import_captions: {out_dir!r} already holds {existing}; pass overwrite=True to replace them")
        target = os.path.abspath(out_dir)
        staging = os.path.join(os.path.dirname(target), f".{os.path.basename(target)}.tmp-{os.getpid()}")
        publishing = False
        try:
            os.makedirs(os.path.dirname(target), exist_ok=True)
            files.remove_stale_temp_files(os.path.dirname(target), name=os.path.basename(target))  # a killed import's
            shutil.rmtree(staging, ignore_errors=True)
            os.mkdir(staging)
            report = _write_all(staging, entries, feats, min_count, max_length, pca_features, h5py)
            publishing = True
            _publish(staging, target, names)
        except OSError as exc:      # a full, read-only or failing disk (h5py's errors carry the errno too)
            shutil.rmtree(staging, ignore_errors=True)
            if exc.errno is None:
                raise
            kept = ("it may be incomplete: run the import again" if publishing else
                    "its previous files are intact" if os.path.isdir(target) else "nothing was written")
            raise files.write_error(target, exc, "import_captions", kept) from exc
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        report["out_dir"] = out_dir
        return report
    finally:
        close()


def _publish(staging: str, target: str, names: list[str]) -> None:
    """Make the staged files appear in ``target``: one rename of the folder when it is new.

    Into an existing folder, the files of the layout that this import does not write are
    removed first (an interrupted publish then leaves an incomplete folder, which loading
    refuses, rather than old features beside new captions), then each staged file replaces
    its namesake atomically.
    """
    try:
        os.rename(staging, target)           # atomic; fails when target exists
        return
    except OSError:
        if not os.path.isdir(target):
            raise
    for name in LAYOUT_FILES:
        if name not in names and os.path.lexists(os.path.join(target, name)):
            os.remove(os.path.join(target, name))
    for name in names:                       # an existing folder: each file replaced atomically
        os.replace(os.path.join(staging, name), os.path.join(target, name))
    os.rmdir(staging)


def _write_all(out_dir: str, entries, feats, min_count: int, max_length: int, pca_features: bool, h5py) -> dict:
    """Write every file of the layout into ``out_dir`` (the staging folder)."""
    rows = {s: [i for i, e in enumerate(entries) if e["split"] == s] for s in SPLITS}
    vocab = Vocabulary.build((c for i in rows["train"] for c in entries[i]["captions"]), min_count=min_count)
    vocab.save(os.path.join(out_dir, VOCAB_FILE))
    report = {"out_dir": out_dir, "vocab_size": len(vocab)}
    with h5py.File(os.path.join(out_dir, CAPTIONS_FILE), "w") as f:
        for s in SPLITS:
            texts = [c for i in rows[s] for c in entries[i]["captions"]]
            idxs = np.array([k for k, i in enumerate(rows[s]) for _ in entries[i]["captions"]], dtype=np.int32)
            f.create_dataset(f"{s}_captions", data=vocab.encode_batch(texts, max_length))
            f.create_dataset(f"{s}_image_idxs", data=idxs)
            stats = vocab.report(texts, max_length)
            dropped = [c for i in rows[s] for c in entries[i]["dropped"]]
            report[s] = {"images": len(rows[s]), "captions": len(texts), "unk_rate": stats["unk_rate"],
                         "truncated": stats["truncated"], "dropped_captions": len(dropped),
                         "dropped_examples": dropped[:5]}
    for s in SPLITS:
        with h5py.File(os.path.join(out_dir, feature_file(s, pca_features)), "w") as f:
            out = f.create_dataset("features", shape=(len(rows[s]), feats.shape[1]), dtype=np.float32)
            for start in range(0, len(rows[s]), _CHUNK):      # a chunk at a time: no full copy in memory
                chunk = np.asarray(feats[np.array(rows[s][start:start + _CHUNK])], dtype=np.float32)
                bad = np.flatnonzero(~np.isfinite(chunk).all(axis=1))
                if bad.size:
                    entry = rows[s][start + int(bad[0])]
                    raise DataError(f"import_captions: the features of image entry {entry} (row {entry} of the "
                                     "features) hold NaN or infinity; every image's features must be finite")
                out[start:start + chunk.shape[0]] = chunk
        urls = "".join(entries[i].get("url", f"image-{i}") + "\n" for i in rows[s])   # checked by check_line
        files.atomic_write_bytes(os.path.join(out_dir, URL_FILES[s]), urls.encode("utf-8"))
    return report
