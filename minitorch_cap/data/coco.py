"""CS231n's COCO captioning files: ``load_coco_data``, ``sample_coco_minibatch``, ``decode_captions``.

The directory (``cs231n/datasets/coco_captioning`` in the course; :data:`COCO_DIRS`) holds::

    coco2014_captions.h5        train_captions (N, 17) int, train_image_idxs (N,) int, val_... the same
    train2014_vgg16_fc7.h5      features (N_train_images, 4096) float32   (pca_features=False)
    train2014_vgg16_fc7_pca.h5  features (N_train_images, 512) float32    (pca_features=True)
    val2014_vgg16_fc7[_pca].h5  the same for val
    coco2014_vocab.json         {"idx_to_word": [...], "word_to_idx": {...}}
    train2014_urls.txt          one image URL per line, row i <-> feature row i
    val2014_urls.txt

Everything is validated on load (files, keys, shapes, dtypes, finite features, vocabulary,
special tokens, id ranges, text encodings) so that a broken download fails here with a
clear message naming the file, not later inside training or decoding: whatever
``load_coco_data`` accepts trains and decodes.
"""

from __future__ import annotations

import os

import numpy as np

from ..nn.checks import MissingFileError, index_input, int_option
from ..tokens import END, NULL, START, check_word_to_idx
from .checks import DataError, MissingDataKey, check_captions
from .files import read_json

CAPTIONS_FILE = "coco2014_captions.h5"
VOCAB_FILE = "coco2014_vocab.json"
URL_FILES = {"train": "train2014_urls.txt", "val": "val2014_urls.txt"}
SPLITS = ("train", "val")

HOW_TO_GET = ("Get the course's files with the CS231n assignment 3 download script "
              "(`cd cs231n/datasets && bash get_datasets.sh`, which runs `get_coco_captioning.sh`, "
              "unpacking coco_captioning/), or write your own with minitorch_cap.data.import_captions.")


def feature_file(split: str, pca_features: bool = True) -> str:
    """File name of a split's features: ``train2014_vgg16_fc7_pca.h5`` and so on."""
    return f"{split}2014_vgg16_fc7{'_pca' if pca_features else ''}.h5"


#: Where ``load_coco_data()`` looks without ``base_dir``, in order, relative to the working directory
#: (a notebook's): the course's place (``cs231n/datasets``), the ECNU copies' (``daseCV/datasets``, and
#: ``input/datasets`` where their notebooks read it), then the library's default.
COCO_DIRS = tuple(os.path.join(root, "datasets", "coco_captioning") for root in ("cs231n", "daseCV", "input")) \
    + (os.path.join("datasets", "coco_captioning"),)


def find_coco_dir() -> str:
    """The first of :data:`COCO_DIRS` holding ``coco2014_captions.h5``; ``FileNotFoundError`` naming them otherwise."""
    for base_dir in COCO_DIRS:
        if os.path.isfile(os.path.join(base_dir, CAPTIONS_FILE)):
            return base_dir
    tried = ", ".join(repr(os.path.abspath(d)) for d in COCO_DIRS)
    raise MissingFileError(f"load_coco_data: no {CAPTIONS_FILE} in {tried}. {HOW_TO_GET} "
                            "Or pass base_dir= the directory that holds the files.")


#: Every file of the layout, both kinds of features included (an import replaces them all).
LAYOUT_FILES = (CAPTIONS_FILE, VOCAB_FILE, *(feature_file(s, pca) for pca in (True, False) for s in SPLITS),
                *URL_FILES.values())


def pca_features_of(base_dir, pca_features: bool | None = None) -> bool:
    """The one rule for which features a folder is read with: as asked, or (``None``) the PCA ones
    (``*_fc7_pca.h5``, the course's) unless the folder has no PCA file and both full ones
    (``*_fc7.h5``, what ``import_captions`` writes by default)."""
    if pca_features is not None:
        return bool(pca_features)
    has = {pca: [os.path.isfile(os.path.join(os.fspath(base_dir), feature_file(s, pca))) for s in SPLITS]
           for pca in (True, False)}
    return any(has[True]) or not all(has[False])


