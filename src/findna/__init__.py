"""findna: self-distillation pretraining (FinDNA) of ChordMixer DNA sequence models.

The Python API (docs/api.md) is importable from here; it loads on first use, so that
``import findna`` and ``findna --help`` stay fast::

    import findna

    net = findna.load_model("scratch", scratch="tiny")
    features = findna.embed(net, ["ACGTACGTAC", "GGGCCCAATT"])  # (2, d) float32
"""

from __future__ import annotations

from typing import Any

from findna.version import __version__

_API = (
    "Embedder",
    "benchmark",
    "embed",
    "embed_to_file",
    "encode",
    "finetune",
    "load_model",
    "load_task",
    "predict",
    "pretrain",
    "probe",
    "score_variants",
)


def __getattr__(name: str) -> Any:
    if name in _API:
        from findna import api

        return getattr(api, name)
    raise AttributeError(f"module 'findna' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *_API])


__all__ = ["__version__", *_API]
