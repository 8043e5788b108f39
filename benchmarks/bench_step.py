"""COCO-scale training-step benchmark: minitorch_cap vs a per-time-step reference vs PyTorch.

    python benchmarks/bench_step.py            # full run (a few minutes)
    python benchmarks/bench_step.py --quick    # fewer processes and repeats

Every measurement runs in a FRESH process (``--worker``), and the processes of all
configurations are interleaved round by round, so slow drift of a shared machine hits
every column alike. Each process times ``--reps`` steps after two warm-up steps and reports
the fastest (timeit's advice: slower repeats measure the other tenants of the machine); the
table gives the median over processes and their min-max.

Problem (CS231n COCO scale): D=512 features, W=256 word vectors, H=512 hidden, V=1004
words, captions of 17 tokens (T=16 steps), float32; caption lengths drawn like COCO's
(8 to 14 words, then ``<END>``, then padding), so about 3/4 of the targets are unmasked.

Columns:
* ``step ms``: ``model.loss(features, captions)`` (forward + backward, all gradients).
* ``floor ms``: the matrix products this step performs, timed alone in the same run
  (``step_products`` lists them); ``floor/step`` is the fraction of the step they take.
* ``ref ms``: ``benchmarks/reference_step.py``, the usual per-time-step student code.
* ``torch ms``: PyTorch (when importable) with the same weights, threads and loss:
  ``nn.Embedding``, ``nn.Linear``, ``nn.RNN/LSTM/GRU(batch_first=True)``, masked
  cross-entropy summed over time divided by N, ``backward()``.
Decoding: greedy (``model.sample``) and beam-3 (``minitorch_cap.captioners.decoding.beam_search``)
time per 1,000 images, max_length=30. Memory: peak traced allocation of one training step
(tracemalloc, fresh process) against the bytes the forward pass caches for backward.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
D, W, H, V, T = 512, 256, 512, 1004, 16
THREADS = int(os.environ.get("BENCH_THREADS", "2"))  # set by --threads for the workers


# ---------------------------------------------------------------------- the problem
def make_problem(cell_type: str, N: int, seed: int = 0):
    """(model, features (N, D) float32, captions (N, T+1) int64), COCO-like caption lengths."""
    from minitorch_cap.captioners.recurrent import CaptioningModel

    rng = np.random.default_rng(seed)
    model = CaptioningModel(coco_vocabulary(), D, W, H, cell_type, np.float32, rng=rng)
    features = rng.standard_normal((N, D)).astype(np.float32)
    return model, features, coco_like_captions(rng, N, model, first_word=3)


def coco_vocabulary() -> dict[str, int]:
    """V words: the special tokens, then ``w4`` ... (ids as CS231n's)."""
    words = ["<NULL>", "<START>", "<END>", "<UNK>"] + [f"w{i}" for i in range(4, V)]
    return {w: i for i, w in enumerate(words)}


def coco_like_captions(rng, N: int, model, first_word: int) -> np.ndarray:
    """(N, T+1) int64: ``<START>``, 8 to 14 words of ids >= ``first_word``, ``<END>``, padding (COCO-like)."""
    captions = np.zeros((N, T + 1), dtype=np.int64)
    captions[:, 0] = model.start_id
    for n, length in enumerate(rng.integers(8, 15, size=N)):
        captions[n, 1:length + 1] = rng.integers(first_word, V, size=length)
        captions[n, length + 1] = model.end_id
    return captions


def step_products(cell_type: str, N: int, M: int) -> list[tuple[int, int, int, bool, bool, int]]:
    """The matrix products of one ``model.loss`` step: (m, k, n, transpose_a, transpose_b, count).

    ``(m, k) @ (k, n)``; a transposed operand is stored the other way round, as in the code.
    M is the number of unmasked targets (the vocabulary projection only sees those rows).
    Keep this list in step with model.py and nn/*.py.
    """
    G = {"rnn": 1, "lstm": 4, "gru": 3}[cell_type]
    TN = T * N
    return [
        (N, D, H, False, False, 1),          # proj forward: h0 = features @ W
        (TN, W, G * H, False, False, 1),     # rnn forward: all input projections at once
        (N, H, G * H, False, False, T),      # rnn forward: h_{t-1} @ Wh per step
        (M, H, V, False, False, 1),          # vocab forward on the unmasked rows
        (H, M, V, True, False, 1),           # vocab backward: dW = h^T dscores
        (M, V, H, False, True, 1),           # vocab backward: dh = dscores W^T
        (N, G * H, H, False, True, T),       # rnn backward: dA_t @ Wh^T per step
        (W, TN, G * H, True, False, 1),      # rnn backward: dWx = X^T dA
        (H, TN, G * H, True, False, 1),      # rnn backward: dWh = Hprev^T dA
        (TN, G * H, W, False, True, 1),      # rnn backward: dx = dA Wx^T
        (D, N, H, True, False, 1),           # proj backward: dW = features^T dh0
        (N, H, D, False, True, 1),           # proj backward: dfeatures = dh0 W^T
    ]


def _timed(fn, reps: int) -> list[float]:
    fn()
    fn()
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    return times


# ---------------------------------------------------------------------- workers (fresh processes)
def worker_step(impl: str, cell_type: str, N: int, reps: int) -> dict:
    model, features, captions = make_problem(cell_type, N)
    loss = model.loss(features, captions)[0]
    if impl == "lib":
        fn = lambda: model.loss(features, captions)  # noqa: E731
    elif impl == "ref":
        sys.path.insert(0, HERE)
        from reference_step import reference_loss

        params = {k: v.copy() for k, v in model.state_dict().items()}
        fn = lambda: reference_loss(params, features, captions, cell_type, model.null_id)  # noqa: E731
        _check_same_loss("reference", fn()[0], loss)
    elif impl == "torch":
        fn = _torch_step(model, features, captions, loss)
    elif impl == "floor":
        M = int((captions[:, 1:] != model.null_id).sum())
        rng = np.random.default_rng(1)
        ops = []
        for m, k, n, ta, tb, count in step_products(cell_type, N, M):
            a = rng.standard_normal((k, m) if ta else (m, k)).astype(np.float32)
            b = rng.standard_normal((n, k) if tb else (k, n)).astype(np.float32)
            ops.append((a.T if ta else a, b.T if tb else b, count))

        def fn():
            for a, b, count in ops:
                for _ in range(count):
                    a @ b
    else:
        raise ValueError(impl)
    return {"times": _timed(fn, reps)}


def _check_same_loss(what: str, got: float, expected: float) -> None:
    if abs(got - expected) > 1e-4 * abs(expected):
        raise RuntimeError(f"{what} loss {got} differs from minitorch_cap's {expected}: not the same step")


def _torch_step(model, features, captions, expected_loss: float):
    """The same step in PyTorch, with the model's weights (gate blocks reordered)."""
    import torch

    torch.set_num_threads(THREADS)
    p = {k: torch.from_numpy(v.copy()) for k, v in model.state_dict().items()}
    cell = model.cell_type
    proj, embed, vocab = torch.nn.Linear(D, H), torch.nn.Embedding(V, W), torch.nn.Linear(H, V)
    rnn = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell](W, H, batch_first=True)
    # ours: blocks i, f, o, g (LSTM) / r, z, n (GRU, like torch); torch's LSTM: i, f, g, o
    order = [0, 1, 3, 2] if cell == "lstm" else list(range(rnn.weight_ih_l0.shape[0] // H))
    block = lambda a: torch.cat([a[..., k * H:(k + 1) * H] for k in order], dim=-1)  # noqa: E731
    with torch.no_grad():
        proj.weight.copy_(p["proj.W"].T), proj.bias.copy_(p["proj.b"])
        embed.weight.copy_(p["embed.W"])
        rnn.weight_ih_l0.copy_(block(p["rnn.Wx"]).T), rnn.weight_hh_l0.copy_(block(p["rnn.Wh"]).T)
        rnn.bias_ih_l0.copy_(block(p["rnn.b"])), rnn.bias_hh_l0.zero_()
        vocab.weight.copy_(p["vocab.W"].T), vocab.bias.copy_(p["vocab.b"])
    params = [*proj.parameters(), *embed.parameters(), *rnn.parameters(), *vocab.parameters()]
    feats, caps = torch.from_numpy(features), torch.from_numpy(captions)
    words_in, targets = caps[:, :-1], caps[:, 1:]
    mask = (targets != model.null_id).reshape(-1).float()
    N = caps.shape[0]

    def step():
        for q in params:
            q.grad = None
        h0 = proj(feats)[None]
        state = (h0, torch.zeros_like(h0)) if cell == "lstm" else h0
        h, _ = rnn(embed(words_in), state)
        scores = vocab(h)
        nll = torch.nn.functional.cross_entropy(scores.reshape(-1, V), targets.reshape(-1), reduction="none")
        loss = (nll * mask).sum() / N
        loss.backward()
        return float(loss.detach())

    _check_same_loss("PyTorch", step(), expected_loss)
    return step


def worker_decode(cell_type: str, reps: int) -> dict:
    model, _, _ = make_problem(cell_type, 1)
    features = np.random.default_rng(2).standard_normal((1000, D)).astype(np.float32)
    out = {}
    greedy = []
    for _ in range(reps):
        start = time.perf_counter()
        captions = model.sample(features, max_length=30)
        greedy.append(time.perf_counter() - start)
    out["greedy_s"] = min(greedy)
    out["greedy_len"] = float((captions != model.null_id).sum(axis=1).mean())
    try:
        from minitorch_cap.captioners.decoding import beam_search
    except ImportError:
        return out
    beam = []
    for _ in range(reps):
        start = time.perf_counter()
        beam_search(model, features, beam_size=3, max_length=30)
        beam.append(time.perf_counter() - start)
    out["beam3_s"] = min(beam)
    return out


def worker_memory(impl: str, cell_type: str, N: int) -> dict:
    """Peak memory allocated during one training step vs what forward caches for backward."""
    import tracemalloc

    model, features, captions = make_problem(cell_type, N)
    if impl == "ref":
        sys.path.insert(0, HERE)
        from reference_step import reference_loss

        params = {k: v.copy() for k, v in model.state_dict().items()}
        run = lambda: reference_loss(params, features, captions, cell_type, model.null_id)  # noqa: E731
    else:
        run = lambda: model.loss(features, captions)  # noqa: E731
    run()  # gradient buffers and one-time allocations exist before measuring
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    run()
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    out = {"peak": peak}
    if impl == "lib":
        model.forward(features, captions)
        seen, cache = set(), 0
        for module in model.modules():
            for value in (module._cache or {}).values():
                if isinstance(value, np.ndarray):
                    root = value if value.base is None else value.base
                    if id(root) not in seen:
                        seen.add(id(root))
                        cache += root.nbytes
        out["cache"] = cache
        out["params"] = sum(p.data.nbytes for p in model.parameters())
    return out


# ---------------------------------------------------------------------- driver
def _run_worker(*args: str) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS=str(THREADS), OPENBLAS_NUM_THREADS=str(THREADS),
               BENCH_THREADS=str(THREADS))
    proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--worker", *args],
                          capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"worker {args} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _torch_available() -> bool:
    try:
        import importlib.util

        return importlib.util.find_spec("torch") is not None
    except (ImportError, ValueError):
        return False


def _openblas_core() -> str:
    """The kernel family numpy's OpenBLAS picked (e.g. 'Haswell', 'SkylakeX'), best effort."""
    import ctypes
    import glob

    libs = glob.glob(os.path.join(os.path.dirname(np.__file__), "..", "numpy.libs", "*openblas*"))
    for lib in libs:
        for name in ("scipy_openblas_get_corename64_", "scipy_openblas_get_corename", "openblas_get_corename"):
            try:
                fn = getattr(ctypes.CDLL(lib), name)
            except (OSError, AttributeError):
                continue
            fn.restype = ctypes.c_char_p
            return fn().decode()
    return "unknown"


def _fmt(values: list[float]) -> str:
    return f"{statistics.median(values):.1f} ({min(values):.1f}-{max(values):.1f})"


def main(argv=None) -> int:
    global THREADS
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 processes x 5 steps instead of 4 x 8")
    parser.add_argument("--procs", type=int, help="fresh processes per configuration")
    parser.add_argument("--reps", type=int, help="timed steps per process (after 2 warm-up steps)")
    parser.add_argument("--cells", default="rnn,lstm,gru")
    parser.add_argument("--sizes", default="25,128", help="batch sizes N")
    parser.add_argument("--no-torch", action="store_true")
    parser.add_argument("--no-ref", action="store_true")
    parser.add_argument("--no-extras", action="store_true", help="skip decoding and memory")
    parser.add_argument("--threads", type=int, default=THREADS, help="BLAS and torch threads (default 2)")
    parser.add_argument("--json", help="also write the raw per-process times (ms) to this file")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        kind, *rest = args.worker
        if kind == "step":
            result = worker_step(rest[0], rest[1], int(rest[2]), int(rest[3]))
        elif kind == "decode":
            result = worker_decode(rest[0], int(rest[1]))
        else:
            result = worker_memory(rest[0], rest[1], int(rest[2]))
        print(json.dumps(result))
        return 0

    from tabulate import tabulate

    THREADS = args.threads

    procs = args.procs or (2 if args.quick else 4)
    reps = args.reps or (5 if args.quick else 8)
    cells = args.cells.split(",")
    sizes = [int(s) for s in args.sizes.split(",")]
    impls = ["lib", "floor"] + ([] if args.no_ref else ["ref"])
    if not args.no_torch and _torch_available():
        impls.append("torch")
    started = time.time()
    load_before = os.getloadavg()
    configs = [(impl, cell, N) for cell in cells for N in sizes for impl in impls]
    results = {c: [] for c in configs}
    for round_ in range(procs):
        for impl, cell, N in configs:
            times = _run_worker("step", impl, cell, str(N), str(reps))["times"]
            results[(impl, cell, N)].append(min(times))
        print(f"round {round_ + 1}/{procs} done ({time.time() - started:.0f} s)", file=sys.stderr)
        if args.json:
            with open(args.json, "w") as f:
                json.dump({" ".join(map(str, k)): v for k, v in results.items()}, f, indent=1)

    rows = []
    for cell in cells:
        for N in sizes:
            lib = results[("lib", cell, N)]
            med = statistics.median(lib)
            floor = statistics.median(results[("floor", cell, N)])
            row = [cell, N, _fmt(lib), f"{N / med * 1e3:.0f}", f"{floor:.1f}", f"{floor / med:.2f}"]
            for impl in ("ref", "torch"):
                if impl in impls:
                    other = results[(impl, cell, N)]
                    row += [_fmt(other), f"{med / statistics.median(other):.2f}"]
            rows.append(row)
    headers = ["cell", "N", "step ms", "captions/s", "floor ms", "floor/step"]
    for impl, name in (("ref", "ref"), ("torch", "torch")):
        if impl in impls:
            headers += [f"{name} ms", f"step/{name}"]
    load_after = os.getloadavg()
    print(f"minitorch_cap training step, T={T} W={W} H={H} V={V} D={D} float32, "
          f"{procs} processes x {reps} steps (median of the processes' fastest step, min-max)")
    print(f"numpy {np.__version__}, {platform.processor() or platform.machine()}, "
          f"{THREADS} threads, OpenBLAS kernels {_openblas_core()} "
          f"(OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', 'unset')})"
          + (f", torch {__import__('torch').__version__}" if "torch" in impls else ", torch not importable"))
    print(tabulate(rows, headers=headers, disable_numparse=True))

    if not args.no_extras:
        drows = []
        for cell in cells:
            d = _run_worker("decode", cell, "2")
            drows.append([cell, f"{d['greedy_s']:.2f}", f"{d['greedy_len']:.1f}",
                          f"{d['beam3_s']:.2f}" if "beam3_s" in d else "n/a (no minitorch_cap.captioners.decoding)"])
        print("\nDecoding 1,000 images, max_length=30, untrained weights (seconds, min of 2)")
        print(tabulate(drows, headers=["cell", "greedy s", "mean words", "beam-3 s"], disable_numparse=True))
        mrows = []
        for cell in cells:
            N = max(sizes)
            m = _run_worker("memory", "lib", cell, str(N))
            r = _run_worker("memory", "ref", cell, str(N)) if "ref" in impls else None
            mrows.append([cell, N, f"{m['cache'] / 2**20:.1f}", f"{m['peak'] / 2**20:.1f}",
                          f"{m['peak'] / m['cache']:.2f}", f"{r['peak'] / 2**20:.1f}" if r else "-",
                          f"{m['params'] / 2**20:.1f}"])
        print("\nMemory of one training step (MiB; tracemalloc, fresh process; parameters and grads excluded)")
        print(tabulate(mrows, headers=["cell", "N", "forward cache", "peak during step", "peak/cache",
                                       "ref peak", "parameters"], disable_numparse=True))
    load_end = os.getloadavg()
    print(f"\nload average (1/5/15 min): before {load_before[0]:.2f}/{load_before[1]:.2f}/{load_before[2]:.2f}, "
          f"after steps {load_after[0]:.2f}/{load_after[1]:.2f}/{load_after[2]:.2f}, "
          f"end {load_end[0]:.2f}/{load_end[1]:.2f}/{load_end[2]:.2f}; wall {time.time() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
