"""A fine-tuned sequence classifier: the model and its directory format.

:class:`SequenceClassifier` is a ``FinDNANetwork`` encoder, a pooling of its token states and a
``ClassificationHead``. A saved classifier is a directory::

    DIR/config.json        the encoder's ModelConfig   } FinDNANetwork.save_pretrained, so DIR is
    DIR/model.safetensors  the encoder's weights       } also a valid encoder source for probing
    DIR/head.safetensors   the classification head
    DIR/task.json          ClassifierInfo: task, task type, output names, pooling, CLS count,
                           max_len, metric (and a regression model's target standardisation)
    DIR/README.md, tokenizer_config.json, *.py and config.json's Hugging Face keys: for
                           transformers' AutoModelForSequenceClassification (docs/huggingface.md)

Task types (issue 23): a ``classification`` head gives class logits (softmax: probabilities); a
``regression`` head gives the targets standardised by the TRAINING split's mean and sd, which
``task.json`` records (``target_mean``, ``target_std``: values in the targets' units are
``outputs * target_std + target_mean``, ``findna.eval.predict.model_outputs``); a ``multilabel``
head gives one logit per label (sigmoid: probabilities). ``classes`` names the outputs in order:
classes, targets or labels. Classification folders are written as before (format version 1, no
task-type keys), so older findna versions read them; regression and multi-label folders are
version 2. A ``per_base`` model (a class per base: a ``TokenClassifier``, the head on every token
state, no pooling, no CLS rows) is version 3: ``classes`` are its one-character class names,
``pooling`` is ``none`` and ``n_cls`` 0. A folder without a
task type (every folder written before issue 23) is a classifier, read exactly as before.

Batching (:func:`batch_tensors`) is that of :mod:`findna.model.inputs`, as in frozen-feature
extraction, so outputs are the same in training, evaluation and prediction.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import Tensor, nn

from findna.data.alphabet import one_hot
from findna.model.heads import ClassificationHead, pool, pooled_dim
from findna.model.hf.card import classifier_card
from findna.model.hf.remote import write_hf_files
from findna.model.inputs import fixed_pad_length, pad_codes
from findna.model.network import FinDNANetwork
from findna.model.pooling import CLS_POOLINGS
from findna.model.token_classifier import PER_BASE_POOLING, TokenClassifier
from findna.outputs import share_as_umask
from findna.version import __version__

CLASSIFIER_FORMAT = "findna-classifier"
CLASSIFIER_VERSION = 2
"""The format version of regression and multi-label folders (classification ones write 1)."""
CLASSIFICATION_VERSION = 1
PER_BASE_VERSION = 3
"""The format version of per-base folders."""
SAVED_TASK_TYPES = ("classification", "regression", "multilabel", "per_base")
"""The task types (``findna.data.task_spec.TASK_TYPES``) a saved model can have."""
VERSIONS = {"classification": CLASSIFICATION_VERSION, "per_base": PER_BASE_VERSION}
"""Task type -> the format version its folders are written with (else CLASSIFIER_VERSION)."""


@dataclass
class ClassifierInfo:
    """What ``task.json`` records about a fine-tuned classifier.

    Attributes:
        task: the task it was fine-tuned on.
        num_classes: C, the number of outputs (classes, regression targets or labels).
        classes: the outputs' names in order: class names (``"0"``.. when the task has none),
            a regression task's target names or a multi-label task's label names.
        pooling: pooling of the token states (see ``findna.model.heads.pool``).
        n_cls: all-zero CLS rows appended after each sequence.
        max_len: the longest input in tokens the encoder was built for (CLS included).
        metric: the task's primary metric.
        head_kind: ``linear`` or ``mlp``. head_hidden: hidden width of the ``mlp`` head.
        source_model: id of the pretrained weights it started from (or ``scratch-seed<k>``).
        seed: the fine-tuning seed.
        findna_version: the version that wrote it.
        task_type: ``classification``, ``regression``, ``multilabel`` or ``per_base``.
        target_mean, target_std: regression only: each target's mean and sd on the training
            split (the head predicts ``(y - mean) / sd``); None for the other types.
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
    findna_version: str = field(default=__version__)
    task_type: str = "classification"
    target_mean: list[float] | None = None
    target_std: list[float] | None = None

    def to_json(self) -> dict[str, Any]:
        """``task.json``'s content: version 1 without the task-type keys for a classifier (the
        format older findna versions read), version 3 for a per-base model, 2 otherwise."""
        meta = asdict(self)
        version = VERSIONS.get(self.task_type, CLASSIFIER_VERSION)
        if self.task_type == "classification":
            for key in ("task_type", "target_mean", "target_std"):
                del meta[key]
        return {"format": CLASSIFIER_FORMAT, "version": version, **meta}


