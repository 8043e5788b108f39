"""Fault injection on checkpoints: flip one byte at a time, load, classify the outcome.

    python benchmarks/checkpoint_faults.py              # every 3rd byte + the first 2 KB, 3 kinds of file
    python benchmarks/checkpoint_faults.py --step 1     # every byte (slower)

The file: a resumable checkpoint of a tiny LSTM (model, Adam, schedule, trainer state)
after one epoch. Each offset gets ``byte ^ 0xFF``; ``load_checkpoint`` and rebuilding the
model then either raise ``CheckpointError`` naming the file (``error``), load exactly the
original content (``same``), load something else without error (``different``: silent
corruption), raise another exception (``raw``), or do not return within ``--timeout``
seconds (``hang``: the worker process is killed by a watchdog and restarted after that offset).

Kinds of file:
* ``sealed``: the current format (SHA-256 of the whole file in its seal, checked before
  HDF5 parses a byte).
* ``0.1.0``: the same content in the 0.1.0 layout (no seal; Fletcher-32 on chunks only),
  read as ``load_checkpoint`` reads such files: HDF5 copies it in a child process first,
  bounded by ``UNSEALED_READ_TIMEOUT`` (slow: one process per load; use a larger --step).
* ``0.1.0-in-process``: the same files parsed in the loading process (what HDF5 alone does).
* ``forged``: a sealed file whose seal is recomputed after the flip -- what a deliberately
  crafted file (or the 0.1.0 path) leaves to HDF5 and to the structure checks alone.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

WORKER = r"""
import faulthandler, json, os, sys
import h5py
import numpy as np
from minitorch_cap import CaptioningModel
from minitorch_cap.optim import Adam, ExponentialLR
from minitorch_cap.training import CheckpointError, Trainer, load_checkpoint
from minitorch_cap.training import checkpoint as C

folder, kind, timeout = sys.argv[1], sys.argv[2], float(sys.argv[3])
offsets = [int(x) for x in sys.stdin.read().split()] if sys.argv[4] == "-" else []
source = os.path.join(folder, "checkpoint.h5")
if not os.path.exists(source):
    from minitorch_cap.training.synthetic import random_caption_data
    data = random_caption_data(8, 4, input_dim=3, vocab_size=6, T=4, seed=0)
    model = CaptioningModel(data["word_to_idx"], input_dim=3, wordvec_dim=2, hidden_dim=2, cell_type="lstm",
                            rng=np.random.default_rng(0))
    opt = Adam(model.named_parameters(), lr=1e-2)
    Trainer(model, data, opt, ExponentialLR(opt, 0.9), batch_size=4, num_epochs=1, verbose=False, out_dir=folder,
            val_size=2, progress=False).train()
raw = open(source, "rb").read()
if kind == "0.1.0-in-process":
    C._rewrite_unsealed = lambda raw, path: raw
C.UNSEALED_READ_TIMEOUT = timeout / 2    # the library's own bound must fire before the watchdog
if kind.startswith("0.1.0"):              # the same content, 0.1.0 layout: a plain HDF5 file without seal
    c = load_checkpoint(source)
    model = C._model_from(c, source)
    import io
    buffer = io.BytesIO()
    with h5py.File(buffer, "w", track_order=True) as f:
        f.attrs["format"], f.attrs["format_version"], f.attrs["library_version"] = C.FORMAT, 1, "0.1.0"
        g = f.create_group("model", track_order=True)
        g.attrs["class"], g.attrs["config"] = "CaptioningModel", json.dumps(model.config())
        words = sorted(model.word_to_idx, key=model.word_to_idx.get)      # 0.1.0: the word of each id 0..V-1
        g.create_dataset("vocab", data=np.array(words, dtype=object),
                         dtype=h5py.string_dtype("utf-8"))
        C._write_tree(g.create_group("params", track_order=True), model.state_dict())
        for section in ("optimizer", "scheduler", "trainer"):
            C._write_tree(f.create_group(section, track_order=True), c[section])
    raw = buffer.getvalue()

