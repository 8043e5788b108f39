"""``minitorch-cap summary``: the parameter table of a checkpoint or of a configuration."""

from __future__ import annotations

from tabulate import tabulate_formats

from .common import add_command, data_options, positive_int, user_errors
from .train import add_model_options

DESCRIPTION = """\
Print the parameter table (name, shape, dtype, count, bytes, totals) of a captioning model.

With a CHECKPOINT, the table of the trained model it holds. Without one, the table of a
fresh model built from the options: its vocabulary and image-feature size are those of
the built-in shapes data set, or of the COCO files in --data-dir (no data is loaded).
"""

EPILOG = """\
examples:
  minitorch-cap summary runs/shapes-lstm/checkpoint.h5
  minitorch-cap summary --model rnn --hidden-dim 512 --wordvec-dim 256
  minitorch-cap summary --data-dir datasets/coco_captioning --model lstm --hidden-dim 512
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
                       help="the vocabulary and feature size of the COCO files in DIR (default: the built-in data)")
    model.add_argument("--no-pca", dest="pca_features", action="store_const", const=False, default=None,
                       help="with --data-dir: the full features even when PCA ones are there")
    p.add_argument("--format", dest="tablefmt", default="simple", metavar="FMT", choices=tabulate_formats,
                   help="table style of the tabulate package: " + ", ".join(tabulate_formats))
    p.set_defaults(func=run, max_train=None, max_val=None, data_seed=None, region_features=None)


@user_errors("summary")
def run(args) -> int:
    from ..runs import MODEL_BUILDERS, RunSettings, model_settings
    from ..summary import summary
    from ..training import load_model

    if args.checkpoint is not None:
        from ..runs import checkpoint_path
        model, source = load_model(checkpoint_path(args.checkpoint)), f"checkpoint {args.checkpoint}"
    else:
        from ..data.spec import DataSpec
        spec = DataSpec.choose(data_options(args))
        word_to_idx, input_dim = spec.vocabulary_and_input_dim()
        settings = RunSettings.resolve({k: getattr(args, k, None) for k in (
            "model", "hidden_dim", "wordvec_dim", "num_heads", "num_layers", "dim_feedforward", "dropout")}, spec)
        stand_in = {"word_to_idx": word_to_idx, "train_features": _Shape(args.input_dim or input_dim)}
        model = MODEL_BUILDERS[settings.model](stand_in, settings, None)
        source = f"a fresh model on {spec.describe()}"
    settings = model_settings(model)
    letters = {"input_dim": "D", "wordvec_dim": "W", "hidden_dim": "H"}
    sizes = ", ".join(f"{letters.get(k, k)}={v}" for k, v in settings.items() if k not in ("model", "dtype"))
    print(f"{source}: {settings['model']} model, vocabulary {model.vocab_size} words, {sizes}")
    print(summary(model, tablefmt=args.tablefmt))
    return 0


class _Shape:
    """Stands for a feature array of which only the size is known (``shape[-1]``)."""

    def __init__(self, input_dim: int):
        self.shape = (0, input_dim)