def features_hint(base_dir, pca_features: bool, splits=SPLITS) -> str:
    """The one hint for the ``pca_features`` files of ``splits`` missing in ``base_dir``: '' unless the
    other kind of features is there in their place, else which files are and the option that reads them."""
    def there(name):
        return os.path.isfile(os.path.join(os.fspath(base_dir), name))
    other = [feature_file(s, not pca_features) for s in splits
             if not there(feature_file(s, pca_features)) and there(feature_file(s, not pca_features))]
    if not other:
        return ""
    return (f"{' and '.join(other)} {'is' if len(other) == 1 else 'are'} there: pass pca_features={not pca_features} "
            f"({'--no-pca' if pca_features else 'without --no-pca'} on the command line)")


def _path(base_dir, name: str, split: str | None = None, pca_features: bool = True) -> str:
    """The path of file ``name`` (the features of ``split``, when given) in ``base_dir``, which must be there."""
    path = os.path.join(os.fspath(base_dir), name)
    if not os.path.isfile(path):
        hint = split and features_hint(base_dir, pca_features, (split,))
        raise MissingFileError(f"load_coco_data: missing file {path!r}{f' ({hint})' if hint else ''}. {HOW_TO_GET}")
    return path


def _read_h5(path: str, keys) -> dict[str, np.ndarray]:
    import h5py
    try:
        f = h5py.File(path, "r")
    except OSError as e:
        raise DataError(f"load_coco_data: {path!r} is not a readable HDF5 file ({e})") from None
    with f:
        out = {}
        for key in keys:
            if key not in f:
                raise MissingDataKey(f"load_coco_data: {path!r} has no dataset {key!r} (it has {sorted(f.keys())})")
            out[key] = f[key][()]                     # one copy in memory, read straight from disk
        return out


def _check_array(path: str, key: str, array: np.ndarray, kind: str, ndim: int) -> None:
    ok = np.issubdtype(array.dtype, np.integer) if kind == "int" else np.issubdtype(array.dtype, np.floating)
    if not ok or array.ndim != ndim:
        want = "an integer" if kind == "int" else "a floating-point"
        raise DataError(f"load_coco_data: {key!r} in {path!r} must be {want} array with {ndim} dimension(s), "
                         f"got dtype {array.dtype} and shape {array.shape}")


def _read_urls(path: str) -> np.ndarray:
    """One URL per line: lines end at ``\\n`` (a ``\\r\\n`` ending is stripped with the spaces)."""
    try:
        with open(path, encoding="utf-8", newline="") as f:
            text = f.read()
        lines = text.split("\n")
        if lines[-1] == "":              # the last line's own end
            lines.pop()
        return np.asarray([line.strip() for line in lines])
    except UnicodeDecodeError as e:
        raise DataError(f"load_coco_data: {path!r} is not UTF-8 text ({e})") from None


def _check_finite(path: str, features: np.ndarray) -> None:
    """Refuse NaN or infinite features, naming the file and the first bad row (a row is an image)."""
    bad = ~np.isfinite(features).all(axis=1)
    if bad.any():
        rows = np.flatnonzero(bad)
        raise DataError(f"load_coco_data: the features in {path!r} hold NaN or infinity in row {int(rows[0])}"
                         + (f" (and {rows.size - 1} more rows)" if rows.size > 1 else "")
                         + "; every image's features must be finite numbers")


