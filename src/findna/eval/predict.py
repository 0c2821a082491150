"""``findna predict``: what a fine-tuned model predicts for sequences in a file.

The model and its directory format live in :mod:`findna.model.classifier`; the columns and
truths of regression and multi-label models in :mod:`findna.eval.predict_outputs`.

``findna predict --model DIR INPUT --out FILE.csv`` writes one row per input sequence (FASTA,
CSV/TSV or text, read as ``findna embed`` reads them) with the columns ``id, prob_<class> .. ,
predicted, predicted_label``: a probability column per class, named after the classifier's class
names (``prob_0``, ``prob_1`` for classes written as 0..C-1), the argmax class index and its name. A
table with a label column (``label``, or ``--label-column``) keeps it (after ``id``), and the
metrics of the predictions against it are printed and written to ``FILE.metrics.json`` (and each
split's, when a ``split`` column holds train or val rows:
:func:`~findna.eval.predict_outputs.table_splits`). ``FILE.meta.json`` records what made the
predictions (findna version and commit, the classifier, its weights id, the input's md5 and the
settings), as ``findna embed`` records its features. A regression model writes ``pred_<target>`` per
target (in the targets' units), a multi-label model ``prob_<label>`` per label and
``predicted_labels`` (threshold 0.5, or ``--threshold``); their tables' truth columns are scored the
same way (:mod:`findna.eval.predict_outputs`); ``OUT.meta.json`` names the task type. A per-base
model writes ``predicted_labels``, a class character per base, its probabilities to
``--per-base-probs FILE.npy`` and its label strings are scored per base
(:mod:`findna.eval.predict_per_base`).

Lengths (docs/reliability.md, "The length rule"): the input is read once for its lengths before
the model runs. A classifier takes inputs of at most its ``max_len`` tokens (CLS rows included),
the length its head was selected on; longer inputs are refused, naming the longest, unless
``allow_longer`` (``--allow-longer``) rebuilds the encoder for them (untrained blocks where they
need more, logged at WARNING). ``--model`` given a fine-tune report folder names its seed folders
(:mod:`findna.eval.predict_model`).
"""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from findna.config import check_device, normalize_precision
from findna.data.alphabet import OnInvalid
from findna.devices import resolve_device
from findna.eval.features import autocast
from findna.eval.length_rule import scan_lengths
from findna.eval.predict_model import Model, fit_to_inputs, input_limit, open_classifier
from findna.eval.predict_outputs import (
    check_threshold,
    input_labels,
    output_columns,
    score,
    split_scores,
    table_splits,
)
from findna.eval.predict_per_base import (
    PerBaseOutputs,
    check_probs_path,
    counting,
    open_probs_file,
    per_base_probs,
)
from findna.eval.regression import Standardiser
from findna.eval.task_types import task_kind
from findna.model.classifier import ClassifierInfo, SequenceClassifier, batch_tensors
from findna.outputs import atomic_output, check_output_file, json_text, write_text_atomic
from findna.precision import choose_precision

log = logging.getLogger(__name__)


@torch.no_grad()
def predict_proba(
    model: SequenceClassifier,
    codes: Sequence[np.ndarray],
    *,
    batch_size: int = 128,
    device: torch.device | str = "cpu",
    precision: str = "auto",
    raw: bool = False,
) -> np.ndarray:
    """Softmax class probabilities of encoded sequences, in input order (``raw``: the head's
    outputs as they are, a regression model's standardised values).

    Sequences are sorted by length before batching (less padding) and the order is restored.
    The model is put in eval mode and left there.

    Args:
        model: the classifier (already on ``device``).
        codes: N arrays of (L_i,) uint8 codes (see :func:`encode_sequences`).
        batch_size: sequences per forward pass.
        device: where ``model`` lives.
        precision: ``auto``, ``32-true``, ``bf16-mixed`` or ``16-mixed``
            (:data:`findna.config.PRECISIONS`).

    Returns:
        (N, C) float64 probabilities; rows sum to 1.
    """
    device = torch.device(device)
    model.eval()
    order = np.argsort([len(c) for c in codes], kind="stable")
    out: np.ndarray | None = None
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        x, lengths = batch_tensors(model, [codes[i] for i in idx])
        with autocast(device, precision):
            logits = model(x.to(device), lengths.to(device))
        outputs = logits.float() if raw else torch.softmax(logits.float(), dim=-1)
        probs = outputs.double().cpu().numpy()
        if out is None:
            out = np.empty((len(codes), probs.shape[1]), dtype=np.float64)
        out[idx] = probs
    if out is None:
        raise ValueError("no sequences to predict")
    return out


