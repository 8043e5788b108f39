"""Pieces shared by the ``train``, ``sample`` and ``summary`` commands.

* :class:`UserError` and :func:`user_errors`: a mistake the user can fix (missing file, bad
  option value) is printed as one clear line on stderr and the command returns 2 — never a
  traceback. :func:`output_folder` checks an --out folder before any long work.
* :func:`add_data_options` / :func:`load_data`: the built-in shapes data set by default, the
  course's COCO files with ``--data-dir``.
* :func:`write_caption_outputs`: caption the validation images and write the pictures
  (a PNG grid for the built-in data, an HTML page of image URLs for COCO) and, for the
  built-in data, the share of fully correct captions.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import os
import shlex
import sys
import tempfile
from pathlib import Path

import numpy as np

#: Exit code of a command stopped by a user error (argparse uses the same one).
USAGE_ERROR = 2


class UserError(Exception):
    """A problem the user caused and can fix; the CLI prints it without a traceback."""


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the description and epilog as written and shows each option's default value.

    Flags (``store_true``/``store_false``) and options whose default is ``None`` (their help
    says what happens without them) get no "(default: ...)" suffix.
    """

    def _get_help_string(self, action):
        help_text = action.help or ""
        if ("%(default)" in help_text or action.default in (None, argparse.SUPPRESS)
                or isinstance(action.default, bool) or not action.option_strings):
            return help_text
        return help_text + " (default: %(default)s)"


def add_command(subparsers, name: str, *, help: str, description: str, epilog: str) -> argparse.ArgumentParser:
    """Add the parser of one subcommand with the shared formatting."""
    return subparsers.add_parser(name, help=help, description=description, epilog=epilog,
                                 formatter_class=HelpFormatter)


def user_errors(command: str):
    """Decorator for ``run(args)``: a :class:`UserError` becomes a message on stderr and exit code 2.

    The command runs with numpy's BLAS limited to ``args.threads`` threads (default 1).
    Ctrl-C returns 130 with one line on stderr: "interrupted", followed by the text of the
    ``KeyboardInterrupt`` when the command raised one that says what was saved.
    """
    def wrap(run):
        @functools.wraps(run)
        def wrapped(args) -> int:
            try:
                with blas_threads(getattr(args, "threads", 1)):
                    return int(run(args) or 0)
            except UserError as exc:
                print(f"minitorch-cap {command}: error: {exc}", file=sys.stderr)
                return USAGE_ERROR
            except KeyboardInterrupt as exc:
                detail = f" {exc}" if str(exc) else ""
                print(f"minitorch-cap {command}: interrupted{detail}", file=sys.stderr)
                return 130
        return wrapped
    return wrap


def add_threads_option(parser) -> None:
    """``--threads N``: the BLAS threads numpy may use (see :func:`blas_threads`)."""
    parser.add_argument("--threads", metavar="N", type=positive_int, default=1,
                        help="threads of numpy's BLAS; this model's matrices are small, so one thread is "
                             "fastest on a shared machine (several threads can be 5-20x slower under load)")


@contextlib.contextmanager
def blas_threads(n: int):
    """Limit numpy's BLAS to ``n`` threads inside the block (needs threadpoolctl; else no limit).

    Measured here (2 cores, other jobs running): an LSTM training step with H=128 takes
    about 20 ms with one BLAS thread and 150-480 ms with two, which spin against the other
    processes; without load one thread is about as fast.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        if int(n) < (os.cpu_count() or 1):
            print(f"minitorch-cap: note: cannot limit numpy to --threads {n} without the threadpoolctl package "
                  "('pip install threadpoolctl'); on a busy machine training can be several times slower",
                  file=sys.stderr)
        yield
        return
    with threadpool_limits(limits=int(n), user_api="blas"):
        yield


def output_folder(path) -> Path:
    """Create the output folder ``path`` (with its parents) and check that files can be written
    in it; a :class:`UserError` naming --out if not. Commands call it before any long work."""
    out = Path(path)
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {str(out)!r} exists and is not a folder; give a folder (it is created if needed)")
    try:
        out.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as exc:
        raise UserError(f"--out {str(out)!r}: cannot create or write this folder "
                        f"({exc.strerror or exc}); give another --out") from None
    return out


def plural(n: int, word: str) -> str:
    """``plural(1, "epoch")`` -> "1 epoch", ``plural(8, "epoch")`` -> "8 epochs"."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