def load_coco_data(base_dir=None, max_train: int | None = None,
                   pca_features: bool | None = None, rng: np.random.Generator | None = None) -> dict:
    """Load the course's COCO captioning files into the course's dict.

    ``base_dir``: the folder of the files; ``None`` looks where the course and its copies keep
    them (:data:`COCO_DIRS`: ``cs231n/datasets/coco_captioning``,
    ``daseCV/datasets/coco_captioning``, ``input/datasets/coco_captioning``, then
    ``datasets/coco_captioning``; :func:`find_coco_dir`).

    Keys: ``train_captions`` / ``val_captions`` (N, T) int32, ``train_image_idxs`` /
    ``val_image_idxs`` (N,) int32 (rows of the split's features), ``train_features`` /
    ``val_features`` (N_images, D) float32, ``idx_to_word`` (list), ``word_to_idx`` (dict),
    ``train_urls`` / ``val_urls`` (N_images,) str.

    ``pca_features``: the PCA features (``*_fc7_pca.h5``, the course's default) if True, the full
    ones if False; ``None`` (the default): the PCA ones unless the folder has only the full ones
    (:func:`pca_features_of`), so the course's folder reads as the course's ``True`` does.
    ``max_train`` keeps that many training captions drawn at random with replacement, as
    the course does (``np.random`` unless ``rng`` is given); features are kept whole.
    Missing files raise ``MissingFileError`` (a ``FileNotFoundError``), malformed ones ``DataError``
    (a ``ValueError``), each naming the file.
    """
    if base_dir is None:
        base_dir = find_coco_dir()
    pca_features = pca_features_of(base_dir, pca_features)
    captions_path = _path(base_dir, CAPTIONS_FILE)
    keys = [f"{s}_{k}" for s in SPLITS for k in ("captions", "image_idxs")]
    data: dict = _read_h5(captions_path, keys)
    for s in SPLITS:
        for key, kind, ndim in ((f"{s}_captions", "int", 2), (f"{s}_image_idxs", "int", 1)):
            _check_array(captions_path, key, data[key], kind, ndim)
            data[key] = data[key].astype(np.int32, copy=False)
        if data[f"{s}_captions"].shape[0] != data[f"{s}_image_idxs"].shape[0]:
            raise DataError(f"load_coco_data: in {captions_path!r}, {s}_captions has {data[f'{s}_captions'].shape[0]} "
                             f"rows but {s}_image_idxs has {data[f'{s}_image_idxs'].shape[0]}")
        if data[f"{s}_captions"].shape[1] < 2:
            raise DataError(f"load_coco_data: {s}_captions in {captions_path!r} needs at least 2 columns, "
                             f"got shape {data[f'{s}_captions'].shape}")

    for s in SPLITS:
        path = _path(base_dir, feature_file(s, pca_features), s, pca_features)
        features = _read_h5(path, ["features"])["features"]
        _check_array(path, "features", features, "float", 2)
        data[f"{s}_features"] = features.astype(np.float32, copy=False)
        _check_finite(path, data[f"{s}_features"])
    if data["train_features"].shape[1] != data["val_features"].shape[1]:
        raise DataError(f"load_coco_data: train features have {data['train_features'].shape[1]} columns "
                         f"but val features have {data['val_features'].shape[1]}")

    vocab_path = _path(base_dir, VOCAB_FILE)
    data["idx_to_word"], data["word_to_idx"] = _read_vocab(vocab_path)
    V = len(data["idx_to_word"])

    for s in SPLITS:
        path = _path(base_dir, URL_FILES[s])
        data[f"{s}_urls"] = _read_urls(path)
        n_images = data[f"{s}_features"].shape[0]
        if data[f"{s}_urls"].shape[0] != n_images:
            raise DataError(f"load_coco_data: {path!r} has {data[f'{s}_urls'].shape[0]} URLs but the {s} features "
                             f"have {n_images} rows; they must be one per image, in the same order")
        _check_ids(f"{s}_image_idxs", data[f"{s}_image_idxs"], n_images, f"the {s} features' {n_images} rows")
        _check_ids(f"{s}_captions", data[f"{s}_captions"], V, f"the vocabulary of {V} words "
                   f"in {vocab_path!r} (are the vocabulary and the captions out of step?)")
        check_captions("load_coco_data", f"{s}_captions in {captions_path!r}", data[f"{s}_captions"],
                       data["word_to_idx"][NULL], data["word_to_idx"][START])

    if max_train is not None:
        if int(max_train) != max_train or max_train < 1:
            raise DataError(f"load_coco_data: max_train must be a positive integer or None, got {max_train!r}")
        num_train = data["train_captions"].shape[0]
        mask = (rng.integers(num_train, size=int(max_train)) if rng is not None
                else np.random.randint(num_train, size=int(max_train)))
        data["train_captions"] = data["train_captions"][mask]
        data["train_image_idxs"] = data["train_image_idxs"][mask]
    return data


