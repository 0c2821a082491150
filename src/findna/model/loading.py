"""Where downstream models come from: a pretrained directory, run, checkpoint, or ``"scratch"``.

:func:`load_encoder` turns a model *source* into a ``FinDNANetwork`` rebuilt for a task:

- an HF-style directory (``config.json`` + ``model.safetensors``, from ``save_pretrained`` or
  ``findna export``);
- a pretraining run directory (``RUN/model`` for the teacher, else ``RUN/checkpoints/final.ckpt``
  or ``last.ckpt``; the student is only in the checkpoints);
- a ``.ckpt`` file written by ``findna pretrain``;
- the string ``"scratch"``: a random network built from a ``ModelConfig``.

The network is rebuilt with the task's ``max_len`` (blocks per ChordMixer layer =
``ceil(log2 max_len)``) at the pretrained width and track size, and the pretrained weights are
copied in by name (docs/method.md §5.1): extra blocks stay at a fresh, seeded initialisation,
blocks the task network lacks are dropped. The returned ``model_id`` names the weights (sha256 of
the file) so that feature caches and reports can tell models apart.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file

from findna.config import config_from_dict
from findna.model.config import ModelConfig
from findna.model.depth import check_depth, pretrained_depth_max_len
from findna.model.network import (
    BackboneLoadReport,
    FinDNANetwork,
    load_pretrained_backbone_,
    model_config_from_json,
)
from findna.provenance import checkpoint_id

log = logging.getLogger(__name__)

SCRATCH = "scratch"
WHICH = ("teacher", "student")
LENGTH_MODES = ("fixed", "length_aware")
_CKPT_NAMES = ("final.ckpt", "last.ckpt")


@dataclass(frozen=True)
class ResolvedSource:
    """What a source string points at.

    Attributes:
        kind: ``"hf_dir"``, ``"checkpoint"`` or ``"scratch"``.
        weights: the weights file (``model.safetensors`` or the ``.ckpt``); None for scratch.
        which: ``"teacher"`` or ``"student"``.
    """

    kind: str
    weights: Path | None
    which: str


def run_checkpoint(run_dir: str | Path) -> Path | None:
    """A pretraining run's newest complete checkpoint: ``final.ckpt``, else ``last.ckpt``."""
    for name in _CKPT_NAMES:
        path = Path(run_dir) / "checkpoints" / name
        if path.is_file():
            return path
    return None


def resolve_source(source: str | Path, which: str = "teacher") -> ResolvedSource:
    """Find the weights file behind a model source without loading it.

    Raises:
        ValueError: ``which`` is unknown, or a student is asked of an HF directory.
        FileNotFoundError: the path does not exist or holds no findna model.
    """
    if which not in WHICH:
        raise ValueError(f"which must be 'teacher' or 'student', got {which!r}")
    if str(source) == SCRATCH:
        return ResolvedSource(SCRATCH, None, which)
    path = Path(source)
    if path.is_file():
        if path.suffix != ".ckpt":
            raise ValueError(
                f"model source {path} is a file but not a .ckpt checkpoint; pass a findna "
                "checkpoint, a directory with config.json + model.safetensors, a pretraining run "
                "directory, or 'scratch'"
            )
        return ResolvedSource("checkpoint", path, which)
    if not path.is_dir():
        raise FileNotFoundError(
            f"model source {str(source)!r} does not exist; pass a directory with config.json + "
            "model.safetensors, a pretraining run directory, a .ckpt file, or 'scratch'"
        )
    if (path / "config.json").is_file() and (path / "model.safetensors").is_file():
        if which == "student":
            raise ValueError(
                f"{path} is an exported model (one network); the student is only in the "
                "pretraining checkpoints: pass RUN/checkpoints/final.ckpt with which='student'"
            )
        return ResolvedSource("hf_dir", path / "model.safetensors", which)
    model_dir = path / "model"
    if which == "teacher" and (model_dir / "model.safetensors").is_file():
        return ResolvedSource("hf_dir", model_dir / "model.safetensors", which)
    ckpt = run_checkpoint(path)
    if ckpt is not None:
        return ResolvedSource("checkpoint", ckpt, which)
    raise FileNotFoundError(
        f"{path} holds no findna model: expected config.json + model.safetensors, or a run "
        f"directory with model/ or checkpoints/{{{','.join(_CKPT_NAMES)}}}"
    )


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load a findna checkpoint on the CPU.

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: the file is truncated, corrupt, or not a findna pretraining checkpoint.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} does not exist")
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as err:  # torch raises several types for damaged zip/pickle data
        raise ValueError(
            f"checkpoint {path} is corrupt or truncated ({type(err).__name__}: {err}); resume from "
            "an earlier checkpoint or start the run again with --force"
        ) from None
    meta = ckpt.get("findna") if isinstance(ckpt, dict) else None
    if not isinstance(meta, dict) or "config" not in meta or "state_dict" not in ckpt:
        raise ValueError(
            f"{path} is not a findna pretraining checkpoint (no 'findna' metadata or state_dict)"
        )
    return ckpt


