"""``FinDNANetwork``: embedding -> backbone -> per-token head (one of student / teacher).

``Linear(in_channels -> d)`` projects one-hot tokens (all-zero rows for padding, mask and CLS
tokens), the backbone (ChordMixer or Transformer) mixes them, and ``Linear(d -> out_channels)``
is applied to every token (docs/method.md §2.2; the MNM and the shared contrastive head both
read it).

Saving/loading goes through ``huggingface_hub.PyTorchModelHubMixin``: ``save_pretrained(dir)``
writes ``config.json`` (the resolved ``ModelConfig`` as a plain dict) and ``model.safetensors``;
``FinDNANetwork.from_pretrained(dir)`` rebuilds the network from that dict (strictly validated)
and loads the weights strictly. No pickle is involved.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from huggingface_hub import PyTorchModelHubMixin, constants
from torch import Tensor, nn

from findna.config import config_from_dict, config_to_dict
from findna.model.chordmixer import ChordMixer
from findna.model.config import ModelConfig
from findna.model.rotation import check_rotation
from findna.model.special_inputs import SpecialInputEmbedding
from findna.model.transformer import TransformerBackbone
from findna.outputs import share_as_umask

logger = logging.getLogger(__name__)


@dataclass
class NetworkOutput:
    """Output of ``FinDNANetwork.forward``.

    Attributes:
        hidden: (B, L, d) backbone outputs (what downstream tasks pool).
        logits: (B, L, out_channels) per-token head outputs (MNM and contrastive logits).
    """

    hidden: Tensor
    logits: Tensor


def build_backbone(config: ModelConfig, rotation: str = "auto") -> nn.Module:
    """The backbone named by ``config.backbone``; maps (B, L, d), lengths -> (B, L, d).

    ``rotation``: the ChordMixer rotation implementation (``findna.model.rotation``); it is
    checked for every backbone and used by ChordMixer only.
    """
    check_rotation(rotation)
    if config.backbone == "chordmixer":
        return ChordMixer(config, rotation=rotation)
    return TransformerBackbone(config)


HF_CONFIG_KEYS = frozenset(
    {
        "model_type",
        "architectures",
        "auto_map",
        "transformers_version",
        "classifier",
        "id2label",
        "label2id",
        "dtype",
        "torch_dtype",
        "pretraining_n_cls",
        "problem_type",
        "use_cache",
    }
)
"""Keys of ``config.json`` that are for ``transformers`` (written by findna.model.hf.remote, or
by ``save_pretrained`` of the ``transformers`` classes: ``problem_type`` of a regression or
multi-label head, ``use_cache`` after ``Trainer``) or record how the network was pretrained
(``pretraining_n_cls``, read by ``findna.model.cls_rows``), not fields of ``ModelConfig``; every
other key must be a ``ModelConfig`` field."""


def model_config_from_json(raw: Any, where: str = "model config") -> ModelConfig:
    """The ``ModelConfig`` of a ``config.json`` dict, strictly validated.

    The Hugging Face keys (:data:`HF_CONFIG_KEYS`) are set aside; ``model_type``, when present,
    must be ``findna``. Any other unknown key is an error naming it.
    """
    if not isinstance(raw, Mapping):
        raise ValueError(f"{where}: expected a mapping, got {type(raw).__name__}")
    model_type = raw.get("model_type", "findna")
    if model_type != "findna":
        raise ValueError(
            f"{where}: model_type is {model_type!r}, not 'findna': this folder holds another "
            "kind of model; load it with transformers, or give a findna export"
        )
    fields = {k: v for k, v in raw.items() if k not in HF_CONFIG_KEYS}
    return config_from_dict(ModelConfig, fields, where)


def _as_config(config: ModelConfig | Mapping[str, Any]) -> ModelConfig:
    if isinstance(config, ModelConfig):
        return config
    if isinstance(config, Mapping):
        return model_config_from_json(config, "model config")
    raise ValueError(f"config must be a ModelConfig or a dict, got {type(config).__name__}")


class FinDNANetwork(
    nn.Module,
    PyTorchModelHubMixin,
    library_name="findna",
    tags=["dna", "chordmixer", "self-distillation"],
):
    """Embedding, backbone and per-token linear head.

    Args:
        config: a ``ModelConfig`` or its dict form (as stored in ``config.json``).
        rotation: how the ChordMixer backbone rotates (``findna.model.rotation.ROTATION_IMPLS``;
            ``auto`` by default). A speed setting, not architecture: it is not written to
            ``config.json``; change it on a built network with :meth:`set_rotation`.
    """

    def __init__(self, config: ModelConfig | dict, rotation: str = "auto") -> None:
        super().__init__()
        cfg = _as_config(config)
        self.config = cfg
        # The hub mixin writes this dict as config.json; store the resolved, complete config so
        # that a checkpoint does not depend on the defaults of a later findna version.
        self._hub_mixin_config = config_to_dict(cfg)
        d = cfg.width
        self.embed: nn.Linear = (
            SpecialInputEmbedding(cfg.in_channels, d, cfg.cls_rows)
            if cfg.special_inputs == "distinct"
            else nn.Linear(cfg.in_channels, d)
        )
        self.backbone = build_backbone(cfg, rotation)
        self.head = nn.Linear(d, cfg.out_channels)

    @property
    def rotation(self) -> str:
        """The rotation implementation of the backbone (``auto`` for a transformer)."""
        return getattr(self.backbone, "rotation", "auto")

    def set_rotation(self, rotation: str) -> None:
        """Rotate with ``rotation`` from now on (this network only; a transformer has no
        rotation, so only the name is checked)."""
        check_rotation(rotation)
        if isinstance(self.backbone, ChordMixer):
            self.backbone.set_rotation(rotation)

    def _check_inputs(self, x: Tensor, lengths: Tensor | None) -> Tensor | None:
        if x.dim() != 3 or x.shape[-1] != self.config.in_channels:
            raise ValueError(
                f"expected one-hot input of shape (batch, length, {self.config.in_channels}), "
                f"got {tuple(x.shape)}; encode sequences with findna.data.alphabet.one_hot"
            )
        if lengths is None:
            return None
        if lengths.shape != (x.shape[0],) or lengths.dtype.is_floating_point:
            raise ValueError(
                f"lengths must be an integer tensor of shape ({x.shape[0]},), "
                f"got {lengths.dtype} {tuple(lengths.shape)}"
            )
        if int(lengths.min()) < 1 or int(lengths.max()) > x.shape[1]:
            raise ValueError(
                f"lengths must lie in [1, {x.shape[1]}] (the padded length), got "
                f"min {int(lengths.min())} max {int(lengths.max())}"
            )
        return lengths.to(device=x.device, dtype=torch.long)

    def encode(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        """Hidden states without the head.

        Args:
            x: (B, L, in_channels) float one-hot (or noisy one-hot) tokens.
            lengths: (B,) int real lengths (CLS included), or None when nothing is padded.
                ChordMixer uses it only in ``length_aware`` mode; the transformer masks
                padded keys with it.

        Returns:
            (B, L, d) hidden states.
        """
        lengths = self._check_inputs(x, lengths)
        return self.backbone(self.embed_inputs(x, lengths), lengths)

    def embed_inputs(self, x: Tensor, lengths: Tensor | None = None) -> Tensor:
        """(B, L, d) the input layer's output (with ``special_inputs=distinct`` the vector of
        each special row's kind added; ``lengths`` marks padding)."""
        if isinstance(self.embed, SpecialInputEmbedding):
            return self.embed(x, lengths)
        return self.embed(x)

    def forward(self, x: Tensor, lengths: Tensor | None = None) -> NetworkOutput:
        """Hidden states and per-token logits; see ``encode`` for the arguments.

        Returns:
            ``NetworkOutput`` with hidden (B, L, d) and logits (B, L, out_channels).
        """
        hidden = self.encode(x, lengths)
        return NetworkOutput(hidden=hidden, logits=self.head(hidden))

    def _save_pretrained(self, save_directory: Path) -> None:
        """The mixin's save (``model.safetensors``), readable as the umask allows: safetensors
        writes it readable by its owner only."""
        super()._save_pretrained(save_directory)
        share_as_umask(Path(save_directory) / constants.SAFETENSORS_SINGLE_FILE)

    @classmethod
    def _from_pretrained(  # type: ignore[override]
        cls,
        *,
        model_id: str,
        revision: str | None,
        cache_dir: str | os.PathLike | None,
        force_download: bool,
        local_files_only: bool,
        token: str | bool | None,
        map_location: str = "cpu",
        strict: bool = True,
        **model_kwargs: Any,
    ) -> FinDNANetwork:
        """Like the mixin's, but strict by default and quiet for a local directory."""
        if not os.path.isdir(model_id):
            return super()._from_pretrained(
                model_id=model_id,
                revision=revision,
                cache_dir=cache_dir,
                force_download=force_download,
                local_files_only=local_files_only,
                token=token,
                map_location=map_location,
                strict=strict,
                **model_kwargs,
            )
        if "config" not in model_kwargs:
            raise FileNotFoundError(
                f"{model_id}: no {constants.CONFIG_NAME}; it must come from save_pretrained"
            )
        weights = os.path.join(model_id, constants.SAFETENSORS_SINGLE_FILE)
        if not os.path.isfile(weights):
            raise FileNotFoundError(f"{weights} does not exist; it must come from save_pretrained")
        model = cls(**model_kwargs)
        return cls._load_as_safetensor(model, weights, map_location, strict)


