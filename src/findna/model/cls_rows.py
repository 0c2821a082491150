"""How many all-zero CLS rows a model's inputs get downstream: as many as it was pretrained with
(``ssl.n_cls``, read from its run or checkpoint) unless the settings say otherwise, else the
paper's 10. Used by the feature, fine-tuning and variant-scoring settings alike."""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from findna.config import read_yaml
from findna.model.pooling import CLS_POOLINGS

log = logging.getLogger(__name__)

DEFAULT_N_CLS = 10
"""CLS rows appended when neither the settings nor the model say how many (the paper's K)."""


def config_n_cls(config: Mapping[str, Any]) -> int | None:
    """``ssl.n_cls`` of a run config as a dict (``config.yaml``, or a checkpoint's
    ``["findna"]["config"]``); None if absent."""
    ssl = config.get("ssl")
    value = ssl.get("n_cls") if isinstance(ssl, Mapping) else None
    return value if isinstance(value, int) else None


def pretraining_n_cls(source: str | Path, which: str) -> int | None:
    """The CLS rows the source was pretrained with (``ssl.n_cls``); None when nothing says.

    Read from the run's ``config.yaml`` (a run directory, ``RUN/model`` or
    ``RUN/checkpoints/*.ckpt``), else from a checkpoint's stored config, else from an export's
    ``config.json`` (``pretraining_n_cls``, written by ``findna export``). Exports written
    before findna recorded it, and ``scratch``, carry no such setting.
    """
    from findna.model.loading import SCRATCH, resolve_source  # torch: only when a source is read

    if str(source) == SCRATCH:
        return None
    resolved = resolve_source(source, which)
    assert resolved.weights is not None
    run_config = resolved.weights.parent.parent / "config.yaml"
    if resolved.weights.parent.name in ("model", "checkpoints") and run_config.is_file():
        value = config_n_cls(read_yaml(run_config))
    elif resolved.kind == "checkpoint":
        stat = resolved.weights.stat()
        value = _stored_n_cls(str(resolved.weights), stat.st_mtime_ns, stat.st_size)
    else:
        try:
            raw = json.loads((resolved.weights.parent / "config.json").read_text())
        except json.JSONDecodeError:
            return None  # the model loader reports the broken file, naming it
        value = raw.get("pretraining_n_cls") if isinstance(raw, dict) else None
    return value if isinstance(value, int) else None


@functools.lru_cache(maxsize=16)
def _stored_n_cls(path: str, mtime_ns: int, size: int) -> int | None:
    """``ssl.n_cls`` of a checkpoint file, read once per file version (keyed by its mtime and
    size): a benchmark asks it for every probe, and a paper-scale checkpoint is large."""
    from findna.model.loading import read_checkpoint

    return config_n_cls(read_checkpoint(path)["findna"]["config"])


def source_n_cls(source: str | Path, which: str, given: int | None) -> int:
    """The CLS rows to append for ``source``: ``given``, else as in its pretraining
    (:func:`pretraining_n_cls`), else :data:`DEFAULT_N_CLS`. A ``given`` count that differs
    from the pretraining one is kept, with a warning."""
    stored = pretraining_n_cls(source, which)
    if given is not None and stored is not None and given != stored:
        log.warning(
            "n_cls %d differs from the %d CLS rows %s was pretrained with", given, stored, source
        )
    return given if given is not None else stored if stored is not None else DEFAULT_N_CLS


def cls_rows(pooling: str, n_cls: int | None) -> int:
    """CLS rows a pooling appends: ``n_cls`` (None: :data:`DEFAULT_N_CLS`) for the CLS poolings,
    else 0."""
    if pooling not in CLS_POOLINGS:
        return 0
    return DEFAULT_N_CLS if n_cls is None else n_cls


def pooling_n_cls(pooling: str, n_cls: int | None, source: str | Path, which: str) -> int | None:
    """``n_cls`` of a pooling's settings for one source: a CLS pooling's count is resolved by
    :func:`source_n_cls`; other poolings read no CLS rows and keep theirs."""
    return source_n_cls(source, which, n_cls) if pooling in CLS_POOLINGS else n_cls


__all__ = [
    "DEFAULT_N_CLS",
    "cls_rows",
    "config_n_cls",
    "pooling_n_cls",
    "pretraining_n_cls",
    "source_n_cls",
]
