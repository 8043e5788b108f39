"""What the commands share: options made from the library's settings, the data options, errors, exit codes.

Exit codes: 0 success; 1 training stopped (diverged, a write failed, an MPI rank failed) or output piped
into a closed reader; 2 a usage error (the library's ``UserError``: one line, no traceback); 130
interrupted (Ctrl-C or SIGTERM). Any other exception is a bug and shows its traceback.
"""

from __future__ import annotations

import argparse
import functools
import shlex
import sys
import warnings

import attrs

from ..nn.checks import Rule

USAGE_ERROR, STOPPED, INTERRUPTED = 2, 1, 130
#: Settings whose flag is not ``--`` + the setting's name.
FLAGS = {"pca_features": "--no-pca", "out_dir": "--out"}


def option(name: str) -> str:
    """The command-line option of a setting: ``hidden_dim`` -> ``--hidden-dim``."""
    return FLAGS.get(name, "--" + name.replace("_", "-"))


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the description and epilog as written and shows each option's default value
    (except for flags and options whose default is ``None``: their help says what happens)."""

    def _get_help_string(self, action):
        help_text = action.help or ""
        if ("%(default)" in help_text or action.default in (None, argparse.SUPPRESS)
                or isinstance(action.default, bool) or not action.option_strings):
            return help_text
        return help_text + " (default: %(default)s)"


def add_command(subparsers, name: str, *, help: str, description: str, epilog: str, run,
                on_checkpoint: bool = False, writes: str = "") -> argparse.ArgumentParser:
    """A subcommand's parser running ``run(args)``; ``on_checkpoint``: it reads a CHECKPOINT, the data of
    its run by default (or the data options given), and a ``--split`` of it, and ``writes`` files into
    an ``--out`` folder (:func:`output_folder`)."""
    parser = subparsers.add_parser(name, help=help, description=description, epilog=epilog,
                                   formatter_class=HelpFormatter)
    parser.set_defaults(parser=parser, func=run)
    if on_checkpoint:
        parser.add_argument("checkpoint", metavar="CHECKPOINT", help="a checkpoint written by 'minitorch-cap train'")
        add_data_options(parser, recorded=True)
        parser.add_argument("--split", choices=("val", "train"), default="val", help="which images to caption")
        parser.add_argument("--out", metavar="DIR", type=folder, default=None, help="output folder (see above)")
        parser.add_argument("--overwrite", action="store_true", help=f"replace {writes} in --out, whatever wrote them")
    if name != "summary":
        parser.add_argument("--threads", metavar="N", type=positive_int, default=1,
                            help="threads of numpy's BLAS; this model's matrices are small, so one thread is "
                                 "fastest on a shared machine (several threads can be 5-20x slower under load)")
    return parser


def add_setting(group, field: attrs.Attribute, help: str | None = None) -> None:
    """An option made from a setting's attrs field (``minitorch_cap.nn.checks.setting``): its flag,
    metavar and help, parsed and checked by the field's rule; ``None`` when not given."""
    group.add_argument(option(field.name), dest=field.name, metavar=field.metadata["metavar"],
                       type=rule_type(field.metadata["rule"]), default=None, help=help or field.metadata["help"])


def user_errors(command: str):
    """Decorator for ``run(args)``: the library's ``UserError`` becomes one line on stderr and exit 2
    (a ``WriteError``: exit 1), Ctrl-C and SIGTERM exit 130 with "interrupted" and what was saved.
    The command runs with numpy's BLAS limited to ``--threads`` and numpy's floating-point warnings
    silenced (a diverging run is reported once, by the Trainer's own message).
    """
    from ..data.files import WriteError
    from ..nn.checks import UserError
    from ..training import blas_threads, sigterm_as_interrupt

    def wrap(run):
        @functools.wraps(run)
        def wrapped(args) -> int:
            try:
                with blas_threads(getattr(args, "threads", 1)), sigterm_as_interrupt(), \
                        warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    return int(run(args) or 0)
            except KeyboardInterrupt as exc:
                detail = f" {exc}" if str(exc) else ""
                print(f"minitorch-cap {command}: interrupted{detail}", file=sys.stderr)
                return INTERRUPTED
            except UserError as exc:
                kind = "" if isinstance(exc, WriteError) else "error: "
                text = str(exc).removeprefix(f"{command}: ")        # said once: "minitorch-cap sample: ..."
                print(f"minitorch-cap {command}: {kind}{text}", file=sys.stderr)
                return STOPPED if isinstance(exc, WriteError) else USAGE_ERROR
        return wrapped
    return wrap


def command_line(argv) -> str:
    """``argv`` quoted for a shell, as users copy it from a message."""
    return " ".join(shlex.quote(str(a)) for a in argv)


def rule_type(rule):
    """An argparse ``type`` reading a value of ``rule`` (:class:`minitorch_cap.nn.checks.Rule`)."""
    def parse(text: str):
        try:
            return rule.parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    return parse


positive_int = rule_type(Rule(int, 1))
non_negative_float = rule_type(Rule(float, 0.0))


def folder(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError(f"expected a folder name, got {text!r}")
    return text


# ------------------------------------------------------------------------------------ data
def add_data_options(parser: argparse.ArgumentParser, recorded: bool = False) -> None:
    """The :class:`~minitorch_cap.data.spec.DataSpec` options. ``recorded``: a command on a checkpoint,
    whose run's data is the default."""
    from ..data.shapes import DEFAULT_SIZES
    from ..data.spec import DataSpec

    fields = attrs.fields_dict(DataSpec)
    group = parser.add_argument_group("data" + (" (default: the data the checkpoint's run was trained on)"
                                                if recorded else ""))
    group.add_argument("--data-dir", metavar="DIR", default=None,
                       help="folder with the CS231n COCO files (coco2014_captions.h5, ...); "
                            "default: the built-in shapes data set")
    add_setting(group, fields["max_train"], "COCO: keep N training captions (default: all); built-in: generate N "
                                            f"training images of 5 captions each (default: {DEFAULT_SIZES['num_train']})")
    add_setting(group, fields["max_val"], f"built-in data: generate N validation images "
                                          f"(default: {DEFAULT_SIZES['num_val']})")
    group.add_argument("--no-pca", dest="pca_features", action="store_const", const=False, default=None,
                       help="COCO: read the full features (train2014_vgg16_fc7.h5) even when PCA ones are there "
                            "(default: the PCA ones when present, else the full ones)")
    add_setting(group, fields["data_seed"], "seed that generates the built-in data set (COCO: draws the "
                                            "--max-train captions); default 0")
    group.add_argument("--region-features", action="store_const", const=True, default=None,
                       help="built-in data: one feature token per object slot and one for the pair, (N, 3, 30), "
                            "for a model that attends over regions (default: as the model's kind prefers)")


def data_options(args) -> dict:
    """The ``DataSpec`` fields given on the command line (``None``: not given)."""
    from ..data.spec import DataSpec
    return {k: getattr(args, k, None) for k in attrs.fields_dict(DataSpec)}


def checkpoint_and_data(args):
    """A command on a checkpoint: its model and its run's data (or the data options given)."""
    from ..runs import checkpoint_path, load_run

    args.checkpoint = str(checkpoint_path(args.checkpoint))      # a run folder names its checkpoint.h5
    return load_run(args.checkpoint, data_options(args), label=option)
