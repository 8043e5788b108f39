"""`DataSpec`: which data a run uses, in a form a checkpoint records and any command reloads.

The built-in shapes data set is generated from a seed and two sizes; COCO is read from a
folder. A ``DataSpec`` holds those options, loads the data (once per process for the same
options: the built-in set takes seconds to generate), checks COCO folders before reading
them, and is written into every checkpoint a ``Trainer`` saves, so that ``sample``,
``evaluate`` and ``--resume`` use the run's own data by default.

    spec = DataSpec(max_train=1000, max_val=100)      # built-in data, 1000 + 100 images
    data = spec.load()                                # data["spec"] == spec.to_dict()
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any, Mapping

import attrs
import numpy as np

from ..nn.checks import setting
from .checks import DataError
from .files import from_record
from .coco import (CAPTIONS_FILE, HOW_TO_GET, LAYOUT_FILES, URL_FILES, VOCAB_FILE, feature_file, features_hint,
                   load_coco_data, pca_features_of)
from .shapes import DEFAULT_SIZES, load_shapes_data


@attrs.frozen(kw_only=True)
class DataSpec:
    """The data of a run.

    * ``data_dir``: a folder of the course's COCO files; ``None`` for the built-in data set. Kept
      absolute (made so, against the working directory, when the spec is made): the record of a
      run names the same folder whatever folder a later command runs from.
    * ``max_train``: COCO: keep that many training captions (drawn with ``data_seed``);
      built-in: generate that many training images (5 captions each). ``None``: all / the default.
    * ``max_val``: built-in only: validation images to generate.
    * ``data_seed``: the seed that generates the built-in set (COCO: draws ``max_train``).
    * ``pca_features``: COCO: the PCA features (``train2014_vgg16_fc7_pca.h5``, 512-d in the
      course) if True, the full ones (``train2014_vgg16_fc7.h5``) if False; ``None`` (the
      default): the PCA ones when the folder has them, else the full ones (what
      ``import_captions`` writes), so your own data needs no option.
    * ``region_features``: built-in only: features as region tokens (N, 3, 30), one per object
      slot and one for the pair (``load_shapes_data(region_features=True)``), for a
      captioner that attends over regions (the Transformer).
    """

    data_dir: str | None = attrs.field(default=None, converter=attrs.converters.optional(lambda d: absolute_path(d)))
    max_train: int | None = setting(int, None, low=1, optional=True, metavar="N")
    max_val: int | None = setting(int, None, low=1, optional=True, metavar="N")
    data_seed: int = setting(int, 0, low=0, metavar="S")
    pca_features: bool | None = attrs.field(default=None, converter=attrs.converters.optional(bool))
    region_features: bool = attrs.field(default=False, converter=bool)

    def __attrs_post_init__(self):
        if self.data_dir is not None and self.max_val is not None:
            raise DataError("max_val applies to the built-in data only (COCO's validation split is read as it is)")
        if self.data_dir is not None and self.region_features:
            raise DataError("region_features applies to the built-in data only")
        if self.data_dir is None and self.pca_features is not None:
            raise DataError("pca_features (--no-pca) applies to COCO-format data only (a data_dir); the built-in "
                            "data has one kind of features")

    @property
    def builtin(self) -> bool:
        return self.data_dir is None

    def describe(self) -> str:
        """How messages name the data."""
        return "the built-in shapes data" if self.builtin else f"the COCO-format data in {self.data_dir}"

    def to_dict(self) -> dict[str, Any]:
        return attrs.asdict(self)

    from_dict = classmethod(from_record)      # a record (and overrides), unknown options refused

    @classmethod
    def choose(cls, given: Mapping[str, Any], recorded: Mapping[str, Any] | None = None) -> "DataSpec":
        """The options ``given`` (``None`` values ignored) on top of the ``recorded`` ones (a
        checkpoint's run) -- unless ``given`` names another data folder, whose options then start
        from the defaults -- else on top of the defaults (the built-in data set)."""
        given = {k: v for k, v in given.items() if v is not None}
        if "data_dir" in given:
            given["data_dir"] = absolute_path(given["data_dir"])
        if recorded is None or ("data_dir" in given and given["data_dir"] != recorded.get("data_dir")):
            return cls(**given)
        return cls.from_dict({**recorded, **given})

    def _pca(self) -> bool:
        """The features read (:func:`~minitorch_cap.data.coco.pca_features_of`, the loader's one rule)."""
        return self.pca_features in (None, True) if self.builtin else pca_features_of(self.data_dir, self.pca_features)

    def _files_state(self) -> tuple | None:
        """What tells the files of ``data_dir`` apart from a later import into it: each file's
        inode, size and modification time (``None`` for the built-in data set)."""
        if self.builtin:
            return None
        state = []
        for name in LAYOUT_FILES:
            try:
                st = os.stat(os.path.join(self.data_dir, name))
            except OSError:
                continue
            state.append((name, st.st_ino, st.st_size, st.st_mtime_ns))
        return tuple(state)

    def shape(self) -> "DataShape":
        """What a model must read from this data (vocabulary, feature size, regions, caption length),
        without loading it: for ``summary``, and to check a model and its memory before loading."""
        if self.builtin:
            from .shapes import MAX_LENGTH, VOCABULARY
            from .shapes_features import FEATURE_DIM, REGION_DIM, REGION_TOKENS
            regions = REGION_TOKENS if self.region_features else None
            return DataShape(dict(VOCABULARY.word_to_idx), REGION_DIM if regions else FEATURE_DIM, regions,
                             MAX_LENGTH)
        import h5py

        from .coco import _read_vocab
        folder = Path(self.data_dir)
        check_coco_folder(folder, self._pca())
        _, word_to_idx = _read_vocab(str(folder / VOCAB_FILE))
        try:
            with h5py.File(folder / feature_file("train", self._pca()), "r") as f:
                features = f["features"].shape
            with h5py.File(folder / CAPTIONS_FILE, "r") as f:
                length = f["train_captions"].shape[1]
        except (OSError, KeyError) as exc:
            raise DataError(f"cannot read the sizes of the data in {str(folder)!r}: {exc}") from None
        return DataShape(word_to_idx, int(features[-1]), int(features[1]) if len(features) == 3 else None,
                         int(length))

    def load(self) -> dict:
        """The data dict (``load_coco_data``'s keys, plus ``spec``: this spec as a dict).

        Loaded once per process for equal specs whose files are unchanged (a folder imported
        again is read again; callers must not modify the arrays).
        Raises ``DataError`` (or the loader's ``ValueError``/``OSError``) naming the problem.
        """
        state = self._files_state()
        if _files_seen.setdefault(self, state) != state:     # written again: drop the old arrays, not only miss them
            _load.cache_clear()
            _files_seen[self] = state
        data = dict(_load(self, state))
        data["spec"] = self.to_dict()
        return data


@attrs.frozen
class DataShape:
    """The sizes of a data set a model reads: ``word_to_idx``, feature size ``input_dim`` (D), ``regions``
    (P region features per image, ``None`` for one vector) and caption ``length`` (T + 1 columns)."""

    word_to_idx: dict
    input_dim: int
    regions: int | None
    length: int

    @classmethod
    def of(cls, data: Mapping[str, Any]) -> "DataShape":
        """The shape of a loaded data dict."""
        features = data["train_features"]
        return cls(dict(data["word_to_idx"]), int(features.shape[-1]),
                   int(features.shape[1]) if features.ndim == 3 else None, int(data["train_captions"].shape[1]))


def absolute_path(path) -> str:
    """``path`` (``~`` expanded) as an absolute path, against the working directory: how a run
    records a folder the user named."""
    return os.path.abspath(os.path.expanduser(os.fspath(path)))


_files_seen: dict = {}     # DataSpec -> the files' state when last loaded


@functools.lru_cache(maxsize=2)
def _load(spec: DataSpec, files_state: tuple | None) -> dict:
    if spec.builtin:
        sizes = {"num_train": spec.max_train or DEFAULT_SIZES["num_train"],
                 "num_val": spec.max_val or DEFAULT_SIZES["num_val"]}
        return load_shapes_data(seed=spec.data_seed, region_features=spec.region_features, **sizes)
    data_dir, pca = Path(spec.data_dir), spec._pca()
    check_coco_folder(data_dir, pca)
    return load_coco_data(str(data_dir), max_train=spec.max_train, pca_features=pca,
                          rng=np.random.default_rng(spec.data_seed))


def check_coco_folder(data_dir, pca_features: bool = True) -> None:
    """The course's files must all be in ``data_dir``; else a ``DataError`` saying what is missing.

    The download hint is given only when the folder is missing or holds none of the files;
    when only the other kind of features is there, the message says which option reads them
    (:func:`~minitorch_cap.data.coco.features_hint`, the loader's hint too).
    """
    data_dir = Path(data_dir)
    needed = [CAPTIONS_FILE, VOCAB_FILE, *(feature_file(s, pca_features) for s in ("train", "val")),
              *URL_FILES.values()]
    if data_dir.exists() and not data_dir.is_dir():
        raise DataError(f"data folder {str(data_dir)!r} is a file, not a folder; give the folder that holds the "
                        "CS231n COCO files")
    if not data_dir.is_dir():
        raise DataError(f"data folder {str(data_dir)!r} does not exist; it should hold the CS231n COCO files. "
                        + HOW_TO_GET)
    missing = [name for name in needed if not (data_dir / name).is_file()]
    if not missing:
        return
    hint = features_hint(data_dir, pca_features)
    if len(missing) == len(needed) and not hint:
        raise DataError(f"data folder {str(data_dir)!r} holds none of the CS231n COCO files "
                        f"({', '.join(needed)}). " + HOW_TO_GET)
    raise DataError(f"data folder {str(data_dir)!r} lacks {', '.join(missing)}" + (f"; {hint}" if hint else ""))