# ------------------------------------------------------------------------------- option types
def positive_int(text: str) -> int:
    """argparse type: an integer >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def non_negative_int(text: str) -> int:
    """argparse type: an integer >= 0 (a seed)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {value}")
    return value


def positive_float(text: str) -> float:
    """argparse type: a finite float > 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not (np.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"expected a finite number > 0, got {text}")
    return value


def unit_float(text: str) -> float:
    """argparse type: a float in (0, 1] (a decay factor)."""
    value = positive_float(text)
    if value > 1:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1], got {text}")
    return value


# ------------------------------------------------------------------------------------ data
def add_data_options(parser: argparse.ArgumentParser) -> None:
    """``--data-dir``, ``--max-train``, ``--max-val``, ``--no-pca``, ``--data-seed``: which data."""
    from ..data import DEFAULT_TRAINING

    group = parser.add_argument_group("data")
    group.add_argument("--data-dir", metavar="DIR", default=None,
                       help="folder with the CS231n COCO files (coco2014_captions.h5, "
                            "train2014_vgg16_fc7_pca.h5, ...); default: the built-in shapes data set")
    group.add_argument("--max-train", metavar="N", type=positive_int, default=None,
                       help="keep only N training captions (COCO; default: all) or generate N training "
                            f"images (built-in; default: {DEFAULT_TRAINING['num_train']}, 5 captions each)")
    group.add_argument("--max-val", metavar="N", type=positive_int, default=None,
                       help="built-in data: generate N validation images "
                            f"(default: {DEFAULT_TRAINING['num_val']})")
    group.add_argument("--no-pca", dest="pca_features", action="store_false",
                       help="COCO: read the 4096-d fc7 features instead of the 512-d PCA ones")
    group.add_argument("--data-seed", metavar="S", type=non_negative_int, default=0,
                       help="seed that generates the built-in data set (COCO: draws the --max-train captions)")
    group.add_argument("--region-features", action="store_true",
                       help="built-in data: one feature token per object slot and one for the pair, (N, 3, 30), "
                            "for --model transformer to attend over (default: one 49-d vector per image)")


def load_data(args) -> dict:
    """The data dict of the SPEC: built-in shapes by default, COCO files with ``--data-dir``.

    Problems with the files (missing, malformed) become a :class:`UserError`.
    """
    if getattr(args, "data_dir", None) is None:
        from ..data import load_shapes_data

        kwargs = {"seed": args.data_seed, "region_features": getattr(args, "region_features", False)}
        if args.max_train is not None:
            kwargs["num_train"] = args.max_train
        if args.max_val is not None:
            kwargs["num_val"] = args.max_val
        return load_shapes_data(**kwargs)
    if args.max_val is not None:
        raise UserError("--max-val applies to the built-in data only (COCO's validation split is read as it is)")
    from ..data import load_coco_data
    from ..data.coco import CAPTIONS_FILE, URL_FILES, VOCAB_FILE, feature_file

    data_dir = Path(args.data_dir)
    check_coco_files(data_dir, args.pca_features,
                     [CAPTIONS_FILE, VOCAB_FILE, *(feature_file(s, args.pca_features) for s in ("train", "val")),
                      *URL_FILES.values()])
    try:
        return load_coco_data(str(data_dir), max_train=args.max_train, pca_features=args.pca_features,
                              rng=np.random.default_rng(args.data_seed))
    except (OSError, ValueError, KeyError) as exc:
        raise UserError(message(exc)) from None


def check_coco_files(data_dir: Path, pca_features: bool, needed: list[str]) -> None:
    """The files ``needed`` must be in ``data_dir``; else a :class:`UserError` in the CLI's terms.

    The download hint is given only when the folder is missing or holds none of the COCO files;
    when only the other kind of features is there, the message names --no-pca.
    """
    from ..data.coco import HOW_TO_GET, feature_file

    if not data_dir.is_dir():
        raise UserError(f"--data-dir {str(data_dir)!r} is not a folder; it should hold the CS231n COCO files. "
                        + HOW_TO_GET)
    missing = [name for name in needed if not (data_dir / name).is_file()]
    if not missing:
        return
    wanted = {feature_file(s, pca_features) for s in ("train", "val")}
    other = [name for name in (feature_file(s, not pca_features) for s in ("train", "val"))
             if (data_dir / name).is_file()]
    if len(missing) == len(needed) and not other:
        raise UserError(f"--data-dir {str(data_dir)!r} holds none of the CS231n COCO files "
                        f"({', '.join(needed)}). " + HOW_TO_GET)
    text = f"--data-dir {str(data_dir)!r} lacks {', '.join(missing)}"
    if other and wanted & set(missing):
        kind, fix = ("the 4096-d fc7 features", "add --no-pca") if pca_features else ("the PCA features", "drop --no-pca")
        text += f"; it has {kind} ({', '.join(other)}): {fix} to use them"
    raise UserError(text)


def data_options_argv(args) -> list[str]:
    """The data options given on the command line, as arguments to repeat in another command."""
    argv = []
    for option, value in (("--data-dir", args.data_dir), ("--max-train", args.max_train),
                          ("--max-val", args.max_val)):
        if value is not None:
            argv += [option, str(value)]
    if not args.pca_features:
        argv.append("--no-pca")
    if args.data_seed != 0:
        argv += ["--data-seed", str(args.data_seed)]
    if getattr(args, "region_features", False):
        argv.append("--region-features")
    return argv


def command_line(argv: list[str]) -> str:
    """``argv`` quoted for a shell, as users copy it from a message."""
    return " ".join(shlex.quote(str(a)) for a in argv)


def is_builtin(data: dict) -> bool:
    """True for the built-in shapes data set (it carries the pixels of its validation images)."""
    return "val_images" in data


def data_source(args, data: dict) -> str:
    """How messages name the data: the built-in set or the COCO folder given with --data-dir."""
    return "the built-in shapes data" if is_builtin(data) else f"the COCO files in {args.data_dir}"


def load_checkpoint_model(path: str):
    """``load_model(path)`` with a missing or unreadable file reported as a :class:`UserError`."""
    from ..training import load_model

    if not Path(path).is_file():
        raise UserError(f"checkpoint {path!r} not found (train one with 'minitorch-cap train --out DIR', "
                        "which writes DIR/checkpoint.h5)")
    try:
        return load_model(path)
    except (OSError, ValueError, KeyError) as exc:
        raise UserError(f"cannot load checkpoint {path!r}: {message(exc)}") from None


def message(exc: BaseException) -> str:
    """The text of an exception (a ``KeyError`` without the quotes ``str`` adds)."""
    return str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)


def check_compatible(model, data: dict, source: str) -> None:
    """The model's feature size and vocabulary must match the data's (:func:`~minitorch_cap.data.check_model_data`)."""
    from ..data import check_model_data

    try:
        check_model_data(model, data, f"the checkpoint and {source}")
    except ValueError as exc:
        raise UserError(f"{exc}. Pass the data options used in training (--data-dir, --no-pca, --max-train, "
                        "--data-seed, --region-features)") from None


# ------------------------------------------------------------------------------ captioning
def model_label(model) -> str:
    """A short name for titles: the cell (``LSTM``) of a recurrent captioner, else ``Transformer``."""
    cell = getattr(model, "cell_type", None)
    return cell.upper() if cell else type(model).__name__.replace("Captioning", "")


def describe_model(model) -> str:
    """One line of the model's sizes, from its ``config()``."""
    c = model.config()
    if "cell_type" in c:
        return f"{c['cell_type']} cell, W={c['wordvec_dim']}, H={c['hidden_dim']}"
    return (f"{model_label(model)} decoder, {c['num_layers']} layers, {c['num_heads']} heads, W={c['wordvec_dim']}, "
            f"feed-forward {c['dim_feedforward']}, {c['activation']}, dropout {c['dropout']:g}")


