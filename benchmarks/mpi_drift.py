"""How far K MPI ranks drift from the one-process run, step by step, in float32 and float64.

    python benchmarks/mpi_drift.py                         # 2 ranks, LSTM and Transformer, the built-in presets
    python benchmarks/mpi_drift.py --ranks 3 --epochs 2    # shorter
    python benchmarks/mpi_drift.py --models lstm --json out.json

Each run is ``minitorch-cap train``'s default problem on the built-in data (4000 images, 20,000
captions, batch 50: 400 steps an epoch): the LSTM preset (H=128, W=64, Adam 5e-3 decayed by
0.85, 8 epochs) and the Transformer preset on region features with dropout 0.1 (the COCO
preset's rate; W=64, 4 heads, 2 layers, F=256, Adam 1e-3, 10 epochs), trained once with
``mpiexec -n K`` and once as one process, each in a fresh process with one BLAS thread.

The K ranks sum their parts of each gradient where one process sums the whole batch at once:
the same numbers in another order, so the rounding differs in the last bit and the runs part
slowly. The table gives, per model and dtype, the largest relative difference of the
per-step loss within the first 10, 100, 1000 steps and over the whole run, the first step at
which it exceeds 1e-12, 1e-6 and 1e-3, and the last epoch's mean training loss and validation
loss of both runs (what a user reads). Accuracy, not speed: one run of each suffices (no timing).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
CHECKPOINTS = (10, 100, 1000)
THRESHOLDS = (1e-12, 1e-6, 1e-3)


def worker(model_kind: str, dtype: str, epochs: int | None, out: str) -> None:
    """One run (K ranks under mpiexec, else one process); rank 0 writes the histories to ``out``."""
    from minitorch_cap import CaptioningModel, CaptioningTransformer, Trainer, load_shapes_data
    from minitorch_cap.data.shapes import DEFAULT_TRAINING as D
    from minitorch_cap.distributed import world
    from minitorch_cap.optim import Adam, ExponentialLR
    from minitorch_cap.runs import TRANSFORMER_PRESETS

    comm = world()
    dtype = np.dtype(dtype).type
    rng = np.random.default_rng(0)
    if model_kind == "lstm":
        data = load_shapes_data()
        model = CaptioningModel(data["word_to_idx"], input_dim=data["train_features"].shape[-1],
                                wordvec_dim=D["wordvec_dim"], hidden_dim=D["hidden_dim"], cell_type="lstm",
                                dtype=dtype, rng=rng)
        lr, decay, default_epochs = D["learning_rate"], D["lr_decay"], D["num_epochs"]
    else:
        p = TRANSFORMER_PRESETS["shapes"]
        data = load_shapes_data(region_features=True)
        model = CaptioningTransformer(data["word_to_idx"], data["train_features"].shape[-1], p["wordvec_dim"],
                                      num_heads=p["num_heads"], num_layers=p["num_layers"],
                                      dropout=TRANSFORMER_PRESETS["coco"]["dropout"], dtype=dtype, rng=rng,
                                      dim_feedforward=p["dim_feedforward"])
        lr, decay, default_epochs = p["lr"], p["lr_decay"], p["epochs"]
    optimizer = Adam(model.named_parameters(), lr=lr)
    trainer = Trainer(model, data, optimizer, ExponentialLR(optimizer, decay), batch_size=D["batch_size"],
                      num_epochs=epochs or default_epochs, seed=0, verbose=False, progress=False, comm=comm)
    trainer.train()
    if comm is None or comm.Get_rank() == 0:
        with open(out, "w") as fh:
            json.dump({"loss_history": trainer.loss_history, "val_loss_history": trainer.val_loss_history,
                       "train_loss": [r["train_loss"] for r in trainer.epochs]}, fh)


def run(model_kind: str, dtype: str, ranks: int, epochs: int | None, folder: str) -> dict:
    out = os.path.join(folder, f"{model_kind}-{dtype}-{ranks}.json")
    command = [sys.executable, os.path.abspath(__file__), "--worker", model_kind, dtype, str(epochs or 0), out]
    if ranks > 1:
        launcher = shutil.which("mpiexec") or os.path.join(os.path.dirname(sys.executable), "mpiexec")
        command = [launcher, "-n", str(ranks), *command]
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")]))
    subprocess.run(command, check=True, env=env)
    with open(out) as fh:
        return json.load(fh)


def drift(k_ranks: dict, alone: dict) -> dict:
    a, b = np.asarray(k_ranks["loss_history"]), np.asarray(alone["loss_history"])
    rel = np.abs(a - b) / np.abs(b)
    row = {f"max rel, steps 1-{n}": float(rel[:n].max()) for n in CHECKPOINTS if n <= len(rel)}
    row["max rel, all"] = float(rel.max())
    for t in THRESHOLDS:
        above = np.flatnonzero(rel > t)
        row[f"first step > {t:g}"] = int(above[0]) + 1 if above.size else None
    row["steps"] = len(rel)
    row["last epoch train loss (K / 1)"] = (k_ranks["train_loss"][-1], alone["train_loss"][-1])
    row["last val loss (K / 1)"] = (k_ranks["val_loss_history"][-1], alone["val_loss_history"][-1])
    return row


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ranks", type=int, default=2)
    parser.add_argument("--models", default="lstm,transformer")
    parser.add_argument("--dtypes", default="float32,float64")
    parser.add_argument("--epochs", type=int, default=None, help="epochs per run (default: each preset's)")
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    rows = {}
    with tempfile.TemporaryDirectory() as folder:
        for model_kind in args.models.split(","):
            for dtype in args.dtypes.split(","):
                k_ranks = run(model_kind, dtype, args.ranks, args.epochs, folder)
                alone = run(model_kind, dtype, 1, args.epochs, folder)
                rows[f"{model_kind} {dtype}"] = row = drift(k_ranks, alone)
                print(f"{model_kind} {dtype}, {args.ranks} ranks vs 1 process, {row['steps']} steps:", flush=True)
                for key, value in row.items():
                    if key != "steps":
                        text = (" / ".join(f"{v:.6f}" for v in value) if isinstance(value, tuple)
                                else f"{value:.2e}" if isinstance(value, float) else str(value))
                        print(f"  {key:32s} {text}", flush=True)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(rows, fh, indent=1)
    return 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(sys.argv[2], sys.argv[3], int(sys.argv[4]) or None, sys.argv[5])
    else:
        sys.exit(main())
