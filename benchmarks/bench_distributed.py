"""Data-parallel training step on MPI: time per step and scaling, 1 and 2 ranks vs 2 threads.

    python benchmarks/bench_distributed.py            # 3 rounds x 8 steps per configuration
    python benchmarks/bench_distributed.py --quick    # 2 rounds x 5 steps

Problem: ``bench_step.py``'s COCO scale (T=16, W=256, H=512, V=1004, D=512, float32, COCO-like
caption lengths), global batch N=128, the LSTM by default (``--cells``). A step is what the
Trainer does per iteration: ``model.loss`` on this rank's part of the batch, the gradient
all-reduce (``DataParallel.reduce_gradients``: one flat buffer, one ``Iallreduce``), and the
Adam update.

Configurations, each in fresh processes, interleaved round by round (a shared machine's drift
hits all alike); each process reports its fastest step after two warm-up steps:

* ``1 rank, 1 thread``: the one-process step, OPENBLAS_NUM_THREADS=1;
* ``1 rank, 2 threads``: the same with 2 BLAS threads (the alternative use of 2 cores);
* ``2 ranks, 1 thread each``: ``mpiexec -n 2``, N/2 captions per rank; also reported: the
  compute part (loss + update) and the all-reduce part (which includes waiting for the
  slower rank) as seen by rank 0.

Scaling efficiency = t(1 rank) / (K * t(K ranks)); ``all-reduce alone`` times the all-reduce
with every rank ready (the transfer itself), ``rank-0 all-reduce`` in a step also includes
waiting for the slower rank. Then the bytes all-reduced per step for each model (every
gradient plus the loss, in the model's dtype) and the cost model of ``benchmarks/README.md``
for 8-64 machines, fed with the measured one-rank step at N and at 16 captions.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from bench_step import D, H, T, V, W, make_problem  # noqa: E402


def _step_fn(model, features, captions, parallel):
    """One training step (loss on this rank's part, all-reduce, Adam); returns fn() -> (compute s, reduce s)."""
    from minitorch_cap.optim import Adam

    optimizer = Adam(model.named_parameters(), lr=1e-3)
    idx, share = parallel.split(np.arange(len(captions)))

    def step():
        start = time.perf_counter()
        loss, _ = model.loss(features[idx], captions[idx])
        mid = time.perf_counter()
        parallel.reduce_gradients(model, loss, share)
        end = time.perf_counter()
        optimizer.step()
        return (mid - start) + (time.perf_counter() - end), end - mid
    return step


def worker(cell: str, N: int, reps: int) -> dict | None:
    from minitorch_cap.distributed import data_parallel, world

    comm = world()
    parallel = data_parallel(comm)
    model, features, captions = make_problem(cell, N)
    step = _step_fn(model, features, captions, parallel)
    step()
    step()
    best = None
    for _ in range(reps):
        if comm is not None:
            comm.Barrier()
        start = time.perf_counter()
        compute, reduce = step()
        total = time.perf_counter() - start
        if best is None or total < best[0]:
            best = (total, compute, reduce)
    out = {"step_ms": best[0] * 1e3, "compute_ms": best[1] * 1e3, "reduce_ms": best[2] * 1e3}
    if comm is not None:     # the all-reduce alone, every rank ready (no waiting for a slower one)
        buffer = np.ones(sum(p.data.size for p in model.parameters()) + 1, dtype=np.float32)
        times = []
        for _ in range(reps):
            comm.Barrier()
            start = time.perf_counter()
            parallel.comm.allreduce_(buffer)
            times.append(time.perf_counter() - start)
        out["allreduce_only_ms"] = min(times) * 1e3
    return out if parallel.rank == 0 else None


def _run(ranks: int, threads: int, cell: str, N: int, reps: int, mpiexec: str | None) -> dict:
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads),
               PYTHONPATH=os.pathsep.join([os.path.dirname(HERE), os.environ.get("PYTHONPATH", "")]))
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", cell, str(N), str(reps)]
    if ranks > 1:
        cmd = [mpiexec, "-n", str(ranks), *cmd]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(f"worker {cmd} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def models() -> list[tuple[str, object]]:
    """(name, model) at COCO scale for the bytes table: the three recurrent cells, and the Transformer if present."""
    import minitorch_cap

    out = [(f"{cell} (H={H}, W={W})", make_problem(cell, 2)[0]) for cell in ("rnn", "lstm", "gru")]
    transformer = getattr(minitorch_cap, "CaptioningTransformer", None)
    if transformer is not None:
        word_to_idx = out[0][1].word_to_idx
        out.append(("transformer (course: W=256, 4 heads, 2 layers)",
                    transformer(word_to_idx, input_dim=D, wordvec_dim=256, num_heads=4, num_layers=2,
                                max_length=T + 1, dtype=np.float32)))
    return out


SMALL_N = 16
#: (name, bandwidth in bytes/s, latency per message in s) of the networks in the cost model.
NETWORKS = (("10 Gb/s Ethernet", 10e9 / 8, 50e-6), ("100 Gb/s InfiniBand", 100e9 / 8, 2e-6))
MACHINES = (1, 8, 16, 32, 64)
BATCHES = (128, 512, 2048)


def ring_allreduce_seconds(nbytes: int, K: int, bandwidth: float, latency: float) -> float:
    """Ring all-reduce (reduce-scatter + all-gather): ``2(K-1)/K * bytes / bandwidth + 2(K-1) * latency``."""
    return 0.0 if K == 1 else 2 * (K - 1) / K * nbytes / bandwidth + 2 * (K - 1) * latency


def cost_model(cell: str, N: int, t_big_ms: float, t_small_ms: float, nbytes: int) -> str:
    """Predicted step time and efficiency on K machines (one rank each, no overlap of compute and
    communication, as this implementation), with the one-rank compute fitted as ``a + b * n``
    from the measured steps at n = N and n = SMALL_N captions."""
    from tabulate import tabulate

    b = max((t_big_ms - t_small_ms) / (N - SMALL_N), 1e-9)
    a = max(t_small_ms - b * SMALL_N, 0.0)
    rows = []
    for B in BATCHES:
        t1 = a + b * B
        for K in MACHINES[1:]:
            row = [B, K, f"{a + b * B / K:.1f}"]
            for _, bandwidth, latency in NETWORKS:
                comm_ms = ring_allreduce_seconds(nbytes, K, bandwidth, latency) * 1e3
                step = a + b * B / K + comm_ms
                row += [f"{comm_ms:.1f}", f"{step:.1f}", f"{t1 / step:.1f}", f"{t1 / step / K:.2f}"]
            rows.append(row)
    headers = ["B", "K", "compute ms"]
    for name, _, _ in NETWORKS:
        short = name.split()[-1]
        headers += [f"{short} all-red. ms", f"{short} step ms", f"{short} speed-up", f"{short} eff."]
    return (f"Cost model, {cell}: one-rank step fitted as {a:.1f} ms + {b:.2f} ms per caption (measured "
            f"{t_small_ms:.0f} ms at N={SMALL_N}, {t_big_ms:.0f} ms at N={N}); {nbytes / 2**20:.2f} MiB all-reduced; "
            + "; ".join(f"{name}: {bw * 8 / 1e9:g} Gb/s, {lat * 1e6:g} us latency" for name, bw, lat in NETWORKS)
            + "\n" + tabulate(rows, headers=headers, disable_numparse=True))


def _fmt(values: list[float]) -> str:
    return f"{statistics.median(values):.1f} ({min(values):.1f}-{max(values):.1f})"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 rounds x 5 steps instead of 3 x 8")
    parser.add_argument("--cells", default="lstm")
    parser.add_argument("--batch", type=int, default=128, help="global batch size N (default 128)")
    parser.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        out = worker(args.worker[0], int(args.worker[1]), int(args.worker[2]))
        if out is not None:
            print(json.dumps(out))
        return 0

    from tabulate import tabulate

    from minitorch_cap.distributed import allreduce_bytes

    mpiexec = shutil.which("mpiexec") or os.path.join(os.path.dirname(sys.executable), "mpiexec")
    if not os.path.exists(mpiexec):
        print("mpiexec not found: pip install 'minitorch-cap[mpi]' (mpi4py and mpich)", file=sys.stderr)
        return 1
    rounds, reps = (2, 5) if args.quick else (3, 8)
    configs = [(1, 1), (1, 2), (2, 1)]                       # (ranks, BLAS threads per rank)
    cells, N = args.cells.split(","), args.batch
    results = {(cell, c): [] for cell in cells for c in configs + ["small"]}
    started, load_before = time.time(), os.getloadavg()
    for r in range(rounds):
        for cell in cells:
            for ranks, threads in configs:
                results[(cell, (ranks, threads))].append(_run(ranks, threads, cell, N, reps, mpiexec))
            results[(cell, "small")].append(_run(1, 1, cell, SMALL_N, reps, mpiexec))   # for the cost model
        print(f"round {r + 1}/{rounds} done ({time.time() - started:.0f} s)", file=sys.stderr)
    load_after = os.getloadavg()

    rows = []
    for cell in cells:
        base = statistics.median(x["step_ms"] for x in results[(cell, (1, 1))])
        for ranks, threads in configs:
            runs = results[(cell, (ranks, threads))]
            med = statistics.median(x["step_ms"] for x in runs)
            workers = ranks * threads
            rows.append([cell, N, f"{ranks} rank{'s' * (ranks > 1)} x {threads} thread{'s' * (threads > 1)}",
                         _fmt([x["step_ms"] for x in runs]), f"{N / med * 1e3:.0f}", f"{base / med:.2f}",
                         f"{base / med / workers:.2f}",
                         _fmt([x["compute_ms"] for x in runs]) if ranks > 1 else "-",
                         _fmt([x["reduce_ms"] for x in runs]) if ranks > 1 else "-",
                         _fmt([x["allreduce_only_ms"] for x in runs]) if ranks > 1 else "-"])
    print(f"Data-parallel training step (loss + all-reduce + Adam), T={T} W={W} H={H} V={V} D={D} float32, "
          f"global batch N={N}; {rounds} processes x {reps} steps, median of each process's fastest step (min-max)")
    print(f"numpy {np.__version__}, {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"{_mpi_version()}")
    print(tabulate(rows, headers=["cell", "N", "configuration", "step ms", "captions/s", "speed-up",
                                  "efficiency", "rank-0 compute ms", "rank-0 all-reduce ms", "all-reduce alone ms"],
                   disable_numparse=True))

    brows = []
    for name, model in models():
        P = sum(p.data.size for p in model.parameters())
        nbytes = allreduce_bytes(model)
        brows.append([name, f"{P:,}", f"{nbytes:,}", f"{nbytes / 2**20:.2f}"])
    print("\nBytes all-reduced per step (one flat buffer: every gradient and the loss, float32)")
    print(tabulate(brows, headers=["model", "parameters", "bytes", "MiB"], disable_numparse=True))
    sizes = {name.split()[0]: allreduce_bytes(model) for name, model in models()}
    for cell in cells:
        big = statistics.median(x["step_ms"] for x in results[(cell, (1, 1))])
        small = statistics.median(x["step_ms"] for x in results[(cell, "small")])
        print()
        print(cost_model(cell, N, big, small, sizes[cell]))
    print(f"\nload average (1 min): before {load_before[0]:.2f}, after {load_after[0]:.2f}; "
          f"wall {time.time() - started:.0f} s")
    return 0


def _mpi_version() -> str:
    try:
        from mpi4py import MPI

        return f"mpi4py {__import__('mpi4py').__version__}, {MPI.Get_library_version().splitlines()[0].strip()}"
    except ImportError:
        return "mpi4py not importable"


if __name__ == "__main__":
    sys.exit(main())
