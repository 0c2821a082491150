"""A fine-tuned sequence classifier: the model, its directory format and ``findna predict``.

:class:`SequenceClassifier` is a ``FinDNANetwork`` encoder, a pooling of its token states and a
``ClassificationHead``. A saved classifier is a directory::

    DIR/config.json        the encoder's ModelConfig   } FinDNANetwork.save_pretrained, so DIR is
    DIR/model.safetensors  the encoder's weights       } also a valid encoder source for probing
    DIR/head.safetensors   the classification head
    DIR/task.json          ClassifierInfo: task, classes, pooling, CLS count, max_len, metric

``findna predict --model DIR INPUT --out FILE.csv`` writes one row per input sequence (FASTA,
CSV/TSV or text, read as ``findna embed`` reads them) with the columns
``id, prob_0 .. prob_{C-1}, predicted``.

Batching (:func:`batch_tensors`) is that of frozen-feature extraction (``findna.eval.features``):
one-hot rows, ``n_cls`` all-zero CLS rows after each sequence's real tokens for the CLS poolings,
right-padding with all-zero rows to the batch's longest sequence for a ``length_aware`` encoder
(a sequence's output does not depend on its batch), or to the encoder's ``max_len`` for a
``fixed``-mode ChordMixer or ``mean`` pooling, so outputs are the same in training, evaluation
and prediction.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import Tensor, nn

import findna
from findna.data.alphabet import OnInvalid, one_hot
from findna.eval.features import (  # the batching of frozen-feature extraction, shared
    CLS_POOLINGS,
    FeatureConfig,
    fixed_pad_length,
    pad_codes,
    resolve_device,
    to_codes,
)
from findna.model.heads import ClassificationHead, pool, pooled_dim
from findna.model.network import FinDNANetwork

log = logging.getLogger(__name__)

CLASSIFIER_FORMAT = "findna-classifier"
CLASSIFIER_VERSION = 1
PRECISIONS = ("auto", "32-true", "bf16-mixed", "16-mixed")


@dataclass
class ClassifierInfo:
    """What ``task.json`` records about a fine-tuned classifier.

    Attributes:
        task: the task it was fine-tuned on.
        num_classes: C, the width of the probabilities.
        classes: class names in label order (``"0"``.. when the task has none).
        pooling: pooling of the token states (see ``findna.model.heads.pool``).
        n_cls: all-zero CLS rows appended after each sequence.
        max_len: the longest input in tokens the encoder was built for (CLS included).
        metric: the task's primary metric.
        head_kind: ``linear`` or ``mlp``. head_hidden: hidden width of the ``mlp`` head.
        source_model: id of the pretrained weights it started from (or ``scratch-seed<k>``).
        seed: the fine-tuning seed.
        findna_version: the version that wrote it.
    """

    task: str
    num_classes: int
    classes: list[str]
    pooling: str
    n_cls: int
    max_len: int
    metric: str
    head_kind: str = "linear"
    head_hidden: int = 256
    source_model: str = ""
    seed: int = 0
    findna_version: str = field(default=findna.__version__)


class SequenceClassifier(nn.Module):
    """Encoder -> pooling -> classification head.

    Args:
        encoder: the backbone network (its per-token head is not used).
        num_classes: C.
        pooling: a ``findna.model.heads.POOL_MODES`` entry.
        n_cls: CLS rows appended after each sequence (``cls`` poolings only; else 0).
        head_kind: ``linear`` or ``mlp``. head_hidden: hidden width of the ``mlp`` head.
    """

    def __init__(
        self,
        encoder: FinDNANetwork,
        num_classes: int,
        pooling: str = "masked_mean",
        n_cls: int = 0,
        head_kind: str = "linear",
        head_hidden: int = 256,
    ) -> None:
        super().__init__()
        self.encoder = encoder
        self.pooling = pooling
        self.n_cls = n_cls if pooling in CLS_POOLINGS else 0
        d = pooled_dim(encoder.config.width, pooling)  # type: ignore[arg-type]
        self.head = ClassificationHead(d, num_classes, kind=head_kind, hidden=head_hidden)  # type: ignore[arg-type]

    @property
    def pad_length(self) -> int | None:
        """Fixed padded length of every batch (``fixed`` mode or ``mean`` pooling), else None."""
        view = FeatureConfig(pooling=self.pooling, n_cls=self.n_cls)  # type: ignore[arg-type]
        return fixed_pad_length(self.encoder, view)

    def forward(self, x: Tensor, lengths: Tensor) -> Tensor:
        """Class logits.

        Args:
            x: (B, L, 5) one-hot tokens, CLS and padding rows all zero.
            lengths: (B,) real lengths, CLS rows included.

        Returns:
            (B, C) logits.
        """
        hidden = self.encoder.encode(x, lengths)  # (B, L, d)
        pooled = pool(hidden, lengths, self.pooling, self.n_cls)  # type: ignore[arg-type]
        return self.head(pooled)


def encode_sequences(seqs: Sequence[str], source: str = "input") -> list[np.ndarray]:
    """Every sequence as (L_i,) uint8 codes; an empty sequence or invalid character raises."""
    try:
        return [to_codes(s, i) for i, s in enumerate(seqs)]
    except ValueError as err:
        raise ValueError(f"{source}: {err}") from None


def batch_tensors(model: SequenceClassifier, codes: Sequence[np.ndarray]) -> tuple[Tensor, Tensor]:
    """One padded one-hot batch for ``model`` (the batching of ``findna.eval.features``).

    Returns:
        ``x`` (B, L, 5) float32 one-hot (CLS/padding rows zero) and ``lengths`` (B,) int64 =
        L_i + CLS rows.
    """
    padded, lengths = pad_codes(list(codes), model.n_cls, model.pad_length)
    return one_hot(torch.from_numpy(padded)), torch.from_numpy(lengths)


def autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    """The autocast context of a Lightning-style precision name (``auto`` = bf16 on CUDA only)."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision {precision!r} is not one of {', '.join(PRECISIONS)}")
    if precision == "auto":
        precision = "bf16-mixed" if device.type == "cuda" else "32-true"
    if precision == "32-true":
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if precision == "bf16-mixed" else torch.float16
    return torch.autocast(device.type, dtype=dtype)


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
        precision: ``auto``, ``32-true``, ``bf16-mixed`` or ``16-mixed``.

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


