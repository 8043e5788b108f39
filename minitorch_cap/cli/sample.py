"""``minitorch-cap sample``: caption validation images with a trained checkpoint."""

from __future__ import annotations

import json
from pathlib import Path

from .common import (add_command, add_data_options, add_threads_option, caption_report, check_compatible,
                     data_source, is_builtin, load_checkpoint_model, load_data, model_label, output_folder, positive_int,
                     user_errors, write_caption_outputs)

DESCRIPTION = """\
Caption validation images with a trained checkpoint (greedy decoding) and write the
same pictures as 'train' into --out:

  captions.png         built-in data: images with the generated caption (green and
                       checked when fully correct, red when not) and two reference captions
  captions.html        COCO: image URLs with generated and reference captions
  captions.json        every captioned image with its generated and reference captions
  sample_metrics.json  built-in data: the split, the share of fully correct captions
                       (accuracy), the numbers of images and correct ones, the checkpoint

The data must be the data the model was trained on: the built-in shapes data set by
default, or the COCO files given with --data-dir. On the built-in data it prints the
share of fully correct captions.
"""

EPILOG = """\
examples:
  minitorch-cap sample runs/shapes-lstm/checkpoint.h5
  minitorch-cap sample runs/shapes-lstm/checkpoint.h5 --num-images 8 --out pictures
  minitorch-cap sample runs/coco-lstm/checkpoint.h5 --data-dir datasets/coco_captioning
"""


def register(subparsers) -> None:
    p = add_command(subparsers, "sample", help="caption validation images with a checkpoint",
                    description=DESCRIPTION, epilog=EPILOG)
    p.add_argument("checkpoint", metavar="CHECKPOINT", help="a checkpoint written by 'minitorch-cap train'")
    add_data_options(p)
    p.add_argument("--split", choices=("val", "train"), default="val", help="which images to caption")
    p.add_argument("--out", metavar="DIR", default=None,
                   help="output folder (default: a 'sample' folder next to the checkpoint)")
    p.add_argument("--num-images", metavar="N", type=positive_int, default=16,
                   help="images drawn in captions.png (built-in data) or listed in captions.html (COCO)")
    p.add_argument("--max-length", metavar="T", type=positive_int, default=30, help="longest caption, in words")
    p.add_argument("--print", dest="print_count", metavar="K", type=int, default=5,
                   help="print the first K generated captions")
    add_threads_option(p)
    p.set_defaults(func=run)


@user_errors("sample")
def run(args) -> int:
    model = load_checkpoint_model(args.checkpoint)
    model.eval()
    data = load_data(args)
    source = data_source(args, data)
    check_compatible(model, data, source)
    out = output_folder(args.out or Path(args.checkpoint).parent / "sample")
    report = caption_report(model, data, args.split, max_length=args.max_length,
                            max_images=None if is_builtin(data) else args.num_images)
    written = write_caption_outputs(report, data, out, num_images=args.num_images, split=args.split,
                                    title=f"{model_label(model)} from {Path(args.checkpoint).name}", model=model)
    for k in range(min(max(args.print_count, 0), len(report["generated"]))):
        verdict = ""
        if "correct" in report:
            verdict = "  [correct]" if report["correct"][k] else "  [wrong]"
        print(f"image {int(report['image_idxs'][k])}: {report['generated'][k]}{verdict}")
    print(f"wrote {', '.join(str(p) for p in written)}")
    if "accuracy" in report:
        n = len(report["correct"])
        print(f"{args.split} accuracy: {100 * report['accuracy']:.1f}% of {n} images captioned fully correctly")
        (out / "sample_metrics.json").write_text(json.dumps(
            {"split": args.split, "accuracy": report["accuracy"], "images": n,
             "correct": int(sum(report["correct"])), "checkpoint": str(args.checkpoint)}, indent=1) + "\n")
    return 0