def canon(x):
    if isinstance(x, dict): return {k: canon(v) for k, v in x.items() if k not in ("format_version", "library_version")}
    if isinstance(x, (list, tuple)): return [canon(v) for v in x]
    if isinstance(x, (np.ndarray, np.generic)): return (str(x.dtype), np.shape(x), x.tobytes())
    return (type(x).__name__, repr(x))

path = os.path.join(folder, f"x-{kind}.h5")
open(path, "wb").write(raw)
reference = canon(load_checkpoint(path))
if not offsets:
    print(len(raw), flush=True)
    sys.exit(0)
for offset in offsets:
    b = bytearray(raw)
    b[offset] ^= 0xFF
    if kind == "forged" and offset >= C.SEAL_SIZE:
        b = bytearray(C._seal(bytes(b)))
    open(path, "wb").write(b)
    faulthandler.dump_traceback_later(timeout, exit=True, file=open(os.devnull, "w"))
    try:
        loaded = load_checkpoint(path)
        C._model_from(loaded, path)
        outcome = "same" if canon(loaded) == reference else "different"
    except CheckpointError as exc:
        outcome = "error" if path in str(exc) else "raw"
    except Exception as exc:
        outcome = "raw"
    faulthandler.cancel_dump_traceback_later()
    print(offset, outcome, flush=True)
"""


def run_kind(folder: str, kind: str, step: int, head: int, timeout: float, extra=()) -> dict:
    env = dict(os.environ, PYTHONPATH=str(ROOT), OPENBLAS_NUM_THREADS="1")
    size = int(subprocess.run([sys.executable, "-c", WORKER, folder, kind, str(timeout), ""], env=env,
                              capture_output=True, text=True, check=True, stdin=subprocess.DEVNULL).stdout.split()[-1])
    offsets = sorted(set(range(0, size, step)) | set(range(min(head, size))) | {o for o in extra if o < size})
    counts = {k: 0 for k in ("error", "same", "different", "raw", "hang")}
    hangs = []
    start, todo = time.perf_counter(), list(offsets)
    while todo:
        proc = subprocess.run([sys.executable, "-c", WORKER, folder, kind, str(timeout), "-"],
                              input=" ".join(map(str, todo)), env=env, capture_output=True, text=True)
        done = [line.split() for line in proc.stdout.splitlines() if len(line.split()) == 2]
        for _, outcome in done:
            counts[outcome] += 1
        todo = todo[len(done):]
        if todo:                           # the worker died on todo[0]: a hang (watchdog) or a crash
            counts["hang"] += 1
            hangs.append(todo[0])
            todo = todo[1:]
    return {"kind": kind, "bytes": size, "offsets": len(offsets), **counts,
            "seconds": round(time.perf_counter() - start, 1), "hang_offsets": hangs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--step", type=int, default=3, help="flip every STEP-th byte (default 3)")
    parser.add_argument("--head", type=int, default=2048, help="and every byte of the first HEAD bytes")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds before a load counts as a hang")
    parser.add_argument("--kinds", default="sealed,0.1.0-in-process,forged,0.1.0")
    parser.add_argument("--slow-step", type=int, default=61,
                        help="--step for the '0.1.0' kind (a process per load), which also gets every offset "
                             "that hung in '0.1.0-in-process'")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        hung = []
        for kind in args.kinds.split(","):
            slow = kind == "0.1.0"
            rows.append(run_kind(folder, kind, args.slow_step if slow else args.step, 0 if slow else args.head,
                                 args.timeout, hung if slow else ()))
            if kind == "0.1.0-in-process":
                hung = rows[-1]["hang_offsets"]
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    keys = [k for k in rows[0] if k != "hang_offsets"]
    print(" | ".join(f"{k:>9}" for k in keys))
    for row in rows:
        print(" | ".join(f"{row[k]!s:>9}" for k in keys))


if __name__ == "__main__":
    main()
