"""The models of a benchmark: ``[NAME=]SOURCE[:teacher|:student]`` specs and their ids."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from findna.model.loading import SCRATCH, default_model_name, resolve_source
from findna.provenance import checkpoint_id

WHICH_SUFFIXES = (":teacher", ":student")


@dataclass(frozen=True)
class ModelSpec:
    """One model of a benchmark: display name, source and which network of a run."""

    name: str
    source: str
    which: str = "teacher"

    @property
    def is_scratch(self) -> bool:
        return self.source == SCRATCH


def parse_models(specs: str | Sequence[str]) -> list[ModelSpec]:
    """Parse ``[NAME=]SOURCE[:teacher|:student]`` items (a comma-separated string or a list).

    Raises:
        ValueError: an empty list or item, an empty name, a repeated name.
    """
    items = specs.split(",") if isinstance(specs, str) else [s for x in specs for s in x.split(",")]
    items = [s.strip() for s in items]
    if not items or not any(items):
        raise ValueError(
            "no models given: pass --models SRC[,SRC...] e.g. findna=runs/tiny,scratch"
        )
    out: list[ModelSpec] = []
    for item in items:
        if not item:
            raise ValueError(f"empty model spec in {specs!r}; remove the doubled comma")
        name, sep, source = item.partition("=")
        if not sep:
            name, source = "", item
        elif not name.strip() or not source.strip():
            raise ValueError(f"model spec {item!r} must look like NAME=SOURCE[:student]")
        which = "teacher"
        for suffix in WHICH_SUFFIXES:
            if source.endswith(suffix):
                source, which = source[: -len(suffix)], suffix[1:]
        if source == SCRATCH and which == "student":
            raise ValueError(f"model spec {item!r}: scratch has no student/teacher")
        out.append(ModelSpec(name.strip() or default_model_name(source, which), source, which))
    names = [m.name for m in out]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(
            f"model name(s) {', '.join(repeated)} given twice; name them, e.g. a=RUN1,b=RUN2"
        )
    return out


def model_id(model: ModelSpec) -> str:
    """The id of a model's weights (sha256 of the file; ``-student`` appended), or ``scratch``."""
    resolved = resolve_source(model.source, model.which)  # raises for a missing source
    if resolved.weights is None:
        return SCRATCH
    return checkpoint_id(resolved.weights) + ("-student" if model.which == "student" else "")


__all__ = ["ModelSpec", "WHICH_SUFFIXES", "model_id", "parse_models"]
