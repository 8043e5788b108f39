"""Caption pictures: a PNG grid of images with their generated and reference captions, and the same as an
HTML page of image URLs (COCO has no pixels here). Text layout is measured, not guessed: titles and
captions wrap to their room and are cut with an ellipsis rather than overflow.

* :func:`plot_caption_grid` (:func:`caption_grid_figure` gives the Figure itself, :func:`caption_grid_size`
  its pixel size), words coloured by the region they attended to when asked;
* :func:`write_caption_html`.

Both are written atomically (:func:`.plots.save_figure`, ``atomic_write_bytes``).
"""

from __future__ import annotations

import html

import numpy as np

from ..data import files
from ..nn.checks import int_option
from .plots import save_figure

#: Colours that mark a generated caption judged correct / incorrect by a data set's checker.
CORRECT_COLOUR, WRONG_COLOUR, NEUTRAL_COLOUR = "#1a7f37", "#cf222e", "#000000"


#: Colours of the memory tokens (image regions) in a caption grid with attention: the
#: outline of region k and the words that attended most to it share ``REGION_COLOURS[k]``.
REGION_COLOURS = ("#e36209", "#0969da", "#8250df", "#bf8700", "#1b7c83", "#cf222e")

#: Height in inches of the band that holds a one-line title of a caption grid; each further
#: line of a long title (wrapped to the figure's width) adds ``TITLE_LINE`` inches.
TITLE_HEIGHT, TITLE_LINE, TITLE_FONTSIZE = 0.35, 0.17, 10
#: Side margin (inches) kept free of title and caption text.
MARGIN = 0.1
#: Font sizes (points) and line heights (inches) of a cell's generated and reference captions.
GEN_FONTSIZE, REF_FONTSIZE, GEN_LINE, REF_LINE = 7.5, 7, 0.135, 0.125


