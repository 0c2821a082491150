"""``FinDNAConfig``: a ``transformers`` config holding a findna ``ModelConfig`` (model_type findna).

``config.json`` of a findna export is the resolved ``ModelConfig`` (one key per field) plus the
Hugging Face keys ``model_type``, ``architectures`` and ``auto_map``; a fine-tuned classifier adds
``id2label``/``label2id`` and ``classifier`` (pooling, CLS rows, head kind and width, as in its
``task.json``; a regression model also its target standardisation), a regression or multi-label
one ``problem_type``. This file is copied into every export for ``trust_remote_code`` loading
(findna/model/hf/remote.py rewrites its ``findna`` imports to relative ones), so it imports only
modules that are copied with it.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from transformers import PretrainedConfig

from findna.config import config_from_dict
from findna.model.config import ModelConfig

MODEL_FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(ModelConfig))
CLASSIFIER_KEYS = ("pooling", "n_cls", "head_kind", "head_hidden")
"""The keys of ``config.classifier`` (a fine-tuned classifier; None for a pretrained network).
A regression or multi-label model also has ``task_type``, a regression one ``target_mean`` and
``target_std`` (the training split's, applied to the head's outputs)."""
PROBLEM_TYPES = {"regression": "regression", "multilabel": "multi_label_classification"}
"""``classifier.task_type`` -> ``problem_type`` (set from it when config.json has none)."""


class FinDNAConfig(PretrainedConfig):
    """The architecture of a findna network (``ModelConfig``'s fields) for ``transformers``.

    Args:
        classifier: for ``FinDNAForSequenceClassification``, a dict with ``pooling``, ``n_cls``,
            ``head_kind`` and ``head_hidden`` (``task.json`` of the classifier); else None.
        **kwargs: ``ModelConfig`` fields (the paper's values when left out) and the usual
            ``PretrainedConfig`` arguments (``id2label``, ``architectures`` ...).
    """

    model_type = "findna"

    def __init__(self, classifier: dict[str, Any] | None = None, **kwargs: Any) -> None:
        # The field defaults, not ModelConfig()'s resolved values: a config.json without d_model
        # ties the width to its own max_len.
        defaults = {f.name: f.default for f in dataclasses.fields(ModelConfig)}
        fields = {name: kwargs.pop(name, defaults[name]) for name in MODEL_FIELDS}
        # Validated now, so a bad config.json fails on AutoConfig, naming the field.
        config_from_dict(ModelConfig, fields, "config.json")
        if classifier is not None:
            missing = [k for k in CLASSIFIER_KEYS if k not in classifier]
            if missing:
                raise ValueError(
                    f"config.json: classifier lacks {', '.join(missing)}; save the classifier "
                    "again with findna.model.classifier.save_classifier"
                )
            kind = classifier.get("task_type", "classification")
            if kind in PROBLEM_TYPES and kwargs.get("problem_type") is None:
                kwargs["problem_type"] = PROBLEM_TYPES[kind]
            scale = [classifier.get(k) for k in ("target_mean", "target_std")]
            if kind == "regression" and not all(
                isinstance(v, list) and len(v) == len(scale[0] or ()) for v in scale
            ):
                raise ValueError(
                    "config.json: a regression classifier needs target_mean and target_std "
                    "(one number per target); save the model again with findna"
                )
        for name, value in fields.items():
            setattr(self, name, value)
        self.classifier = classifier
        super().__init__(**kwargs)

    def model_fields(self) -> dict[str, Any]:
        """The ``ModelConfig`` fields as a dict (what ``FinDNANetwork(config)`` takes).

        A dict rather than a ``ModelConfig``: with ``trust_remote_code``, ``transformers`` may
        load this file and the model's files as separate module copies, so classes of one copy
        are not those of the other.
        """
        return {name: getattr(self, name) for name in MODEL_FIELDS}

    def model_config(self) -> ModelConfig:
        """The findna ``ModelConfig`` these fields describe (strictly validated)."""
        return config_from_dict(ModelConfig, self.model_fields(), "FinDNAConfig")
