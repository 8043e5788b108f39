"""Loss curves (matplotlib, Agg backend: no display needed) and the one way a figure is saved.

* ``plot_loss_curve(history, path)`` — training (and validation) loss per iteration/epoch
  (:func:`loss_curve_figure` gives the Figure itself); tick labels are measured, never overlapping.
* :func:`save_figure` — every picture is drawn in memory and written atomically
  (:func:`minitorch_cap.data.files.atomic_write_bytes`): a full or failing disk raises one
  ``WriteError`` naming the folder and leaves the previous file intact.

The caption pictures (grids, HTML pages) are in :mod:`.grid`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from ..data import files

# ---------------------------------------------------------------- training curves


def plot_loss_curve(history: Mapping[str, Any] | Sequence[float], path, title: str | None = None) -> Path:
    """Save a PNG of the training loss per iteration (and validation loss per epoch, when present).

    The picture is :func:`loss_curve_figure` (see there for the axes), 700 x 400 pixels.
    Returns the path written (atomically; ``WriteError`` on a full or failing disk).
    """
    return save_figure(loss_curve_figure(history, title), path, dpi=100)


def save_figure(fig, path, **savefig_options) -> Path:
    """Render ``fig`` in memory (format from the suffix of ``path``, PNG without one), close it,
    and write the bytes atomically to ``path``.

    Raises ``WriteError`` (an ``OSError``) naming the folder when the disk is full, read-only
    or failing; the previous file at ``path`` is then intact (``fig.savefig(path)`` would have
    truncated it first).
    """
    import io

    import matplotlib.pyplot as plt

    path = Path(path)
    buffer = io.BytesIO()
    try:
        fig.savefig(buffer, format=path.suffix[1:].lower() or "png", **savefig_options)
    finally:
        plt.close(fig)
    return files.atomic_write_bytes(path, buffer.getbuffer())


def loss_curve_figure(history: Mapping[str, Any] | Sequence[float], title: str | None = None):
    """The matplotlib Figure :func:`plot_loss_curve` saves (close it with ``plt.close``).

    ``history`` is ``Trainer.history`` (or the dict read back from ``history.json``), a dict
    ``{"loss": [...], "val_loss": [...]}`` (per iteration, per epoch), or a plain sequence of
    per-iteration losses.

    * The loss axis is logarithmic when the losses span more than a factor of 10
      (:func:`wants_log_scale`). Its decades are labelled in plain numbers (30, not 3 x 10^1);
      the ticks between decades are labelled only while they have room
      (:func:`log_minor_labels`, measured against the axis height and the label size), so a
      run falling from 40 to 0.02 or diverging to 1e25 prints no label on top of another.
    * Iterations are integers on the x axis; a run of few iterations shows its points.
    """
    val_at, val = [], []
    if isinstance(history, Mapping):
        key = "loss_history" if "loss_history" in history else "loss"
        if key not in history:
            raise KeyError("plot_loss_curve: history has no 'loss_history' (expected Trainer.history or history.json)")
        losses = np.asarray(history[key], dtype=np.float64)
        records = [r for r in history.get("epochs", []) if r.get("val_loss") is not None]
        if records:
            val_at, val = [r["iteration"] for r in records], [r["val_loss"] for r in records]
        else:  # a bare per-epoch list: place each value at the end of its epoch
            val = list(history.get("val_loss_history", history.get("val_loss", [])))
            val_at = [round((k + 1) * losses.size / len(val)) for k in range(len(val))]
    else:
        losses = np.asarray(history, dtype=np.float64)
    if losses.ndim != 1 or losses.size == 0:
        raise ValueError(f"plot_loss_curve: expected a non-empty list of losses, got shape {losses.shape}")
    import matplotlib
    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from matplotlib.font_manager import FontProperties
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    fig, ax = plt.subplots(figsize=(7, 4))
    try:
        iterations = np.arange(1, losses.size + 1)
        few = losses.size <= FEW_POINTS                                   # a line through 1 point is invisible
        ax.plot(iterations, losses, lw=0.8, alpha=0.6 if val else 1.0, marker="o" if few else None, ms=3,
                label="train loss (per iteration)")
        if val:
            ax.plot(val_at, val, "o-", lw=1.5, label="validation loss (per epoch)")
            ax.legend()
        ax.set_xlabel("iteration")
        ax.xaxis.set_major_locator(MaxNLocator(nbins="auto", steps=[1, 2, 2.5, 5, 10], integer=True, min_n_ticks=1))
        if few:
            ax.set_xlim(0.5, losses.size + 0.5)                           # not 0.96 .. 1.04 for one point
        log_scale = wants_log_scale(np.concatenate([losses, np.asarray(val, dtype=np.float64)]))
        if log_scale:
            ax.set_yscale("log")
            ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
            label_px = FontProperties(size=plt.rcParams["ytick.labelsize"]).get_size_in_points() * fig.dpi / 72

            def minor_label(value, _):
                low, high = ax.get_ylim()
                digits = log_minor_labels(low, high, ax.get_window_extent().height, label_px)
                return f"{value:g}" if _leading_digit(value) in digits else ""

            ax.yaxis.set_minor_formatter(FuncFormatter(minor_label))
        ax.set_ylabel("loss (log scale)" if log_scale else "loss")
        ax.set_title(title or "Training loss history")
        ax.grid(True, alpha=0.3)
        fig.tight_layout()
    except BaseException:
        plt.close(fig)
        raise
    return fig


#: Up to this many iterations the loss curve marks each point.
FEW_POINTS = 30


#: Sets of leading digits a log axis may label between decades, densest first.
MINOR_LABEL_SETS = (frozenset(range(2, 10)), frozenset({2, 3, 5}), frozenset({2, 5}), frozenset({3}))


def log_minor_labels(low: float, high: float, axis_pixels: float, label_pixels: float) -> frozenset[int]:
    """The leading digits (2..9) a log axis from ``low`` to ``high`` labels between its decades.

    The densest set of :data:`MINOR_LABEL_SETS` whose closest pair of labels (decades
    included) is at least 1.2 label heights apart on an axis ``axis_pixels`` long; none
    when even one label per decade would crowd. On the 700 x 400 loss picture: all digits
    up to about 0.75 decade, 2, 3, 5 up to about 2.5, 2 and 5 up to 5.
    """
    decades = np.log10(max(high, low) / max(min(high, low), 1e-300))
    if decades <= 0:
        return MINOR_LABEL_SETS[0]
    per_decade = axis_pixels / decades
    for digits in MINOR_LABEL_SETS:
        marks = np.log10(sorted({1, *digits, 10}))
        if np.diff(marks).min() * per_decade >= 1.2 * label_pixels:
            return digits
    return frozenset()


def _leading_digit(value: float) -> int:
    return int(round(value / 10 ** np.floor(np.log10(value) + 1e-9))) if value > 0 else 0


def wants_log_scale(values: np.ndarray) -> bool:
    """True when positive losses span more than a factor of 10.

    A first loss 10x the last one (typical: 35 -> 3) flattens a linear plot after the first
    few hundred iterations; a log axis keeps the later progress readable.
    """
    finite = values[np.isfinite(values)]
    return bool(finite.size and finite.min() > 0 and finite.max() > 10 * finite.min())
