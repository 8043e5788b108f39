"""``minitorch-cap summary``: the parameter table of a checkpoint or of a configuration."""

from __future__ import annotations

import attrs
from tabulate import tabulate_formats

from .common import add_command, add_data_options, data_options, option, positive_int, user_errors
from .train import add_model_options, settings_given

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
    p = add_command(subparsers, "summary", help="the parameter table of a checkpoint or a configuration", run=run,
                    description=DESCRIPTION, epilog=EPILOG)
    p.add_argument("checkpoint", nargs="?", metavar="CHECKPOINT", default=None,
                   help="a checkpoint written by 'minitorch-cap train' (the options below are then refused)")
    add_model_options(p)
    add_data_options(p)
    p.add_argument("--input-dim", metavar="D", type=positive_int, default=None,
                   help="image-feature size D (default: that of the data)")
    p.add_argument("--format", dest="tablefmt", default="simple", metavar="FMT", choices=tabulate_formats,
                   help="table style of the tabulate package: " + ", ".join(tabulate_formats))
    p.set_defaults(epochs=None, batch_size=None, lr=None, lr_decay=None, clip_grad_norm=None, seed=None)


@user_errors("summary")
def run(args) -> int:
    from ..nn.checks import SettingsError
    from ..runs import build_model, check_features_fit, choose_settings, model_settings
    from ..summary import summary
    from ..training import load_model

    given = {k: v for k, v in settings_given(args).items() if v is not None}
    if args.checkpoint is not None:
        given.update({k: v for k, v in data_options(args).items() if v is not None}, input_dim=args.input_dim)
        if any(v is not None for v in given.values()):
            raise SettingsError(f"a checkpoint's model is the one it holds: drop the model and data options "
                                f"({', '.join(option(k) for k, v in given.items() if v is not None)})")
        model, source = load_model(args.checkpoint), f"checkpoint {args.checkpoint}"
    else:
        settings, spec = choose_settings(given, data_options(args), label=option)
        shape = spec.shape()
        if args.input_dim:
            shape = attrs.evolve(shape, input_dim=args.input_dim)
        model = build_model(settings, shape, label=option)
        if not args.input_dim:          # else the model is for features of another size than these
            check_features_fit(model, spec, option)
        source = f"a fresh model on {spec.describe()}"
    settings = model_settings(model)
    letters = {"input_dim": "D", "wordvec_dim": "W", "hidden_dim": "H"}
    sizes = ", ".join(f"{letters.get(k, k)}={v}" for k, v in settings.items() if k not in ("model", "dtype"))
    print(f"{source}: {settings['model']} model, vocabulary {model.vocab_size} words, {sizes}")
    print(summary(model, tablefmt=args.tablefmt))
    return 0