def text_width(text: str, fontsize: float, weight: str = "normal") -> float:
    """Width in inches of one line of ``text`` in DejaVu Sans (matplotlib's font), measured without drawing."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import text_to_path

    prop = FontProperties(family="DejaVu Sans", size=fontsize, weight=weight)
    return text_to_path.get_text_width_height_descent(text, prop, ismath=False)[0] / 72.0


def wrap_to_width(text: str, width: float, fontsize: float, weight: str = "normal", indent: str = "") -> list[str]:
    """Greedy word wrap of ``text`` into lines at most ``width`` inches wide (measured glyphs).

    A word wider than a line is cut. Continuation lines start with ``indent``.
    """
    lines, line = [], ""
    for word in text.split():
        candidate = f"{line} {word}" if line else (indent if lines else "") + word
        if text_width(candidate, fontsize, weight) <= width:
            line = candidate
            continue
        if line:
            lines.append(line)
        line = (indent if lines else "") + word
        while text_width(line, fontsize, weight) > width and len(line) > 1:   # a word wider than a line
            cut = len(line) - 1
            while cut > 1 and text_width(line[:cut], fontsize, weight) > width:
                cut -= 1
            lines.append(line[:cut])
            line = indent + line[cut:]
    if line or not lines:
        lines.append(line)
    return lines


def _title_lines(title, figure_width: float) -> list[str]:
    if not title:
        return []
    if title is True:
        return [""]
    return wrap_to_width(str(title), figure_width - 2 * MARGIN, TITLE_FONTSIZE)


def caption_grid_size(n_images: int, *, columns: int = 4, title: bool | str | None = False, cell_width: float = 3.0,
                      image_height: float = 1.9, text_height: float = 1.2, dpi: int = 100) -> tuple[int, int]:
    """Pixel size ``(width, height)`` of the PNG :func:`plot_caption_grid` writes for ``n_images``.

    ``title``: the title text (a long one wraps to the grid's width and makes the band
    taller), ``True`` for a one-line title, or nothing.
    """
    n_images = int_option("caption_grid_size", "n_images", n_images)
    cols = min(int_option("caption_grid_size", "columns", columns), n_images)
    rows = -(-n_images // cols)
    lines = len(_title_lines(title, cols * cell_width))
    band = TITLE_HEIGHT + (lines - 1) * TITLE_LINE if lines else 0.0
    height = rows * (image_height + text_height) + band
    return round(cols * cell_width * dpi), round(height * dpi)


def plot_caption_grid(images, generated, references, path, *, dpi: int = 100, **options):
    """Write a PNG grid: each image with its generated caption and some reference captions.

    The picture is :func:`caption_grid_figure` (same arguments and ``options``: ``correct``,
    ``columns``, ``max_references``, ``title``, ``cell_width``, ``image_height``, ``text_height``,
    ``attention``, ``regions``, ``region_names``; see there for the layout), exactly
    :func:`caption_grid_size` pixels. Returns the path written (atomically, as :func:`save_figure`).
    """
    fig = caption_grid_figure(images, generated, references, dpi=dpi, **options)
    return save_figure(fig, path, dpi=dpi, facecolor="white")


def caption_grid_figure(images, generated, references, *, correct=None, columns: int = 4, max_references: int = 2,
                        title: str | None = None, cell_width: float = 3.0, image_height: float = 1.9,
                        text_height: float = 1.2, dpi: int = 100, attention=None, regions=None,
                        region_names=None):
    """The matplotlib Figure of :func:`plot_caption_grid` (close it with ``plt.close``).

    * ``images``: uint8 array (N, S, S, 3) (or float in [0, 1]), one picture per caption.
    * ``generated``: N strings, the model's captions.
    * ``references``: N strings or lists of strings (the first ``max_references`` are shown).
    * ``correct``: optional N booleans (e.g. a data set's caption checker); the generated
      caption is then drawn in green with a check mark when True and in red with a cross
      when False.
    * ``attention``: optional N arrays (L_n, K), the weight each of the L_n words of
      ``generated[n]`` gave to each of K memory tokens (e.g. the cross-attention of
      ``CaptioningTransformer.attention_sample``); ``regions``: N lists of K boxes
      ``(x0, y0, x1, y1)`` in pixels, or None for a token without a place (a pair token).
      Each word is then drawn in the colour (``REGION_COLOURS``) of the token it attended
      to most, and each box outlined in its token's colour (the check mark keeps the
      verdict's colour); ``region_names`` (K strings) adds a colour key at the bottom
      right. Without them the picture is as before.

    The figure is laid out on a fixed grid (no tight bounding box), so its pixel size is
    exactly :func:`caption_grid_size` — ``min(N, columns) * cell_width * dpi`` wide and
    ``(rows * (image_height + text_height) + title band) * dpi`` high. The title is wrapped
    to the figure's width (one image is 3 inches wide: a long title takes several lines,
    each adding ``TITLE_LINE`` inches to the band) and caption text to the cell's width;
    caption text that would run into the next row is cut with an ellipsis.
    """
    import matplotlib
    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    images = np.asarray(images)
    n = len(images)
    if images.ndim != 4 or images.shape[-1] not in (1, 3, 4):
        raise ValueError(f"plot_caption_grid: images must have shape (N, S, S, 3), got {images.shape}")
    generated, references, correct = _check_rows("plot_caption_grid", "images", n, generated, references, correct)
    if n == 0:
        raise ValueError("plot_caption_grid: no images to draw")
    max_references = int_option("plot_caption_grid", "max_references", max_references, low=0)
    if (attention is None) != (regions is None):
        raise ValueError("plot_caption_grid: attention and regions go together (give both or neither)")
    if attention is not None:
        attention = [np.asarray(a, dtype=float) for a in attention]
        if len(attention) != n or len(regions) != n:
            raise ValueError(f"plot_caption_grid: attention and regions need {n} entries each, got "
                             f"{len(attention)} and {len(regions)}")
        for k, a in enumerate(attention):
            words = len(generated[k].split())
            if a.ndim != 2 or a.shape[0] != words or a.shape[1] != len(regions[k]):
                raise ValueError(f"plot_caption_grid: attention[{k}] must have shape (words={words}, "
                                 f"K={len(regions[k])}), got {a.shape}")

    cols = min(int_option("plot_caption_grid", "columns", columns), n)
    width_px, height_px = caption_grid_size(n, columns=columns, title=title, cell_width=cell_width,
                                            image_height=image_height, text_height=text_height, dpi=dpi)
    fig_w, fig_h = width_px / dpi, height_px / dpi
    title_lines = _title_lines(title, fig_w)
    top_band = TITLE_HEIGHT + (len(title_lines) - 1) * TITLE_LINE if title_lines else 0.0
    cell_h = image_height + text_height
    text_w = cell_width - 2 * MARGIN
    fig = plt.figure(figsize=(fig_w, fig_h), dpi=dpi)
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
            x_text = (left + MARGIN) / fig_w
            y = 1 - (top + image_height + 0.02) / fig_h
            room = text_height - 0.1                                               # inches below the image
            gen_lines = wrap_to_width(mark + (generated[k] or "(empty caption)"), text_w, GEN_FONTSIZE, "bold")
            gen_lines = _fit(gen_lines, int(room // GEN_LINE))
            if attention is None or not _attended_caption(fig, ax, x_text, y, gen_lines, mark, colour, attention[k],
                                                          regions[k]):
                fig.text(x_text, y, "\n".join(gen_lines), va="top", ha="left", fontsize=GEN_FONTSIZE,
                         fontweight="bold", color=colour, family="DejaVu Sans")
            used = len(gen_lines) * GEN_LINE + 0.06
            y -= used / fig_h
            ref_lines = []
            for ref in refs[:max_references]:
                ref_lines += wrap_to_width("ref: " + ref, text_w, REF_FONTSIZE, indent="  ")
            ref_lines = _fit(ref_lines, int(max(room - used, 0) // REF_LINE))
            if ref_lines:
                fig.text(x_text, y, "\n".join(ref_lines), va="top", ha="left", fontsize=REF_FONTSIZE,
                         color="#57606a", family="DejaVu Sans")
        if title_lines:
            fig.text(0.5, 1 - (top_band / 2) / fig_h, "\n".join(title_lines), fontsize=TITLE_FONTSIZE,
                     ha="center", va="center", family="DejaVu Sans")
        if attention is not None and region_names is not None:     # the colour key, bottom right
            key = [("word colour = the region it attended to most: ", "#57606a", "normal")]
            key += [(f"  {name} ", REGION_COLOURS[j % len(REGION_COLOURS)], "bold")
                    for j, name in enumerate(region_names)]
            x = MARGIN / fig_w + (fig_w - 2 * MARGIN - sum(text_width(t, REF_FONTSIZE, w) for t, _, w in key)) / fig_w
            for text, key_colour, weight in key:
                fig.text(x, 0.06 / fig_h, text, fontsize=REF_FONTSIZE, ha="left", va="bottom", color=key_colour,
                         fontweight=weight, family="DejaVu Sans")
                x += text_width(text, REF_FONTSIZE, weight) / fig_w
    except BaseException:
        plt.close(fig)
        raise
    return fig


def _attended_caption(fig, ax, x: float, y: float, lines: list[str], mark: str, mark_colour: str,
                      weights: np.ndarray, boxes) -> bool:
    """Draw the wrapped caption ``lines`` word by word from figure position (x, y), each word in
    the colour of the token it attended to most, and outline each token's box on ``ax``.
    Returns False (drawing nothing) when the lines do not hold the caption's words one for one
    (a cut word or an ellipsis): the caller then draws them plainly."""
    from matplotlib.patches import Rectangle

    words = [w for line in lines for w in line.split()]
    head = mark.split()
    if len(words) != len(head) + len(weights) or any(w == "\u2026" for w in words):
        return False
    colours = [mark_colour] * len(head) + [REGION_COLOURS[int(np.argmax(w)) % len(REGION_COLOURS)] for w in weights]
    for j, box in enumerate(boxes):
        if box is not None:
            x0, y0, x1, y1 = box
            ax.add_patch(Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False, linewidth=1.6,
                                   edgecolor=REGION_COLOURS[j % len(REGION_COLOURS)]))
    fig_w, fig_h = fig.get_figwidth(), fig.get_figheight()
    k = 0
    for row, line in enumerate(lines):
        cx = x
        for word in line.split():
            fig.text(cx, y - row * GEN_LINE / fig_h, word, va="top", ha="left", fontsize=GEN_FONTSIZE,
                     fontweight="bold", color=colours[k], family="DejaVu Sans")
            cx += text_width(word + " ", GEN_FONTSIZE, "bold") / fig_w
            k += 1
    return True


def _fit(lines: list[str], max_lines: int) -> list[str]:
    """At most ``max_lines`` lines (at least 1 when there are any); a cut ends with an ellipsis."""
    max_lines = max(1, max_lines)
    if len(lines) <= max_lines:
        return lines
    return lines[:max_lines - 1] + [lines[max_lines - 1].rstrip() + " \u2026"]


def write_caption_html(urls, generated, references, path, *, correct=None, title: str = "Generated captions"):
    """Write an HTML page: one row per image with the image (by URL), the generated caption
    and every reference caption. ``correct`` (optional N booleans) colours the generated
    caption green or red. All text is HTML-escaped. Returns the path written (atomically:
    ``WriteError`` on a full or failing disk, the previous page intact).
    """
    urls = list(urls)
    generated, references, correct = _check_rows("write_caption_html", "urls", len(urls), generated, references,
                                                 correct)
    n = len(urls)
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
    return files.atomic_write_bytes(path, page.encode("utf-8"))


def _check_rows(owner: str, what: str, n: int, generated, references, correct):
    """``generated``, ``references`` and ``correct`` (``None`` or booleans) as lists of ``n`` entries, one
    per image (of ``n`` ``what``); ``ValueError`` naming ``owner`` when a length differs."""
    generated, references = list(generated), list(references)
    if len(generated) != n or len(references) != n:
        raise ValueError(f"{owner}: got {n} {what}, {len(generated)} generated captions and "
                         f"{len(references)} reference lists; they must be equal")
    if correct is not None:
        correct = [bool(c) for c in correct]
        if len(correct) != n:
            raise ValueError(f"{owner}: correct has {len(correct)} entries for {n} {what}")
    return generated, references, correct
