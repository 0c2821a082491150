"""findna networks as ``transformers`` models: base, masked-LM and sequence-classification.

Each class builds a ``FinDNANetwork`` and registers its modules under the same names
(``embed``, ``backbone``, ``head``), so the weights of a findna export load as they are and a
``save_pretrained`` from ``transformers`` writes findna's tensor names back. The forward pass is
``FinDNANetwork.encode`` itself (one implementation for findna and ``transformers``):

- ``input_ids`` (B, L) are findna codes (``FinDNATokenizer``: A=0 C=1 G=2 T=3 N=4; ids 5, 6, 7 =
  ``[PAD]``, ``[MASK]``, ``[CLS]`` are the all-zero one-hot row) and ``attention_mask`` (B, L),
  right padding only, gives the ``lengths``;
- ``output_hidden_states=True`` adds the per-token states after the embedding and after each
  backbone layer (ChordMixer layer or transformer layer); the last equals ``last_hidden_state``.

A fine-tuned classifier keeps its head in ``head.safetensors`` (findna's classifier format), which
``FinDNAForSequenceClassification.from_pretrained`` reads after the encoder. Like the
configuration, this file is copied into exports for ``trust_remote_code`` (see remote.py).
"""

from __future__ import annotations

import re
from typing import Any

import torch
import torch.nn.functional as F
from safetensors.torch import load_file
from torch import Tensor
from transformers import PreTrainedModel
from transformers.modeling_outputs import BaseModelOutput, MaskedLMOutput, SequenceClassifierOutput
from transformers.utils import cached_file

from findna.data.alphabet import PAD, one_hot
from findna.model.chordmixer import ChordMixer
from findna.model.heads import ClassificationHead, pool, pooled_dim
from findna.model.hf.configuration_findna import FinDNAConfig
from findna.model.inputs import fixed_pad_length
from findna.model.network import FinDNANetwork
from findna.model.rotation import make_rotation
from findna.model.transformer import TransformerBackbone, sinusoidal_positions

HEAD_FILE = "head.safetensors"
FRESH_HEAD = {"pooling": "masked_mean", "n_cls": 0, "head_kind": "linear", "head_hidden": 256}
"""The head added to a pretrained export by ``FinDNAForSequenceClassification``: findna's
fine-tuning defaults (``FinetuneConfig``: masked-mean pooling, no CLS rows, a linear head)."""
_HUB_KWARGS = ("cache_dir", "force_download", "local_files_only", "token", "revision", "subfolder")


def mask_lengths(input_ids: Tensor, attention_mask: Tensor | None) -> Tensor | None:
    """(B,) lengths of a right-padded batch from its (B, L) ``attention_mask`` (None: none).

    Raises:
        ValueError: the ids are not 2-D or out of range, or the mask is not right padding.
    """
    if input_ids.dim() != 2:
        raise ValueError(f"input_ids must be (batch, length), got shape {tuple(input_ids.shape)}")
    if input_ids.numel() and (int(input_ids.min()) < 0 or int(input_ids.max()) > PAD + 2):
        raise ValueError(
            f"input_ids must lie in 0..{PAD + 2} (FinDNATokenizer ids), got "
            f"{int(input_ids.min())}..{int(input_ids.max())}"
        )
    if attention_mask is None:
        return None
    if attention_mask.shape != input_ids.shape:
        raise ValueError(
            f"attention_mask {tuple(attention_mask.shape)} and input_ids "
            f"{tuple(input_ids.shape)} differ in shape"
        )
    lengths = attention_mask.long().sum(-1)
    positions = torch.arange(input_ids.shape[1], device=input_ids.device)
    if not torch.equal(attention_mask.long() != 0, positions[None, :] < lengths[:, None]):
        raise ValueError(
            "attention_mask must be ones then zeros in each row (right padding): findna reads it "
            "as sequence lengths; tokenize with padding_side='right'"
        )
    return lengths


def ids_to_inputs(
    input_ids: Tensor, attention_mask: Tensor | None, dtype: torch.dtype
) -> tuple[Tensor, Tensor | None]:
    """(B, L) token ids and mask -> findna's (B, L, 5) one-hot ``x`` and (B,) ``lengths``."""
    lengths = mask_lengths(input_ids, attention_mask)
    x = one_hot(input_ids.clamp(max=PAD), dtype=dtype)  # [PAD], [MASK], [CLS] -> zero rows
    return x, lengths


