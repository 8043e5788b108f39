"""The one printer of training progress: a tqdm bar, the course's iteration lines, one line per epoch.

The Trainer prints through it (``verbose=True``), and the command line passes
:func:`print_epoch` as a callback; lines go above the bar when there is one (Keras'
``ProgbarLogger``, Lightning's tqdm callback).
"""

from __future__ import annotations

import sys

from .config import RESERVED_NAMES


def progress_bar(total: int, initial: int):
    """A tqdm bar over the run's iterations (starting at ``initial`` on resume)."""
    from tqdm.auto import tqdm
    return tqdm(total=total, initial=initial, desc="train", unit="it", dynamic_ncols=True, leave=True)


def write_line(message: str) -> None:
    """Print ``message`` on stdout, above an open tqdm bar if there is one."""
    from tqdm import tqdm
    tqdm.write(message, file=sys.stdout)
    sys.stdout.flush()


def iteration_line(iteration: int, total: int, loss: float) -> str:
    """The course's solver line: ``(Iteration 1 / 300) loss: 10.012345``."""
    return f"(Iteration {iteration} / {total}) loss: {loss:f}"


def epoch_line(record: dict, num_epochs: int, unit: str | None = None) -> str:
    """``epoch 2/10, train loss 1.234, val loss 1.301, held-out accuracy 97.0%, lr 0.00425, 3.1 s``.

    Every metric of the record is shown (``val_accuracy`` as a percentage); ``unit`` (the model's
    ``loss_unit``: ``'per caption'``, ``'per position'``) says what the losses are.
    """
    parts = [f"epoch {record['epoch']}/{num_epochs}",
             f"train loss {record['train_loss']:.3f}" + (f" ({unit})" if unit else "")]
    if record.get("val_loss") is not None:
        parts.append(f"val loss {record['val_loss']:.3f}")
    for key, value in record.items():
        if key in RESERVED_NAMES or value is None:          # the record's own entries, shown above or below
            continue
        parts.append(f"held-out accuracy {100 * value:.1f}%" if key == "val_accuracy" else f"{key} {value:.4g}")
    parts.append(f"lr {record['lr']:.3g}")
    parts.append(f"{record.get('seconds', 0.0):.1f} s")
    return ", ".join(parts)


def print_epoch(trainer, record: dict) -> None:
    """A Trainer callback printing :func:`epoch_line` (what ``minitorch-cap train`` shows)."""
    write_line(epoch_line(record, trainer.config.num_epochs, getattr(trainer.model, "loss_unit", None)))