class SequenceClassifier(nn.Module):
    """Encoder -> pooling -> classification head.

    Args:
        encoder: the backbone network (its per-token head is not used).
        num_classes: C.
        pooling: a ``findna.model.pooling.POOLINGS`` entry.
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
        return fixed_pad_length(self.encoder, self.pooling)

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


def build_classifier(
    encoder: FinDNANetwork, info: ClassifierInfo
) -> SequenceClassifier | TokenClassifier:
    """A fresh model of ``info``'s shape on ``encoder``: a :class:`TokenClassifier` for a
    per-base model (the head on every token), else a :class:`SequenceClassifier`."""
    if info.task_type == "per_base":
        head = ClassificationHead(
            encoder.config.width,
            info.num_classes,
            kind=info.head_kind,  # type: ignore[arg-type]
            hidden=info.head_hidden,
        )
        return TokenClassifier(encoder, head)
    return SequenceClassifier(
        encoder, info.num_classes, info.pooling, info.n_cls, info.head_kind, info.head_hidden
    )


def batch_tensors(
    model: SequenceClassifier | TokenClassifier, codes: Sequence[np.ndarray]
) -> tuple[Tensor, Tensor]:
    """One padded one-hot batch for ``model`` (the batching of ``findna.model.inputs``).

    Returns:
        ``x`` (B, L, 5) float32 one-hot (CLS/padding rows zero) and ``lengths`` (B,) int64 =
        L_i + CLS rows.
    """
    padded, lengths = pad_codes(list(codes), model.n_cls, model.pad_length)
    return one_hot(torch.from_numpy(padded)), torch.from_numpy(lengths)


def save_classifier(
    model: SequenceClassifier | TokenClassifier, info: ClassifierInfo, out_dir: str | Path
) -> Path:
    """Write ``config.json``, ``model.safetensors``, ``head.safetensors`` and ``task.json``
    (``info`` checked first: :func:`check_info`); returns the folder."""
    check_info(info, "ClassifierInfo", "build it from the task's outputs")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    model.encoder.save_pretrained(out)
    head = {k: v.detach().cpu().contiguous() for k, v in model.head.state_dict().items()}
    save_file(head, str(out / "head.safetensors"))
    share_as_umask(out / "head.safetensors")
    (out / "task.json").write_text(json.dumps(info.to_json(), indent=2) + "\n")
    arch = "FinDNAForTokenClassification" if info.task_type == "per_base" else None
    write_hf_files(out, arch or "FinDNAForSequenceClassification", asdict(info), info.classes)
    (out / "README.md").write_text(classifier_card(model.encoder, asdict(info), out.name))
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
    version = meta.get("version")
    known = (CLASSIFICATION_VERSION, CLASSIFIER_VERSION, PER_BASE_VERSION)
    if version not in known:
        raise ValueError(
            f"{path}: classifier version {version!r} is not one of {', '.join(map(str, known))}"
            "; re-run `findna finetune` with this findna version"
        )
    meta = {k: v for k, v in meta.items() if k not in ("format", "version")}
    if version == CLASSIFICATION_VERSION:
        new = [k for k in ("task_type", "target_mean", "target_std") if k in meta]
        if new:
            raise ValueError(f"{path}: malformed task.json: version 1 has no {', '.join(new)}")
    kind = meta.get("task_type", "classification")
    if (version == PER_BASE_VERSION) != (kind == "per_base"):  # older versions read as before
        raise ValueError(f"{path}: malformed task.json: version {version} has no {kind} models")
    try:
        info = ClassifierInfo(**meta)
    except TypeError as err:
        raise ValueError(f"{path}: malformed task.json: {err}") from None
    return check_info(
        info, str(path), "the folder is damaged or was edited by hand; fine-tune again"
    )


def check_info(info: ClassifierInfo, where: str, fix: str) -> ClassifierInfo:
    """``info`` itself when its task type, output names and standardisation agree.

    Raises:
        ValueError: naming ``where`` (and saying ``fix``): an unknown task type, ``classes``
            not ``num_classes`` long, a regression model without a finite ``target_mean`` and
            positive ``target_std`` per target, or another type with them; a per-base model
            whose classes are not distinct single characters, or that pools or has CLS rows.
    """
    kind, n = info.task_type, info.num_classes
    problem = None
    if kind not in SAVED_TASK_TYPES:
        problem = f"task_type {kind!r} is not one of {', '.join(SAVED_TASK_TYPES)}"
    elif len(info.classes) != n:
        problem = f"{len(info.classes)} names in classes for num_classes {n}"
    elif kind == "regression":
        for name in ("target_mean", "target_std"):
            values = getattr(info, name)
            numbers = isinstance(values, list) and all(
                isinstance(v, int | float) and not isinstance(v, bool) for v in values
            )
            if not numbers or len(values) != n:
                problem = f"{name} must list one number per target ({n}), got {values!r}"
                break
            array = np.asarray(values, dtype=np.float64)
            if not np.all(np.isfinite(array)) or (name == "target_std" and np.any(array <= 0)):
                problem = f"{name} holds a non-finite{' or non-positive' * (name == 'target_std')}"
                problem += f" value: {values!r}"
                break
    elif info.target_mean is not None or info.target_std is not None:
        problem = f"a {kind} model has no target_mean/target_std"
    elif kind == "per_base" and (
        any(len(c) != 1 for c in info.classes) or len(set(info.classes)) != n
    ):
        problem = f"a per_base model's classes must be distinct single characters: {info.classes}"
    elif kind == "per_base" and (info.pooling != PER_BASE_POOLING or info.n_cls != 0):
        problem = f"a per_base model has pooling {PER_BASE_POOLING!r} and n_cls 0"
        problem += f", got {info.pooling!r} and {info.n_cls}"
    if problem is not None:
        raise ValueError(f"{where}: {problem}; {fix}")
    return info


def load_classifier(
    model_dir: str | Path, map_location: str = "cpu"
) -> tuple[SequenceClassifier | TokenClassifier, ClassifierInfo]:
    """Rebuild a model saved by :func:`save_classifier` (strict loading), in eval mode: a
    :class:`TokenClassifier` for a per-base model, else a :class:`SequenceClassifier`."""
    model_dir = Path(model_dir)
    info = read_info(model_dir)
    encoder = FinDNANetwork.from_pretrained(model_dir, map_location=map_location)
    model = build_classifier(encoder, info)
    head_path = model_dir / "head.safetensors"
    if not head_path.is_file():
        raise FileNotFoundError(f"{head_path} does not exist; the classifier is incomplete")
    try:
        model.head.load_state_dict(load_file(str(head_path), device=map_location), strict=True)
    except RuntimeError as err:  # size mismatch or missing/unexpected keys
        first = str(err).strip().splitlines()
        raise ValueError(
            f"{head_path} does not match {model_dir / 'task.json'} ({info.num_classes} classes, "
            f"{info.head_kind} head, pooling {info.pooling}): {first[-1].strip() if first else err}"
            "; the folder mixes files of different classifiers, fine-tune it again"
        ) from None
    return model.eval(), info


__all__ = [
    "PER_BASE_VERSION",
    "SAVED_TASK_TYPES",
    "ClassifierInfo",
    "SequenceClassifier",
    "TokenClassifier",
    "batch_tensors",
    "build_classifier",
    "load_classifier",
    "check_info",
    "read_info",
    "save_classifier",
]
