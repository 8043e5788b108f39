"""COCO-scale attention-LSTM captioning step: minitorch_cap vs the same model in PyTorch.

    python benchmarks/bench_attention.py                 # 5 rounds, 1 and 2 threads, dot and additive
    python benchmarks/bench_attention.py --quick         # 3 rounds
    python benchmarks/bench_attention.py --threads 1 --attention dot

Problem (COCO scale): N=128 captions, T=16 input words (17 tokens, COCO-like lengths: 8 to 14
words, then <END>, then padding: the problem of bench_step.py), P=16 regions of D=512 features
(a 4x4 grid, as EECS 498-007 A4), W=256, H=512, V=1004, float32. ``dot``: EECS 498's scaled
dot-product attention, no penalty; ``additive``: Show, Attend and Tell's (A = H = 512, gated
context) with its doubly stochastic penalty (lambda = 1).

Rows (each measurement in a fresh process, all rows of a thread count interleaved round by
round so a shared machine's drift hits every row alike; a row reports the median over rounds
of the fastest of ``--reps`` steps, and the min-max over rounds):
* ``minitorch_cap``: ``model.loss(features, captions)`` (forward + backward, every gradient).
* ``PyTorch padded``: the same model written in PyTorch as EECS 498 writes it (parameters in
  the same (in, out) layout, a Python loop over the T steps, ``x Wx + b`` of all steps in one
  product, the keys once), every position scored, masked cross-entropy summed over time / N,
  ``backward()``.
* ``PyTorch masked vocab``: the same, the vocabulary scored at the unmasked positions only.
* ``PyTorch packed``: rows sorted by caption length and step t run on the rows still going
  (the ``batch_size_t`` loop of the widely used PyTorch Show, Attend and Tell tutorial), the
  vocabulary scored at the unmasked positions only.
* ``GEMM floor``: the matrix products our step performs (forward; the products of each one's
  backward; the batched attention products), timed alone: the step at zero overhead.
The ratio compares ours with the fastest PyTorch row. Every PyTorch row first checks that
its loss equals ours (relative 1e-4): the same step.
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
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)
from bench_step import D, H, T, V, W, coco_like_captions, coco_vocabulary, machine_line, worker_info  # noqa: E402

N, P = 128, 16
PENALTY = {"dot": 0.0, "additive": 1.0}      # EECS 498 has none; Show, Attend and Tell uses 1
TORCH_ROWS = ("torch-padded", "torch-masked", "torch-packed")
ROW_NAMES = {"lib": "minitorch_cap", "torch-padded": "PyTorch padded", "torch-masked": "PyTorch masked vocab",
             "torch-packed": "PyTorch packed", "floor": "GEMM floor (ours)"}


def make_problem(attention: str, seed: int = 0):
    """(model, region features (N, P, D) float32, captions (N, T+1) int64)."""
    from minitorch_cap.captioners.recurrent import CaptioningModel

    rng = np.random.default_rng(seed)
    model = CaptioningModel(coco_vocabulary(), D, W, H, "attention", np.float32, rng=rng, attention=attention,
                            attention_reg=PENALTY[attention])
    features = rng.standard_normal((N, P, D)).astype(np.float32)
    return model, features, coco_like_captions(rng, N, model, first_word=4)


# ---------------------------------------------------------------------- the same model in PyTorch
def torch_step(torch, model, features, captions, variant: str):
    """A closure running one PyTorch training step of the model (its weights copied) -> loss."""
    p = {name: torch.tensor(param.data, requires_grad=True) for name, param in model.named_parameters()}
    additive, reg = model.rnn.attention == "additive", model.attention_reg
    feats, caps = torch.from_numpy(features), torch.from_numpy(captions)
    null = model.null_id

    def step() -> float:
        for q in p.values():
            q.grad = None
        regions = feats @ p["proj.W"] + p["proj.b"]                          # (N, P, H)
        words_in, targets = caps[:, :-1], caps[:, 1:]
        mask = targets != null
        if variant == "torch-packed":                                        # longest caption first
            lengths = torch.where(mask.any(1), T - mask.flip(1).to(torch.int64).argmax(1), 0)
            lengths, order = lengths.sort(descending=True)
            regions, words_in, targets, mask = regions[order], words_in[order], targets[order], mask[order]
            batch_sizes = [int((lengths > t).sum()) for t in range(T)]
        else:
            batch_sizes = [N] * T
        xa = p["embed.W"][words_in] @ p["rnn.Wx"] + p["rnn.b"]              # (N, T, 4H)
        keys = regions @ p["rnn.Wk"] + p["rnn.ba"] if additive else None
        h = regions.mean(dim=1)
        c = h
        coverage = torch.zeros(N, P)
        hs = []
        for t, k in enumerate(batch_sizes):
            if k == 0:
                break
            h, c, r = h[:k], c[:k], regions[:k]
            if additive:
                e = torch.tanh(keys[:k] + (h @ p["rnn.Wq"]).unsqueeze(1)) @ p["rnn.v"]
            else:
                e = torch.bmm(r, h.unsqueeze(2)).squeeze(2) / H ** 0.5
            alpha = torch.softmax(e, dim=1)
            context = torch.bmm(alpha.unsqueeze(1), r).squeeze(1)
            if additive:
                context = torch.sigmoid(h @ p["rnn.Wbeta"] + p["rnn.bbeta"]) * context
            a = xa[:k, t] + h @ p["rnn.Wh"] + context @ p["rnn.Wattn"]
            i, f, o = torch.sigmoid(a[:, :3 * H]).chunk(3, dim=1)
            c = f * c + i * torch.tanh(a[:, 3 * H:])
            h = o * torch.tanh(c)
            hs.append(h)
            if reg:
                coverage = coverage + torch.nn.functional.pad(alpha * mask[:k, t, None], (0, 0, 0, N - k))
        if variant == "torch-padded":
            scores = torch.stack(hs, dim=1) @ p["vocab.W"] + p["vocab.b"]  # (N, T, V)
            nll = torch.nn.functional.cross_entropy(scores.reshape(-1, V), targets.reshape(-1), reduction="none")
            data_loss = (nll * mask.reshape(-1)).sum() / N
        else:
            if variant == "torch-packed":                                   # packed rows (t, j), t-major
                h_all = torch.cat(hs)
                keep = torch.cat([mask[:k, t] for t, k in enumerate(batch_sizes) if k])
                target = torch.cat([targets[:k, t] for t, k in enumerate(batch_sizes) if k])[keep]
                h_all = h_all[keep]
            else:
                h_all, target = torch.stack(hs, dim=1)[mask], targets[mask]
            scores = h_all @ p["vocab.W"] + p["vocab.b"]
            data_loss = torch.nn.functional.cross_entropy(scores, target, reduction="sum") / N
        loss = data_loss + reg / N * ((1 - coverage) ** 2).sum() if reg else data_loss
        loss.backward()
        return float(loss.detach())

    return step


# ---------------------------------------------------------------------- the GEMM floor
def floor_ops(model, captions, rng) -> list:
    """Callables performing the matrix products of our step (same shapes, same operand layouts)."""
    from minitorch_cap.captioners.base import last_target_lengths

    mask = captions[:, 1:] != model.null_id
    lengths = np.sort(last_target_lengths(mask))[::-1]
    ks = [int((lengths > t).sum()) for t in range(int(lengths[0]))]
    M, Mv, NP = sum(ks), int(mask.sum()), N * P
    additive = model.rnn.attention == "additive"
    A = model.rnn.attention_dim or 0
    G = 4 * H + (A + 1 if additive else 0)                       # width of h W_h = [h Wh | h Wq | h Wbeta]
    f = lambda *shape: rng.standard_normal(shape).astype(np.float32)  # noqa: E731
    ops = []

    def gemm(m, k, n, ta=False, tb=False):
        a = f(k, m).T if ta else f(m, k)
        b = f(n, k).T if tb else f(k, n)
        ops.append(lambda: a @ b)

    def batched(a_shape, b_shape):
        a, b = f(*a_shape), f(*b_shape)
        ops.append(lambda: np.matmul(a, b))

    gemm(NP, D, H), gemm(D, NP, H, ta=True), gemm(NP, H, D, tb=True)         # proj
    if additive:
        gemm(NP, H, A), gemm(H, NP, A, ta=True), gemm(NP, A, H, tb=True)     # keys = r Wk + ba
    gemm(M, W, 4 * H), gemm(W, M, 4 * H, ta=True), gemm(M, 4 * H, W, tb=True)  # x Wx + b, dWx, dx
    for k in ks:
        gemm(k, H, G), gemm(k, H, 4 * H)                         # h W_h, context Wattn
        gemm(k, 4 * H, H), gemm(k, G, H)                         # backward: da Wattn^T, dZ W_h^T
        batched((k, 1, P), (k, P, H)), batched((k, P, H), (k, H, 1))   # context; dalpha
        if additive:
            batched((k, P, A), (A,))                             # e = u v
        else:
            batched((k, P, H), (k, H, 1)), batched((k, 1, P), (k, P, H))   # e; dh from de
    gemm(H, M, G, ta=True), gemm(H, M, 4 * H, ta=True)           # dW_h, dWattn
    S = 1 if additive else 2
    a, b = f(S * len(ks), N, P), f(S * len(ks), N, H)
    ops.append(lambda: np.matmul(a.transpose(1, 2, 0), b.transpose(1, 0, 2)))  # dregions
    gemm(Mv, H, V), gemm(H, Mv, V, ta=True), gemm(Mv, V, H, tb=True)       # vocabulary
    return ops


# ---------------------------------------------------------------------- workers (fresh processes)
def _timed(fn, reps: int) -> list[float]:
    fn()
    fn()
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return times


def worker(row: str, attention: str, threads: int, reps: int) -> dict:
    from threadpoolctl import threadpool_limits

    threadpool_limits(threads, user_api="blas")
    model, features, captions = make_problem(attention)
    if row == "lib":
        fn = lambda: model.loss(features, captions)  # noqa: E731
    elif row == "floor":
        ops = floor_ops(model, captions, np.random.default_rng(1))

        def fn():
            for op in ops:
                op()
    else:
        import torch

        torch.set_num_threads(threads)
        fn = torch_step(torch, model, features, captions, row)
        ours, theirs = model.forward(features, captions), fn()
        if abs(ours - theirs) > 1e-4 * abs(ours):
            raise RuntimeError(f"{row}: loss {theirs} differs from minitorch_cap's {ours}: not the same step")
    return {"times": _timed(fn, reps)}


def _run_worker(row: str, attention: str, threads: int, reps: int) -> float:
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads),
               MKL_NUM_THREADS=str(threads))
    proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--worker", row, attention, str(threads),
                           str(reps)], capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"worker {row} {attention} failed:\n{proc.stderr}")
    return min(json.loads(proc.stdout.strip().splitlines()[-1])["times"])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 rounds of 3 steps instead of 5 of 5")
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--reps", type=int, help="timed steps per process (after 2 warm-up steps)")
    parser.add_argument("--threads", default="1,2", help="thread counts, e.g. 1,2 (default) or 2")
    parser.add_argument("--attention", default="dot,additive")
    parser.add_argument("--json", help="also write every process's time (ms) to this file")
    parser.add_argument("--worker", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        row, attention, threads, reps = args.worker
        print(json.dumps(worker(row, attention, int(threads), int(reps))))
        return 0

    from tabulate import tabulate

    rounds = args.rounds or (3 if args.quick else 5)
    reps = args.reps or (3 if args.quick else 5)
    threads = [int(t) for t in args.threads.split(",")]
    kinds = args.attention.split(",")
    rows = ["lib", *TORCH_ROWS, "floor"]
    started, load_before = time.time(), os.getloadavg()
    results: dict = {}
    for n_threads in threads:
        for r in range(rounds):
            for attention in kinds:
                for row in rows:
                    results.setdefault((n_threads, attention, row), []).append(
                        _run_worker(row, attention, n_threads, reps))
            print(f"{n_threads} thread(s): round {r + 1}/{rounds} ({time.time() - started:.0f} s)", file=sys.stderr)
        if args.json:
            with open(args.json, "w") as f:
                json.dump({" ".join(map(str, k)): v for k, v in results.items()}, f, indent=1)

    print(f"Attention-LSTM captioning step, N={N} T={T} P={P} D={D} W={W} H={H} V={V} float32; {rounds} rounds "
          f"of fresh processes, each the fastest of {reps} steps; median over rounds (min-max)")
    print(machine_line(worker_info()))
    table = []
    for n_threads in threads:
        for attention in kinds:
            med = {row: statistics.median(results[(n_threads, attention, row)]) for row in rows}
            best = min(TORCH_ROWS, key=med.get)
            for row in rows:
                times = results[(n_threads, attention, row)]
                ratio = f"{med['lib'] / med[best]:.2f}" if row == "lib" else ""
                table.append([n_threads, attention, ROW_NAMES[row] + (" *" if row == best else ""),
                              f"{med[row]:.1f} ({min(times):.1f}-{max(times):.1f})", ratio,
                              f"{med['floor'] / med['lib']:.2f}" if row == "lib" else ""])
    print(tabulate(table, headers=["threads", "attention", "row", "ms", "ours / fastest PyTorch (*)",
                                   "floor / ours"], disable_numparse=True))
    load_after = os.getloadavg()
    print(f"load average (1/5/15 min): before {'/'.join(f'{x:.2f}' for x in load_before)}, "
          f"after {'/'.join(f'{x:.2f}' for x in load_after)}; wall {time.time() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
