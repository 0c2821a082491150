"""``findna predict``: class probabilities of a fine-tuned classifier for sequences in a file.

The classifier and its directory format live in :mod:`findna.model.classifier`.

``findna predict --model DIR INPUT --out FILE.csv`` writes one row per input sequence (FASTA,
CSV/TSV or text, read as ``findna embed`` reads them) with the columns
``id, prob_0 .. prob_{C-1}, predicted``.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from findna.config import check_device, normalize_precision
from findna.data.alphabet import OnInvalid
from findna.devices import resolve_device
from findna.eval.features import autocast
from findna.model.classifier import SequenceClassifier, batch_tensors, load_classifier
from findna.outputs import atomic_output, check_output_file

log = logging.getLogger(__name__)


@torch.no_grad()
def predict_proba(
    model: SequenceClassifier,
    codes: Sequence[np.ndarray],
    *,
    batch_size: int = 128,
    device: torch.device | str = "cpu",
    precision: str = "auto",
) -> np.ndarray:
    """Softmax class probabilities of encoded sequences, in input order.

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
        probs = torch.softmax(logits.float(), dim=-1).double().cpu().numpy()
        if out is None:
            out = np.empty((len(codes), probs.shape[1]), dtype=np.float64)
        out[idx] = probs
    if out is None:
        raise ValueError("no sequences to predict")
    return out


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
    force: bool = False,
) -> Path:
    """Class probabilities of every sequence of a FASTA, CSV/TSV or text file, as CSV.

    The input is read by ``findna embed``'s reader (:func:`findna.eval.embed.read_sequences`)
    and streamed ``chunk_size`` sequences at a time, so memory does not grow with the input.
    Columns: ``id``, ``prob_0`` .. ``prob_{C-1}`` (softmax, rows sum to 1) and ``predicted``
    (the argmax class index). The CSV is written to ``<out>.tmp-<pid>`` and renamed when
    complete.

    Raises:
        ValueError: ``out_path`` is the input file, a folder or not writable.
        FileExistsError: ``out_path`` exists and ``force`` is False.
    """
    import pandas as pd

    from findna.eval.embed import read_sequences

    precision = normalize_precision(precision)
    dev = resolve_device(check_device(device))
    model, info = load_classifier(model_dir)
    # The settings and the model are valid; only now look at the output.
    out = check_output_file(out_path, force=force, inputs=[input_path, model_dir])
    model.to(dev)
    records = read_sequences(input_path, on_invalid=on_invalid)
    total = 0
    with atomic_output(out) as tmp, open(tmp, "w", newline="") as f:
        while block := list(itertools.islice(records, chunk_size)):
            ids, codes = zip(*block, strict=True)
            probs = predict_proba(model, codes, batch_size=batch_size, device=dev,
                                  precision=precision)  # fmt: skip
            frame = pd.DataFrame({"id": list(ids)})
            for c in range(info.num_classes):
                frame[f"prob_{c}"] = probs[:, c]
            frame["predicted"] = probs.argmax(axis=1)
            frame.to_csv(f, index=False, header=total == 0)
            total += len(frame)
        if total == 0:
            raise ValueError(f"{input_path}: no sequences found")
    log.info("wrote %d predictions of %s to %s", total, info.task, out)
    return out
