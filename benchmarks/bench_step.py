"""COCO-scale training step: minitorch_cap against PyTorch's two ways of writing it, at 1 and 2 threads.

    python benchmarks/bench_step.py                  # 1 and 2 threads, 4 rounds (about 25 minutes)
    python benchmarks/bench_step.py --quick          # 2 rounds, fewer steps per process
    python benchmarks/bench_step.py --threads 2 --cells lstm --sizes 25 --parts steps
    python benchmarks/bench_step.py --threads 1 --clock cpu   # steadier on a loaded shared machine

Every measurement runs in a FRESH process (``--worker``), and the processes of all
configurations (threads x model x implementation) are interleaved round by round, so the
slow drift of a shared machine hits every column alike. Each process times ``--reps`` steps
after two warm-up steps and reports the fastest (timeit's advice: slower repeats measure the
other tenants of the machine); the table gives the median over the rounds, and the min-max.
``--clock cpu`` times the process's CPU time instead of the wall clock: with one thread it
leaves out the time the process waits for a core on a loaded machine (with two it would
count OpenBLAS's spinning threads, so keep the wall clock there).

Problem (CS231n COCO scale): D=512 features, W=256 word vectors, H=512 hidden, V=1004
words, captions of 17 tokens (T=16 steps), float32; caption lengths drawn like COCO's (8 to
14 words, then ``<END>``, then padding), so about 3/4 of the (row, step) pairs hold a target.
The Transformer row is ``bench_transformer.py``'s problem (N=128, 2 layers, 4 heads,
feed-forward 2048, dropout 0.1) and its PyTorch twin, the course's model.

Columns:
* ``ours ms``: ``model.loss(features, captions)`` (forward + backward, every gradient).
* ``torch padded ms``: PyTorch with the same weights, threads and loss, written as usual:
  ``nn.Embedding``, ``nn.Linear``, ``nn.RNN/LSTM/GRU(batch_first=True)`` over all T steps,
  the vocabulary at every position, masked cross-entropy summed over time divided by N
  (the Transformer: the course's model and loss, averaged over N*T), ``backward()``.
* ``torch masked ms``: the same, scoring the vocabulary only at the unmasked positions
  (``vocab(out[mask])``), the better baseline a PyTorch user writes.
* ``ours/torch``: ours against the faster of the two PyTorch columns (medians).
* ``floor ms``: the matrix products our step performs (``step_products``; the Transformer's
  from ``bench_transformer.gemm_shapes``), timed alone into preallocated outputs: the step's
  cost with zero overhead. ``floor/ours`` is the share of our step spent in them.
Workers check that every loss equals ours before timing.

Then (``--parts decode``) greedy (``model.sample``) and beam-3 (``beam_search``) time per
1,000 images, max_length=30, untrained weights (captions run long: a worst case), and
(``--parts memory``) the peak memory allocated during one training step against the bytes
the forward caches for backward.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
D, W, H, V, T = 512, 256, 512, 1004, 16
GATES = {"rnn": 1, "lstm": 4, "gru": 3}
TRANSFORMER_N = 128
IMPLS = ("ours", "torch", "torch_masked", "floor")


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


def step_products(cell_type: str, lengths, M: int) -> list[tuple[int, int, int, bool, bool, int, str | None]]:
    """The matrix products of one ``model.loss`` step: (m, k, n, transpose_a, transpose_b, count, via).

    ``(m, k) @ (k, n)``; a transposed operand is stored the other way round, as in the code.
    ``via`` names the ``Recurrent`` method that runs a per-step product (it lays it out by
    blocks of ``Wh``: ``_hidden_product``, ``_hidden_grad``), None for a plain product.
    ``lengths (N,)``: the steps each caption runs (``last_target_lengths``), P = their sum pairs;
    M the unmasked targets (the vocabulary projection only sees those rows). Keep this list in
    step with captioners/recurrent.py and nn/recurrent.py, rnn.py, lstm.py, gru.py.
    """
    G = GATES[cell_type]
    lengths = np.asarray(lengths)
    N, P = lengths.size, int(lengths.sum())
    per_step = [int(k) for k in (lengths[None, :] > np.arange(T)[:, None]).sum(axis=1) if k]
    products = [
        (N, D, H, False, False, 1, None),          # proj forward: h0 = features @ W
        (P, W, G * H, False, False, 1, None),      # rnn forward: the input projections of all pairs at once
        (M, H, V, False, False, 1, None),          # vocab forward on the unmasked rows
        (H, M, V, True, False, 1, None),           # vocab backward: dW = h^T dscores
        (M, V, H, False, True, 1, None),           # vocab backward: dh = dscores W^T
        (W, P, G * H, True, False, 1, None),       # rnn backward: dWx = X^T dA
        (H, P, G * H, True, False, 1, None),       # rnn backward: dWh = Hprev^T dA
        (P, G * H, W, False, True, 1, None),       # rnn backward: dx = dA Wx^T
        (D, N, H, True, False, 1, None),           # proj backward: dW = features^T dh0
        (N, H, D, False, True, 1, None),           # proj backward: dfeatures = dh0 W^T
    ]
    for k in per_step:
        products.append((k, H, G * H, False, False, 1, "_hidden_product"))   # rnn forward, step t: h_{t-1} Wh
        products.append((k, G * H, H, False, True, 1, "_hidden_grad"))       # rnn backward, step t: da_t Wh^T
    return products


CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}


def _timed(fn, reps: int, clock: str = "wall") -> list[float]:
    """ms of each of ``reps`` calls after two warm-up calls; ``clock='cpu'``: the process's CPU time."""
    now = CLOCKS[clock]
    fn()
    fn()
    times = []
    for _ in range(reps):
        start = now()
        fn()
        times.append((now() - start) * 1e3)
    return times


