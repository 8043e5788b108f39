"""Pictures written by training and sampling (matplotlib, Agg backend: no display needed).

* ``plot_loss_curve(history, path)`` — training (and validation) loss per iteration/epoch.
* :func:`plot_caption_grid` — a PNG grid of images with generated and reference captions.
* :func:`write_caption_html` — the same as an HTML page of image URLs (COCO has no pixels here).
"""

from __future__ import annotations

import html
import textwrap
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

# ---------------------------------------------------------------- training curves


def plot_loss_curve(history: Mapping[str, Any] | Sequence[float], path, title: str | None = None) -> Path:
    """Save a PNG of the training loss per iteration (and validation loss per epoch, when present).

    The loss axis is logarithmic when the losses span more than a factor of 10.

    ``history`` is ``Trainer.history`` (or the dict read back from ``history.json``), a dict
    ``{"loss": [...], "val_loss": [...]}`` (per iteration, per epoch), or a plain sequence of
    per-iteration losses. Returns the path written.
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

    fig, ax = plt.subplots(figsize=(7, 4))
    try:
        iterations = np.arange(1, losses.size + 1)
        ax.plot(iterations, losses, lw=0.8, alpha=0.6 if val else 1.0, label="train loss (per iteration)")
        if val:
            ax.plot(val_at, val, "o-", lw=1.5, label="validation loss (per epoch)")
            ax.legend()
        ax.set_xlabel("iteration")
        log_scale = wants_log_scale(np.concatenate([losses, np.asarray(val, dtype=np.float64)]))
        if log_scale:
            from matplotlib.ticker import FuncFormatter

            ax.set_yscale("log")
            plain = FuncFormatter(lambda value, _: f"{value:g}")      # 30, not 3 x 10^1
            ax.yaxis.set_major_formatter(plain)
            ax.yaxis.set_minor_formatter(plain)
        ax.set_ylabel("loss (log scale)" if log_scale else "loss")
        ax.set_title(title or "Training loss history")
        ax.grid(True, alpha=0.3)
        fig.tight_layout()
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=100)
    finally:
        plt.close(fig)
    return path


def wants_log_scale(values: np.ndarray) -> bool:
    """True when positive losses span more than a factor of 10.

    A first loss 10x the last one (typical: 35 -> 3) flattens a linear plot after the first
    few hundred iterations; a log axis keeps the later progress readable.
    """
    finite = values[np.isfinite(values)]
    return bool(finite.size and finite.min() > 0 and finite.max() > 10 * finite.min())


# ---------------------------------------------------------------- caption pictures
#: Colours that mark a generated caption judged correct / incorrect by a data set's checker.
CORRECT_COLOUR, WRONG_COLOUR, NEUTRAL_COLOUR = "#1a7f37", "#cf222e", "#000000"


#: Colours of the memory tokens (image regions) in a caption grid with attention: the
#: outline of region k and the words that attended most to it share ``REGION_COLOURS[k]``.
REGION_COLOURS = ("#e36209", "#0969da", "#8250df", "#bf8700", "#1b7c83", "#cf222e")


#: Height in inches of the band that holds the title of a caption grid.
TITLE_HEIGHT = 0.35


def caption_grid_size(n_images: int, *, columns: int = 4, title: bool = False, cell_width: float = 3.0,
                      image_height: float = 1.9, text_height: float = 1.2, dpi: int = 100) -> tuple[int, int]:
    """Pixel size ``(width, height)`` of the PNG :func:`plot_caption_grid` writes for ``n_images``."""
    cols = max(1, min(int(columns), int(n_images)))
    rows = -(-int(n_images) // cols)
    height = rows * (image_height + text_height) + (TITLE_HEIGHT if title else 0.0)
    return round(cols * cell_width * dpi), round(height * dpi)


def plot_caption_grid(images, generated, references, path, *, correct=None, columns: int = 4,
                      max_references: int = 2, title: str | None = None, cell_width: float = 3.0,
                      image_height: float = 1.9, text_height: float = 1.2, dpi: int = 100,
                      attention=None, regions=None, region_names=None):
    """Write a PNG grid: each image with its generated caption and some reference captions.

    * ``images``: uint8 array (N, S, S, 3) (or float in [0, 1]), one picture per caption.
    * ``generated``: N strings, the model's captions.
    * ``references``: N strings or lists of strings (the first ``max_references`` are shown).
    * ``correct``: optional N booleans (e.g. a data set's caption checker); the generated
      caption is then drawn in green with a check mark when True and in red with a cross
      when False.
    * ``attention``: optional N arrays (L_n, K), the weight each of the L_n words of
      ``generated[n]`` gave to each of K memory tokens (e.g. the cross-attention of
      ``CaptioningTransformer.attention_sample``); ``regions``: N lists of K boxes
      ``(x0, y0, x1, y1)`` in pixels, or None for a token without a place (the pair token).
      Each word is then drawn in the colour (``REGION_COLOURS``) of the token it attended
      to most, and each box outlined in its token's colour (the check mark keeps the
      verdict's colour). ``region_names`` (K strings) adds a colour key at the bottom
      right. Without them the picture is as before.

    The figure is laid out on a fixed grid (no tight bounding box), so its pixel size is
    exactly :func:`caption_grid_size` — ``columns * cell_width * dpi`` wide and
    ``(rows * (image_height + text_height) + title band) * dpi`` high, where the title band
    is ``TITLE_HEIGHT`` inches when a title is given. Returns the path written.
    """
    import matplotlib
    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    images = np.asarray(images)
    n = len(images)
    if images.ndim != 4 or images.shape[-1] not in (1, 3, 4):
        raise ValueError(f"plot_caption_grid: images must have shape (N, S, S, 3), got {images.shape}")
    generated, references = list(generated), list(references)
    if len(generated) != n or len(references) != n:
        raise ValueError(f"plot_caption_grid: got {n} images, {len(generated)} generated captions and "
                         f"{len(references)} reference lists; they must be equal")
    if correct is not None:
        correct = [bool(c) for c in correct]
        if len(correct) != n:
            raise ValueError(f"plot_caption_grid: correct has {len(correct)} entries for {n} images")
    if n == 0:
        raise ValueError("plot_caption_grid: no images to draw")
    if (attention is None) != (regions is None):
        raise ValueError("plot_caption_grid: attention and regions go together (give both or neither)")
    if attention is not None:
        attention = [np.asarray(a, dtype=float) for a in attention]
        if len(attention) != n or len(regions) != n:
            raise ValueError(f"plot_caption_grid: attention and regions need {n} entries each, got "
                             f"{len(attention)} and {len(regions)}")
        for k, a in enumerate(attention):
            if a.ndim != 2 or a.shape[0] != len(generated[k].split()) or a.shape[1] != len(regions[k]):
                raise ValueError(f"plot_caption_grid: attention[{k}] must have shape (words={len(generated[k].split())}, "
                                 f"K={len(regions[k])}), got {a.shape}")

    width_px, height_px = caption_grid_size(n, columns=columns, title=bool(title), cell_width=cell_width,
                                            image_height=image_height, text_height=text_height, dpi=dpi)
    top_band = TITLE_HEIGHT if title else 0.0
    cols = max(1, min(int(columns), n))
    fig_w, fig_h = width_px / dpi, height_px / dpi
    cell_h = image_height + text_height
    fig = plt.figure(figsize=(fig_w, fig_h), dpi=dpi)
    # Characters per line at 7.5 pt in a cell of ``cell_width`` inches (about 0.058 in per char).
    wrap = max(12, int((cell_width - 0.2) / 0.058))
    try:
        for k in range(n):
            r, c = divmod(k, cols)
            left, top = c * cell_width, top_band + r * cell_h                      # inches from the top-left
            pad = 0.1
            ax = fig.add_axes([(left + (cell_width - image_height + 2 * pad) / 2) / fig_w,
                               1 - (top + image_height - pad) / fig_h,
                               (image_height - 2 * pad) / fig_w, (image_height - 2 * pad) / fig_h])
            ax.imshow(images[k], interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if correct is None:
                mark, colour = "", NEUTRAL_COLOUR
            else:
                mark, colour = ("\u2713 ", CORRECT_COLOUR) if correct[k] else ("\u2717 ", WRONG_COLOUR)
            for spine in ax.spines.values():
                spine.set_edgecolor(colour)
                spine.set_linewidth(2.0 if correct is not None else 0.5)
            refs = [references[k]] if isinstance(references[k], str) else list(references[k])
            x_text = (left + pad) / fig_w
            y = 1 - (top + image_height + 0.02) / fig_h
            gen_lines = textwrap.wrap(mark + (generated[k] or "(empty caption)"), wrap) or [""]
            if attention is None:
                fig.text(x_text, y, "\n".join(gen_lines), va="top", ha="left", fontsize=7.5,
                         fontweight="bold", color=colour, family="DejaVu Sans")
            else:
                _attended_caption(fig, ax, x_text, y, mark, colour, generated[k], attention[k], regions[k], wrap)
            y -= (len(gen_lines) * 0.135 + 0.06) / fig_h
            ref_lines = []
            for ref in refs[:max(0, int(max_references))]:
                ref_lines += textwrap.wrap("ref: " + ref, wrap, subsequent_indent="  ")
            if ref_lines:
                fig.text(x_text, y, "\n".join(ref_lines), va="top", ha="left", fontsize=7, color="#57606a",
                         family="DejaVu Sans")
        if title:
            fig.text(0.5, 1 - (TITLE_HEIGHT / 2) / fig_h, title, fontsize=10, ha="center", va="center")
        if attention is not None and region_names is not None:
            key = ["word colour = the region it attended to most:"]
            key += [f"{name}" for name in region_names]
            x = 1 - 0.1 / fig_w
            for j in range(len(key) - 1, -1, -1):   # right to left
                t = fig.text(x, 0.08 / fig_h, key[j] + "  ", fontsize=7.5, ha="right", va="bottom",
                             color="#57606a" if j == 0 else REGION_COLOURS[(j - 1) % len(REGION_COLOURS)],
                             fontweight="normal" if j == 0 else "bold", family="DejaVu Sans")
                x -= t.get_window_extent(fig.canvas.get_renderer()).width / (fig_w * dpi)
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=dpi, facecolor="white")
    finally:
        plt.close(fig)
    return path


def _attended_caption(fig, ax, x, y, mark: str, mark_colour: str, caption: str, weights: np.ndarray, boxes,
                      wrap: int) -> None:
    """Draw ``caption`` word by word at figure position (x, y), each word in the colour of the
    token it attended to most, and outline each token's box on ``ax`` in that colour."""
    from matplotlib.patches import Rectangle

    for j, box in enumerate(boxes):
        if box is not None:
            x0, y0, x1, y1 = box
            ax.add_patch(Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False, linewidth=1.6,
                                   edgecolor=REGION_COLOURS[j % len(REGION_COLOURS)]))
    renderer = fig.canvas.get_renderer()
    fig_w_px = fig.get_figwidth() * fig.dpi
    line_h = 0.135 / fig.get_figheight()
    words = caption.split()
    pieces = [(mark, mark_colour)] if mark else []
    pieces += [(w + " ", REGION_COLOURS[int(np.argmax(weights[i])) % len(REGION_COLOURS)]) for i, w in enumerate(words)]
    if not words:
        pieces.append(("(empty caption)", mark_colour))
    cx, cy, used = x, y, 0
    for text, colour in pieces:
        if used and used + len(text) > wrap:
            cx, cy, used = x, cy - line_h, 0
        t = fig.text(cx, cy, text, va="top", ha="left", fontsize=7.5, fontweight="bold", color=colour,
                     family="DejaVu Sans")
        cx += t.get_window_extent(renderer).width / fig_w_px
        used += len(text)


