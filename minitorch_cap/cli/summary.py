"""``minitorch-cap summary``: the parameter table of a checkpoint or of a configuration."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tabulate import tabulate_formats

from .common import UserError, add_command, check_coco_files, message, positive_int, user_errors
from .train import BUILTIN_DEFAULTS, COCO_DEFAULTS, add_model_options

DESCRIPTION = """\
Print the parameter table (name, shape, dtype, count, bytes, totals) of a captioning model.

With a CHECKPOINT, the table of the trained model it holds. Without one, the table of a
fresh model built from the options: its vocabulary and image-feature size come from the
built-in shapes data set, or from the COCO files in --data-dir.
"""

EPILOG = """\
examples:
  minitorch-cap summary runs/shapes-lstm/checkpoint.h5
  minitorch-cap summary --cell rnn --hidden-dim 512 --wordvec-dim 256
  minitorch-cap summary --data-dir datasets/coco_captioning --cell lstm --hidden-dim 512
"""


def register(subparsers) -> None:
    p = add_command(subparsers, "summary", help="the parameter table of a checkpoint or a configuration",
                    description=DESCRIPTION, epilog=EPILOG)
    p.add_argument("checkpoint", nargs="?", metavar="CHECKPOINT", default=None,
                   help="a checkpoint written by 'minitorch-cap train' (the options below are then ignored)")
    model = p.add_argument_group("model configuration (without CHECKPOINT; defaults as 'minitorch-cap train')")
    add_model_options(model)
    model.add_argument("--input-dim", metavar="D", type=positive_int, default=None,
                       help="image-feature size D (default: that of the data)")
    model.add_argument("--data-dir", metavar="DIR", default=None,
                       help="take the vocabulary and feature size from the COCO files in DIR "
                            "(default: the built-in shapes data set)")
    model.add_argument("--no-pca", dest="pca_features", action="store_false",
                       help="with --data-dir: the 4096-d fc7 features instead of the 512-d PCA ones")
    p.add_argument("--format", dest="tablefmt", default="simple", metavar="FMT", choices=tabulate_formats,
                   help="table style of the tabulate package: " + ", ".join(tabulate_formats))
    p.set_defaults(func=run)


@user_errors("summary")
def run(args) -> int:
    from ..summary import summary
    from .common import describe_model, load_checkpoint_model
    from .train import build_model

    if args.checkpoint is not None:
        model = load_checkpoint_model(args.checkpoint)
        source = f"checkpoint {args.checkpoint}"
    else:
        word_to_idx, input_dim, source = _vocabulary_and_input_dim(args)
        from .train import TRANSFORMER_BUILTIN, TRANSFORMER_COCO
        defaults = dict(BUILTIN_DEFAULTS if args.data_dir is None else COCO_DEFAULTS)
        if args.model == "transformer":
            defaults.update(TRANSFORMER_BUILTIN if args.data_dir is None else TRANSFORMER_COCO)
        settings = {k: getattr(args, k, None) if getattr(args, k, None) is not None else v
                    for k, v in defaults.items()}
        features = np.zeros((1, args.input_dim or input_dim), dtype=np.float32)
        model = build_model(args, {"word_to_idx": word_to_idx, "train_features": features}, settings, 0)
    config = model.config()
    print(f"{source}: {describe_model(model)}, vocabulary {model.vocab_size} words, D={config['input_dim']}")
    print(summary(model, tablefmt=args.tablefmt))
    return 0


def _vocabulary_and_input_dim(args) -> tuple[dict, int, str]:
    """The vocabulary and feature size of the data named by the options, without loading features."""
    if args.data_dir is None:
        from ..data import shapes

        data = shapes.load_shapes_data(seed=0)
        return data["word_to_idx"], data["train_features"].shape[1], "built-in shapes configuration"
    import h5py

    from ..data import Vocabulary
    from ..data.coco import VOCAB_FILE, feature_file

    base = Path(args.data_dir)
    vocab_path, feat_path = base / VOCAB_FILE, base / feature_file("train", args.pca_features)
    check_coco_files(base, args.pca_features, [vocab_path.name, feat_path.name])
    try:
        word_to_idx = Vocabulary.load(vocab_path).word_to_idx
        with h5py.File(feat_path, "r") as f:
            input_dim = int(f["features"].shape[1])
    except (OSError, ValueError, KeyError, IndexError) as exc:
        raise UserError(f"cannot read the vocabulary or features in {base}: {message(exc)}") from None
    return word_to_idx, input_dim, f"configuration on {base}"
