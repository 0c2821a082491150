"""Which fine-tuned model ``findna predict`` runs: a saved folder opened, fitted to the inputs'
lengths (docs/reliability.md, "The length rule").

:func:`open_classifier` names a fine-tune report folder (which holds one model per seed) as such;
:func:`fit_to_inputs` refuses inputs longer than the model was fine-tuned for, or with
``allow_longer`` rebuilds its encoder for them. Sequence classifiers and per-base models
(:class:`~findna.model.token_classifier.TokenClassifier`) alike.
"""

from __future__ import annotations

import logging
from pathlib import Path

from findna.eval.length_rule import InputLengths, classifier_length_error, network_length
from findna.model.classifier import (
    ClassifierInfo,
    SequenceClassifier,
    TokenClassifier,
    build_classifier,
    load_classifier,
)

log = logging.getLogger(__name__)

Model = SequenceClassifier | TokenClassifier
"""A saved model as :func:`~findna.model.classifier.load_classifier` rebuilds it."""


def open_classifier(model_dir: str | Path) -> tuple[Model, ClassifierInfo]:
    """:func:`~findna.model.classifier.load_classifier`, with a fine-tune report folder (which
    holds one classifier per seed, ``seed<k>/``) named as such and its seed folders listed.

    Raises:
        ValueError: ``model_dir`` is a fine-tune report folder, not a classifier.
    """
    path = Path(model_dir)
    if path.is_dir() and not (path / "task.json").is_file():
        seeds = sorted(
            (p for p in path.iterdir() if p.is_dir() and (p / "task.json").is_file()),
            key=lambda p: (len(p.name), p.name),
        )
        if seeds:
            names = ", ".join(p.name for p in seeds)
            raise ValueError(
                f"{path} is a fine-tune report folder, not a classifier: each seed's classifier "
                f"is a folder inside it. Pass one of them, e.g. --model {seeds[0]} (found: "
                f"{names})"
            )
        if (path / "finetune.json").is_file():
            raise ValueError(
                f"{path} is a fine-tune report folder, not a classifier, and holds no classifier "
                "(seed<k>/ folders): the fine-tune ran with --no-save or stopped before saving. "
                "Run `findna finetune` again without --no-save"
            )
    return load_classifier(path)


def input_limit(model: Model) -> int:
    """The longest input in bp ``model`` was fine-tuned for: its ``max_len`` minus CLS rows."""
    return model.encoder.config.max_len - model.n_cls


def fit_to_inputs(
    model: Model,
    info: ClassifierInfo,
    model_dir: str | Path,
    lengths: InputLengths,
    *,
    allow_longer: bool,
    where: str | Path,
    flag: str = "--allow-longer",
) -> Model:
    """``model`` itself for inputs it was fine-tuned for; for longer ones a refusal, or with
    ``allow_longer`` the classifier with its encoder rebuilt for them (docs/reliability.md).

    Raises:
        ValueError: inputs longer than the classifier's ``max_len`` and ``allow_longer`` False
            (:func:`~findna.eval.length_rule.classifier_length_error`).
    """
    from findna.model.loading import load_encoder

    max_len = model.encoder.config.max_len
    tokens = network_length(lengths.longest, model.n_cls)
    if tokens <= max_len:
        return model
    if not allow_longer:
        raise classifier_length_error(
            where, model_dir, lengths, model.n_cls, max_len, model.encoder.config, flag
        )
    log.warning(
        "%s: %d of %d sequence(s) are longer than the %d bp classifier %s was fine-tuned for "
        "(longest %d bp); scoring them as asked (%s), with the encoder rebuilt for %d tokens: "
        "the head was selected on shorter inputs",
        where,
        lengths.over,
        lengths.count,
        input_limit(model),
        model_dir,
        lengths.longest,
        flag,
        tokens,
    )
    encoder, _ = load_encoder(
        model_dir, max_len=tokens, length_mode=model.encoder.config.length_mode, seed=info.seed
    )
    longer = build_classifier(encoder, info)
    longer.head.load_state_dict(model.head.state_dict())
    return longer.eval()


__all__ = ["Model", "fit_to_inputs", "input_limit", "open_classifier"]