def _check_same_loss(what: str, got: float, expected: float) -> None:
    if abs(got - expected) > 1e-4 * abs(expected):
        raise RuntimeError(f"{what} loss {got} differs from minitorch_cap's {expected}: not the same step")


# ---------------------------------------------------------------------- workers (fresh processes)
def worker_step(impl: str, cell_type: str, N: int, reps: int, threads: int, clock: str = "wall") -> dict:
    from threadpoolctl import threadpool_limits

    threadpool_limits(threads)
    if cell_type == "transformer":
        fn = _transformer_step(impl, threads, reps)
    else:
        fn = _recurrent_step(impl, cell_type, N, threads)
    return {"times": _timed(fn, reps, clock)}


def _recurrent_step(impl: str, cell_type: str, N: int, threads: int):
    from minitorch_cap.captioners.base import last_target_lengths

    model, features, captions = make_problem(cell_type, N)
    loss = model.loss(features, captions)[0]
    mask = captions[:, 1:] != model.null_id
    if impl == "ours":
        return lambda: model.loss(features, captions)
    if impl == "ref":
        sys.path.insert(0, HERE)
        from reference_step import reference_loss

        params = {k: v.copy() for k, v in model.state_dict().items()}
        fn = lambda: reference_loss(params, features, captions, cell_type, model.null_id)  # noqa: E731
        _check_same_loss("reference", fn()[0], loss)
        return fn
    if impl in ("torch", "torch_masked"):
        return _torch_recurrent_step(model, features, captions, loss, threads, masked=impl == "torch_masked")
    if impl == "floor":
        return _floor(step_products(cell_type, last_target_lengths(mask), int(mask.sum())), cell_type)
    raise ValueError(impl)


