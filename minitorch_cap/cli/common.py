"""What the commands share: option types, the data options, errors and exit codes.

Exit codes: 0 success; 1 training stopped (diverged, a write failed, an MPI rank failed) or
output piped into a closed reader;
2 a usage error (a bad option, a missing or unusable file or folder: one line on stderr,
never a traceback); 130 interrupted (Ctrl-C or SIGTERM; the message says what was saved).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import os
import shlex
import sys
import warnings
from pathlib import Path

USAGE_ERROR, INTERRUPTED = 2, 130


class UserError(Exception):
    """A problem the user caused and can fix; the CLI prints it without a traceback."""


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the description and epilog as written and shows each option's default value
    (except for flags and options whose default is ``None``: their help says what happens)."""

    def _get_help_string(self, action):
        help_text = action.help or ""
        if ("%(default)" in help_text or action.default in (None, argparse.SUPPRESS)
                or isinstance(action.default, bool) or not action.option_strings):
            return help_text
        return help_text + " (default: %(default)s)"


def add_command(subparsers, name: str, *, help: str, description: str, epilog: str,
                on_checkpoint: bool = False) -> argparse.ArgumentParser:
    """A subcommand's parser; ``on_checkpoint``: it reads a CHECKPOINT, the data of its run by
    default (or the data options given), and a ``--split`` of it."""
    parser = subparsers.add_parser(name, help=help, description=description, epilog=epilog,
                                   formatter_class=HelpFormatter)
    parser.set_defaults(parser=parser)
    if on_checkpoint:
        parser.add_argument("checkpoint", metavar="CHECKPOINT", help="a checkpoint written by 'minitorch-cap train'")
        add_data_options(parser, recorded=True)
        parser.add_argument("--split", choices=("val", "train"), default="val", help="which images to caption")
    return parser


def user_errors(command: str):
    """Decorator for ``run(args)``: user mistakes become one line on stderr and exit code 2.

    :class:`UserError`, and the library's own errors for bad input (``ValueError``,
    ``FileNotFoundError``, ``KeyError`` and the other ``OSError``s, e.g.
    ``CheckpointError``, ``RunFolderError``, ``DataError``, ``WriteError``) are all messages
    for the user. Ctrl-C and SIGTERM return 130 with "interrupted" and what was saved. The
    command runs with numpy's BLAS limited to ``--threads`` and numpy's floating-point
    warnings silenced (a diverging run is reported once, by the Trainer's own message).
    """
    from ..training import sigterm_as_interrupt

    def wrap(run):
        @functools.wraps(run)
        def wrapped(args) -> int:
            try:
                with blas_threads(getattr(args, "threads", 1)), sigterm_as_interrupt(), \
                        warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)
                    return int(run(args) or 0)
            except BrokenPipeError:
                raise                   # output piped into a reader that stopped: main() ends quietly
            except KeyboardInterrupt as exc:
                detail = f" {exc}" if str(exc) else ""
                print(f"minitorch-cap {command}: interrupted{detail}", file=sys.stderr)
                return INTERRUPTED
            except (UserError, ValueError, KeyError, OSError) as exc:
                print(f"minitorch-cap {command}: error: {message(exc)}", file=sys.stderr)
                return USAGE_ERROR
        return wrapped
    return wrap


def message(exc: BaseException) -> str:
    """The text of an exception (a ``KeyError`` without the quotes ``str`` adds)."""
    return str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)


@contextlib.contextmanager
def blas_threads(n: int):
    """Limit numpy's BLAS to ``n`` threads inside the block (threadpoolctl).

    Measured here (2 cores, other jobs running): an LSTM training step with H=128 takes
    about 20 ms with one BLAS thread and 150-480 ms with two, which spin against the other
    processes; without load one thread is about as fast.
    """
    from threadpoolctl import threadpool_limits
    cores = os.cpu_count() or 1
    if int(n) > cores:
        print(f"minitorch-cap: note: --threads {n} is more than this machine's {cores} cores; using {cores}",
              file=sys.stderr)
    with threadpool_limits(limits=min(int(n), cores), user_api="blas"):
        yield