def write_caption_html(urls, generated, references, path, *, correct=None, title: str = "Generated captions"):
    """Write an HTML page: one row per image with the image (by URL), the generated caption
    and every reference caption. ``correct`` (optional N booleans) colours the generated
    caption green or red. All text is HTML-escaped. Returns the path written.
    """
    urls, generated, references = list(urls), list(generated), list(references)
    n = len(urls)
    if len(generated) != n or len(references) != n:
        raise ValueError(f"write_caption_html: got {n} urls, {len(generated)} generated captions and "
                         f"{len(references)} reference lists; they must be equal")
    if correct is not None and len(correct) != n:
        raise ValueError(f"write_caption_html: correct has {len(correct)} entries for {n} urls")
    esc = html.escape
    rows = []
    for k in range(n):
        refs = [references[k]] if isinstance(references[k], str) else list(references[k])
        style = "" if correct is None else f' style="color:{CORRECT_COLOUR if correct[k] else WRONG_COLOUR}"'
        ref_items = "".join(f"<li>{esc(r)}</li>" for r in refs)
        rows.append(f'<tr><td><a href="{esc(urls[k], quote=True)}"><img src="{esc(urls[k], quote=True)}" '
                    f'alt="{esc(urls[k], quote=True)}" loading="lazy"></a></td>'
                    f'<td><p class="gen"{style}>{esc(generated[k])}</p><ul>{ref_items}</ul></td></tr>')
    page = (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{esc(title)}</title>\n<style>body{{font-family:sans-serif;margin:1em}}"
        "td{vertical-align:top;padding:6px;border-bottom:1px solid #ddd}img{max-width:320px;max-height:240px}"
        ".gen{font-weight:bold}ul{color:#57606a;margin:0;padding-left:1.2em}</style></head><body>\n"
        f"<h1>{esc(title)}</h1>\n<table>\n<tr><th>image</th><th>generated (bold) and reference captions</th></tr>\n"
        + "\n".join(rows) + "\n</table>\n</body></html>\n"
    )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path