def _floor(products, cell_type: str | None = None):
    """A function running every product once per count, operands laid out as the code has them,
    into preallocated outputs (allocation and page faults are not counted). Operands of one
    shape are one array, as the weights are in the step (``Wh`` serves every step from cache);
    a per-step product runs through the ``cell_type`` cell's own method (``via``), which lays
    it out by blocks of ``Wh``."""
    from minitorch_cap.nn import GRU, LSTM, RNN

    rng = np.random.default_rng(1)
    arrays = {}
    cell = {"rnn": RNN, "lstm": LSTM, "gru": GRU}[cell_type](W, H, rng=rng) if cell_type else None

    def operand(shape):
        if shape not in arrays:
            arrays[shape] = rng.standard_normal(shape).astype(np.float32)
        return arrays[shape]

    ops = []
    for m, k, n, ta, tb, count, via in products:
        a = operand((k, m)).T if ta else operand((m, k))
        out = np.empty((m, n), dtype=np.float32)
        if via is not None:
            ops.append((functools.partial(getattr(cell, via), a, out), count))
        else:
            b = operand((n, k)).T if tb else operand((k, n))
            ops.append((functools.partial(np.matmul, a, b, out=out), count))

    def run():
        for product, count in ops:
            for _ in range(count):
                product()
    return run


def _torch_recurrent_step(model, features, captions, expected_loss: float, threads: int, masked: bool):
    """The same step in PyTorch, with the model's weights (gate blocks reordered)."""
    import torch

    torch.set_num_threads(threads)
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
    mask = targets != model.null_id
    weight = mask.reshape(-1).float()
    N = caps.shape[0]

    def step():
        for q in params:
            q.grad = None
        h0 = proj(feats)[None]
        state = (h0, torch.zeros_like(h0)) if cell == "lstm" else h0
        h, _ = rnn(embed(words_in), state)
        if masked:
            loss = torch.nn.functional.cross_entropy(vocab(h[mask]), targets[mask], reduction="sum") / N
        else:
            nll = torch.nn.functional.cross_entropy(vocab(h).reshape(-1, V), targets.reshape(-1), reduction="none")
            loss = (nll * weight).sum() / N
        loss.backward()
        return float(loss.detach())

    _check_same_loss("PyTorch", step(), expected_loss)
    return step


def _transformer_step(impl: str, threads: int, reps: int):
    sys.path.insert(0, HERE)
    sys.path.insert(0, os.path.dirname(HERE))
    import bench_transformer as bt

    model, features, captions = bt.make_problem()
    N = TRANSFORMER_N
    targets = captions[:, 1:]
    mask = targets != model.null_id
    if impl == "ours":
        return lambda: model.loss(features, captions)
    if impl == "floor":
        return bt.gemm_floor(bt.gemm_shapes(captions, model.null_id), np.random.default_rng(1))
    if impl not in ("torch", "torch_masked"):
        raise ValueError(impl)
    import torch

    torch.set_num_threads(threads)
    theirs = bt.torch_model(torch, model)
    out_layer = theirs.output
    if impl == "torch_masked":
        theirs.output = torch.nn.Identity()             # the decoder's features; scored below at the mask
    tf, tc = torch.tensor(features), torch.tensor(captions)
    tt, tmask = tc[:, 1:], torch.tensor(mask)

    def step():
        theirs.zero_grad(set_to_none=True)
        out = theirs(tf, tc[:, :-1])
        if impl == "torch_masked":
            loss = torch.nn.functional.cross_entropy(out_layer(out[tmask]), tt[tmask], reduction="sum") / (N * T)
        else:
            nll = torch.nn.functional.cross_entropy(out.reshape(N * T, V), tt.reshape(-1), reduction="none")
            loss = torch.mean(nll * (tt.reshape(-1) != model.null_id))
        loss.backward()

    return step


def worker_decode(cell_type: str, reps: int, threads: int) -> dict:
    from threadpoolctl import threadpool_limits

    from minitorch_cap.captioners.decoding import beam_search

    threadpool_limits(threads)
    model, _, _ = make_problem(cell_type, 1)
    model.eval()
    features = np.random.default_rng(2).standard_normal((1000, D)).astype(np.float32)
    greedy, beam = [], []
    for _ in range(reps):                # interleaved, so drift hits both alike
        start = time.perf_counter()
        captions = model.sample(features, max_length=30)
        greedy.append(time.perf_counter() - start)
        start = time.perf_counter()
        beam_search(model, features, beam_size=3, max_length=30)
        beam.append(time.perf_counter() - start)
    return {"greedy_s": min(greedy), "beam3_s": min(beam),
            "greedy_len": float((captions != model.null_id).sum(axis=1).mean())}


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
    if impl == "ours":
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