def backbone_states(
    backbone: torch.nn.Module, h: Tensor, lengths: Tensor | None
) -> tuple[Tensor, ...]:
    """The embedded tokens and the output of every backbone layer, each (B, L, d).

    The same computation as ``backbone(h, lengths)`` (the eager path), layer by layer; the last
    state is the backbone output (after the transformer's final LayerNorm).
    """
    states = [h]
    if isinstance(backbone, ChordMixer):
        rotate = make_rotation(
            backbone.length_mode, backbone.track_size, h.shape, lengths, h.device, backbone.rotation
        )
        for layer in backbone.layers:
            h = layer(h, rotate)
            states.append(h)
        return tuple(states)
    if not isinstance(backbone, TransformerBackbone):
        raise TypeError(f"unknown backbone {type(backbone).__name__}")
    h, mask = backbone.positioned(h, lengths)
    for layer in backbone.encoder.layers:
        h = layer(h, src_key_padding_mask=mask)
        states.append(h)
    states[-1] = backbone.encoder.norm(h)
    return tuple(states)


class FinDNAPreTrainedModel(PreTrainedModel):
    """Shared set-up: the config class and the findna network whose modules the model owns."""

    config_class = FinDNAConfig
    base_model_prefix = ""
    main_input_name = "input_ids"
    _keys_to_ignore_on_load_unexpected = [r"^head\."]

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: Any, *args: Any, **kwargs: Any) -> Any:
        """``PreTrainedModel.from_pretrained``, refusing a weights file that lacks tensors the
        network needs (``transformers`` would leave them uninitialised and only print a report;
        findna's own loader refuses such a folder too)."""
        want_info = kwargs.pop("output_loading_info", False)
        model, info = super().from_pretrained(
            pretrained_model_name_or_path, *args, output_loading_info=True, **kwargs
        )
        allowed = [re.compile(p) for p in cls._keys_to_ignore_on_load_missing or []]
        missing = sorted(
            k for k in info.get("missing_keys", ()) if not any(p.search(k) for p in allowed)
        )
        if missing:
            shown = ", ".join(missing[:5]) + (", ..." if len(missing) > 5 else "")
            raise ValueError(
                f"{pretrained_model_name_or_path}: {len(missing)} tensor(s) the network needs are "
                f"missing from its weights ({shown}); the folder is incomplete or mixes files of "
                "different models. Export it again (findna export RUN --out DIR)."
            )
        return (model, info) if want_info else model

    def _adopt(self, config: FinDNAConfig, with_head: bool) -> FinDNANetwork:
        net = FinDNANetwork(config.model_fields())
        self.embed = net.embed
        self.backbone = net.backbone
        if with_head:
            self.head = net.head
        # Not registered as a submodule (its modules are registered above, by the same names).
        self.__dict__["network"] = net
        return net

    def _init_weights(self, module: torch.nn.Module) -> None:
        # findna's modules initialise themselves. Only a sinusoidal position table (a buffer that
        # is not saved) needs its values again after transformers built the model on `meta`.
        if isinstance(module, TransformerBackbone) and self.config.positional == "sinusoidal":
            table = sinusoidal_positions(module.max_len, module.pos_embed.shape[-1])
            with torch.no_grad():
                module.pos_embed.copy_(table.to(module.pos_embed.device))

    def _encode(
        self, input_ids: Tensor, attention_mask: Tensor | None, output_hidden_states: bool | None
    ) -> tuple[Tensor, tuple[Tensor, ...] | None]:
        """``FinDNANetwork.encode`` on token ids; also every layer's states when asked."""
        x, lengths = ids_to_inputs(input_ids, attention_mask, self.embed.weight.dtype)
        want_states = (
            output_hidden_states
            if output_hidden_states is not None
            else self.config.output_hidden_states
        )
        net: FinDNANetwork = self.__dict__["network"]
        if not want_states:
            return net.encode(x, lengths), None
        lengths = net._check_inputs(x, lengths)
        states = backbone_states(self.backbone, net.embed_inputs(x, lengths), lengths)
        return states[-1], states


class FinDNAModel(FinDNAPreTrainedModel):
    """The backbone: per-token embeddings ``last_hidden_state`` (B, L, d)."""

    def __init__(self, config: FinDNAConfig) -> None:
        super().__init__(config)
        self._adopt(config, with_head=False)
        self.post_init()

    def forward(
        self,
        input_ids: Tensor,
        attention_mask: Tensor | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        **kwargs: Any,
    ) -> BaseModelOutput | tuple:
        """Per-token hidden states; see the module docstring for the inputs."""
        hidden, states = self._encode(input_ids, attention_mask, output_hidden_states)
        if return_dict is False:
            return (hidden, states) if states is not None else (hidden,)
        return BaseModelOutput(last_hidden_state=hidden, hidden_states=states)


