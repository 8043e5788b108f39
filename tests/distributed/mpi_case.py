"""One data-parallel training run, for ``tests/distributed`` (run as ``mpiexec -n K python mpi_case.py``).

    python mpi_case.py CASE DTYPE OUT_DIR [FAULT_ITERATION | CHECKPOINT | SAMPLING | WHAT]

CASE: ``train`` (two epochs; rank 0 writes OUT_DIR/result.json with the histories and a copy
of the epoch-1 checkpoint as OUT_DIR/epoch1.h5); faults of rank 1 in its FAULT_ITERATION-th
minibatch: ``raise`` (an exception), ``kill`` (SIGKILL), ``stuck`` (sleeps for ten minutes),
``drift`` (changes one of its weights, as a bug would), ``early`` (raises before its Trainer
exists); ``resume`` continues CHECKPOINT to the
end of epoch 2 and writes OUT_DIR/result.json; ``dropout`` trains :func:`transformer_problem`
(dropout 0.3) with SAMPLING (``replacement``, or ``shuffle`` with a last minibatch of one
caption) and rank 0 writes OUT_DIR/result.json and OUT_DIR/epoch1.h5 as ``train`` does;
``disagree`` makes rank 1 differ in WHAT (``data``: two captions fewer, ``lr``: another
learning rate) and each rank writes the error it got to OUT_DIR/rankK.txt. Without mpiexec
it is the one-process run (the reference). The same problems as :func:`problem` and
:func:`transformer_problem`, which the tests call in-process.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import signal
import sys
import time

import numpy as np

from minitorch_cap import CaptioningModel, CaptioningTransformer, Trainer
from minitorch_cap.data import load_shapes_data
from minitorch_cap.evaluation import model_caption_accuracy
from minitorch_cap.distributed import world
from minitorch_cap.optim import Adam, ExponentialLR


def first_word_share(model, data) -> float:
    """A metric that is not a per-image mean (runs on rank 0, value broadcast)."""
    return float(np.mean(model.sample(data["val_features"], max_length=2)[:, 0])) / model.vocab_size


@functools.lru_cache(maxsize=1)
def shapes_data() -> dict:
    """The problem's data, generated once per process (the one-process references reuse it)."""
    return load_shapes_data(num_train=200, num_val=20)


def problem(dtype, comm=None, **options) -> Trainer:
    data = shapes_data()
    model = CaptioningModel(data["word_to_idx"], input_dim=data["train_features"].shape[1], wordvec_dim=16,
                            hidden_dim=24, cell_type="lstm", dtype=dtype, rng=np.random.default_rng(0))
    optimizer = Adam(model.named_parameters(), lr=2e-2)
    scheduler = ExponentialLR(optimizer, gamma=0.9)
    options = {"batch_size": 50, "num_epochs": 2, "verbose": False, "seed": 3, "val_size": None,
               "progress": False, "metrics": {"val_accuracy": model_caption_accuracy, "first": first_word_share},
               **options}
    return Trainer(model, data, optimizer, scheduler, comm=comm, **options)


def transformer_problem(dtype, comm=None, sampling="replacement", **options) -> Trainer:
    """The Transformer with dropout 0.3: 1000 captions; batch 50 drawn with replacement, or shuffled
    in batches of 111 (the last of each epoch holds 1 caption: fewer than 2 or 3 ranks)."""
    data = shapes_data()
    model = CaptioningTransformer(data["word_to_idx"], input_dim=data["train_features"].shape[1], wordvec_dim=16,
                                  num_heads=2, num_layers=2, max_length=16, dropout=0.3, dtype=dtype,
                                  rng=np.random.default_rng(0), dim_feedforward=24)
    optimizer = Adam(model.named_parameters(), lr=1e-2)
    batch_size = 50 if sampling == "replacement" else 111
    options = {"batch_size": batch_size, "num_epochs": 2, "verbose": False, "seed": 5, "val_size": None,
               "progress": False, "sampling": sampling, **options}
    return Trainer(model, data, optimizer, ExponentialLR(optimizer, gamma=0.9), comm=comm, **options)


def result(trainer: Trainer) -> dict:
    return {"loss_history": trainer.loss_history, "val_loss_history": trainer.val_loss_history,
            "epochs": [{k: v for k, v in r.items() if k != "seconds"} for r in trainer.epochs],
            "weights": {n: float(np.abs(p.data).sum()) for n, p in trainer.model.named_parameters()}}


def write_result(trainer: Trainer, out: str, rank: int) -> None:
    """Rank 0 writes OUT_DIR/result.json (:func:`result`)."""
    if rank == 0:
        with open(os.path.join(out, "result.json"), "w") as fh:
            json.dump(result(trainer), fh)


def main(argv) -> int:
    case, dtype, out = argv[0], np.dtype(argv[1]).type, argv[1 + 1]
    comm = world()
    rank = comm.Get_rank() if comm is not None else 0

    def keep_epoch1(trainer, record):        # callbacks run before the epoch's checkpoint is written
        if record["epoch"] == 2 and trainer.parallel.is_writer:
            shutil.copyfile(os.path.join(out, "checkpoint.h5"), os.path.join(out, "epoch1.h5"))

    if case == "resume":
        trainer = Trainer.resume(argv[3], data=shapes_data(), comm=comm,
                                 out_dir=out, num_epochs=2, metrics=problem(dtype).config.metrics)
        trainer.train()
        write_result(trainer, out, rank)
        return 0
    if case == "dropout":
        trainer = transformer_problem(dtype, comm, sampling=argv[3], out_dir=out, callbacks=[keep_epoch1])
        trainer.train()
        write_result(trainer, out, rank)
        return 0
    if case == "disagree":
        data, lr = shapes_data(), 2e-2
        if rank == 1 and argv[3] == "data":
            data = dict(data, train_captions=data["train_captions"][:-2], train_image_idxs=data["train_image_idxs"][:-2])
        if rank == 1 and argv[3] == "lr":
            lr = 3e-2
        model = CaptioningModel(data["word_to_idx"], input_dim=data["train_features"].shape[1], wordvec_dim=16,
                                hidden_dim=24, cell_type="lstm", dtype=dtype, rng=np.random.default_rng(0))
        trainer = Trainer(model, data, Adam(model.named_parameters(), lr=lr), batch_size=50, num_epochs=1, seed=3,
                          verbose=False, progress=False, out_dir=os.path.join(out, "run"), comm=comm)
        try:
            trainer.train()
            outcome = "trained"
        except Exception as exc:
            outcome = f"{type(exc).__name__}: {exc}"
        with open(os.path.join(out, f"rank{rank}.txt"), "w") as fh:
            fh.write(outcome)
        return 0
    fault_at = int(argv[3]) if len(argv) > 3 else 0
    if case == "early" and rank == 1:
        raise RuntimeError("injected fault in rank 1 before training")

    trainer = problem(dtype, comm, out_dir=out, callbacks=[keep_epoch1])
    if case in ("raise", "kill", "stuck", "drift") and rank == 1:
        honest, calls = trainer.model.loss, [0]

        def faulty(features, captions):
            calls[0] += 1
            if calls[0] == fault_at:
                if case == "kill":
                    os.kill(os.getpid(), signal.SIGKILL)
                if case == "stuck":
                    time.sleep(600)
                if case == "drift":
                    trainer.model.proj.b.data[0] += 1e-3
                else:
                    raise RuntimeError("injected fault in rank 1")
            return honest(features, captions)
        trainer.model.loss = faulty
    trainer.train()
    write_result(trainer, out, rank)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
