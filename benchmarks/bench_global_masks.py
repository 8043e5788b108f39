"""What the "masks of the global minibatch" rule costs a rank: COCO-scale Transformer step.

    python benchmarks/bench_global_masks.py            # 7 rounds x 3 steps per row
    python benchmarks/bench_global_masks.py --quick    # 3 rounds x 2

Under MPI each rank's dropout numbers are those of the whole minibatch's masks drawn from the
run's one stream, of which it keeps its rows (``minitorch_cap.training.randomness``): that
makes K ranks the one-process run. A rank computes only its rows' numbers and skips the
others' (``skip_uniforms``: ``PCG64.advance``), so the rule should cost nothing. This checks
it on one process, as rank 0 of K would see it: ``model.loss`` (forward + backward) on B/K of
a global minibatch of B=128 captions, with the masks taken

* ``global``: by the rule (this rank's rows of the B-row masks, the others skipped), and
* ``own rows``: drawn for this rank's B/K rows alone (the same cost, other numbers),

for K = 1, 2, 4; and ``draws``: every mask's numbers of one step drawn for B/K rows, alone
(the K=1 figure is what drawing all B rows would add to every rank's step without the skip).
Problem: ``bench_transformer.py``'s (T=16 input words, D=512, W=256, 4 heads, 2 layers,
feed-forward 2048, V=1004, float32), dropout 0.1. Rows are interleaved round by round in one
process with one BLAS thread; each cell is the median over rounds of the fastest of
``--reps`` steps. The machine is shared: compare the columns of one run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)
from bench_step import D, W, coco_like_captions, coco_vocabulary  # noqa: E402  (the COCO-scale problem)

B, HEADS, LAYERS, FF = 128, 4, 2, 2048


def main(argv=None) -> int:
    from threadpoolctl import threadpool_limits

    from minitorch_cap.captioners.transformer import CaptioningTransformer
    from minitorch_cap.training.randomness import RunRandomness

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--reps", type=int, default=None)
    args = parser.parse_args(argv)
    rounds, reps = args.rounds or (3 if args.quick else 7), args.reps or (2 if args.quick else 3)
    threadpool_limits(1, user_api="blas")
    rng = np.random.default_rng(0)
    model = CaptioningTransformer(coco_vocabulary(), D, W, num_heads=HEADS, num_layers=LAYERS, dim_feedforward=FF,
                                  dropout=0.1, dtype=np.float32, rng=rng)
    features = rng.standard_normal((B, D)).astype(np.float32)
    captions = coco_like_captions(rng, B, model, first_word=4)
    streams = RunRandomness(0)

    def step(K: int, rule: str) -> float:
        n = B // K
        batch, rows = (B, (0, n)) if rule == "global" else (n, (0, n))
        best = float("inf")
        for _ in range(reps):
            start = time.perf_counter()
            with streams.step(model, batch, rows):
                model.loss(features[:n], captions[:n])
            best = min(best, time.perf_counter() - start)
        return best

    shapes = []                                                 # the masks of one B-row step
    record = streams.masks.random
    streams.masks.random = lambda shape, dtype: (shapes.append(shape), record(shape, dtype))[1]
    with streams.step(model, B, (0, B)):
        model.loss(features, captions)
    streams.masks.random = record

    def draws(rows: int) -> float:
        """The uniform numbers of one step's masks for ``rows`` rows, alone."""
        best = float("inf")
        for _ in range(reps):
            start = time.perf_counter()
            for shape in shapes:
                streams.dropout.random((shape[0] * rows // B, *shape[1:]), dtype=np.float32)
            best = min(best, time.perf_counter() - start)
        return best

    cells = [(K, rule) for K in (1, 2, 4) for rule in (("global",) if K == 1 else ("global", "own rows"))]
    times: dict = {cell: [] for cell in cells}
    times.update({("draws", K): [] for K in (1, 2, 4)})
    for _ in range(rounds):
        for cell in cells:
            times[cell].append(step(*cell))
        for K in (1, 2, 4):
            times[("draws", K)].append(draws(B // K))
    median = {cell: statistics.median(v) * 1e3 for cell, v in times.items()}
    print(f"CaptioningTransformer step (loss + backward) on B/K of B={B} captions, dropout 0.1, float32, 1 thread; "
          f"median of {rounds} rounds x best of {reps}; {len(shapes)} masks, "
          f"{sum(int(np.prod(s)) for s in shapes) / 1e6:.1f} M numbers for B rows")
    print(f"{'K':>3} {'rows':>5} {'global ms':>10} {'own rows ms':>12} {'extra ms':>9} {'extra %':>8} "
          f"{'draws ms (B/K rows)':>20}")
    for K in (1, 2, 4):
        g = median[(K, "global")]
        own = median.get((K, "own rows"), g)
        print(f"{K:>3} {B // K:>5} {g:>10.1f} {own:>12.1f} {g - own:>9.1f} {100 * (g - own) / own:>7.1f}% "
              f"{median[('draws', K)]:>20.1f}")
    print(f"without the skip, a rank would draw all B rows' numbers: {median[('draws', 1)]:.1f} ms a step instead "
          "of the last column's")
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
