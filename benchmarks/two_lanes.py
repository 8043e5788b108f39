"""Why an LSTM step of few rows does not get the second core (the 2-thread LSTM N=25 row of bench_step).

    python benchmarks/two_lanes.py                # a few seconds
    python benchmarks/two_lanes.py --rows 24 12

A recurrence step multiplies k <= N rows by ``Wh (H, 4H)``. ``Recurrent._hidden_product`` runs it
by blocks of ``Wh`` that OpenBLAS computes with its small-matrix kernels, and those run in one
thread whatever OpenBLAS's thread count. The idea measured here: split a step's blocks in two
halves, one in the caller and one in a helper Python thread (numpy releases the GIL during a
product), with OpenBLAS limited to one thread meanwhile. Each row of the table is a fresh process
with two BLAS threads; every timing starts right after a two-thread product, as in a training
step (the input projection precedes the forward loop, the vocabulary's backward the backward
loop). Columns, ms per product (median of 7 runs of 15 products):

* ``one lane``: the blocks in one numpy call (what the library does);
* ``two lanes``: the halves in two threads, OpenBLAS at one thread during the loop;
* ``OPENBLAS_THREAD_TIMEOUT``: how long OpenBLAS's worker thread spins after a two-thread product
  before it sleeps (2^n cycles; OpenBLAS's default n = 28, about 0.1 s). It is read when numpy
  loads, so only a variable set before ``import numpy`` changes it: a library cannot.

H=512, float32, LSTM (4H columns).
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import statistics
import subprocess
import sys
import threading
import time

H = 512


def worker(rows: list[int]) -> dict:
    import numpy as np
    from threadpoolctl import ThreadpoolController, threadpool_limits

    threadpool_limits(2)
    blas = [lib for lib in ThreadpoolController().lib_controllers if lib.user_api == "blas"]
    rng = np.random.default_rng(0)
    Wh = rng.standard_normal((H, 4 * H)).astype(np.float32)
    blocks = Wh.reshape(H, 4 * H // 64, 64).transpose(1, 0, 2)          # (32, H, 64) views, as _hidden_product
    before_a, before_b = np.ones((300, H), np.float32), np.ones((H, 1004), np.float32)   # a 2-thread product
    tasks, done = queue.SimpleQueue(), queue.SimpleQueue()

    def helper():
        while True:
            a, b, out = tasks.get()
            np.matmul(a, b, out=out)
            done.put(None)

    threading.Thread(target=helper, daemon=True).start()
    result = {}
    for k in rows:
        h = rng.standard_normal((k, H)).astype(np.float32)
        out = np.empty((k, 4 * H), np.float32)
        view = out.reshape(k, 4 * H // 64, 64).transpose(1, 0, 2)
        half = blocks.shape[0] // 2

        def one_lane():
            np.matmul(h, blocks, out=view)

        def two_lanes():
            tasks.put((h, blocks[:half], view[:half]))
            np.matmul(h, blocks[half:], out=view[half:])
            done.get()

        for name, product, single in (("one lane", one_lane, False), ("two lanes", two_lanes, True)):
            runs = []
            for _ in range(7):
                before_a @ before_b
                if single:
                    for lib in blas:
                        lib.set_num_threads(1)
                start = time.perf_counter()
                for _ in range(15):
                    product()
                runs.append((time.perf_counter() - start) / 15 * 1e3)
                for lib in blas:
                    lib.set_num_threads(2)
            result[f"{name} {k}"] = statistics.median(runs)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[24, 12], help="rows k of a step")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.rows)))
        return
    print("| OPENBLAS_THREAD_TIMEOUT | k | one lane ms | two lanes ms |\n|---|---|---|---|")
    for timeout in (None, "4"):
        env = dict(os.environ)
        env.pop("OPENBLAS_THREAD_TIMEOUT", None)
        if timeout:
            env["OPENBLAS_THREAD_TIMEOUT"] = timeout
        out = subprocess.run([sys.executable, __file__, "--worker", "--rows", *map(str, args.rows)], env=env,
                             check=True, capture_output=True, text=True).stdout
        times = json.loads(out)
        for k in args.rows:
            print(f"| {timeout or 'default (28)'} | {k} | {times[f'one lane {k}']:.3f} | {times[f'two lanes {k}']:.3f} |")


if __name__ == "__main__":
    main()
