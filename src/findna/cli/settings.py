"""Typed settings of ``findna embed``, ``plot-embeddings`` and ``predict``.

The other commands' settings live with the code they configure (``PretrainConfig``,
``ProbeConfig``, ``FinetuneConfig``, ``BenchmarkConfig``). These three commands call functions
that take keyword arguments (:func:`findna.eval.embed.embed_file`,
:func:`~findna.eval.embed.plot_task_embeddings`, :func:`findna.eval.predict.predict_file`);
the dataclasses below only give their command lines the same ``--config`` / ``--set`` / flags
order as every other command. YAML for them looks like::

    features:          # FeatureConfig, as in a probe config
      pooling: cls
      precision: bf16-mixed
    which: student
    chunk_size: 1024
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from findna.config import check_device, normalize_precision
from findna.eval.feature_config import FeatureConfig


def _positive(where: str, **values: int | None) -> None:
    for name, value in values.items():
        if value is not None and value < 1:
            raise ValueError(f"{where}.{name} must be a positive integer, got {value}")


@dataclass
class EmbedConfig:
    """Settings of ``findna embed``.

    Attributes:
        features: pooling, reverse-complement averaging, batch size, precision, device.
        which: ``teacher`` or ``student`` network of a pretraining run.
        chunk_size: sequences held in memory at once.
        max_len: build the network for this many tokens; None: for the inputs, the longest
            sequence plus the CLS rows (the length rule, docs/reliability.md).
        length_mode: ChordMixer rotation (``length_aware``: modulo each sequence's length).
        on_invalid: characters outside the DNA alphabet: ``error`` or read as ``n``.
    """

    features: FeatureConfig = field(default_factory=FeatureConfig)
    which: Literal["teacher", "student"] = "teacher"
    chunk_size: int = 4096
    max_len: int | None = None
    length_mode: Literal["length_aware", "fixed"] = "length_aware"
    on_invalid: Literal["error", "n"] = "error"

    def __post_init__(self) -> None:
        _positive("embed", chunk_size=self.chunk_size, max_len=self.max_len)


@dataclass
class PlotEmbeddingsConfig:
    """Settings of ``findna plot-embeddings``.

    Attributes:
        features: pooling, reverse-complement averaging, batch size, precision, device.
        which: ``teacher`` or ``student`` network of a pretraining run.
        split: the task split drawn.
        method: ``tsne`` or ``pca``.
        max_points: stratified subsample above this many sequences.
        num_threads: threads of the projection (None: the library's default; 1 on busy hosts).
        target: what colours a regression task's map (a target's value, with a colour bar) or a
            multi-label task's (a label's 0/1); unset: the first. Refused for other task types.
    """

    features: FeatureConfig = field(default_factory=FeatureConfig)
    which: Literal["teacher", "student"] = "teacher"
    split: Literal["train", "val", "test"] = "test"
    method: Literal["tsne", "pca"] = "tsne"
    max_points: int = 5000
    num_threads: int | None = None
    target: str | None = None

    def __post_init__(self) -> None:
        _positive("plot_embeddings", max_points=self.max_points, num_threads=self.num_threads)


@dataclass
class PredictConfig:
    """Settings of ``findna predict``.

    Attributes:
        batch_size: sequences per forward pass.
        chunk_size: sequences read at a time.
        device: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``.
        precision: one of :data:`findna.config.PRECISIONS` (``auto``: ``findna.precision``).
        on_invalid: characters outside the DNA alphabet: ``error`` or read as ``n``.
        allow_longer: score inputs longer than the classifier was fine-tuned for (its head was
            selected on shorter inputs; the encoder is rebuilt for them, with untrained blocks
            where they need more). Without it such inputs are refused (docs/reliability.md).
        label_column: the label column of a table input, kept and scored; None: ``label`` when
            the table has one. A regression or multi-label model's: ``a,b`` (one column per
            target or label, in the model's order); None: the columns named after them.
        sequence_column: the sequence column of a table input; None: ``sequence`` or ``seq``.
        split_column: the split column of a scored table input: when it holds train or val rows,
            each split is scored apart too (``per_split``); None: ``split`` when the table has
            one.
        threshold: a multi-label model's probability at or above which a label is predicted
            (``predicted_labels``); None: 0.5. Refused for other models.
    """

    batch_size: int = 128
    chunk_size: int = 65536
    device: str = "auto"
    precision: str = "auto"
    on_invalid: Literal["error", "n"] = "error"
    allow_longer: bool = False
    label_column: str | None = None
    sequence_column: str | None = None
    split_column: str | None = None
    threshold: float | None = None

    def __post_init__(self) -> None:
        _positive("predict", batch_size=self.batch_size, chunk_size=self.chunk_size)
        self.device = check_device(self.device, "predict.device")
        self.precision = normalize_precision(self.precision, "predict.precision")


__all__ = ["EmbedConfig", "PlotEmbeddingsConfig", "PredictConfig"]