def model_outputs(
    model: Model, info: ClassifierInfo, codes: Sequence[np.ndarray], **kwargs
) -> np.ndarray | list[np.ndarray]:
    """What a saved model predicts for encoded sequences, by its task type (``info``).

    Args:
        model, codes, kwargs: as :func:`predict_proba` (batch size, device, precision).

    Returns:
        (N, C) float64: class probabilities (rows sum to 1), a regression model's values in the
        targets' units (the head's standardised outputs times the training sd plus the mean, as
        ``task.json`` records them), or a multi-label model's per-label probabilities (sigmoid);
        :func:`findna.eval.task_types.task_kind`'s ``predictions``. A per-base model: a list of
        N float32 (L_i, C) arrays, each base's class probabilities
        (:func:`~findna.eval.predict_per_base.per_base_probs`).
    """
    if info.task_type == "per_base":
        return per_base_probs(model, codes, **kwargs)  # type: ignore[arg-type]
    kind = task_kind(info.task_type)
    outputs = predict_proba(model, codes, raw=kind.raw_outputs, **kwargs)
    return np.asarray(kind.predictions(outputs, training_scaling(info)), dtype=np.float64)


def training_scaling(info: ClassifierInfo) -> Standardiser | None:
    """A regression model's training standardisation (``task.json``'s ``target_mean`` and
    ``target_std``); None for the other types."""
    if info.target_mean is None or info.target_std is None:
        return None
    return Standardiser(np.asarray(info.target_mean), np.asarray(info.target_std))


@dataclass
class Prediction:
    """What :func:`predict_file` wrote: the CSV, its rows, and the metrics against the input's
    labels or targets (None when the input has none); ``per_split``: those of each split of a table
    whose split column (``split``, or ``split_column``) holds rows other than test rows (split ->
    ``{"rows": n, "metrics": {...}}``; :func:`~findna.eval.predict_outputs.table_splits`), else
    None."""

    out: Path
    rows: int
    metrics: dict[str, float] | None
    per_split: dict[str, dict] | None = None


def metrics_path(out: Path) -> Path:
    """``pred.csv`` -> ``pred.metrics.json``."""
    return out.with_suffix(".metrics.json")


def meta_path(out: Path) -> Path:
    """``pred.csv`` -> ``pred.meta.json``: what made the predictions."""
    return out.with_suffix(".meta.json")


def prediction_provenance(
    model_dir: str | Path,
    info: ClassifierInfo,
    input_path: str | Path,
    settings: dict,
    rows: int,
) -> dict:
    """What made a prediction file: findna's version and commit, the date and machine, the
    classifier (folder, task, classes, source model, seed, weights id), the input's md5, the
    settings and the row count (:class:`findna.provenance.Provenance`)."""
    from dataclasses import asdict

    from findna.provenance import Provenance

    classifier = {"folder": str(model_dir), **asdict(info)}
    provenance = Provenance.collect(
        {"predict": settings, "classifier": classifier},
        checkpoint_path=Path(model_dir) / "model.safetensors",
        data_files={"input": [Path(input_path)]},
    )
    return {"rows": rows, "task_type": info.task_type, **asdict(provenance)}


