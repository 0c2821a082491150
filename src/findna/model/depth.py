"""How many ChordMixer blocks a pretrained network runs downstream (issue 21).

ChordMixer has ``ceil(log2 max_len)`` blocks per layer, so a network rebuilt for a shorter task
than it was pretrained on drops pretrained blocks (a ``small`` network, 522 tokens and 10
blocks, runs 9 on the 500 bp EMP tasks). ``depth="length"`` (the default) keeps that;
``"pretrained"`` builds it for ``max(task, pretrained)`` tokens, so every pretrained block runs
(inputs may be shorter than ``max_len``; a longer task still gets fresh extra blocks).
"""

from __future__ import annotations

from findna.model.config import ModelConfig

DEPTHS = ("length", "pretrained")
"""The values of ``depth`` (``load_encoder``, ``probe.depth``)."""


def check_depth(depth: str) -> None:
    """Raise a ``ValueError`` naming the choices when ``depth`` is not one of :data:`DEPTHS`."""
    if depth not in DEPTHS:
        raise ValueError(f"depth must be one of {DEPTHS}, got {depth!r}")


def pretrained_depth_max_len(stored: ModelConfig, max_len: int | None) -> int | None:
    """The ``max_len`` that keeps every pretrained ChordMixer block: the larger of the task's
    and the pretrained one (None stays None: the stored length; a transformer: unchanged)."""
    if max_len is None or stored.backbone != "chordmixer":
        return max_len
    return max(max_len, stored.max_len)


__all__ = ["DEPTHS", "check_depth", "pretrained_depth_max_len"]