def save_classifier(model: SequenceClassifier, info: ClassifierInfo, out_dir: str | Path) -> Path:
    """Write ``config.json``, ``model.safetensors``, ``head.safetensors`` and ``task.json``."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.encoder.save_pretrained(out)
    head = {k: v.detach().cpu().contiguous() for k, v in model.head.state_dict().items()}
    save_file(head, str(out / "head.safetensors"))
    meta = {"format": CLASSIFIER_FORMAT, "version": CLASSIFIER_VERSION, **asdict(info)}
    (out / "task.json").write_text(json.dumps(meta, indent=2) + "\n")
    return out


def read_info(model_dir: str | Path) -> ClassifierInfo:
    """``task.json`` of a saved classifier, validated."""
    path = Path(model_dir) / "task.json"
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} does not exist: --model must be a directory written by `findna finetune` "
            "(config.json, model.safetensors, head.safetensors, task.json)"
        )
    try:
        meta: dict[str, Any] = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{path}: not valid JSON: {err}") from None
    if not isinstance(meta, dict) or meta.get("format") != CLASSIFIER_FORMAT:
        raise ValueError(f"{path}: not a findna classifier (format != {CLASSIFIER_FORMAT!r})")
    if meta.get("version") != CLASSIFIER_VERSION:
        raise ValueError(
            f"{path}: classifier version {meta.get('version')!r} is not {CLASSIFIER_VERSION}; "
            "re-run `findna finetune` with this findna version"
        )
    meta = {k: v for k, v in meta.items() if k not in ("format", "version")}
    try:
        return ClassifierInfo(**meta)
    except TypeError as err:
        raise ValueError(f"{path}: malformed task.json: {err}") from None


def load_classifier(
    model_dir: str | Path, map_location: str = "cpu"
) -> tuple[SequenceClassifier, ClassifierInfo]:
    """Rebuild a classifier saved by :func:`save_classifier` (strict loading), in eval mode."""
    model_dir = Path(model_dir)
    info = read_info(model_dir)
    encoder = FinDNANetwork.from_pretrained(model_dir, map_location=map_location)
    model = SequenceClassifier(
        encoder, info.num_classes, info.pooling, info.n_cls, info.head_kind, info.head_hidden
    )
    head_path = model_dir / "head.safetensors"
    if not head_path.is_file():
        raise FileNotFoundError(f"{head_path} does not exist; the classifier is incomplete")
    model.head.load_state_dict(load_file(str(head_path), device=map_location), strict=True)
    return model.eval(), info


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
) -> Path:
    """Class probabilities of every sequence of a FASTA, CSV/TSV or text file, as CSV.

    The input is read by ``findna embed``'s reader (:func:`findna.eval.embed.read_sequences`)
    and streamed ``chunk_size`` sequences at a time, so memory does not grow with the input.
    Columns: ``id``, ``prob_0`` .. ``prob_{C-1}`` (softmax, rows sum to 1) and ``predicted``
    (the argmax class index). The CSV is written to ``<out>.tmp`` and renamed when complete.
    """
    import pandas as pd

    from findna.eval.embed import read_sequences

    dev = resolve_device(device)
    model, info = load_classifier(model_dir)
    model.to(dev)
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    records = read_sequences(input_path, on_invalid=on_invalid)
    total = 0
    with open(tmp, "w", newline="") as f:
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
        tmp.unlink()
        raise ValueError(f"{input_path}: no sequences found")
    os.replace(tmp, out)
    log.info("wrote %d predictions of %s to %s", total, info.task, out)
    return out