def predict_file(
    model_dir: str | Path,
    input_path: str | Path,
    out_path: str | Path,
    *,
    batch_size: int = 128,
    chunk_size: int = 65536,
    device: str = "auto",
    precision: str = "auto",
    on_invalid: OnInvalid = "error",
    allow_longer: bool = False,
    label_column: str | None = None,
    sequence_column: str | None = None,
    split_column: str | None = None,
    threshold: float | None = None,
    per_base_probs_path: str | Path | None = None,
    force: bool = False,
) -> Prediction:
    """What a fine-tuned model predicts for every sequence of a FASTA, CSV/TSV or text file, as
    CSV (a classifier's class probabilities; a regression model's ``pred_<target>`` values, a
    multi-label model's ``prob_<label>`` and ``predicted_labels`` at ``threshold``:
    :mod:`findna.eval.predict_outputs`).

    The input is read by ``findna embed``'s reader (:func:`findna.eval.embed.read_sequences`) and
    streamed ``chunk_size`` sequences at a time, so memory does not grow with the input. Columns:
    ``id``, the input's truths (a table's ``label`` column or ``label_column``; a regression or
    multi-label model's columns named after its targets or labels, or ``label_column`` ``a,b``),
    then for a classifier ``prob_<class>`` per class (softmax, rows sum to 1), ``predicted`` (the
    argmax class index) and ``predicted_label`` (its name); for a regression model
    ``pred_<target>``; for a multi-label one ``prob_<label>`` and ``predicted_labels``
    (``threshold``, None: 0.5, multi-label models only); ``sequence_column`` names a table's
    sequence column, ``split_column`` its split column (None: ``split``), whose splits are scored
    apart too when it holds train or val rows. A per-base model writes ``predicted_labels`` (a class
    character per base) and, to ``per_base_probs_path`` (``.npy``), every base's class
    probabilities; its truths are label strings, scored per base
    (:mod:`findna.eval.predict_per_base`). The CSV is written to ``<out>.tmp-<pid>`` and renamed
    when complete, then ``OUT.meta.json`` (:func:`prediction_provenance`). The input is read once
    before for its lengths: inputs longer than the classifier was fine-tuned for are refused unless
    ``allow_longer`` (:func:`fit_to_inputs`).

    Returns:
        The CSV, its row count and, for a labelled table, the metrics, and each split's when
        its split column holds train or val rows (also written to ``OUT.metrics.json``,
        undefined values as null).

    Raises:
        ValueError: ``out_path`` is the input file, a folder or not writable, a label is not a
            class of the classifier (or a truth cell is bad), ``split_column`` is not a column
            of the input or is given for an input without truths, ``threshold`` is given for a
            model that is not multi-label or is not in (0, 1), or inputs are longer than it
            takes (without ``allow_longer``); ``model_dir`` is a fine-tune report folder.
        FileExistsError: ``out_path`` exists and ``force`` is False.
    """
    import pandas as pd

    from findna.data.readers import data_row
    from findna.eval.embed import read_sequences

    precision = normalize_precision(precision)
    dev = resolve_device(check_device(device))
    model, info = open_classifier(model_dir)
    threshold = check_threshold(threshold, info)
    probs_path = check_probs_path(per_base_probs_path, info)
    # The settings and the model are valid; only now look at the output.
    out = check_output_file(out_path, force=force, inputs=[input_path, model_dir])
    if probs_path is not None:
        check_output_file(probs_path, force=force, inputs=[input_path, model_dir, out])
    labels = input_labels(Path(input_path), info, label_column)
    splits = None
    if labels is not None:
        check_output_file(metrics_path(out), force=force, inputs=[input_path])
        splits = table_splits(Path(input_path), split_column)
    elif split_column is not None:
        raise ValueError(
            f"--split-column {split_column}: {input_path} has no labels or targets to score, so "
            "there is nothing to score per split. Drop --split-column, or name the truth "
            "columns (--label-column)."
        )
    check_output_file(meta_path(out), force=force, inputs=[input_path])
    read = {"on_invalid": on_invalid, "sequence_column": sequence_column}
    bases = [0]
    lengths = scan_lengths(counting(read_sequences(input_path, **read), bases), input_limit(model))
    if lengths.count == 0:
        raise ValueError(f"{input_path}: no sequences found")
    model = fit_to_inputs(
        model, info, model_dir, lengths, allow_longer=allow_longer, where=input_path
    )
    model.to(dev)
    records = read_sequences(input_path, **read)
    total, all_probs, per_base = 0, [], None
    with ExitStack() as stack:
        f = stack.enter_context(open(stack.enter_context(atomic_output(out)), "w", newline=""))
        if info.task_type == "per_base":
            probs_file = None
            if probs_path is not None:
                tmp = stack.enter_context(atomic_output(probs_path))
                probs_file = open_probs_file(tmp, bases[0], info.num_classes)
            truths = None if labels is None else list(labels[1])
            per_base = PerBaseOutputs(
                info, truths, lambda i: data_row(input_path, i), probs_file, splits
            )
        while block := list(itertools.islice(records, chunk_size)):
            ids, codes = zip(*block, strict=True)
            probs = model_outputs(
                model, info, codes, batch_size=batch_size, device=dev, precision=precision
            )
            frame = pd.DataFrame({"id": list(ids)})
            if labels is not None:
                for name, cells in labels[0].items():
                    frame[name] = cells[total : total + len(ids)]
                if per_base is None:  # a per-base model's truths are scored chunk by chunk
                    all_probs.append(probs)
            if per_base is not None:
                columns = per_base.chunk(codes, probs)  # type: ignore[arg-type]
            else:
                columns = output_columns(info, probs, threshold)  # type: ignore[arg-type]
            for name, values in columns.items():
                frame[name] = values
            frame.to_csv(f, index=False, header=total == 0)
            total += len(frame)
        if total == 0:
            raise ValueError(f"{input_path}: no sequences found")
        if per_base is not None:
            per_base.close()  # the probabilities flushed before their file is renamed
    log.info("wrote %d predictions of %s to %s", total, info.task, out)
    # what ran, not only what was asked: auto resolves by the device (findna.precision)
    ran = choose_precision(precision, dev).record()
    settings = {"batch_size": batch_size, **ran, "device": str(dev)}
    settings |= {"allow_longer": allow_longer, **read, "split_column": split_column}
    if info.task_type == "multilabel":
        settings["threshold"] = threshold
    if info.task_type == "per_base":
        settings["per_base_probs"] = None if probs_path is None else str(probs_path)
    meta = prediction_provenance(model_dir, info, input_path, settings, total)
    write_text_atomic(meta_path(out), json.dumps(meta, indent=1) + "\n")
    if labels is None:
        return Prediction(out, total, None)
    if per_base is not None:
        metrics, per_split = per_base.metrics(), per_base.split_metrics()
    else:
        outputs = np.concatenate(all_probs)
        metrics = score(info, labels[1], outputs)
        per_split = None if splits is None else split_scores(info, labels[1], outputs, splits)
    scored = {"task": info.task, "rows": total, "primary": info.metric, "metrics": metrics}
    if per_split is not None:
        scored["per_split"] = per_split
    write_text_atomic(metrics_path(out), json_text(scored))  # undefined metrics: null
    return Prediction(out, total, metrics, per_split)