def machine_line(info: dict) -> str:
    """The header line naming the machine, from :func:`worker_info`."""
    return (f"CPU: {info['cpu']} ({info['cores']} cores, {info['vector']}); numpy {info['numpy']}, "
            f"{info['blas']} (OPENBLAS_CORETYPE={info['coretype']}); {info['torch'] or 'torch not importable'}")


def worker_info() -> dict:
    """What the table header prints: CPU, vector extensions, BLAS kernels, versions."""
    from threadpoolctl import threadpool_info

    cpu, flags = "unknown", set()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.strip() == "model name" and cpu == "unknown":
                    cpu = value.strip()
                elif key.strip() == "flags" and not flags:
                    flags = set(value.split())
    except OSError:
        import platform

        cpu = platform.processor() or platform.machine()
    vector = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else "no AVX2" if flags else "unknown"
    blas = [f"{i.get('internal_api')} {i.get('version')} {i.get('architecture', '?')} kernels"
            for i in threadpool_info() if i.get("user_api") == "blas"]
    info = {"cpu": cpu, "cores": os.cpu_count(), "vector": vector, "numpy": np.__version__,
            "blas": ", ".join(blas) or "unknown", "coretype": os.environ.get("OPENBLAS_CORETYPE", "unset")}
    try:
        import torch

        info["torch"] = f"torch {torch.__version__} ({torch.backends.cpu.get_cpu_capability()})"
    except ImportError:
        info["torch"] = None
    return info


# ---------------------------------------------------------------------- driver
def _run_worker(threads: int, *args: str) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads),
               MKL_NUM_THREADS=str(threads))
    proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--worker", str(threads), *args],
                          capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"worker {args} failed:\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _fmt(values: list[float]) -> str:
    return f"{statistics.median(values):.1f} ({min(values):.1f}-{max(values):.1f})"