def decode(captions, idx_to_word) -> list[str]:
    """Word ids (N, T) -> N readable strings: ``decode_captions`` of the SPEC without the
    ``<START>`` and ``<END>`` markers it keeps (``<UNK>`` stays visible)."""
    from ..data import decode_captions

    out = decode_captions(np.asarray(captions), idx_to_word)
    out = [out] if isinstance(out, str) else list(out)
    return [" ".join(w for w in text.split() if w not in _MARKERS) for text in out]


_MARKERS = frozenset({"<START>", "<END>"})


def split_images(data: dict, split: str = "val") -> tuple[np.ndarray, list[list[str]]]:
    """The distinct images of a split, in order, and the reference captions of each.

    Returns ``(image_idxs (M,), references)`` where ``references[m]`` lists the decoded
    captions of image ``image_idxs[m]``.
    """
    idxs = np.asarray(data[f"{split}_image_idxs"])
    captions = decode(data[f"{split}_captions"], data["idx_to_word"])
    images = np.unique(idxs)
    refs: dict[int, list[str]] = {int(i): [] for i in images}
    for i, cap in zip(idxs.tolist(), captions):
        refs[int(i)].append(cap)
    return images, [refs[int(i)] for i in images]


def generate(model, features, max_length: int = 30, batch_size: int = 1000) -> list[str]:
    """Greedy captions of ``features (N, D)`` as strings, decoded in batches."""
    out: list[str] = []
    for start in range(0, len(features), batch_size):
        out += decode(model.sample(features[start:start + batch_size], max_length=max_length), model.idx_to_word)
    return out