def checkpoint_network(
    ckpt: dict[str, Any], which: str = "teacher", where: str = "checkpoint"
) -> tuple[ModelConfig, dict[str, torch.Tensor]]:
    """The model config and the teacher (or student) state dict, prefix removed, of a checkpoint.

    Raises:
        ValueError: ``which`` is unknown, or the checkpoint holds no such network (cm-mnm runs
            have no teacher).
    """
    if which not in ("teacher", "student"):
        raise ValueError(f"which must be 'teacher' or 'student', got {which!r}")
    cfg = config_from_dict(ModelConfig, ckpt["findna"]["config"]["model"], f"{where} model config")
    prefix = f"model.{which}."
    state = {k[len(prefix) :]: v for k, v in ckpt["state_dict"].items() if k.startswith(prefix)}
    if not state:
        raise ValueError(
            f"{where} holds no {which} weights (a cm-mnm run has no teacher: use the student)"
        )
    return cfg, state


def network_from_checkpoint(ckpt: dict[str, Any], which: str = "teacher") -> FinDNANetwork:
    """Rebuild the teacher (or student) ``FinDNANetwork`` stored in a pretraining checkpoint."""
    cfg, state = checkpoint_network(ckpt, which)
    net = FinDNANetwork(cfg)
    net.load_state_dict(state, strict=True)
    return net.eval()


_BLOCK = re.compile(r"^backbone\.layers\.\d+\.blocks\.(\d+)\.")


def _block_index(name: str) -> int | None:
    match = _BLOCK.match(name)
    return int(match.group(1)) if match else None


def _check_complete(
    report: BackboneLoadReport, stored: ModelConfig, cfg: ModelConfig, weights: Path | None
) -> tuple[list[str], list[str]]:
    """Split the tensors the load left fresh or unused into those the block counts explain
    (``(fresh, dropped)``, returned) and those only a damaged or foreign file explains (raised).

    A network built for longer inputs than pretraining has extra ChordMixer blocks (fresh); one
    built for shorter inputs needs fewer (the pretrained extra blocks are unused). Any other
    missing or unexpected tensor means the weights do not belong to this architecture.

    Raises:
        ValueError: naming the missing and unexpected tensors.
    """

    def new_block(name: str) -> bool:
        return (_block_index(name) or -1) >= stored.n_blocks_per_layer

    def unused_block(name: str) -> bool:
        return (_block_index(name) or -1) >= cfg.n_blocks_per_layer

    def listed(names: list[str]) -> str:
        return ", ".join(names[:5]) + (" ..." if len(names) > 5 else "")

    missing = [n for n in report.fresh if not new_block(n)]
    unexpected = [n for n in report.skipped if not unused_block(n)]
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(
                f"{len(missing)} tensor(s) the network needs are missing ({listed(missing)})"
            )
        if unexpected:
            parts.append(f"{len(unexpected)} tensor(s) are not part of it ({listed(unexpected)})")
        raise ValueError(
            f"{weights}: {'; '.join(parts)}. The weights are incomplete or belong to another "
            "architecture; export the model again (`findna export RUN --out DIR`) or check its "
            "config.json"
        )
    return [n for n in report.fresh if new_block(n)], [n for n in report.skipped if unused_block(n)]


