"""Settings of ``findna score-variants`` (``VariantScoreConfig``). No torch: ``--help`` and
``findna config show`` read them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from findna.config import check_device, normalize_precision

OnMismatch = Literal["error", "flag"]
NonSnvPolicy = Literal["flag", "skip", "error"]
Which = Literal["auto", "student", "teacher"]


@dataclass
class VariantScoreConfig:
    """Settings of ``findna score-variants``.

    Attributes:
        which: the network whose head scores: ``student`` (the one trained with MNM), ``teacher``
            (its EMA) or ``auto`` (the student when the source holds one, i.e. a checkpoint or a
            run directory with checkpoints; the teacher of an exported model, the only network
            it holds).
        window: bp around each variant; None: the model's ``max_len`` minus ``n_cls`` (the
            pretraining window, e.g. 1000 bp for ``max_len`` 1010).
        n_cls: zero CLS rows appended after the window, as in pretraining. None: the source's
            ``ssl.n_cls`` where its run config says it, else 10
            (:func:`findna.model.cls_rows.source_n_cls`).
        batch_size: windows per forward pass (each site gives two, one per strand).
        chunk_size: variants held in memory at once.
        on_mismatch: REF not matching the genome, an unknown chromosome or a position past the
            end: ``error`` (stop, naming the line) or ``flag`` (NaN scores, ``status``/``error``).
        non_snv: indels, symbolic or N alleles: ``flag`` (kept with NaN scores), ``skip`` (left
            out of the output) or ``error``.
        device: ``auto``, ``cpu``, ``cuda`` or ``cuda:N``.
        precision: ``auto``, ``32-true``, ``bf16-mixed`` or ``16-mixed``.
        seed: initialises a scratch network.
        labels: a label column of the input (a table's column, or a VCF's INFO key) holding
            ``1``/``pathogenic`` or ``0``/``benign`` (any case; empty, ``.`` or ``NA``:
            unlabelled). None: no labels. With it, the AUROC and AUPRC of ``-llr`` (lower llr =
            more pathogenic) against the labels are printed and written to ``OUT.metrics.json``.
    """

    which: Which = "auto"
    window: int | None = None
    n_cls: int | None = None
    batch_size: int = 64
    chunk_size: int = 4096
    on_mismatch: OnMismatch = "error"
    non_snv: NonSnvPolicy = "flag"
    device: str = "auto"
    precision: str = "auto"
    seed: int = 0
    labels: str | None = None

    def __post_init__(self) -> None:
        for name in ("batch_size", "chunk_size", "window"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ValueError(f"score-variants {name} must be a positive integer, got {value}")
        if self.n_cls is not None and self.n_cls < 0:
            raise ValueError(f"score-variants n_cls must be >= 0, got {self.n_cls}")
        if self.labels is not None and not str(self.labels).strip():
            raise ValueError("score-variants labels must name a column, got an empty name")
        self.precision = normalize_precision(self.precision)
        self.device = check_device(self.device)


__all__ = ["NonSnvPolicy", "OnMismatch", "VariantScoreConfig", "Which"]