class FinDNAForMaskedLM(FinDNAPreTrainedModel):
    """The pretraining network: per-token logits (B, L, 5) over A, C, G, T, N (the MNM head).

    ``labels`` (B, L): the true codes 0..4 at the positions to score, -100 elsewhere; the loss is
    the cross-entropy averaged over scored positions (findna's ``ssl.mnm_loss: ce``).
    """

    def __init__(self, config: FinDNAConfig) -> None:
        super().__init__(config)
        self._adopt(config, with_head=True)
        self.post_init()

    def forward(
        self,
        input_ids: Tensor,
        attention_mask: Tensor | None = None,
        labels: Tensor | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        **kwargs: Any,
    ) -> MaskedLMOutput | tuple:
        """Per-token logits (and the loss when ``labels`` are given)."""
        hidden, states = self._encode(input_ids, attention_mask, output_hidden_states)
        logits = self.head(hidden)
        loss = None
        if labels is not None:
            loss = F.cross_entropy(
                logits.flatten(0, 1).float(), labels.flatten().long(), ignore_index=-100
            )
        if return_dict is False:
            out = (logits,) + ((states,) if states is not None else ())
            return ((loss,) + out) if loss is not None else out
        return MaskedLMOutput(loss=loss, logits=logits, hidden_states=states)


