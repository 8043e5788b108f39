"""``minitorch-cap evaluate``: BLEU-1..4, CIDEr-D, ROUGE-L and collapse diagnostics of a checkpoint."""

from __future__ import annotations

from pathlib import Path

from .common import add_command, checkpoint_and_data, option, non_negative_float, positive_int, user_errors

DESCRIPTION = """\
Decode the images of a split with a checkpoint (greedy, or beam search with --beam-size; never
teacher forced) and score one caption per image against ALL its references: BLEU-1..4, CIDEr-D
and ROUGE-L as pycocoevalcap computes them (in pure Python, on its scale: BLEU and ROUGE-L in
0-1, CIDEr-D about 1 for a good COCO model; --percent gives the x100 papers print; lower-case
words, <START>, <END>, <NULL> and <UNK> removed), diagnostics that reveal a collapsed captioner
and, on the built-in data, the share of captions the checker accepts (the held-out accuracy
'train' reports). The data is the checkpoint's run's unless data options are given.

Writes into --out (default: an 'evaluate' folder next to checkpoint.h5, 'evaluate-best' for
best.h5, ...; the results of another checkpoint, or files of yours, are never replaced
without --overwrite):
  results.json   the captions in the COCO results format [{"image_id": ..., "caption": ...}]
  scores.json    the scores, the scale and the settings
"""

EPILOG = """\
examples:
  minitorch-cap evaluate runs/shapes-lstm/checkpoint.h5
  minitorch-cap evaluate runs/shapes-lstm/checkpoint.h5 --beam-size 3
  minitorch-cap evaluate runs/coco-lstm/best.h5 --max-images 5000
"""


def register(subparsers) -> None:
    p = add_command(subparsers, "evaluate", help="BLEU, CIDEr-D and ROUGE-L of decoded captions", run=run,
                    description=DESCRIPTION, epilog=EPILOG, on_checkpoint=True, writes="results.json and scores.json")
    p.add_argument("--beam-size", metavar="K", type=positive_int, default=1, help="1 is greedy decoding")
    p.add_argument("--alpha", metavar="A", type=non_negative_float, default=0.0,
                   help="beam search length normalisation: rank by logprob / ((5 + length) / 6) ** A")
    p.add_argument("--block-unk", action="store_true", help="never generate <UNK>")
    p.add_argument("--max-length", metavar="T", type=positive_int, default=30, help="longest caption, in words")
    p.add_argument("--max-images", metavar="N", type=positive_int, default=None,
                   help="decode only the first N images of the split (default: all)")
    p.add_argument("--cider-df", choices=("split", "train"), default="split",
                   help="CIDEr-D document frequencies from the scored references (as coco-caption) or from the "
                        "training references (use it for small evaluations)")
    p.add_argument("--percent", action="store_true", help="print and save the metrics x100, as papers do")


@user_errors("evaluate")
def run(args) -> int:
    from ..evaluation.reports import results_folder
    from ..evaluation.scoring import evaluate
    from ..captioners.base import kind_of
    from ..nn.checks import SettingsError

    _, model, data, spec = checkpoint_and_data(args)
    if args.block_unk and model.unk_id is None:        # refused before the output folder exists
        raise SettingsError("--block-unk: the model's vocabulary has no <UNK> token")
    with results_folder(args.checkpoint, "evaluate", ("results.json", "scores.json"), "scores.json", out=args.out,
                        overwrite=args.overwrite, label=option) as out:
        model.eval()
        result = evaluate(model, data, args.split, beam_size=args.beam_size, max_length=args.max_length,
                          alpha=args.alpha, block_unk=args.block_unk, max_images=args.max_images,
                          cider_df=args.cider_df, percent=args.percent)
        n = len(result.hypotheses)
        how = "greedy" if args.beam_size == 1 else f"beam search, beam size {args.beam_size}, alpha {args.alpha:g}"
        print(f"{kind_of(model).kind.upper()} from {args.checkpoint}: {n} {args.split} images of "
              f"{spec.describe()}, {how}")
        print(result.table())
        print(f"decoding took {result.decode_seconds:.2f} s ({1000 * result.decode_seconds / max(n, 1):.2f} s per "
              "1,000 images)")
        written = result.write(out, checkpoint=str(Path(args.checkpoint).resolve()), data=spec.describe())
        print(f"wrote {', '.join(str(p) for p in written)}")
    return 0
