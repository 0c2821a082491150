"""``findna predict``: class probabilities of a fine-tuned classifier for sequences in a file.

The classifier and its directory format live in :mod:`findna.model.classifier`.

``findna predict --model DIR INPUT --out FILE.csv`` writes one row per input sequence (FASTA,
CSV/TSV or text, read as ``findna embed`` reads them) with the columns
``id, prob_<class> .. , predicted, predicted_label``: a probability column per class, named
after the classifier's class names (``prob_0``, ``prob_1`` for classes written as 0..C-1), the
argmax class index and its name. A table with a label column (``label``, or
``--label-column``) keeps it (after ``id``), and the metrics of the predictions against it are
printed and written to ``FILE.metrics.json``. ``FILE.meta.json`` records what made the
predictions (findna version and commit, the classifier, its weights id, the input's md5 and the
settings), as ``findna embed`` records its features.

Lengths (docs/reliability.md, "The length rule"): the input is read once for its lengths before
the model runs. A classifier takes inputs of at most its ``max_len`` tokens (CLS rows included),
the length its head was selected on; longer inputs are refused, naming the longest, unless
``allow_longer`` (``--allow-longer``) rebuilds the encoder for them (untrained blocks where they
need more, logged at WARNING). ``--model`` given a fine-tune report folder names its seed folders.
"""

from __future__ import annotations

import itertools
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from findna.config import check_device, normalize_precision
from findna.data.alphabet import OnInvalid
from findna.devices import resolve_device
from findna.eval.features import autocast
from findna.eval.length_rule import (
    InputLengths,
    classifier_length_error,
    network_length,
    scan_lengths,
)
from findna.eval.metrics import compute_metrics
from findna.model.classifier import (
    ClassifierInfo,
    SequenceClassifier,
    batch_tensors,
    load_classifier,
)
from findna.outputs import atomic_output, check_output_file, write_text_atomic

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


def open_classifier(model_dir: str | Path) -> tuple[SequenceClassifier, ClassifierInfo]:
    """:func:`~findna.model.classifier.load_classifier`, with a fine-tune report folder (which
    holds one classifier per seed, ``seed<k>/``) named as such and its seed folders listed.

    Raises:
        ValueError: ``model_dir`` is a fine-tune report folder, not a classifier.
    """
    path = Path(model_dir)
    if path.is_dir() and not (path / "task.json").is_file():
        seeds = sorted(
            (p for p in path.iterdir() if p.is_dir() and (p / "task.json").is_file()),
            key=lambda p: (len(p.name), p.name),
        )
        if seeds:
            names = ", ".join(p.name for p in seeds)
            raise ValueError(
                f"{path} is a fine-tune report folder, not a classifier: each seed's classifier "
                f"is a folder inside it. Pass one of them, e.g. --model {seeds[0]} (found: "
                f"{names})"
            )
        if (path / "finetune.json").is_file():
            raise ValueError(
                f"{path} is a fine-tune report folder, not a classifier, and holds no classifier "
                "(seed<k>/ folders): the fine-tune ran with --no-save or stopped before saving. "
                "Run `findna finetune` again without --no-save"
            )
    return load_classifier(path)


def input_limit(model: SequenceClassifier) -> int:
    """The longest input in bp ``model`` was fine-tuned for: its ``max_len`` minus CLS rows."""
    return model.encoder.config.max_len - model.n_cls


def fit_to_inputs(
    model: SequenceClassifier,
    info: ClassifierInfo,
    model_dir: str | Path,
    lengths: InputLengths,
    *,
    allow_longer: bool,
    where: str | Path,
    flag: str = "--allow-longer",
) -> SequenceClassifier:
    """``model`` itself for inputs it was fine-tuned for; for longer ones a refusal, or with
    ``allow_longer`` the classifier with its encoder rebuilt for them (docs/reliability.md).

    Raises:
        ValueError: inputs longer than the classifier's ``max_len`` and ``allow_longer`` False
            (:func:`~findna.eval.length_rule.classifier_length_error`).
    """
    from findna.model.loading import load_encoder

    max_len = model.encoder.config.max_len
    tokens = network_length(lengths.longest, model.n_cls)
    if tokens <= max_len:
        return model
    if not allow_longer:
        raise classifier_length_error(
            where, model_dir, lengths, model.n_cls, max_len, model.encoder.config, flag
        )
    log.warning(
        "%s: %d of %d sequence(s) are longer than the %d bp classifier %s was fine-tuned for "
        "(longest %d bp); scoring them as asked (%s), with the encoder rebuilt for %d tokens: "
        "the head was selected on shorter inputs",
        where,
        lengths.over,
        lengths.count,
        input_limit(model),
        model_dir,
        lengths.longest,
        flag,
        tokens,
    )
    encoder, _ = load_encoder(
        model_dir, max_len=tokens, length_mode=model.encoder.config.length_mode, seed=info.seed
    )
    longer = SequenceClassifier(
        encoder, info.num_classes, info.pooling, info.n_cls, info.head_kind, info.head_hidden
    )
    longer.head.load_state_dict(model.head.state_dict())
    return longer.eval()


LABEL_COLUMN = "label"


@dataclass
class Prediction:
    """What :func:`predict_file` wrote: the CSV, its rows, and the metrics against the input's
    labels (None when the input has none)."""

    out: Path
    rows: int
    metrics: dict[str, float] | None


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
    return {"rows": rows, **asdict(provenance)}