class FinDNAForSequenceClassification(FinDNAPreTrainedModel):
    """A findna classifier: encoder -> pooling -> classification head.

    From a fine-tuned classifier folder it gives the logits of ``findna predict``. From a
    pretrained export (``config.json`` without a ``classifier`` section) it adds a fresh head of
    ``num_labels`` outputs (findna's fine-tuning defaults, :data:`FRESH_HEAD`, or a
    ``classifier={...}`` given to ``from_pretrained``), to be trained with ``transformers``'
    ``Trainer``, PEFT and the like; ``save_pretrained`` then writes the head into the folder.

    Each sequence gets the classifier's ``n_cls`` CLS rows after its real tokens and the batch is
    padded as findna pads it (to ``max_len`` for a ``fixed``-mode ChordMixer or ``mean`` pooling).
    Give the sequences only (no CLS tokens). A findna regression model (``problem_type``
    ``regression``) gives values in the targets' units: its head predicts targets standardised
    on the training split, and the forward applies ``config.classifier``'s ``target_mean`` and
    ``target_std``; a multi-label one (``multi_label_classification``) gives per-label logits.
    The loss follows ``config.problem_type`` as
    ``transformers``' classifiers do: cross-entropy for class ids, mean squared error for
    ``regression`` (``num_labels`` targets), binary cross-entropy for
    ``multi_label_classification``; unset, it is inferred from ``num_labels`` and the labels.
    """

    _keys_to_ignore_on_load_missing = [r"^classifier\."]

    def __init__(self, config: FinDNAConfig) -> None:
        super().__init__(config)
        self.fresh_head = not config.classifier
        if self.fresh_head:  # a pretrained network: a fresh head, saved with the model
            config.classifier = dict(FRESH_HEAD)
        info = config.classifier
        if info.get("task_type") == "per_base":  # modeling_findna_token.py
            raise ValueError(
                "config.json: a per-base model; load it with AutoModelForTokenClassification"
            )
        net = self._adopt(config, with_head=False)
        self.pooling = info["pooling"]
        self.n_cls = int(info["n_cls"])
        self.pad_length = fixed_pad_length(net, self.pooling)
        width = pooled_dim(net.config.width, self.pooling)
        self.classifier = ClassificationHead(
            width, config.num_labels, kind=info["head_kind"], hidden=int(info["head_hidden"])
        )
        self.post_init()

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: Any, *args: Any, **kwargs: Any) -> Any:
        """``PreTrainedModel.from_pretrained``, then the head: from ``head.safetensors`` (findna's
        classifier format); from the weights file of a folder saved by ``transformers``; or, for
        a pretrained export, freshly initialised (seeded by the global RNG)."""
        model = super().from_pretrained(pretrained_model_name_or_path, *args, **kwargs)
        hub = {k: kwargs[k] for k in _HUB_KWARGS if k in kwargs}
        path = cached_file(
            pretrained_model_name_or_path,
            HEAD_FILE,
            _raise_exceptions_for_missing_entries=False,
            **hub,
        )
        classifier = model[0] if isinstance(model, tuple) else model
        head = classifier.classifier
        if classifier.fresh_head:  # transformers allocates what the file lacks, uninitialised
            for layer in head.modules():
                if isinstance(layer, torch.nn.Linear):
                    layer.reset_parameters()
        if path is not None:
            try:
                head.load_state_dict(load_file(path), strict=True)
            except RuntimeError as err:
                raise ValueError(
                    f"{path} does not match config.json's classifier ({err}); the folder mixes "
                    "files of different classifiers, fine-tune it again"
                ) from None
        return model

    def forward(
        self,
        input_ids: Tensor,
        attention_mask: Tensor | None = None,
        labels: Tensor | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        **kwargs: Any,
    ) -> SequenceClassifierOutput | tuple:
        """Logits (B, C): class logits, a multi-label model's per-label logits (sigmoid: the
        probabilities) or a regression model's values in the targets' units; and the loss of
        ``problem_type`` when ``labels`` are given."""
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        input_ids, attention_mask = self._with_cls(input_ids, attention_mask)
        hidden, states = self._encode(input_ids, attention_mask, output_hidden_states)
        lengths = attention_mask.sum(-1)
        logits = self.classifier(pool(hidden, lengths, self.pooling, self.n_cls))
        logits = self._in_target_units(logits)
        loss = None if labels is None else self._loss(logits.float(), labels)
        if return_dict is False:
            out = (logits,) + ((states,) if states is not None else ())
            return ((loss,) + out) if loss is not None else out
        return SequenceClassifierOutput(loss=loss, logits=logits, hidden_states=states)

    def _in_target_units(self, outputs: Tensor) -> Tensor:
        """A findna regression model's head outputs ``z`` (targets standardised on its training
        split) as values in the targets' units, ``z * target_std + target_mean`` (from
        ``config.classifier``); other models' outputs unchanged."""
        info = self.config.classifier or {}
        if info.get("task_type") != "regression":
            return outputs
        mean = torch.tensor(info["target_mean"], dtype=outputs.dtype, device=outputs.device)
        std = torch.tensor(info["target_std"], dtype=outputs.dtype, device=outputs.device)
        return outputs * std + mean

    def _loss(self, logits: Tensor, labels: Tensor) -> Tensor:
        """The loss of ``config.problem_type`` (inferred as ``transformers`` does when unset)."""
        kind = self.config.problem_type
        if kind is None:
            if self.config.num_labels == 1:
                kind = "regression"
            elif labels.dtype in (torch.long, torch.int):
                kind = "single_label_classification"
            else:
                kind = "multi_label_classification"
            self.config.problem_type = kind
        if kind == "regression":
            return F.mse_loss(
                logits.squeeze(-1) if logits.shape[-1] == 1 else logits, labels.float()
            )
        if kind == "multi_label_classification":
            return F.binary_cross_entropy_with_logits(logits, labels.float())
        return F.cross_entropy(logits, labels.long())

    def _with_cls(self, input_ids: Tensor, attention_mask: Tensor) -> tuple[Tensor, Tensor]:
        """Append ``n_cls`` CLS rows after each sequence and pad as findna does
        (``findna.model.inputs.pad_codes``)."""
        x_lengths = mask_lengths(input_ids, attention_mask)
        assert x_lengths is not None  # forward passes a mask
        lengths = x_lengths + self.n_cls
        longest = int(lengths.max())
        width = self.pad_length if self.pad_length is not None else longest
        if longest > width:
            raise ValueError(
                f"a sequence of {longest - self.n_cls} tokens (+{self.n_cls} CLS) is longer than "
                f"the {width} tokens this classifier pads to; shorten the input"
            )
        out = torch.full(
            (input_ids.shape[0], width), PAD, dtype=input_ids.dtype, device=input_ids.device
        )
        m = min(width, input_ids.shape[1])
        real = torch.arange(m, device=input_ids.device)[None, :] < x_lengths[:, None]
        out[:, :m] = torch.where(real, input_ids[:, :m], PAD)
        mask = torch.arange(width, device=input_ids.device)[None, :] < lengths[:, None]
        return out, mask.long()


__all__ = [
    "FRESH_HEAD",
    "FinDNAForMaskedLM",
    "FinDNAForSequenceClassification",
    "FinDNAModel",
    "FinDNAPreTrainedModel",
    "backbone_states",
    "ids_to_inputs",
    "mask_lengths",
]
