"""This checkout against an older one: the COCO-scale training step and greedy decoding, old and new alternated.

    git worktree add /tmp/old <commit>                 # the version to compare with
    python benchmarks/bench_versions.py --old /tmp/old
    python benchmarks/bench_versions.py --old /tmp/old --threads 2 --rounds 6

A change that should not make a step slower (a refactoring, a new shared path) is checked by
running both versions on the same problem: every measurement runs in a fresh process whose
``minitorch_cap`` is imported from one checkout (``PYTHONPATH``), and the processes of the two
versions alternate round by round, so the drift of a shared machine hits both alike. Each
process times ``--reps`` calls after two warm-up calls and reports the fastest; the table gives
the median over rounds and the min-max, and ``new/old`` (below 1 is faster).

Problems (``bench_step.py``'s, built with the public API both versions have: top-level
``CaptioningModel`` and ``CaptioningTransformer``): the LSTM step at N=25 and N=128 (T=16,
W=256, H=512, V=1004, D=512, float32, COCO-like caption lengths), the Transformer step at
N=128 (2 layers, 4 heads, feed-forward 2048, dropout 0.1), and greedy and beam-3 decoding
(``model.sample``, ``model.beam_search``; max_length=30, 100 images, untrained weights, so
captions run to the full length) of both. The recurrent
workers print their loss, which must be the same in both versions (the Transformer's differs
where a version draws its dropout masks in another order).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
CASES = ("lstm-25", "lstm-128", "transformer-128", "lstm-greedy", "lstm-beam", "transformer-greedy", "transformer-beam")
IMAGES = 100


def build(case: str):
    """(function to time, loss or None) for ``case``, from the ``minitorch_cap`` on sys.path."""
    import minitorch_cap

    sys.path.insert(0, HERE)
    from bench_step import D, H, W, coco_like_captions, coco_vocabulary

    kind, what = case.split("-")
    rng = np.random.default_rng(0)
    N = IMAGES if what in ("greedy", "beam") else int(what)
    if kind == "lstm":
        model = minitorch_cap.CaptioningModel(coco_vocabulary(), D, W, H, "lstm", np.float32, rng=rng)
    else:
        model = minitorch_cap.CaptioningTransformer(coco_vocabulary(), D, W, num_heads=4, num_layers=2,
                                                    dim_feedforward=2048, dropout=0.1, dtype=np.float32, rng=rng)
    features = rng.standard_normal((N, D)).astype(np.float32)
    if what in ("greedy", "beam"):
        model.eval()
        if what == "beam":
            return (lambda: model.beam_search(features, 3, 30)), None
        return (lambda: model.sample(features, 30)), None
    captions = coco_like_captions(rng, N, model, first_word=3 if kind == "lstm" else 4)
    return (lambda: model.loss(features, captions)), float(model.loss(features, captions)[0])


def worker(case: str, reps: int, threads: int) -> dict:
    from threadpoolctl import threadpool_limits

    import minitorch_cap

    threadpool_limits(threads)
    fn, loss = build(case)
    fn(), fn()
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        times.append(1000 * (time.perf_counter() - start))
    return {"ms": min(times), "loss": loss, "where": os.path.dirname(minitorch_cap.__file__)}


def run(checkout: str, case: str, reps: int, threads: int) -> dict:
    env = {**os.environ, "PYTHONPATH": checkout, "OPENBLAS_NUM_THREADS": str(threads),
           "OMP_NUM_THREADS": str(threads)}
    proc = subprocess.run([sys.executable, __file__, "--worker", case, str(reps), str(threads)],
                          capture_output=True, text=True, env=env, cwd=checkout)
    if proc.returncode:
        raise SystemExit(f"worker {case} in {checkout} failed:\n{proc.stderr}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    if os.path.realpath(result["where"]) != os.path.realpath(os.path.join(checkout, "minitorch_cap")):
        raise SystemExit(f"the worker for {checkout} imported minitorch_cap from {result['where']}")
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--old", required=True, help="an older checkout of this repository (a folder)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--cases", default=",".join(CASES))
    args = parser.parse_args(argv)
    new, old = os.path.dirname(HERE), os.path.abspath(args.old)
    if not os.path.isdir(os.path.join(old, "minitorch_cap")):
        parser.error(f"--old {args.old}: no minitorch_cap package in that folder")
    cases = args.cases.split(",")
    times = {(v, c): [] for v in ("old", "new") for c in cases}
    losses = {}
    for r in range(args.rounds):
        for case in cases:
            for version, checkout in (("old", old), ("new", new)) if r % 2 == 0 else (("new", new), ("old", old)):
                result = run(checkout, case, args.reps, args.threads)
                times[version, case].append(result["ms"])
                losses[version, case] = result["loss"]
        print(f"round {r + 1}/{args.rounds} done", file=sys.stderr, flush=True)
    print(f"{args.threads} thread(s); median of {args.rounds} fresh processes (min-max), each the fastest of "
          f"{args.reps} calls; old = {old}")
    print(f"{'case':20} {'old ms':>22} {'new ms':>22} {'new/old':>8}  loss old / new")
    for case in cases:
        cells = []
        for version in ("old", "new"):
            t = times[version, case]
            cells.append(f"{statistics.median(t):8.1f} ({min(t):.1f}-{max(t):.1f})")
        ratio = statistics.median(times["new", case]) / statistics.median(times["old", case])
        loss = "" if losses["old", case] is None else f"{losses['old', case]:.6f} / {losses['new', case]:.6f}"
        print(f"{case:20} {cells[0]:>22} {cells[1]:>22} {ratio:8.2f}  {loss}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        print(json.dumps(worker(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))))
        sys.exit(0)
    sys.exit(main())