def input_labels(
    path: Path, info: ClassifierInfo, column: str | None = None
) -> tuple[list[str], np.ndarray] | None:
    """The label column of a table input (``column``, default ``label``), as written and as class
    indices of the classifier (integers ``0..C-1`` or its class names); None for FASTA/text, or
    a table without a ``label`` column when ``column`` is not given.

    Raises:
        ValueError: naming the row of a label that is neither, or a ``column`` given that the
            input lacks (or a FASTA/text input, which has no columns).
    """
    import pandas as pd

    from findna.data.readers import data_row, table_errors, table_separator
    from findna.eval.embed import input_format

    name = column or LABEL_COLUMN
    if input_format(path) != "table":
        if column is not None:
            raise ValueError(f"--label-column {column}: {path} is not a table; it has no columns")
        return None
    sep = table_separator(path)
    with table_errors(path, sep):
        header = pd.read_csv(path, sep=sep, nrows=0).columns.str.strip()
        if name not in header:
            if column is None:
                return None
            raise ValueError(
                f"{path}: no label column {column!r}; the header has {list(header)}. Fix "
                "--label-column, or drop it to score no labels."
            )
        values = pd.read_csv(
            path,
            sep=sep,
            dtype=str,
            keep_default_na=False,
            usecols=lambda c: c.strip() == name,
        )
    given = values.iloc[:, 0].str.strip().tolist()
    names = {name: i for i, name in enumerate(info.classes)}
    numbers = {str(i): i for i in range(info.num_classes)}
    lookup = names if all(v in names for v in given) else numbers
    bad = next((i for i, v in enumerate(given) if v not in lookup), None)
    if bad is not None:
        raise ValueError(
            f"{data_row(path, bad)}: label {given[bad]!r} is not a class of the classifier "
            f"(classes {info.classes}, or 0..{info.num_classes - 1}). Fix the label or drop the "
            f"{name!r} column."
        )
    return given, np.array([lookup[v] for v in given], dtype=np.int64)


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
    force: bool = False,
) -> Prediction:
    """Class probabilities of every sequence of a FASTA, CSV/TSV or text file, as CSV.

    The input is read by ``findna embed``'s reader (:func:`findna.eval.embed.read_sequences`)
    and streamed ``chunk_size`` sequences at a time, so memory does not grow with the input.
    Columns: ``id``, the input's labels (a table's ``label`` column or ``label_column``),
    ``prob_<class>`` per class (softmax, rows sum to 1), ``predicted`` (the argmax class index)
    and ``predicted_label`` (its name); ``sequence_column`` names a table's sequence column. The
    CSV is written to ``<out>.tmp-<pid>`` and renamed when complete, then ``OUT.meta.json``
    (:func:`prediction_provenance`). The input is read once before for its lengths: inputs
    longer than the classifier was fine-tuned for are refused unless ``allow_longer``
    (:func:`fit_to_inputs`).

    Returns:
        The CSV, its row count and, for a labelled table, the metrics (also written to
        ``OUT.metrics.json``).

    Raises:
        ValueError: ``out_path`` is the input file, a folder or not writable, a label is not a
            class of the classifier, or inputs are longer than it takes (without
            ``allow_longer``); ``model_dir`` is a fine-tune report folder.
        FileExistsError: ``out_path`` exists and ``force`` is False.
    """
    import pandas as pd

    from findna.eval.embed import read_sequences

    precision = normalize_precision(precision)
    dev = resolve_device(check_device(device))
    model, info = open_classifier(model_dir)
    # The settings and the model are valid; only now look at the output.
    out = check_output_file(out_path, force=force, inputs=[input_path, model_dir])
    labels = input_labels(Path(input_path), info, label_column)
    if labels is not None:
        check_output_file(metrics_path(out), force=force, inputs=[input_path])
    check_output_file(meta_path(out), force=force, inputs=[input_path])
    read = {"on_invalid": on_invalid, "sequence_column": sequence_column}
    lengths = scan_lengths(read_sequences(input_path, **read), input_limit(model))
    if lengths.count == 0:
        raise ValueError(f"{input_path}: no sequences found")
    model = fit_to_inputs(
        model, info, model_dir, lengths, allow_longer=allow_longer, where=input_path
    )
    model.to(dev)
    records = read_sequences(input_path, **read)
    total, all_probs = 0, []
    with atomic_output(out) as tmp, open(tmp, "w", newline="") as f:
        while block := list(itertools.islice(records, chunk_size)):
            ids, codes = zip(*block, strict=True)
            probs = predict_proba(
                model, codes, batch_size=batch_size, device=dev, precision=precision
            )
            frame = pd.DataFrame({"id": list(ids)})
            if labels is not None:
                frame[label_column or LABEL_COLUMN] = labels[0][total : total + len(ids)]
                all_probs.append(probs)
            for c, name in enumerate(info.classes):
                frame[f"prob_{name}"] = probs[:, c]
            frame["predicted"] = probs.argmax(axis=1)
            frame["predicted_label"] = np.asarray(info.classes, dtype=object)[frame["predicted"]]
            frame.to_csv(f, index=False, header=total == 0)
            total += len(frame)
        if total == 0:
            raise ValueError(f"{input_path}: no sequences found")
    log.info("wrote %d predictions of %s to %s", total, info.task, out)
    settings = {"batch_size": batch_size, "precision": precision, "device": str(dev)}
    settings |= {"allow_longer": allow_longer, **read}
    meta = prediction_provenance(model_dir, info, input_path, settings, total)
    write_text_atomic(meta_path(out), json.dumps(meta, indent=1) + "\n")
    if labels is None:
        return Prediction(out, total, None)
    metrics = compute_metrics(labels[1], np.concatenate(all_probs))
    with atomic_output(metrics_path(out)) as tmp:
        tmp.write_text(
            json.dumps(
                {"task": info.task, "rows": total, "primary": info.metric, "metrics": metrics},
                indent=1,
            )
            + "\n"
        )
    return Prediction(out, total, metrics)
