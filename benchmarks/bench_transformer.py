"""COCO-scale Transformer captioning step: minitorch_cap's CaptioningTransformer vs the course's PyTorch model.

    python benchmarks/bench_transformer.py            # 5 rounds of fresh processes
    python benchmarks/bench_transformer.py --quick    # 3 rounds, fewer decoding images
    python benchmarks/bench_transformer.py --threads 1

Problem (CS231n COCO scale): N=128 captions, T=16 input words (17 tokens, COCO-like
lengths: 8 to 14 words, then <END>, then padding), D=512 features (one memory token),
W=256, 4 heads, 2 decoder layers, feed-forward 2048 (the course's ``dim_feedforward``
default), V=1004, float32, dropout 0.1 in training mode on both sides.

Rows (each measurement in a fresh process, rows interleaved round by round so a shared
machine's drift hits every row alike; a row reports the median over rounds of the fastest
of ``--reps`` steps):
* ``minitorch_cap step``: ``model.loss(features, captions)`` (forward + backward, every gradient).
* ``PyTorch step``: the course's ``CaptioningTransformer`` (tests/captioners/test_transformer.py
  writes it from the course's published code) with the same weights, threads and loss
  (masked cross-entropy averaged over N*T positions), ``zero_grad`` + forward + ``backward()``.
* ``GEMM floor``: the matrix products our step performs (forward, and the two products of
  each one's backward), timed alone: what a step would cost with zero overhead.
Then decoding time for ``--images`` images, greedy, max_length=30 (untrained weights, so
captions run to the full length): with the key/value cache (``model.sample``) and without
(each step re-runs the whole prefix: the course's ``sample``).
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
from bench_step import D, T, V, W, coco_like_captions, coco_vocabulary  # noqa: E402  (the COCO-scale problem)

N, HEADS, LAYERS, FF = 128, 4, 2, 2048


def make_problem(seed: int = 0):
    from minitorch_cap.captioners.transformer import CaptioningTransformer

    rng = np.random.default_rng(seed)
    model = CaptioningTransformer(coco_vocabulary(), D, W, num_heads=HEADS, num_layers=LAYERS,
                                  dim_feedforward=FF, dropout=0.1, dtype=np.float32, rng=rng)
    features = rng.standard_normal((N, D)).astype(np.float32)
    return model, features, coco_like_captions(rng, N, model, first_word=4)


def torch_model(torch, model):
    """The course's PyTorch model holding ``model``'s weights (float32, training mode)."""
    from minitorch_cap.captioners.transformer import course_state_dict_layout
    from tests.captioners.test_transformer import course_classes

    theirs = course_classes(torch, "2021")(model.word_to_idx, D, W, num_heads=HEADS, num_layers=LAYERS,
                                           max_length=model.max_length, dim_feedforward=FF).float()
    state = theirs.state_dict()
    for name, (key, transposed) in course_state_dict_layout(model, "2021").items():
        value = dict(model.named_parameters())[name].data
        state[key] = torch.tensor(value.T if transposed else value).contiguous()
    theirs.load_state_dict(state)
    return theirs.train()


def gemm_shapes(M: int) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    """(A shape, B shape) of every forward product of one step (M unmasked targets); batched
    products as (batch, m, k) @ (batch, k, n)."""
    NT, Dh = N * T, W // HEADS
    shapes = [((N, D), (D, W))]                                              # visual projection
    for _ in range(LAYERS):
        shapes += [((NT, W), (W, W))] * 4                                    # self q, k, v, proj
        shapes += [((N * HEADS, T, Dh), (N * HEADS, Dh, T)), ((N * HEADS, T, T), (N * HEADS, T, Dh))]
        shapes += [((NT, W), (W, W))] * 2 + [((N, W), (W, W))] * 2           # cross q, proj; k, v
        shapes += [((N * HEADS, T, Dh), (N * HEADS, Dh, 1)), ((N * HEADS, T, 1), (N * HEADS, 1, Dh))]
        shapes += [((NT, W), (W, FF)), ((NT, FF), (FF, W))]                  # feed-forward
    shapes += [((M, W), (W, V))]                                             # output (packed rows)
    return shapes


def gemm_floor(shapes, rng):
    """A function timing every product and its two backward products (dA = G B^T, dB = A^T G)
    into preallocated outputs (so allocation and page faults are not counted)."""
    ops = []
    for a_shape, b_shape in shapes:
        A = rng.standard_normal(a_shape).astype(np.float32)
        B = rng.standard_normal(b_shape).astype(np.float32)
        G = A @ B
        At, Bt = np.swapaxes(A, -1, -2).copy(), np.swapaxes(B, -1, -2).copy()
        ops += [(A, B, np.empty_like(G)), (G, Bt, np.empty_like(A)), (At, G, np.empty_like(B))]

    def run():
        for x, y, out in ops:
            np.matmul(x, y, out=out)
    return run


def best_of(fn, reps: int) -> float:
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def worker(which: str, threads: int, reps: int) -> float:
    """One fresh process: the fastest of ``reps`` repeats (after two warm-ups) of one row, in seconds."""
    from threadpoolctl import threadpool_limits
    threadpool_limits(threads)
    model, features, captions = make_problem()
    if which == "ours":
        step = lambda: model.loss(features, captions)  # noqa: E731
    elif which == "floor":
        step = gemm_floor(gemm_shapes(int((captions[:, 1:] != model.null_id).sum())), np.random.default_rng(1))
    else:
        import torch
        torch.set_num_threads(threads)
        theirs = torch_model(torch, model)
        tf, tc = torch.tensor(features), torch.tensor(captions)

        def step():
            theirs.zero_grad(set_to_none=False)
            scores = theirs(tf, tc[:, :-1])
            out = tc[:, 1:].reshape(-1)
            loss = torch.nn.functional.cross_entropy(scores.reshape(N * T, V), out, reduction="none")
            torch.mean(loss * (out != model.null_id)).backward()
    for _ in range(2):
        step()
    return best_of(step, reps)


ROWS = {"ours": "minitorch_cap step", "torch": "PyTorch step", "floor": "GEMM floor"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--images", type=int, default=None, help="images decoded (default 200, --quick 50)")
    parser.add_argument("--worker", choices=sorted(ROWS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(worker(args.worker, args.threads, args.reps))
        return 0
    rounds = 3 if args.quick else 5
    images = args.images or (50 if args.quick else 200)

    # Each row in its own fresh process, rows interleaved round by round: PyTorch's OpenMP
    # threads and numpy's OpenBLAS threads spin-wait, and in one process they slow each other.
    import subprocess
    rows = {name: [] for name in ROWS}
    for _ in range(rounds):
        for name in ROWS:
            out = subprocess.run([sys.executable, __file__, "--worker", name, "--threads", str(args.threads),
                                  "--reps", str(args.reps)], capture_output=True, text=True, check=True).stdout
            rows[name].append(float(out.strip().splitlines()[-1]))
    med = {k: statistics.median(v) for k, v in rows.items()}
    model, features, captions = make_problem()
    M = int((captions[:, 1:] != model.null_id).sum())
    print(f"Transformer captioning step, N={N}, T={T}, D={D}, W={W}, {HEADS} heads, {LAYERS} layers, "
          f"feed-forward {FF}, V={V}, float32, dropout 0.1, {args.threads} threads, {M} of {N * T} targets unmasked; "
          f"{rounds} fresh processes per row, each the best of {args.reps} steps")
    print(f"{'':22s}{'median ms':>11s}{'min-max ms':>17s}{'vs PyTorch':>12s}")
    for key, values in rows.items():
        print(f"{ROWS[key]:22s}{1e3 * med[key]:11.1f}{f'{1e3 * min(values):.1f}-{1e3 * max(values):.1f}':>17s}"
              f"{med[key] / med['torch']:12.2f}")
    print(f"floor/step (share of our step in matrix products): {med['floor'] / med['ours']:.2f}")

    from threadpoolctl import threadpool_limits
    threadpool_limits(args.threads)
    from tests.captioners.test_transformer import Uncached
    model.eval()
    feats = np.random.default_rng(2).standard_normal((images, D)).astype(np.float32)
    plain = Uncached(model)
    cached = best_of(lambda: model.sample(feats, 30), 1)
    uncached = best_of(lambda: plain.sample(feats, 30), 1)
    same = np.array_equal(model.sample(feats[:20], 30), plain.sample(feats[:20], 30))
    print(f"greedy decoding of {images} images, max_length=30: with K/V cache {cached:.2f} s, "
          f"without {uncached:.2f} s ({uncached / cached:.1f}x); same captions: {same}")
    print(f"load averages: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