def _read_vocab(path: str) -> tuple[list[str], dict[str, int]]:
    """The course's vocabulary JSON -> (idx_to_word list, word_to_idx dict), checked to agree.

    The library's vocabulary rule (:func:`minitorch_cap.tokens.check_word_to_idx`) applies, and
    ``<START>`` and ``<END>`` are required too: a model trained on these captions must be
    able to begin and end one.
    """
    payload = read_json(path, "load_coco_data", "vocabulary file")
    if not isinstance(payload, dict) or not isinstance(payload.get("idx_to_word"), list) \
            or not isinstance(payload.get("word_to_idx"), dict):
        raise DataError(f"load_coco_data: {path!r} must hold an object with an 'idx_to_word' list "
                         "and a 'word_to_idx' map")
    idx_to_word = [str(w) for w in payload["idx_to_word"]]
    first: dict[str, int] = {}
    for i, word in enumerate(idx_to_word):
        if word in first:
            raise DataError(f"load_coco_data: in {path!r}, 'idx_to_word' holds {word!r} twice (ids {first[word]} "
                             f"and {i}); each word must have one id")
        first[word] = i
    word_to_idx = {str(w): i for w, i in payload["word_to_idx"].items()}
    if word_to_idx != first:
        raise DataError(f"load_coco_data: in {path!r}, 'word_to_idx' and 'idx_to_word' disagree "
                         "(each word's id must be its position in idx_to_word, with no repeated word)")
    word_to_idx = check_word_to_idx(f"load_coco_data: the vocabulary {path!r}", word_to_idx,
                                    required=(NULL, START, END))
    return idx_to_word, word_to_idx


def _check_ids(name: str, ids: np.ndarray, high: int, what: str) -> None:
    if ids.size and (ids.min() < 0 or ids.max() >= high):
        bad = int(ids.min()) if ids.min() < 0 else int(ids.max())
        raise DataError(f"load_coco_data: {name} holds id {bad}, outside [0, {high}) — {what}")


def sample_coco_minibatch(data: dict, batch_size: int = 100, split: str = "train",
                          rng: np.random.Generator | None = None):
    """Draw ``batch_size`` captions of ``split`` at random, with replacement, as the course does.

    Returns ``(captions (B, T) int32, features (B, D) float32, urls (B,) str)``; uses
    ``np.random`` unless ``rng`` is given.
    """
    if split not in SPLITS:
        raise DataError(f"sample_coco_minibatch: split must be 'train' or 'val', got {split!r}")
    for key in (f"{split}_captions", f"{split}_image_idxs", f"{split}_features", f"{split}_urls"):
        if key not in data:
            raise MissingDataKey(f"sample_coco_minibatch: the data dict has no {key!r}")
    batch_size = int_option("sample_coco_minibatch", "batch_size", batch_size, low=0)
    split_size = data[f"{split}_captions"].shape[0]
    if split_size == 0 and batch_size:
        raise DataError(f"sample_coco_minibatch: the {split} split has no captions to draw from")
    mask = rng.choice(split_size, batch_size) if rng is not None else np.random.choice(split_size, batch_size)
    captions = data[f"{split}_captions"][mask]
    image_idxs = data[f"{split}_image_idxs"][mask]
    return captions, data[f"{split}_features"][image_idxs], data[f"{split}_urls"][image_idxs]


def decode_captions(captions, idx_to_word):
    """Word ids -> text, as the course: ``<NULL>`` dropped, each row stops after ``<END>``.

    ``captions`` (N, T) gives a list of N strings, (T,) one string. ``idx_to_word`` is the
    list (or a dict id -> word). ``<START>`` and ``<END>`` stay in the text, as in the course.
    """
    captions = np.asarray(captions)
    dims = {"T": None} if captions.ndim == 1 else {"N": None, "T": None}
    captions = index_input("decode_captions", "captions", captions, len(idx_to_word), **dims)
    singleton = captions.ndim == 1
    rows = captions[None] if singleton else captions
    decoded = []
    for row in rows:
        words = []
        for i in row:
            word = idx_to_word[int(i)]
            if word != NULL:
                words.append(word)
            if word == END:
                break
        decoded.append(" ".join(words))
    return decoded[0] if singleton else decoded


def caption_text(captions, idx_to_word):
    """Word ids -> readable text, the one display rule: :func:`decode_captions` without its
    ``<START>`` and ``<END>`` markers. ``<UNK>`` stays visible (a caption that needs it is
    not a correct sentence), ``<NULL>`` is dropped and a row stops at ``<END>``.

    ``captions`` (N, T) gives a list of N strings, (T,) one string, as ``decode_captions``.
    """
    decoded = decode_captions(captions, idx_to_word)
    strip = lambda text: " ".join(w for w in text.split() if w not in (START, END))   # noqa: E731
    return strip(decoded) if isinstance(decoded, str) else [strip(t) for t in decoded]
