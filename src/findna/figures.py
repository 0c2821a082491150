"""Figures without pyplot: matplotlib's object API on an Agg canvas.

No GUI backend is ever selected and nothing global is changed at import or call time, so plots
can be written from any thread, process or headless machine.
"""

from __future__ import annotations

from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from findna.outputs import atomic_output, check_output_file


def new_figure(width: float, height: float) -> Figure:
    """A figure attached to an Agg canvas (PNG output without any GUI backend)."""
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def check_figure_path(out_png: str | Path) -> Path:
    """Check, before any work, that ``out_png`` can be written: a ``.png`` path (an existing PNG
    is replaced: a figure is redrawn from files that stay) in a writable folder.

    Raises:
        ValueError: another suffix (which could name a data file), a folder, a file where a
            folder must be, or a folder that takes no files.
    """
    out = Path(out_png)
    if out.suffix.lower() != ".png":
        raise ValueError(f"--out {out}: figures are written as PNG; give a path ending in .png")
    return check_output_file(out, force=True)


def save_figure(fig: Figure, out_png: str | Path, dpi: int = 120) -> Path:
    """Write ``fig`` as PNG (atomically), creating the parent folder; return the path."""
    out = Path(out_png)
    with atomic_output(out) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi)
    return out


__all__ = ["check_figure_path", "new_figure", "save_figure"]