@dataclass
class BackboneLoadReport:
    """What ``load_pretrained_backbone_`` did, by parameter name of the target model.

    Attributes:
        loaded: target entries copied from the state dict.
        fresh: target entries with no counterpart (kept at their fresh initialisation), e.g.
            the extra blocks of a network built for longer inputs, or the head.
        skipped: state-dict entries not used (other prefixes, the head, blocks the target lacks).
    """

    loaded: list[str] = field(default_factory=list)
    fresh: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def load_pretrained_backbone_(
    model: FinDNANetwork,
    state_dict: Mapping[str, Tensor],
    prefix: str = "",
    include_head: bool = False,
) -> BackboneLoadReport:
    """Copy pretrained ``embed.*`` and ``backbone.*`` weights into ``model`` by name, in place.

    This is how a downstream network (e.g. 4 layers x 13 blocks for 4776 bp inputs) reuses a
    pretrained one (4 x 10 blocks): matching blocks are loaded, extra blocks stay fresh, and
    blocks or layers the target lacks are skipped (docs/method.md §5.1).

    Args:
        model: the target network (modified in place).
        state_dict: pretrained weights, e.g. ``load_file("model.safetensors")`` or a
            student/teacher state dict with ``prefix="teacher."``.
        prefix: only keys starting with it are considered, with it removed.
        include_head: also load ``head.*`` (off by default: the pretraining head is discarded).

    Returns:
        A ``BackboneLoadReport``.

    Raises:
        ValueError: a matching name has a different shape (e.g. another ``d_model``).
    """
    wanted = ("embed.", "backbone.") + (("head.",) if include_head else ())
    target = model.state_dict()
    report = BackboneLoadReport()
    updates: dict[str, Tensor] = {}
    for key, value in state_dict.items():
        name = key[len(prefix) :] if key.startswith(prefix) else None
        if name is None or not name.startswith(wanted) or name not in target:
            report.skipped.append(key)
            continue
        if tuple(value.shape) != tuple(target[name].shape):
            raise ValueError(
                f"pretrained {key} has shape {tuple(value.shape)} but the model's {name} has "
                f"{tuple(target[name].shape)}: build the model with the pretrained d_model/hidden"
            )
        updates[name] = value
    report.loaded = [name for name in target if name in updates]
    report.fresh = [name for name in target if name not in updates]
    with torch.no_grad():
        params = dict(model.named_parameters())
        params.update(dict(model.named_buffers()))
        for name, value in updates.items():
            params[name].copy_(value.to(dtype=params[name].dtype, device=params[name].device))
    logger.info(
        "loaded %d pretrained tensors, %d kept fresh, %d skipped",
        len(report.loaded),
        len(report.fresh),
        len(report.skipped),
    )
    return report


def count_parameters(model: nn.Module) -> int:
    """Number of parameters (trainable or not)."""
    return sum(p.numel() for p in model.parameters())


__all__ = [
    "HF_CONFIG_KEYS",
    "BackboneLoadReport",
    "FinDNANetwork",
    "ModelConfig",
    "NetworkOutput",
    "build_backbone",
    "count_parameters",
    "load_pretrained_backbone_",
    "model_config_from_json",
]
