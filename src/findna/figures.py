"""Figures without pyplot: matplotlib's object API on an Agg canvas.

No GUI backend is ever selected and nothing global is changed at import or call time, so plots
can be written from any thread, process or headless machine. A figure is written as PNG, PDF or
SVG, chosen by the output's suffix (``map.pdf``: vector, for papers).
"""

from __future__ import annotations

from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from findna.outputs import atomic_output, check_output_file

FIGURE_FORMATS = {".png": "png", ".pdf": "pdf", ".svg": "svg"}
"""The suffixes a figure may have and the format each writes."""

# No creation date in vector files: the same figure drawn twice gives the same PDF.
_NO_DATE = {"pdf": {"CreationDate": None}, "svg": {"Date": None}}


def new_figure(width: float, height: float) -> Figure:
    """A figure attached to an Agg canvas (PNG, PDF or SVG output without any GUI backend)."""
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def figure_format(path: str | Path) -> str:
    """``png``, ``pdf`` or ``svg``: the format ``path``'s suffix names (any case).

    Raises:
        ValueError: another suffix (which could name a data file), naming the accepted ones.
    """
    out = Path(path)
    fmt = FIGURE_FORMATS.get(out.suffix.lower())
    if fmt is None:
        accepted = ", ".join(FIGURE_FORMATS)
        raise ValueError(
            f"--out {out}: figures are written as PNG, PDF or SVG; give a path ending in "
            f"{accepted} (got {out.suffix or 'no suffix'})"
        )
    return fmt


def check_figure_path(out_png: str | Path) -> Path:
    """Check, before any work, that ``out_png`` can be written: a ``.png``, ``.pdf`` or ``.svg``
    path (an existing figure is replaced: a figure is redrawn from files that stay) in a writable
    folder.

    Raises:
        ValueError: another suffix (which could name a data file), a folder, a file where a
            folder must be, or a folder that takes no files.
    """
    out = Path(out_png)
    figure_format(out)
    return check_output_file(out, force=True)


def save_figure(fig: Figure, out_png: str | Path, dpi: int = 120) -> Path:
    """Write ``fig`` (atomically, creating the parent folder) as PNG, PDF or SVG, as the suffix
    of ``out_png`` says; return the path. ``dpi`` sets a PNG's pixels (and a vector file's
    embedded images)."""
    out = Path(out_png)
    fmt = figure_format(out)
    with atomic_output(out) as tmp:
        fig.savefig(tmp, format=fmt, dpi=dpi, metadata=_NO_DATE.get(fmt))
    return out


__all__ = ["FIGURE_FORMATS", "check_figure_path", "figure_format", "new_figure", "save_figure"]