def add_threads_option(parser) -> None:
    parser.add_argument("--threads", metavar="N", type=positive_int, default=1,
                        help="threads of numpy's BLAS; this model's matrices are small, so one thread is "
                             "fastest on a shared machine (several threads can be 5-20x slower under load)")


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def command_line(argv) -> str:
    """``argv`` quoted for a shell, as users copy it from a message."""
    return " ".join(shlex.quote(str(a)) for a in argv)


# ------------------------------------------------------------------------------- option types
def _typed(convert, check, expected: str):
    def parse(text: str):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if not check(value):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text}")
        return value
    return parse


positive_int = _typed(int, lambda v: v >= 1, "an integer >= 1")
non_negative_int = _typed(int, lambda v: v >= 0, "an integer >= 0")
positive_float = _typed(float, lambda v: 0 < v < float("inf"), "a finite number > 0")
non_negative_float = _typed(float, lambda v: 0 <= v < float("inf"), "a finite number >= 0")
folder = _typed(str, lambda v: v.strip() != "", "a folder name")
unit_float = _typed(float, lambda v: 0 < v <= 1, "a number in (0, 1]")


# ------------------------------------------------------------------------------------ data
def add_data_options(parser: argparse.ArgumentParser, recorded: bool = False) -> None:
    """``--data-dir``, ``--max-train``, ``--max-val``, ``--no-pca``, ``--data-seed`` (a ``DataSpec``).

    ``recorded``: a command on a checkpoint, whose run's data is the default.
    """
    from ..data import DEFAULT_TRAINING

    group = parser.add_argument_group("data" + (" (default: the data the checkpoint's run was trained on)"
                                                if recorded else ""))
    group.add_argument("--data-dir", metavar="DIR", default=None,
                       help="folder with the CS231n COCO files (coco2014_captions.h5, ...); "
                            "default: the built-in shapes data set")
    group.add_argument("--max-train", metavar="N", type=positive_int, default=None,
                       help="COCO: keep N training captions (default: all); built-in: generate N training "
                            f"images of 5 captions each (default: {DEFAULT_TRAINING['num_train']})")
    group.add_argument("--max-val", metavar="N", type=positive_int, default=None,
                       help=f"built-in data: generate N validation images (default: {DEFAULT_TRAINING['num_val']})")
    group.add_argument("--no-pca", dest="pca_features", action="store_const", const=False, default=None,
                       help="COCO: read the full features (train2014_vgg16_fc7.h5) even when PCA ones are there "
                            "(default: the PCA ones when present, else the full ones)")
    group.add_argument("--data-seed", metavar="S", type=non_negative_int, default=None,
                       help="seed that generates the built-in data set (COCO: draws the --max-train captions); "
                            "default 0")
    group.add_argument("--region-features", action="store_const", const=True, default=None,
                       help="built-in data: one feature token per object slot and one for the pair, (N, 3, 30), "
                            "for --model transformer to attend over (default: one 49-d vector per image)")


def data_options(args) -> dict:
    """The ``DataSpec`` fields given on the command line (``None``: not given)."""
    return {k: getattr(args, k, None) for k in ("data_dir", "max_train", "max_val", "data_seed", "pca_features",
                                              "region_features")}


def checkpoint_and_data(args):
    """A command on a checkpoint: its model and its run's data (or the data options given)."""
    from ..runs import checkpoint_path, load_run

    args.checkpoint = str(checkpoint_path(args.checkpoint))      # a run folder names its checkpoint.h5
    return load_run(args.checkpoint, data_options(args))


def output_folder(path, writes: tuple[str, ...] = (), overwrite: bool = True) -> Path:
    """Create the output folder (with parents) before any long work; a :class:`UserError` if it cannot be,
    or if it holds one of the files the command ``writes`` and ``overwrite`` is false (a user's own
    ``captions.json`` is never replaced silently)."""
    out = Path(path)
    held = [name for name in writes if (out / name).exists()]
    if held and not overwrite:
        raise UserError(f"--out {str(out)!r} already holds {', '.join(held)}, which this command writes; choose "
                        "another folder, or pass --overwrite to replace them")
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {str(out)!r} exists and is not a folder; give a folder (it is created if needed)")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"--out {str(out)!r}: cannot create this folder ({exc.strerror or exc})") from None
    return out
