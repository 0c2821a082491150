"""Hugging Face ``transformers`` interoperability (docs/huggingface.md).

``transformers`` is optional: nothing here imports it until :func:`register` is called or one of
the ``*_findna`` modules is imported. :mod:`findna.model.hf.remote` (no ``transformers`` needed)
writes what an export needs for ``AutoConfig``/``AutoModel``/``AutoTokenizer``: the Hugging Face
keys of ``config.json``, ``tokenizer_config.json`` and the model code for ``trust_remote_code``.
"""

from __future__ import annotations


def register() -> None:
    """Register findna with ``transformers``' Auto classes (idempotent).

    After it, ``AutoConfig``, ``AutoModel``, ``AutoModelForMaskedLM``,
    ``AutoModelForSequenceClassification``, ``AutoModelForTokenClassification`` (a per-base
    model) and ``AutoTokenizer`` load findna folders without
    ``trust_remote_code``.

    Raises:
        ImportError: ``transformers`` is not installed (``pip install 'findna[hf]'``).
    """
    try:
        import transformers as tf
    except ImportError:
        raise ImportError(
            "findna.model.hf.register needs transformers: pip install 'findna[hf]' "
            "(or pip install 'transformers>=4.40')"
        ) from None
    from findna.model.hf.configuration_findna import FinDNAConfig
    from findna.model.hf.modeling_findna import (
        FinDNAForMaskedLM,
        FinDNAForSequenceClassification,
        FinDNAModel,
    )
    from findna.model.hf.modeling_findna_token import FinDNAForTokenClassification
    from findna.model.hf.tokenization_findna import FinDNATokenizer

    tf.AutoConfig.register(FinDNAConfig.model_type, FinDNAConfig, exist_ok=True)
    tf.AutoModel.register(FinDNAConfig, FinDNAModel, exist_ok=True)
    tf.AutoModelForMaskedLM.register(FinDNAConfig, FinDNAForMaskedLM, exist_ok=True)
    tf.AutoModelForSequenceClassification.register(
        FinDNAConfig, FinDNAForSequenceClassification, exist_ok=True
    )
    tf.AutoModelForTokenClassification.register(
        FinDNAConfig, FinDNAForTokenClassification, exist_ok=True
    )
    try:  # transformers 5 names the argument tokenizer_class, 4.x slow_tokenizer_class
        tf.AutoTokenizer.register(FinDNAConfig, tokenizer_class=FinDNATokenizer, exist_ok=True)
    except TypeError:
        tf.AutoTokenizer.register(FinDNAConfig, slow_tokenizer_class=FinDNATokenizer, exist_ok=True)


__all__ = ["register"]
