"""A findna per-base model as a ``transformers`` token classifier (FinDNAForTokenClassification).

A saved per-base model (``findna finetune`` of a ``per_base`` task: ``task.json`` type
``per_base``, its head in ``head.safetensors``) loads with its head and gives, for every input
token, the logits of its classes (``id2label``: the one-character class names); their argmax is
``findna predict``'s ``predicted_labels``. From a pretrained export it adds a fresh head of
``num_labels`` outputs (a linear head on each token state, findna's fine-tuning default) to be
trained with ``Trainer``. The head and its loading are those of
:class:`~findna.model.hf.modeling_findna.FinDNAForSequenceClassification`, without the pooling.
Like the other model files, this one is copied into exports for ``trust_remote_code``.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor
from transformers.modeling_outputs import TokenClassifierOutput

from findna.data.alphabet import PAD
from findna.model.heads import ClassificationHead
from findna.model.hf.configuration_findna import FinDNAConfig
from findna.model.hf.modeling_findna import (
    FRESH_HEAD,
    FinDNAForSequenceClassification,
    FinDNAPreTrainedModel,
    mask_lengths,
)
from findna.model.inputs import fixed_pad_length

IGNORE_INDEX = -100
"""The label ``transformers`` ignores in a token-classification loss."""
FINDNA_PAD_LABEL = -1
"""findna's per-base padding label (``findna.data.per_base.PAD_LABEL``), ignored as well."""
FRESH_TOKEN_HEAD = {**FRESH_HEAD, "pooling": "none", "task_type": "per_base"}
"""The head added to a pretrained export: a linear head on each token state, no CLS rows."""


class FinDNAForTokenClassification(FinDNAForSequenceClassification):
    """A findna per-base model: encoder -> a head on every token state -> (B, L, C) logits.

    ``input_ids`` and ``attention_mask`` (right padding) as for the other findna models; the
    logits have one row per input position (rows past a sequence's length are padding: ignore
    them). A ``fixed``-mode ChordMixer is run on inputs padded to its ``max_len``, as findna pads
    them, and the extra rows are dropped again; no CLS rows are added. ``labels`` (B, L): class
    ids, with ``-100`` (``transformers``' padding) or ``-1`` (findna's per-base padding) at the
    positions not to score; the loss is the cross-entropy averaged over scored positions.
    """

    def __init__(self, config: FinDNAConfig) -> None:
        FinDNAPreTrainedModel.__init__(self, config)
        self.fresh_head = not config.classifier
        if self.fresh_head:  # a pretrained network: a fresh head, saved with the model
            config.classifier = dict(FRESH_TOKEN_HEAD)
        info = config.classifier
        if info.get("task_type") != "per_base":
            raise ValueError(
                f"config.json: the classifier is a {info.get('task_type', 'classification')} "
                "model, not a per-base one; load it with AutoModelForSequenceClassification"
            )
        net = self._adopt(config, with_head=False)
        self.pooling, self.n_cls = "none", 0
        self.pad_length = fixed_pad_length(net, "masked_mean")
        self.classifier = ClassificationHead(
            net.config.width,
            config.num_labels,
            kind=info["head_kind"],
            hidden=int(info["head_hidden"]),
        )
        self.post_init()

    def forward(
        self,
        input_ids: Tensor,
        attention_mask: Tensor | None = None,
        labels: Tensor | None = None,
        output_hidden_states: bool | None = None,
        return_dict: bool | None = None,
        **kwargs: Any,
    ) -> TokenClassifierOutput | tuple:
        """Per-token logits (B, L, C) (and the loss when ``labels`` (B, L) are given)."""
        if attention_mask is None:
            attention_mask = torch.ones_like(input_ids)
        n = input_ids.shape[1]
        ids, mask = self._padded(input_ids, attention_mask)
        hidden, states = self._encode(ids, mask, output_hidden_states)
        logits = self.classifier(hidden)
        if logits.shape[1] >= n:
            logits = logits[:, :n]
        else:  # the input was padded beyond the network's length: padding rows, zero logits
            logits = torch.cat(
                [logits, logits.new_zeros(len(logits), n - logits.shape[1], logits.shape[2])], 1
            )
        loss = None if labels is None else self._token_loss(logits.float(), labels)
        if return_dict is False:
            out = (logits,) + ((states,) if states is not None else ())
            return ((loss,) + out) if loss is not None else out
        return TokenClassifierOutput(loss=loss, logits=logits, hidden_states=states)

    def _token_loss(self, logits: Tensor, labels: Tensor) -> Tensor:
        """Cross-entropy over the positions whose label is neither -100 nor -1."""
        if labels.shape != logits.shape[:2]:
            raise ValueError(
                f"labels {tuple(labels.shape)} must be (batch, length) like input_ids "
                f"{tuple(logits.shape[:2])}: one class id per token, -100 where not scored"
            )
        labels = labels.long().masked_fill(labels == FINDNA_PAD_LABEL, IGNORE_INDEX)
        return F.cross_entropy(logits.flatten(0, 1), labels.flatten(), ignore_index=IGNORE_INDEX)

    def _padded(self, input_ids: Tensor, attention_mask: Tensor) -> tuple[Tensor, Tensor]:
        """The batch as findna pads it: to ``pad_length`` (a ``fixed``-mode ChordMixer) or as
        given, padding ids ``[PAD]``; and its (B, width) mask."""
        lengths = mask_lengths(input_ids, attention_mask)
        assert lengths is not None  # forward passes a mask
        width = self.pad_length if self.pad_length is not None else input_ids.shape[1]
        if int(lengths.max()) > width:
            raise ValueError(
                f"a sequence of {int(lengths.max())} tokens is longer than the {width} tokens "
                "this model takes; shorten the input"
            )
        out = torch.full(
            (len(input_ids), width), PAD, dtype=input_ids.dtype, device=input_ids.device
        )
        m = min(width, input_ids.shape[1])
        real = torch.arange(m, device=input_ids.device)[None, :] < lengths[:, None]
        out[:, :m] = torch.where(real, input_ids[:, :m], PAD)
        mask = torch.arange(width, device=input_ids.device)[None, :] < lengths[:, None]
        return out, mask.long()


__all__ = ["FRESH_TOKEN_HEAD", "FinDNAForTokenClassification"]
