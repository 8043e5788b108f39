"""`summary(model)`: the parameter table of any Module (name, shape, dtype, count, bytes, totals)."""

from __future__ import annotations

from tabulate import tabulate, tabulate_formats

from .nn.module import Module


def summary_rows(model: Module) -> list[tuple[str, tuple[int, ...], str, int, int]]:
    """One ``(name, shape, dtype, count, bytes)`` tuple per parameter, in registration order."""
    return [(name, p.shape, p.dtype.name, p.size, p.data.nbytes) for name, p in model.named_parameters()]


def summary(model: Module, tablefmt: str = "simple") -> str:
    """The parameter table of ``model`` as text, with the totals on the last row.

    Columns: dotted name, shape, dtype, number of values, bytes of the values (the
    gradient buffers take as much again).
    """
    if not isinstance(model, Module):
        raise TypeError(f"summary: expected a minitorch_cap Module (a model or a layer), got {type(model).__name__}")
    if tablefmt not in tabulate_formats:
        raise ValueError(f"summary: tablefmt must be one of tabulate's formats {sorted(tabulate_formats)}, "
                         f"got {tablefmt!r}")
    rows = summary_rows(model)
    total_count = sum(r[3] for r in rows)
    total_bytes = sum(r[4] for r in rows)
    body = [(name, "x".join(map(str, shape)) or "scalar", dtype, f"{count:,}", _human_bytes(nbytes))
            for name, shape, dtype, count, nbytes in rows]
    body.append((f"total ({len(rows)} parameters)", "", "", f"{total_count:,}", _human_bytes(total_bytes)))
    title = f"{type(model).__name__}: {total_count:,} parameters, {_human_bytes(total_bytes)}"
    table = tabulate(body, headers=["name", "shape", "dtype", "count", "bytes"], tablefmt=tablefmt,
                     colalign=("left", "left", "left", "right", "right"))
    return title + "\n" + table


def _human_bytes(n: int) -> str:
    for unit in ("B", "KiB", "MiB"):
        if n < 1024 or unit == "MiB":
            return f"{n:,} B" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"
