"""The ``minitorch-cap`` command: one module per subcommand, each with ``register(subparsers)`` adding
its parser and the function that runs it (``args -> exit code``); a thin layer over the library."""

from __future__ import annotations

import argparse
import importlib
import os
import sys

COMMANDS = ("train", "sample", "evaluate", "summary")

DESCRIPTION = """\
Train and use image captioners built with minitorch_cap.

  minitorch-cap train                 train an LSTM on the built-in shapes data set (under a minute)
  minitorch-cap train --data-dir D    train on the CS231n COCO files in D
  minitorch-cap sample CKPT           caption validation images with a checkpoint
  minitorch-cap evaluate CKPT         BLEU, CIDEr-D and ROUGE-L of decoded captions
  minitorch-cap summary CKPT          the parameter table of a checkpoint

Run 'minitorch-cap COMMAND --help' for the options of each command ('python -m
minitorch_cap' is the same command). Exit codes: 0 done, 1 training stopped (it
diverged, or a write failed: the disk is full or read-only), 2 a usage error (one line on
stderr), 130 interrupted (Ctrl-C or SIGTERM).
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="minitorch-cap", description=DESCRIPTION,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    from .._version import __version__
    parser.add_argument("--version", action="version", version=f"minitorch-cap {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"{__name__}.{name}").register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``minitorch-cap`` console script; returns the exit code. Output piped into a
    reader that stops early (``| head -1``) ends quietly with exit code 1, as the Python documentation
    recommends (https://docs.python.org/3/library/signal.html#note-on-sigpipe)."""
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    if unknown:         # said with the subcommand's usage, not the top level's
        args.parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    try:
        code = int(args.func(args) or 0)
        sys.stdout.flush()  # a closed pipe shows here, not at exit
        return code
    except BrokenPipeError:
        # Python flushes stdout again at exit: point it at devnull so that it does not fail there.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