def _read_pretrained(resolved: ResolvedSource) -> tuple[ModelConfig, dict[str, torch.Tensor]]:
    """The stored config and the chosen network's state dict (prefix removed)."""
    assert resolved.weights is not None
    if resolved.kind == "hf_dir":
        folder = resolved.weights.parent
        import json

        try:
            raw: Any = json.loads((folder / "config.json").read_text())
        except json.JSONDecodeError as err:
            raise ValueError(f"{folder / 'config.json'}: not valid JSON: {err}") from None
        cfg = model_config_from_json(raw, str(folder / "config.json"))
        try:
            state = load_file(resolved.weights)
        except Exception as err:  # safetensors raises its own error types on damaged files
            raise ValueError(
                f"{resolved.weights} is not a readable safetensors file ({err}); export the "
                "model again with `findna export`"
            ) from None
        return cfg, state
    ckpt = read_checkpoint(resolved.weights)
    return checkpoint_network(ckpt, resolved.which, str(resolved.weights))


def _seeded_network(cfg: ModelConfig, seed: int) -> FinDNANetwork:
    """A freshly initialised network; the global RNG state is restored afterwards."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return FinDNANetwork(cfg)


def default_model_name(source: str | Path, which: str = "teacher") -> str:
    """A short name for a source: ``scratch``, or the run's (or file's) name.

    ``RUN``, ``RUN/model`` and ``RUN/checkpoints/final.ckpt`` are all named after ``RUN``; the
    student gets ``-student`` appended.
    """
    if str(source) == SCRATCH:
        return SCRATCH
    path = Path(source)
    if path.suffix == ".ckpt":
        path = path.parent.parent if path.parent.name == "checkpoints" else path.with_suffix("")
    if path.name == "model" and path.parent.name:
        path = path.parent
    name = path.resolve().name if path.name in ("", ".", "..") else path.name
    return f"{name}-student" if which == "student" else name


def depth_max_len(source: str | Path, which: str, max_len: int | None, depth: str) -> int | None:
    """The ``max_len`` :func:`load_encoder` gets for ``depth`` (``"length"``: ``max_len``;
    ``"pretrained"``: :func:`findna.model.depth.pretrained_depth_max_len` of the stored config;
    a scratch network has no pretrained depth)."""
    check_depth(depth)
    if depth == "length" or max_len is None:
        return max_len
    resolved = resolve_source(source, which)
    if resolved.kind == SCRATCH:
        return max_len
    return pretrained_depth_max_len(_read_pretrained(resolved)[0], max_len)


def load_encoder(
    source: str | Path,
    *,
    which: str = "teacher",
    max_len: int | None = None,
    length_mode: str = "length_aware",
    seed: int = 0,
    scratch_config: ModelConfig | None = None,
    depth: str = "length",
) -> tuple[FinDNANetwork, str]:
    """Build the network a downstream task uses, with pretrained weights where there are any.

    Args:
        source: an HF model dir, a pretraining run dir, a ``.ckpt`` file, or ``"scratch"``.
        which: ``"teacher"`` (downstream default, docs/method.md §2.4) or ``"student"`` (checkpoints
        only). max_len: the longest input in tokens (appended CLS tokens included) the task network
            is built for; sets ``ceil(log2 max_len)`` blocks per layer. None keeps the stored
            (or scratch) config's value.
        length_mode: ``"length_aware"`` (padding never mixes into real tokens) or ``"fixed"``
            (the paper's rotation modulo the padded length).
        seed: initialises the scratch network and any extra (fresh) blocks; the global RNG is
            not touched.
        scratch_config: the architecture for ``"scratch"`` (default ``ModelConfig()``, the
            paper's). Its width was resolved at its own ``max_len`` when it was made, like a
            pretrained model's, so only the block count follows the task.
        depth: the ChordMixer blocks per layer of a pretrained network (issue 21):
            ``"length"`` (default) ``ceil(log2 max_len)`` of the task, so a shorter task drops
            pretrained blocks; ``"pretrained"`` at least the pretrained count: the network is
            built for ``max(max_len, pretrained max_len)`` tokens (inputs may be shorter), so no
            pretrained block is dropped (a longer task still gets fresh extra blocks).
            :func:`pretrained_depth_max_len` gives that length.

    Returns:
        ``(network, model_id)``: the network on the CPU in eval mode, and the sha256 of the
        weights file (suffixed ``-student`` for the student, ``+fresh-seed<seed>`` when
        some embedding/backbone weights are freshly initialised, and ``+depth-pretrained`` when
        ``depth`` kept blocks the task's length would drop), or ``"scratch-seed<seed>"``.

    Raises:
        ValueError: bad arguments, unreadable weights, or a stored config that does not match.
        FileNotFoundError: the source does not exist.
    """
    if length_mode not in LENGTH_MODES:
        raise ValueError(f"length_mode must be one of {LENGTH_MODES}, got {length_mode!r}")
    if max_len is not None and (not isinstance(max_len, int) or max_len < 2):
        raise ValueError(f"max_len must be an integer >= 2 (tokens, CLS included), got {max_len!r}")
    resolved = resolve_source(source, which)
    if resolved.kind == SCRATCH:
        base = scratch_config if scratch_config is not None else ModelConfig()
        cfg = replace(base, max_len=max_len or base.max_len, length_mode=length_mode)
        net = _seeded_network(cfg, seed)
        log.info(
            "scratch %s network, %d blocks per layer, seed %d",
            cfg.backbone,
            cfg.n_blocks_per_layer,
            seed,
        )
        return net.eval(), f"scratch-seed{seed}"
    check_depth(depth)
    stored, state = _read_pretrained(resolved)
    deeper = depth == "pretrained" and pretrained_depth_max_len(stored, max_len) != max_len
    if deeper:
        max_len = pretrained_depth_max_len(stored, max_len)
    if stored.backbone == "transformer":
        # A learned position table has exactly stored.max_len rows: shorter inputs use its first
        # rows, longer ones have no trained positions at all.
        if max_len is not None and max_len > stored.max_len:
            raise ValueError(
                f"{source}: the transformer was built for {stored.max_len} tokens and cannot embed "
                f"{max_len}; truncate the inputs or pretrain with a larger model.max_len"
            )
        max_len = stored.max_len
    cfg = replace(stored, max_len=max_len or stored.max_len, length_mode=length_mode)
    net = _seeded_network(cfg, seed)
    report = load_pretrained_backbone_(net, state, include_head=True)
    fresh, dropped = _check_complete(report, stored, cfg, resolved.weights)
    if fresh or dropped:
        log.warning(
            "%s from %s: built for max_len %d, %d blocks per layer (pretrained: %d for max_len "
            "%d); %d tensors of the extra blocks start fresh (seed %d), %d tensors of the blocks "
            "it does not need are unused (docs/method.md §5.1)",
            which,
            resolved.weights,
            cfg.max_len,
            cfg.n_blocks_per_layer,
            stored.n_blocks_per_layer,
            stored.max_len,
            len(fresh),
            seed,
            len(dropped),
        )
    else:
        log.info("%s from %s: all %d tensors loaded", which, resolved.weights, len(report.loaded))
    model_id = checkpoint_id(resolved.weights)
    if resolved.kind == "checkpoint" and which == "student":
        model_id += "-student"
    if fresh:
        model_id += f"+fresh-seed{seed}"
    if deeper:  # another network than depth="length" builds (cached features must differ)
        model_id += "+depth-pretrained"
    return net.eval(), model_id


__all__ = [
    "SCRATCH",
    "ResolvedSource",
    "checkpoint_network",
    "default_model_name",
    "load_encoder",
    "depth_max_len",
    "network_from_checkpoint",
    "read_checkpoint",
    "resolve_source",
    "run_checkpoint",
]
