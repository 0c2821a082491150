"""Figures of the evaluation: 2-D maps of embeddings (t-SNE or PCA) coloured by label or by a
continuous value (:mod:`findna.eval.task_maps` picks which for a task's type), and the benchmark
comparison bars; figures from :mod:`findna.figures`."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import matplotlib
import numpy as np
from threadpoolctl import threadpool_limits

from findna.eval.metrics import to_numpy
from findna.eval.report import BenchmarkReport
from findna.figures import figure_format, new_figure, save_figure

log = logging.getLogger(__name__)


def stratified_subsample(labels: Any, max_points: int, seed: int = 0) -> np.ndarray:
    """Indices of at most ``max_points`` rows keeping class proportions (largest remainder).

    Every class keeps at least one point when ``max_points`` >= the number of classes.

    Args:
        labels: (N,) class labels of any hashable dtype.
        max_points: the size of the subsample.
        seed: seeds the ``numpy.random.Generator`` that picks rows within each class.

    Returns:
        (M,) sorted int64 indices, M = min(N, max_points).
    """
    labels = np.asarray(labels)
    n = len(labels)
    if max_points < 1:
        raise ValueError(f"max_points must be >= 1, got {max_points}")
    if n <= max_points:
        return np.arange(n, dtype=np.int64)
    rng = np.random.default_rng(seed)
    classes, inverse, counts = np.unique(labels, return_inverse=True, return_counts=True)
    quota = counts * max_points / n
    take = np.floor(quota).astype(np.int64)
    if max_points >= len(classes):
        take = np.maximum(take, 1)
    # Hand the remaining slots to the largest fractional parts (ties: the larger class).
    order = np.lexsort((-counts, -(quota - np.floor(quota))))
    i = 0
    while take.sum() < max_points:
        c = order[i % len(order)]
        if take[c] < counts[c]:
            take[c] += 1
        i += 1
    while take.sum() > max_points:  # only when the minimum of one per class overshot
        take[np.argmax(take)] -= 1
    picked = [
        rng.choice(np.flatnonzero(inverse == c), size=int(k), replace=False)
        for c, k in enumerate(take)
    ]
    return np.sort(np.concatenate(picked)).astype(np.int64)


@dataclass
class EmbeddingMap:
    """The 2-D map drawn by :func:`plot_embeddings`.

    Attributes:
        coords: (M, 2) float coordinates of the plotted points.
        indices: (M,) rows of the input ``features`` that were plotted.
    """

    coords: np.ndarray
    indices: np.ndarray


def _project(x: np.ndarray, method: str, seed: int, perplexity: float) -> np.ndarray:
    if method == "pca":
        from sklearn.decomposition import PCA

        return PCA(n_components=2, random_state=seed).fit_transform(x)
    from sklearn.manifold import TSNE

    # scikit-learn requires perplexity < n_samples; a third of N is the usual safe ceiling.
    perp = min(perplexity, max(1.0, (len(x) - 1) / 3))
    if perp != perplexity:
        log.info("t-SNE perplexity lowered from %g to %g for %d points", perplexity, perp, len(x))
    tsne = TSNE(n_components=2, perplexity=perp, init="pca", random_state=seed)
    return tsne.fit_transform(x)


def _checked(features: Any, labels: Any, method: str) -> tuple[np.ndarray, np.ndarray]:
    """``features`` as (N, d) float64 and ``labels`` as (N,), checked (:func:`plot_embeddings`'s
    Raises)."""
    x = to_numpy(features).astype(np.float64)
    y = to_numpy(labels)
    if method not in ("tsne", "pca"):
        raise ValueError(f"method must be 'tsne' or 'pca', got {method!r}")
    if x.ndim != 2:
        raise ValueError(f"features must be 2-D (N, d), got shape {x.shape}")
    if y.ndim != 1 or len(y) != len(x):
        raise ValueError(f"labels must be 1-D with {len(x)} entries, got shape {y.shape}")
    if len(x) < 3:
        raise ValueError(f"need at least 3 points to draw a map, got {len(x)}")
    if not np.all(np.isfinite(x)):
        row = int(np.flatnonzero(~np.isfinite(x).all(axis=1))[0])
        raise ValueError(f"features row {row} is not finite (NaN/inf); check the model output")
    return x, y


def _axes_of_map(coords: np.ndarray, method: str, seed: int, title: str | None) -> tuple:
    """A new figure and its axes, titled (default: the method and point count), no ticks."""
    fig = new_figure(6.5, 5.5)
    ax = fig.add_subplot()
    ax.set_xticks([])
    ax.set_yticks([])
    method_name = {"tsne": "t-SNE", "pca": "PCA"}[method]
    ax.set_title(title or f"{method_name} of {len(coords)} embeddings (seed {seed})")
    return fig, ax


def plot_embeddings(
    features: Any,
    labels: Any,
    out_png: str | Path,
    method: Literal["tsne", "pca"] = "tsne",
    seed: int = 0,
    max_points: int = 5000,
    perplexity: float = 30.0,
    label_names: dict[Any, str] | None = None,
    title: str | None = None,
    num_threads: int | None = None,
    legend_title: str = "label",
) -> EmbeddingMap:
    """Scatter a 2-D t-SNE (or PCA) map of pooled embeddings coloured by label.

    Args:
        features: (N, d) float features (NumPy array or torch tensor), e.g. mean-pooled tokens.
        labels: (N,) class labels.
        out_png: where to write the figure: PNG, PDF or SVG, chosen by the suffix.
        method: ``"tsne"`` (scikit-learn TSNE, ``init="pca"``, ``random_state=seed``) or ``"pca"``.
        seed: seeds both the subsample and the projection.
        max_points: above this N a stratified, seeded subsample is drawn (t-SNE is O(N log N)
            per iteration; 5000 points of 308 dims took 65 s on one thread of a busy CPU).
        perplexity: t-SNE perplexity, lowered automatically for small N.
        label_names: optional display name per label value for the legend.
        title: figure title (default names the method and point count).
        num_threads: cap on the OpenMP/BLAS threads of the projection (``None``: library
            default). On a busy shared machine, 1 avoids thread oversubscription, which can
            make t-SNE over 10x slower.
        legend_title: the legend's title.

    Returns:
        The coordinates and the rows of ``features`` they belong to.

    Raises:
        ValueError: on shapes that do not match, non-finite features, fewer than 3 points, an
            unknown method or a figure suffix other than .png, .pdf and .svg.
    """
    figure_format(out_png)  # before the projection, which can take minutes
    x, y = _checked(features, labels, method)
    idx = stratified_subsample(y, max_points, seed)
    with threadpool_limits(limits=num_threads):
        coords = _project(x[idx], method, seed, perplexity)

    fig, ax = _axes_of_map(coords, method, seed, title)
    classes = np.unique(y[idx])
    colors = matplotlib.colormaps["tab10" if len(classes) <= 10 else "tab20"]
    for k, c in enumerate(classes):
        sel = y[idx] == c
        name = (label_names or {}).get(c.item() if hasattr(c, "item") else c, str(c))
        ax.scatter(*coords[sel].T, s=8, alpha=0.7, color=colors(k % colors.N), label=name)
    ax.legend(title=legend_title, markerscale=2, fontsize=8, loc="best")
    save_figure(fig, out_png)
    return EmbeddingMap(coords=coords, indices=idx)


def plot_embedding_values(
    features: Any,
    values: Any,
    out_png: str | Path,
    value_name: str,
    method: Literal["tsne", "pca"] = "tsne",
    seed: int = 0,
    max_points: int = 5000,
    perplexity: float = 30.0,
    title: str | None = None,
    num_threads: int | None = None,
) -> EmbeddingMap:
    """Scatter a 2-D t-SNE (or PCA) map of pooled embeddings coloured by a continuous value
    (a regression target), with a colour bar named ``value_name`` (viridis).

    Arguments as :func:`plot_embeddings`, but ``values`` are (N,) finite numbers and the
    subsample above ``max_points`` is uniform (seeded), not stratified.

    Returns:
        The coordinates and the rows of ``features`` they belong to.

    Raises:
        ValueError: as :func:`plot_embeddings`, and on a value that is not a finite number
            (naming its row).
    """
    figure_format(out_png)
    x, v = _checked(features, values, method)
    v = v.astype(np.float64)
    if not np.all(np.isfinite(v)):
        row = int(np.flatnonzero(~np.isfinite(v))[0])
        raise ValueError(f"{value_name} of row {row} is not finite (NaN/inf); check the targets")
    if max_points < 1:
        raise ValueError(f"max_points must be >= 1, got {max_points}")
    idx = np.arange(len(v), dtype=np.int64)
    if len(v) > max_points:
        rng = np.random.default_rng(seed)
        idx = np.sort(rng.choice(len(v), size=max_points, replace=False)).astype(np.int64)
    with threadpool_limits(limits=num_threads):
        coords = _project(x[idx], method, seed, perplexity)

    fig, ax = _axes_of_map(coords, method, seed, title)
    points = ax.scatter(*coords.T, c=v[idx], cmap="viridis", s=8, alpha=0.8)
    fig.colorbar(points, ax=ax, label=value_name)
    save_figure(fig, out_png)
    return EmbeddingMap(coords=coords, indices=idx)


def plot_comparison(report: BenchmarkReport, path: str | Path, split: str = "test") -> Path:
    """Grouped bars (tasks x models) of the primary metric with std error bars, written as PNG,
    PDF or SVG (``path``'s suffix).

    Bars are in percent; a single-seed bar has no error bar. The title says what the error
    bars are and over how many seeds.
    """
    figure_format(path)
    summary = report.summary(split)
    if summary.empty:
        raise ValueError("the report has no results to plot")
    tasks = list(report.primary_metrics())
    labels = list(dict.fromkeys(r.label for r in report.results))
    width = 0.8 / len(labels)
    fig = new_figure(max(6.0, 1.2 * len(tasks) * max(1, len(labels) / 2) + 2), 4.5)
    ax = fig.add_subplot()
    x = np.arange(len(tasks))
    for k, label in enumerate(labels):
        rows = summary[summary["label"] == label].set_index("task").reindex(tasks)
        mean = 100 * rows["mean"].to_numpy(dtype=float)
        err = np.nan_to_num(100 * rows["std"].to_numpy(dtype=float), nan=0.0)
        ax.bar(
            x + (k - (len(labels) - 1) / 2) * width, mean, width, yerr=err, capsize=3, label=label
        )
    primary = report.primary_metrics()
    ax.set_xticks(x, [f"{t}\n({primary[t]})" for t in tasks], rotation=30, ha="right", fontsize=8)
    ax.set_ylabel(f"{split} primary metric (%)")
    ns = sorted({int(n) for n in summary["n"]})
    seeds = f"{ns[0]}" if len(ns) == 1 else f"{ns[0]}-{ns[-1]}"
    ax.set_title(
        f"bars: mean over seeds; error bars: std (ddof=1) over n = {seeds} seeds", fontsize=9
    )
    fig.legend(loc="outside upper center", ncols=min(len(labels), 4), fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    return save_figure(fig, path)
