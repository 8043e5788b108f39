"""Data: the course's COCO files, vocabularies, your own data, and the built-in shapes data set.

* ``load_coco_data``, ``sample_coco_minibatch``, ``decode_captions`` — CS231n's COCO helpers;
  ``caption_text`` — the display rule (``decode_captions`` without ``<START>``/``<END>``);
  ``check_model_data`` — does a model read this data (word ids, feature size)?
* ``Vocabulary`` — words <-> ids, built from training captions, JSON; ``tokenize`` is
  ``minitorch_cap.metrics.tokenize``, so vocabularies and metrics split text alike
* ``data_fingerprint`` — what a run records of its data (vocabulary, sizes, hashes of ids and features)
* ``import_captions`` — your captions JSON + features (.npy / HDF5) -> a COCO-format directory
* ``load_shapes_data``, ``check_caption``, ``caption_accuracy``,
  ``extract_features``, ``DEFAULT_SIZES`` — the built-in data set (no download)
"""

from .checks import check_model_data, check_training_data
from .coco import caption_text, decode_captions, load_coco_data, sample_coco_minibatch
from .fingerprint import data_fingerprint, fingerprint_differences
from .importing import import_captions
from .shapes import DEFAULT_SIZES, load_shapes_data
from .shapes_captions import caption_accuracy, check_caption, parse_caption
from .shapes_features import extract_features
from .vocabulary import Vocabulary, tokenize

__all__ = [
    "load_coco_data", "sample_coco_minibatch", "decode_captions", "caption_text", "check_model_data",
    "check_training_data",
    "Vocabulary", "tokenize", "import_captions",
    "data_fingerprint", "fingerprint_differences",
    "load_shapes_data", "check_caption", "caption_accuracy", "parse_caption",
    "extract_features", "DEFAULT_SIZES",
]