def caption_report(model, data: dict, split: str = "val", max_length: int = 30, max_images: int | None = None) -> dict:
    """Caption the distinct images of ``split`` (all, or the first ``max_images``) and, for the
    built-in data, check each caption.

    Returns a dict with ``image_idxs``, ``generated``, ``references`` and, for the built-in
    data set, ``correct`` (one bool per image) and ``accuracy`` (their mean).
    """
    image_idxs, references = split_images(data, split)
    if max_images is not None:
        image_idxs, references = image_idxs[:max_images], references[:max_images]
    generated = generate(model, data[f"{split}_features"][image_idxs], max_length=max_length)
    report = {"image_idxs": image_idxs, "generated": generated, "references": references}
    if is_builtin(data):
        from ..data import check_caption

        attributes = data[f"{split}_attributes"]
        correct = [bool(check_caption(g, attributes[int(i)])) for g, i in zip(generated, image_idxs)]
        report["correct"] = correct
        report["accuracy"] = float(np.mean(correct)) if correct else float("nan")
    return report


def attention_picture(model, data: dict, split: str, image_idxs, generated: list[str]) -> dict:
    """``plot_caption_grid``'s ``attention`` and ``regions`` for built-in region features, or {}.

    The last decoder layer's cross-attention of each generated word (``attention_sample``,
    the same greedy captions) and the extractor's slot boxes (the pair token has none).
    Given only when ``model`` attends over K > 1 tokens and every caption is reproduced.
    """
    features = data[f"{split}_features"]
    if model is None or not hasattr(model, "attention_sample") or np.ndim(features) != 3 or features.shape[1] < 2:
        return {}
    from ..data.shapes_features import slot_boxes

    ids, weights = model.attention_sample(features[image_idxs], max_length=max(len(g.split()) for g in generated) + 1)
    texts = decode(ids, model.idx_to_word)
    if texts != list(generated):
        return {}
    boxes = slot_boxes(data[f"{split}_images"][image_idxs])
    K = features.shape[1]
    regions = [[None if j >= 2 or np.isnan(boxes[m, j, 0]) else tuple(boxes[m, j]) for j in range(K)]
               for m in range(len(image_idxs))]
    attention = [weights[m, :len(g.split())] for m, g in enumerate(generated)]
    names = ["left/top object", "right/bottom object", "pair token (no box)"] if K == 3 else \
        [f"token {j}" for j in range(K)]
    return {"attention": attention, "regions": regions, "region_names": names}


