"""Caption reports: what ``train`` and ``sample`` print and write, available to any script.

On the built-in data set each caption is judged by the library's one accuracy rule
(:func:`minitorch_cap.data.shapes.judge_captions` on the display text of
:func:`minitorch_cap.data.caption_text`), so every command reports the same accuracy for one checkpoint.

    report = caption_report(model, data, "val", with_references=True)
    print(report["accuracy"])                      # built-in data: share of fully correct captions
    write_caption_outputs(report, data, "out")     # captions.png / captions.html + captions.json
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Iterator

import numpy as np

from ..data.checks import check_model_data
from ..data.coco import caption_text
from ..data.shapes import judge_captions
from ..captioners.decoding import DEFAULT_MAX_LENGTH
from .scoring import decode_images, split_images, split_references


def is_builtin(data: dict, split: str = "val") -> bool:
    """True for the built-in shapes data set (it carries the pixels and truth of its images)."""
    return f"{split}_images" in data and f"{split}_attributes" in data


def caption_report(model, data: dict, split: str = "val", *, max_length: int | None = None,
                   max_images: int | None = None, beam_size: int = 1, with_references: bool = False,
                   owner: str = "caption_report") -> dict:
    """Caption the distinct images of ``split`` (all, or the first ``max_images``).

    Returns a dict with ``image_idxs (M,)``, ``generated`` (M display strings) and, with
    ``with_references``, ``references`` (M lists of display strings); on the built-in data
    set also ``correct`` (M bools) and ``accuracy`` (their mean; NaN for no image).
    ``max_length`` defaults to :data:`~minitorch_cap.captioners.decoding.DEFAULT_MAX_LENGTH`.
    Raises ``ValueError`` (a ``DataError`` naming ``owner``, the function called) when the model does
    not read this data (vocabulary, feature size).
    """
    check_model_data(model, data, owner)
    max_length = DEFAULT_MAX_LENGTH if max_length is None else max_length
    if with_references:
        image_idxs, references = split_references(data, split, max_images, text=caption_text)
    else:               # the per-epoch metric: no reference to decode
        image_idxs = split_images(data, split, max_images)
    ids = decode_images(model, data[f"{split}_features"][image_idxs], beam_size=beam_size, max_length=max_length)
    generated = caption_text(ids, data["idx_to_word"]) if len(ids) else []
    report = {"split": split, "image_idxs": image_idxs, "generated": list(generated)}
    if with_references:
        report["references"] = references
    correct = judge_captions(data, split, image_idxs, generated)
    if correct is not None:
        report["correct"] = correct
        report["accuracy"] = float(np.mean(correct)) if correct else float("nan")
    return report


def model_caption_accuracy(model, data: dict, split: str = "val", max_length: int | None = None) -> float:
    """Fraction of the split's images whose greedy caption is fully correct (:func:`~minitorch_cap.data.shapes.judge_captions`).

    Signature ``fn(model, data) -> float`` with defaults, so it plugs into the Trainer's
    ``metrics=`` as is. The same figure as ``caption_report(...)["accuracy"]``, which it calls.
    """
    return caption_report(model, data, split, max_length=max_length, owner="model_caption_accuracy")["accuracy"]


#: A mean over the split's images: ``minitorch_cap.distributed`` may split it over ranks.
model_caption_accuracy.per_image_mean = True


def attention_picture(model, data: dict, split: str, image_idxs, generated: list[str]) -> dict:
    """``plot_caption_grid``'s ``attention``, ``regions`` and ``region_names`` for the built-in
    region features, or {} (no model, a model that does not attend, or one memory token).

    The model's attention of each generated word (``attention_sample``:
    the same greedy captions; {} if any caption differs) and the extractor's slot boxes (the
    pair token has none).
    """
    features = data[f"{split}_features"]
    if model is None or not getattr(model, "attends", False) or np.ndim(features) != 3 or features.shape[1] < 2 \
            or not generated:
        return {}
    from ..data.shapes_features import slot_boxes

    ids, weights = model.attention_sample(features[image_idxs], max_length=max(len(g.split()) for g in generated) + 1)
    if list(caption_text(ids, data["idx_to_word"])) != list(generated):
        return {}
    boxes = slot_boxes(data[f"{split}_images"][image_idxs])
    K = features.shape[1]
    regions = [[None if j >= 2 or np.isnan(boxes[m, j, 0]) else tuple(boxes[m, j]) for j in range(K)]
               for m in range(len(image_idxs))]
    names = ["left/top object", "right/bottom object", "pair token (no box)"] if K == 3 else \
        [f"token {j}" for j in range(K)]
    return {"attention": [weights[m, :len(g.split())] for m, g in enumerate(generated)], "regions": regions,
            "region_names": names}


def grid_selection(n: int, correct: list[bool] | None) -> tuple[list[int], int]:
    """Positions of the images to draw: the first ``n``, with up to ``n // 4`` slots at the end
    given to the first wrongly captioned images beyond them. Returns ``(positions, wrong_added)``."""
    if correct is None:
        return list(range(n)), 0
    later_wrong = [k for k in range(n, len(correct)) if not correct[k]]
    wrong_in_first = n - sum(correct[:n])
    extra = min(len(later_wrong), max(n // 4 - wrong_in_first, 0))
    return list(range(n - extra)) + later_wrong[:extra], extra


def write_caption_outputs(report: dict, data: dict, out_dir, *, num_images: int = 16, title: str = "",
                          model=None) -> list[Path]:
    """Write the pictures of a :func:`caption_report` (made ``with_references``) into ``out_dir``.

    * Built-in data: ``captions.png``, a grid of ``num_images`` images with the generated
      caption (green and checked when fully correct, red when not) and two references:
      the first images of the split, with up to a quarter of the slots given to the first
      wrongly captioned images when there are any (so that the picture shows failures too).
    * COCO: ``captions.html``, every captioned image (by URL) with its references.
    Both: ``captions.json``, every image's generated caption and references (and verdict);
    its ``url`` is the data's URL of the image (none for the built-in images, which exist only
    in memory and in ``captions.png``). With ``model`` a captioner that attends over region
    features (``attention_sample``, features (N, K > 1, D)), ``captions.png`` also shows the
    region each word attended to (:func:`attention_picture`). Returns the paths written.
    """
    from .grid import plot_caption_grid, write_caption_html
    from ..data.files import write_json

    split = report["split"]
    out_dir = Path(out_dir)           # created by the first (atomic) write
    idxs, generated, references = report["image_idxs"], report["generated"], report["references"]
    correct = report.get("correct")
    urls = data.get(f"{split}_urls")
    written = []
    n = min(int(num_images), len(idxs))
    if is_builtin(data, split):
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
        page_urls = [str(urls[int(i)]) if urls is not None else f"{split} image {int(i)}" for i in idxs]
        written.append(write_caption_html(page_urls, generated, references, out_dir / "captions.html",
                                          correct=correct, title=title or f"Generated captions ({split})"))
    rows = []
    for k, i in enumerate(idxs):
        row = {"image": int(i), "generated": generated[k], "references": references[k]}
        if urls is not None and not is_builtin(data, split):     # the built-in images have no file
            row["url"] = str(urls[int(i)])
        if correct is not None:
            row["correct"] = correct[k]
        rows.append(row)
    written.append(write_json(out_dir / "captions.json", rows))
    return written


@contextlib.contextmanager
def results_folder(checkpoint, command: str, writes: tuple[str, ...], record: str, *, out=None,
                   overwrite: bool = False, label=str) -> Iterator[Path]:
    """``with results_folder(...) as out:`` the folder a command on ``checkpoint`` (``sample``,
    ``evaluate``) writes into, created before any work; if the block fails before anything is
    written there, a folder created here is removed again (a refused command leaves nothing).

    Default ``out``: ``COMMAND/`` next to ``checkpoint.h5`` (``COMMAND-STEM/`` for another file, e.g.
    ``evaluate-best/`` for ``best.h5``). Files it ``writes`` that are there already are replaced only
    when ``record`` (the JSON file it writes, with a ``"checkpoint"`` entry) says they are this
    command's results of the same checkpoint (or, in the default folder, of a file of that name:
    the run folder was moved or copied with its results); anything else (a user's own file, the
    results of another checkpoint) raises ``RunFolderError`` unless ``overwrite``, as does a folder
    that cannot be created (``label`` names ``out`` and ``overwrite`` in the message: the command
    line passes its options).
    """
    from ..data.files import read_json_or_none
    from ..training.run_dir import RunFolderError, make_folder, remove_made_folder

    checkpoint = Path(checkpoint)
    default = checkpoint.parent / (command if checkpoint.stem == "checkpoint" else f"{command}-{checkpoint.stem}")
    out = Path(out) if out else default
    held = [name for name in writes if (out / name).exists()]
    if held and not overwrite:
        found = read_json_or_none(out / record)
        recorded = found.get("checkpoint") if isinstance(found, dict) else None
        recorded = recorded if isinstance(recorded, str) else None
        # this checkpoint's results, also after the run folder was moved or copied (they moved with it)
        ours = recorded == str(checkpoint.resolve()) or (
            recorded is not None and Path(recorded).name == checkpoint.name and out.resolve() == default.resolve())
        if not ours:
            raise RunFolderError(f"{str(out)!r} already holds {', '.join(held)}, not the {command} results of "
                                 f"{checkpoint}; choose another {label('out')}, or pass {label('overwrite')} to "
                                 "replace them")
    created = make_folder(out, "the output folder")
    try:
        yield out
    except BaseException:
        remove_made_folder(out, created)    # only while empty: nothing was written, nothing is left
        raise