def _load() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 rounds x 5 steps instead of 4 x 8")
    parser.add_argument("--rounds", type=int, help="fresh processes per configuration")
    parser.add_argument("--reps", type=int, help="timed steps per process (after 2 warm-up steps)")
    parser.add_argument("--threads", default="1,2", help="BLAS and torch threads, e.g. 1,2 or 2")
    parser.add_argument("--cells", default="rnn,lstm,gru,transformer")
    parser.add_argument("--sizes", default="25,128", help="batch sizes N of the recurrent cells "
                        f"(the Transformer runs at N={TRANSFORMER_N})")
    parser.add_argument("--parts", default="steps,decode,memory", help="any of steps, decode, memory")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="wall",
                        help="wall time, or the process's CPU time (steadier on a shared machine with "
                             "--threads 1; with more threads it counts their spinning too)")
    parser.add_argument("--ref", action="store_true", help="also time benchmarks/reference_step.py")
    parser.add_argument("--no-torch", action="store_true")
    parser.add_argument("--json", help="also write the raw per-process times (ms) to this file")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        threads, kind, *rest = args.worker
        threads = int(threads)
        if kind == "step":
            result = worker_step(rest[0], rest[1], int(rest[2]), int(rest[3]), threads, rest[4])
        elif kind == "decode":
            result = worker_decode(rest[0], int(rest[1]), threads)
        elif kind == "memory":
            result = worker_memory(rest[0], rest[1], int(rest[2]))
        else:
            result = worker_info()
        print(json.dumps(result))
        return 0

    from tabulate import tabulate

    rounds = args.rounds or (2 if args.quick else 4)
    reps = args.reps or (5 if args.quick else 8)
    threads = [int(t) for t in args.threads.split(",")]
    cells = args.cells.split(",")
    sizes = [int(s) for s in args.sizes.split(",")]
    parts = args.parts.split(",")
    info = _run_worker(threads[0], "info")
    impls = ["ours", "floor"] + (["ref"] if args.ref else [])
    if not args.no_torch and info["torch"]:
        impls += ["torch", "torch_masked"]
    models = [(cell, N) for cell in cells if cell != "transformer" for N in sizes]
    models += [("transformer", TRANSFORMER_N)] if "transformer" in cells else []
    started, load_before = time.time(), _load()
    print(machine_line(info))

    if "steps" in parts:
        configs = [(th, cell, N, impl) for th in threads for cell, N in models for impl in impls
                   if not (impl == "ref" and cell == "transformer")]
        results = {c: [] for c in configs}
        for round_ in range(rounds):
            for th, cell, N, impl in configs:
                times = _run_worker(th, "step", impl, cell, str(N), str(reps), args.clock)["times"]
                results[(th, cell, N, impl)].append(min(times))
            print(f"round {round_ + 1}/{rounds} done ({time.time() - started:.0f} s, load {_load()})", file=sys.stderr)
            if args.json:
                with open(args.json, "w") as f:
                    json.dump({" ".join(map(str, k)): v for k, v in results.items()}, f, indent=1)
        load_after = _load()
        med = {k: statistics.median(v) for k, v in results.items()}
        for th in threads:
            rows = []
            for cell, N in models:
                ours = med[(th, cell, N, "ours")]
                row = [cell, N, _fmt(results[(th, cell, N, "ours")]), f"{N / ours * 1e3:.0f}"]
                if "torch" in impls:
                    best = min(med[(th, cell, N, "torch")], med[(th, cell, N, "torch_masked")])
                    row += [_fmt(results[(th, cell, N, "torch")]), _fmt(results[(th, cell, N, "torch_masked")]),
                            f"{ours / best:.2f}"]
                floor = med[(th, cell, N, "floor")]
                row += [f"{floor:.1f}", f"{floor / ours:.2f}"]
                if "ref" in impls and cell != "transformer":
                    row += [_fmt(results[(th, cell, N, "ref")])]
                rows.append(row)
            headers = ["model", "N", "ours ms", "captions/s"]
            headers += ["torch padded ms", "torch masked ms", "ours/torch"] if "torch" in impls else []
            headers += ["floor ms", "floor/ours"] + (["ref ms"] if "ref" in impls else [])
            print(f"\nTraining step, {th} thread{'s' if th > 1 else ''}: T={T} W={W} H={H} V={V} D={D} float32; "
                  f"median of {rounds} fresh processes (each the fastest of {reps} steps, {args.clock} clock), "
                  f"min-max in brackets")
            print(tabulate(rows, headers=headers, disable_numparse=True))
        print(f"\nload average (1/5/15 min): before {load_before}, after the steps {load_after}; "
              f"wall {time.time() - started:.0f} s")

    recurrent = [c for c in cells if c != "transformer"]
    if "decode" in parts:
        drows = []
        for th in threads:
            for cell in recurrent:
                d = _run_worker(th, "decode", cell, "2")
                drows.append([th, cell, f"{d['greedy_s']:.2f}", f"{d['greedy_len']:.1f}", f"{d['beam3_s']:.2f}"])
        print("\nDecoding 1,000 images, max_length=30, untrained weights (seconds, fastest of 2)")
        print(tabulate(drows, headers=["threads", "cell", "greedy s", "mean words", "beam-3 s"],
                       disable_numparse=True))
    if "memory" in parts:
        mrows = []
        for cell in recurrent:
            N = max(sizes)
            m = _run_worker(1, "memory", "ours", cell, str(N))
            r = _run_worker(1, "memory", "ref", cell, str(N)) if args.ref else None
            mrows.append([cell, N, f"{m['cache'] / 2**20:.1f}", f"{m['peak'] / 2**20:.1f}",
                          f"{m['peak'] / m['cache']:.2f}", f"{r['peak'] / 2**20:.1f}" if r else "-",
                          f"{m['params'] / 2**20:.1f}"])
        print("\nMemory of one training step (MiB; tracemalloc, fresh process; parameters and grads excluded)")
        print(tabulate(mrows, headers=["cell", "N", "forward cache", "peak during step", "peak/cache",
                                       "ref peak", "parameters"], disable_numparse=True))
    print(f"\nload average at the end: {_load()}; wall {time.time() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
