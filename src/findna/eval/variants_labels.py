"""``score-variants --labels COLUMN``: how well the score separates pathogenic from benign.

The label column holds ``1``/``pathogenic`` (the positive class) or ``0``/``benign`` (any case);
an empty value, ``.`` or ``NA`` marks an unlabelled row. In a VCF the column is an INFO key
(``--labels CLASS`` reads ``CLASS=1``). findna's score ``llr = log P(alt) - log P(ref)`` is low
where the model finds the ALT allele unlikely, so the **pathogenicity score is ``-llr``**: AUROC
and AUPRC (scikit-learn's ``roc_auc_score`` and ``average_precision_score``) are of ``-llr``
against label 1. Rows without a score (flagged) and unlabelled rows are counted and left out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import numpy as np

from findna.data.variants import Variant, VariantFile

LABELS = {"1": 1, "pathogenic": 1, "0": 0, "benign": 0}
UNLABELLED = ("", ".", "na", "nan", "none")
SCORE_NOTE = (
    "-llr as the pathogenicity score (a lower llr, an ALT the model finds less likely, counts as "
    "more pathogenic)"
)


def label_reader(variants: VariantFile, column: str) -> Callable[[Variant], int | None]:
    """A function giving each variant's label (1 pathogenic, 0 benign, None unlabelled).

    Raises:
        ValueError: the column is not in the file (named with the columns it has); the
            returned function raises for a value that is not a label, naming file, row and value.
    """
    if variants.kind == "vcf":

        def text(v: Variant) -> str:
            for item in v.values[7].split(";"):
                key, _, value = item.partition("=")
                if key == column:
                    return value
            return ""

        what = f"INFO {column}"
    else:
        names = list(variants.columns)
        matches = [i for i, n in enumerate(names) if n == column] or [
            i for i, n in enumerate(names) if n.lower() == column.lower()
        ]
        if len(matches) != 1:
            found = "has no" if not matches else "has more than one"
            raise ValueError(
                f"{variants.path} {found} column {column!r} for --labels; its columns are "
                f"{', '.join(repr(n) for n in names)}"
            )
        at = matches[0]
        column = names[at]

        def text(v: Variant) -> str:
            return v.values[at]

        what = f"column {column!r}"

    def read(v: Variant) -> int | None:
        value = text(v).strip()
        if value.lower() in UNLABELLED:
            return None
        label = LABELS.get(value.lower())
        if label is None:
            raise ValueError(
                f"{v.where}: {what} has {value[:40]!r}, not a label; use 1 or pathogenic "
                "(pathogenic), 0 or benign (benign), any case, or leave it empty (unlabelled)"
            )
        return label

    return read


class LabelCheck:
    """Reads every label in the first pass over the variants, so that a bad label or a column
    with one class stops the command before any scoring."""

    def __init__(self, variants: VariantFile, column: str) -> None:
        self.variants, self.column = variants, column
        self.read = label_reader(variants, column)
        self.counts = {0: 0, 1: 0, None: 0}

    def checked(self, rows: Iterable[Variant]) -> Iterator[Variant]:
        for v in rows:
            self.counts[self.read(v)] += 1
            yield v

    def require_both(self) -> None:
        """Raises ValueError unless the labels hold both classes."""
        if self.counts[0] and self.counts[1]:
            return
        has = "pathogenic (1)" if self.counts[1] else "benign (0)"
        raise ValueError(
            f"{self.variants.path}: --labels {self.column}: every labelled row is {has} "
            f"({self.counts[0] + self.counts[1]} rows, {self.counts[None]} unlabelled); AUROC "
            "and AUPRC need both pathogenic and benign rows"
        )


def label_metrics(column: str, labels: list[int | None], llr: list[float]) -> dict:
    """AUROC and AUPRC of ``-llr`` against the labels, with what was left out and why."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    y = np.array([-1 if x is None else x for x in labels], dtype=np.int64)
    score = -np.asarray(llr, dtype=np.float64)
    unscored = np.isnan(score)
    use = ~unscored & (y >= 0)
    out: dict = {
        "labels": column,
        "score": "-llr",
        "positive": "pathogenic (label 1)",
        "note": SCORE_NOTE,
        "rows": len(y),
        "used": int(use.sum()),
        "pathogenic": int((y[use] == 1).sum()),
        "benign": int((y[use] == 0).sum()),
        "left_out_unscored": int((unscored & (y >= 0)).sum()),
        "left_out_unlabelled": int((y < 0).sum()),
        "auroc": None,
        "auprc": None,
    }
    if out["pathogenic"] and out["benign"]:
        out["auroc"] = float(roc_auc_score(y[use], score[use]))
        out["auprc"] = float(average_precision_score(y[use], score[use]))
        out["auprc_baseline"] = out["pathogenic"] / out["used"]
    return out


def metrics_text(m: dict) -> str:
    """One paragraph for the log and the command's output."""
    if m["auroc"] is None:
        head = (
            f"no AUROC/AUPRC: the {m['used']} scored, labelled rows are not both pathogenic and "
            "benign"
        )
    else:
        head = (
            f"AUROC {m['auroc']:.4f}, AUPRC {m['auprc']:.4f} (baseline {m['auprc_baseline']:.4f})"
        )
    return (
        f"{head} of {SCORE_NOTE} against --labels {m['labels']} (1/pathogenic positive): "
        f"{m['used']} rows used ({m['pathogenic']} pathogenic, {m['benign']} benign); left out: "
        f"{m['left_out_unscored']} labelled rows without a score (flagged), "
        f"{m['left_out_unlabelled']} unlabelled rows"
    )


__all__ = ["LABELS", "LabelCheck", "label_metrics", "label_reader", "metrics_text"]
