"""COCO-scale Transformer captioning step: minitorch_cap's CaptioningTransformer vs the course's PyTorch model.

    python benchmarks/bench_transformer.py            # 5 rounds of fresh processes, 2 threads
    python benchmarks/bench_transformer.py --quick    # 3 rounds, fewer decoding images
    python benchmarks/bench_transformer.py --threads 1

Problem (CS231n COCO scale): N=128 captions, T=16 input words (17 tokens, COCO-like
lengths: 8 to 14 words, then <END>, then padding), D=512 features (one memory token),
W=256, 4 heads, 2 decoder layers, feed-forward 2048 (the course's ``dim_feedforward``
default), V=1004, float32, dropout 0.1 in training mode on both sides. ``make_problem``,
``torch_model`` and ``torch_step`` are the problem and its PyTorch twin (bench_step.py
imports them).

Rows (each measurement in a fresh process, rows interleaved round by round so a shared
machine's drift hits every row alike; a row reports the median over rounds of the fastest
of ``--reps`` steps):
* ``minitorch_cap step``: ``model.loss(features, captions)`` (forward + backward, every gradient).
* ``PyTorch padded``: the course's ``CaptioningTransformer`` (tests/captioners/test_transformer.py
  writes it from the course's published code) with the same weights, threads and loss
  (masked cross-entropy averaged over N*T positions), ``zero_grad`` + forward + ``backward()``.
* ``PyTorch unmasked vocab``: the same model scoring the vocabulary only at the unmasked
  positions (``output(h[mask])``), the better baseline a PyTorch user can write.
  The ratio column divides by the faster of the two PyTorch rows.
* ``GEMM floor``: the matrix products our step performs (forward, and the two products of
  each one's backward), timed alone: what a step would cost with zero overhead.
* ``greedy decoding`` / ``beam-3 decoding``: ``--images`` images, max_length=30 (untrained
  weights, so captions run to the full length), with the key/value cache.
Last, in this process: greedy decoding with and without the cache (each step re-running
the whole prefix: the course's ``sample``), and whether they give the same captions.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)
from bench_step import D, T, V, W, coco_like_captions, coco_vocabulary  # noqa: E402  (the COCO-scale problem)

N, HEADS, LAYERS, FF = 128, 4, 2, 2048


def make_problem(seed: int = 0):
    """(model, features (N, D) float32, captions (N, T+1) int64): the COCO-scale Transformer step."""
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

    theirs = course_classes(torch, "2021")(model.word_to_idx, model.input_dim, model.wordvec_dim,
                                           num_heads=model.num_heads, num_layers=model.num_layers,
                                           max_length=model.max_length,
                                           dim_feedforward=model.dim_feedforward).to(torch.float32)
    state = theirs.state_dict()
    params = dict(model.named_parameters())
    for name, (key, transposed) in course_state_dict_layout(model, "2021").items():
        value = params[name].data
        state[key] = torch.tensor(value.T if transposed else value).to(state[key].dtype).contiguous()
    theirs.load_state_dict(state)
    return theirs.train()


def torch_step(torch, theirs, features, captions, null: int, vocabulary: str = "padded"):
    """A function running one PyTorch step (``zero_grad``, forward, loss, ``backward()``) and
    returning the loss: the course's solver loss, masked cross-entropy summed over the unmasked
    positions and divided by N*T. ``vocabulary='padded'`` scores every position (the course's
    ``forward``); ``'unmasked'`` scores only the unmasked ones (``output(h[mask])``)."""
    tf, tc = torch.as_tensor(features), torch.as_tensor(captions)
    words, targets = tc[:, :-1], tc[:, 1:]
    mask = targets != null
    Nb, Tb = targets.shape
    causal = torch.tril(torch.ones(Tb, Tb))
    F = torch.nn.functional

    def step():
        theirs.zero_grad(set_to_none=False)
        if vocabulary == "padded":
            scores = theirs(tf, words)
            losses = F.cross_entropy(scores.reshape(Nb * Tb, -1), targets.reshape(-1), reduction="none")
            loss = torch.mean(losses * mask.reshape(-1))
        else:
            x = theirs.positional_encoding(theirs.embedding(words))
            memory = theirs.visual_projection(tf).unsqueeze(1)
            h = theirs.transformer(x, memory, tgt_mask=causal)
            loss = F.cross_entropy(theirs.output(h[mask]), targets[mask], reduction="sum") / (Nb * Tb)
        loss.backward()
        return loss.item()
    return step


def gemm_shapes(captions, null: int) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    """(A shape, B shape) of every forward product of our step; batched products as
    (batch, m, k) @ (batch, k, n). The position-wise products run on the Mp positions up to
    each caption's last target, the vocabulary on the M unmasked ones; the cross-attention over
    the one memory token projects only the values and the output (a single key's weight is 1)."""
    from minitorch_cap.captioners.base import last_target_lengths

    mask = captions[:, 1:] != null
    M, Mp = int(mask.sum()), int(last_target_lengths(mask).sum())
    Dh = W // HEADS
    shapes = [((N, D), (D, W))]                                              # visual projection
    for _ in range(LAYERS):
        shapes += [((Mp, W), (W, W))] * 4                                    # self q, k, v, proj
        shapes += [((N * HEADS, T, Dh), (N * HEADS, Dh, T)), ((N * HEADS, T, T), (N * HEADS, T, Dh))]
        shapes += [((Mp, W), (W, W)), ((N, W), (W, W))]                      # cross proj; v
        shapes += [((Mp, W), (W, FF)), ((Mp, FF), (FF, W))]                  # feed-forward
    shapes += [((M, W), (W, V))]                                             # output (unmasked rows)
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


def decoding_features(images: int) -> np.ndarray:
    return np.random.default_rng(2).standard_normal((images, D)).astype(np.float32)


def worker(which: str, threads: int, reps: int, images: int) -> float:
    """One fresh process: the fastest of ``reps`` repeats (after warm-up) of one row, in seconds."""
    from threadpoolctl import threadpool_limits
    threadpool_limits(threads)
    model, features, captions = make_problem()
    if which == "ours":
        step = lambda: model.loss(features, captions)  # noqa: E731
    elif which == "floor":
        step = gemm_floor(gemm_shapes(captions, model.null_id), np.random.default_rng(1))
    elif which in ("greedy", "beam"):
        model.eval()
        feats = decoding_features(images)
        step = (lambda: model.sample(feats, 30)) if which == "greedy" else \
            (lambda: model.beam_search(feats, 3, 30))
        step()
        return best_of(step, max(1, reps // 2))
    else:
        import torch
        torch.set_num_threads(threads)
        step = torch_step(torch, torch_model(torch, model), features, captions, model.null_id,
                          "padded" if which == "torch" else "unmasked")
    for _ in range(2):
        step()
    return best_of(step, reps)


ROWS = {"ours": "minitorch_cap step", "torch": "PyTorch padded", "torch_unmasked": "PyTorch unmasked vocab",
        "floor": "GEMM floor", "greedy": "greedy decoding", "beam": "beam-3 decoding"}
STEP_ROWS = ("ours", "torch", "torch_unmasked", "floor")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=None, help="fresh processes per row (default 5, --quick 3)")
    parser.add_argument("--images", type=int, default=None, help="images decoded (default 200, --quick 50)")
    parser.add_argument("--worker", choices=sorted(ROWS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    images = args.images or (50 if args.quick else 200)
    if args.worker:
        print(worker(args.worker, args.threads, args.reps, images))
        return 0
    rounds = args.rounds or (3 if args.quick else 5)

    # Each row in its own fresh process, rows interleaved round by round: PyTorch's OpenMP
    # threads and numpy's OpenBLAS threads spin-wait, and in one process they slow each other.
    rows = {name: [] for name in ROWS}
    for r in range(rounds):
        print(f"round {r + 1} of {rounds} ...", file=sys.stderr, flush=True)
        for name in ROWS:
            out = subprocess.run([sys.executable, __file__, "--worker", name, "--threads", str(args.threads),
                                  "--reps", str(args.reps), "--images", str(images)],
                                 capture_output=True, text=True, check=True).stdout
            rows[name].append(float(out.strip().splitlines()[-1]))
    med = {k: statistics.median(v) for k, v in rows.items()}
    best_torch = min(med["torch"], med["torch_unmasked"])
    model, features, captions = make_problem()
    M = int((captions[:, 1:] != model.null_id).sum())
    print(f"Transformer captioning step, N={N}, T={T}, D={D}, W={W}, {HEADS} heads, {LAYERS} layers, "
          f"feed-forward {FF}, V={V}, float32, dropout 0.1, {args.threads} threads, {M} of {N * T} targets unmasked; "
          f"{rounds} fresh processes per row, each the best of {args.reps} steps")
    print(f"{'':24s}{'median ms':>11s}{'min-max ms':>17s}{'vs PyTorch best':>17s}")
    for key in STEP_ROWS:
        values = rows[key]
        print(f"{ROWS[key]:24s}{1e3 * med[key]:11.1f}{f'{1e3 * min(values):.1f}-{1e3 * max(values):.1f}':>17s}"
              f"{med[key] / best_torch:17.2f}")
    print(f"floor/step (share of our step in matrix products): {med['floor'] / med['ours']:.2f}")
    for key in ("greedy", "beam"):
        values = rows[key]
        print(f"{ROWS[key]} of {images} images, max_length=30: median {med[key]:.3f} s "
              f"({min(values):.3f}-{max(values):.3f})")

    from threadpoolctl import threadpool_limits
    threadpool_limits(args.threads)
    from tests.captioners.test_transformer import Uncached
    model.eval()
    feats = decoding_features(images)
    plain = Uncached(model)
    cached = best_of(lambda: model.sample(feats, 30), 1)
    uncached = best_of(lambda: plain.sample(feats, 30), 1)
    same = np.array_equal(model.sample(feats[:20], 30), plain.sample(feats[:20], 30))
    print(f"greedy decoding in this process: with K/V cache {cached:.2f} s, without {uncached:.2f} s "
          f"({uncached / cached:.1f}x); same captions: {same}")
    print(f"load averages: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
