"""``minitorch-cap sample``: caption validation images with a trained checkpoint."""

from __future__ import annotations

from pathlib import Path

from .common import add_command, checkpoint_and_data, option, positive_int, user_errors

DESCRIPTION = """\
Caption images with a trained checkpoint (greedy decoding) and write the pictures 'train' writes
into --out (default: 'sample/' next to checkpoint.h5, 'sample-best/' for best.h5, ...; another
checkpoint's pictures or files of yours are never replaced without --overwrite): captions.png
(built-in data: images, generated caption green when right, red when wrong, two references) or
captions.html (COCO: image URLs), captions.json (every captioned image) and sample_metrics.json
(the split, the checkpoint and, on the built-in data, the share of fully correct captions: the
accuracy 'train' and 'evaluate' report). The data is the checkpoint's run's unless data options
are given.
"""

EPILOG = """\
examples:
  minitorch-cap sample runs/shapes-lstm/checkpoint.h5
  minitorch-cap sample runs/shapes-lstm/checkpoint.h5 --num-images 8 --out pictures
"""




def register(subparsers) -> None:
    p = add_command(subparsers, "sample", help="caption validation images with a checkpoint", run=run,
                    description=DESCRIPTION, epilog=EPILOG, on_checkpoint=True, writes="the files above")
    p.add_argument("--num-images", metavar="N", type=positive_int, default=16,
                   help="images drawn in captions.png (built-in data) or listed in captions.html (COCO)")
    p.add_argument("--max-length", metavar="T", type=positive_int, default=None,
                   help="longest caption, in words (default: 30, as every command)")
    p.add_argument("--print", dest="print_count", metavar="K", type=int, default=5,
                   help="print the first K generated captions")


@user_errors("sample")
def run(args) -> int:
    from ..evaluation.reports import caption_report, is_builtin, results_folder, write_caption_outputs
    from ..captioners.base import kind_of
    from ..data.files import write_json
    from ..training.run_dir import CAPTION_FILES

    _, model, data, _ = checkpoint_and_data(args)
    with results_folder(args.checkpoint, "sample", (*CAPTION_FILES, "sample_metrics.json"), "sample_metrics.json",
                        out=args.out, overwrite=args.overwrite, label=option) as out:
        model.eval()
        report = caption_report(model, data, args.split, max_length=args.max_length, with_references=True,
                                max_images=None if is_builtin(data, args.split) else args.num_images)
        kind = kind_of(model).kind.upper()
        written = write_caption_outputs(report, data, out, num_images=args.num_images,
                                        title=f"{kind} from {Path(args.checkpoint).name}", model=model)
        for k in range(min(max(args.print_count, 0), len(report["generated"]))):
            verdict = ("  [correct]" if report["correct"][k] else "  [wrong]") if "correct" in report else ""
            print(f"image {int(report['image_idxs'][k])}: {report['generated'][k]}{verdict}")
        record = dict(split=args.split, images=len(report["generated"]), checkpoint=str(Path(args.checkpoint).resolve()))
        if "accuracy" in report:
            n = len(report["correct"])
            print(f"{args.split} accuracy: {100 * report['accuracy']:.1f}% of {n} images captioned fully correctly")
            record.update(accuracy=report["accuracy"], correct=int(sum(report["correct"])))
        written.append(write_json(out / "sample_metrics.json", record))
        print(f"wrote {', '.join(str(p) for p in written)}")
    return 0
