"""``minitorch-cap sample``: caption validation images with a trained checkpoint."""

from __future__ import annotations

from pathlib import Path

from .common import folder, add_command, add_threads_option, checkpoint_and_data, output_folder, positive_int, user_errors

DESCRIPTION = """\
Caption images with a trained checkpoint (greedy decoding) and write the same pictures
as 'train' into --out (default: a 'sample' folder next to checkpoint.h5, 'sample-best' for
best.h5, ...; another checkpoint's pictures or files of yours are never replaced without
--overwrite):

  captions.png         built-in data: images with the generated caption (green and
                       checked when fully correct, red when not) and two reference captions
  captions.html        COCO: image URLs with generated and reference captions
  captions.json        every captioned image with its generated and reference captions
  sample_metrics.json  the split, the checkpoint and, on the built-in data, the share of
                       fully correct captions (accuracy, the figure 'train' and 'evaluate' report)

The data is the data the checkpoint's run was trained on, unless data options are given.
"""

EPILOG = """\
examples:
  minitorch-cap sample runs/shapes-lstm/checkpoint.h5
  minitorch-cap sample runs/shapes-lstm/checkpoint.h5 --num-images 8 --out pictures
"""


WRITES = ("captions.png", "captions.html", "captions.json", "sample_metrics.json")


def register(subparsers) -> None:
    p = add_command(subparsers, "sample", help="caption validation images with a checkpoint",
                    description=DESCRIPTION, epilog=EPILOG, on_checkpoint=True)
    p.add_argument("--out", metavar="DIR", type=folder, default=None, help="output folder")
    p.add_argument("--overwrite", action="store_true", help="replace the pictures in --out, whatever wrote them")
    p.add_argument("--num-images", metavar="N", type=positive_int, default=16,
                   help="images drawn in captions.png (built-in data) or listed in captions.html (COCO)")
    p.add_argument("--max-length", metavar="T", type=positive_int, default=None,
                   help="longest caption, in words (default: 30, as every command)")
    p.add_argument("--print", dest="print_count", metavar="K", type=int, default=5,
                   help="print the first K generated captions")
    add_threads_option(p)
    p.set_defaults(func=run)


@user_errors("sample")
def run(args) -> int:
    from ..evaluation.reports import caption_report, is_builtin, write_caption_outputs
    from ..captioners.base import kind_of
    from ..data.files import write_json

    _, model, data, _ = checkpoint_and_data(args)
    out = output_folder(args, "sample", WRITES, record="sample_metrics.json")
    model.eval()
    report = caption_report(model, data, args.split, max_length=args.max_length, with_references=True,
                            max_images=None if is_builtin(data, args.split) else args.num_images)
    kind = kind_of(model).kind.upper()
    written = write_caption_outputs(report, data, out, num_images=args.num_images,
                                    title=f"{kind} from {Path(args.checkpoint).name}", model=model)
    for k in range(min(max(args.print_count, 0), len(report["generated"]))):
        verdict = ("  [correct]" if report["correct"][k] else "  [wrong]") if "correct" in report else ""
        print(f"image {int(report['image_idxs'][k])}: {report['generated'][k]}{verdict}")
    record = {"split": args.split, "images": len(report["generated"]), "checkpoint": str(Path(args.checkpoint).resolve())}
    if "accuracy" in report:
        n = len(report["correct"])
        print(f"{args.split} accuracy: {100 * report['accuracy']:.1f}% of {n} images captioned fully correctly")
        record.update(accuracy=report["accuracy"], correct=int(sum(report["correct"])))
    written.append(write_json(out / "sample_metrics.json", record))
    print(f"wrote {', '.join(str(p) for p in written)}")
    return 0
