"""Figures without pyplot: matplotlib's object API on an Agg canvas.

No GUI backend is ever selected and nothing global is changed at import or call time, so plots
can be written from any thread, process or headless machine.
"""

from __future__ import annotations

from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


def new_figure(width: float, height: float) -> Figure:
    """A figure attached to an Agg canvas (PNG output without any GUI backend)."""
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig: Figure, out_png: str | Path, dpi: int = 120) -> Path:
    """Write ``fig`` as PNG, creating the parent folder; return the path."""
    out = Path(out_png)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, format="png", dpi=dpi)
    return out


__all__ = ["new_figure", "save_figure"]