def grid_selection(n: int, correct: list[bool] | None) -> tuple[list[int], int]:
    """Positions of the images to draw: the first ``n``, with up to ``n // 4`` slots at the end
    given to the first wrongly captioned images beyond them. Returns ``(positions, wrong_added)``."""
    if correct is None:
        return list(range(n)), 0
    later_wrong = [k for k in range(n, len(correct)) if not correct[k]]
    wrong_in_first = n - sum(correct[:n])
    extra = min(len(later_wrong), max(n // 4 - wrong_in_first, 0))
    return list(range(n - extra)) + later_wrong[:extra], extra


def write_caption_outputs(report: dict, data: dict, out_dir: Path, *, num_images: int = 16, split: str = "val",
                          title: str = "", model=None) -> list[Path]:
    """Write the pictures of a :func:`caption_report` into ``out_dir``; return the paths written.

    * Built-in data: ``captions.png``, a grid of ``num_images`` images with the generated
      caption (green and checked when fully correct, red when not) and two references:
      the first images of the split, with up to a quarter of the slots given to the first
      wrongly captioned images when there are any (so that the picture shows failures too).
    * COCO: ``captions.html``, every captioned image (by URL) with its references.
    Both: ``captions.json``, every image's generated caption and references (and verdict).
    With ``model`` a captioner that attends over region features (``attention_sample``,
    features (N, K>1, D)), ``captions.png`` also shows which region each word attended to.
    """
    from ..plots import plot_caption_grid, write_caption_html

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    idxs, generated, references = report["image_idxs"], report["generated"], report["references"]
    correct = report.get("correct")
    urls = data.get(f"{split}_urls")
    written = []
    n = min(int(num_images), len(idxs))
    if is_builtin(data):
        shown, wrong_added = grid_selection(n, correct)
        heading = title
        if "accuracy" in report:
            heading = (f"{title}{' — ' if title else ''}{split} images: {100 * report['accuracy']:.1f}% fully "
                       f"correct captions ({sum(correct)}/{len(correct)}); "
                       f"shown: the first {n - wrong_added}" + (f" and {wrong_added} wrong ones" if wrong_added else ""))
        written.append(plot_caption_grid(data[f"{split}_images"][idxs[shown]], [generated[k] for k in shown],
                                         [references[k] for k in shown], out_dir / "captions.png",
                                         correct=None if correct is None else [correct[k] for k in shown],
                                         title=heading, **attention_picture(model, data, split, idxs[shown],
                                                                            [generated[k] for k in shown])))
    else:
        n = len(idxs)
        page_urls = [str(urls[int(i)]) if urls is not None else f"{split} image {int(i)}" for i in idxs[:n]]
        written.append(write_caption_html(page_urls, generated[:n], references[:n], out_dir / "captions.html",
                                          correct=None if correct is None else correct[:n],
                                          title=title or f"Generated captions ({split})"))
    rows = []
    for k, i in enumerate(idxs):
        row = {"image": int(i), "generated": generated[k], "references": references[k]}
        if urls is not None:
            row["url"] = str(urls[int(i)])
        if correct is not None:
            row["correct"] = correct[k]
        rows.append(row)
    path = out_dir / "captions.json"
    path.write_text(json.dumps(rows, indent=1) + "\n")
    written.append(path)
    return written
