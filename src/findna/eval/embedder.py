"""``findna.Embedder``: frozen findna features as a scikit-learn transformer.

``fit`` loads the network once, built for the sequences it is given (the length rule,
docs/reliability.md: the longest plus the CLS rows, or ``max_len`` tokens); ``transform`` gives
the pooled features of DNA strings, the numbers of ``findna.embed`` with the same network::

    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    clf = make_pipeline(findna.Embedder("runs/tiny/model"), LogisticRegression())
    clf.fit(train_seqs, train_labels)
    clf.score(test_seqs, test_labels)

The features are those of :func:`findna.eval.features.extract_features`; the network comes from
:func:`findna.model.loading.load_encoder` as for ``findna.embed`` given a source (or is the
network given). Settings are the constructor's arguments, stored as given (scikit-learn's rule),
so ``get_params``, ``set_params`` and ``sklearn.base.clone`` work; they are checked in ``fit``.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from findna.eval.feature_config import FeatureConfig
from findna.eval.features import extract_features
from findna.eval.length_rule import (
    InputLengths,
    network_length,
    scan_lengths,
    tokens_for_inputs,
    too_long_message,
)
from findna.model.inputs import encode_sequences
from findna.model.loading import load_encoder
from findna.model.network import FinDNANetwork
from findna.model.pooling import Pooling

NOT_FITTED = (
    "This %(name)s is not fitted yet: call fit(X) (or fit_transform) with DNA strings first; "
    "fit loads the network and builds it for the longest of them."
)


def _codes(X: Any, where: str) -> list[np.ndarray]:
    """DNA strings (a list, a 1-D array or Series, or a one-column 2-D array or DataFrame) ->
    uint8 codes; anything else is a ValueError naming ``where``."""
    if isinstance(X, str):
        raise ValueError(f"{where}: X is one string; give a list of DNA strings")
    values = X.to_numpy() if hasattr(X, "to_numpy") else X
    if getattr(values, "ndim", 1) == 2 and values.shape[1] == 1:
        values = values[:, 0]
    if getattr(values, "ndim", 1) != 1 or not isinstance(values, Iterable):
        shape = getattr(values, "shape", type(values).__name__)
        raise ValueError(f"{where}: X must be a list of DNA strings (one column), got {shape}")
    seqs = list(values)
    for i, seq in enumerate(seqs):
        if not isinstance(seq, str):
            raise ValueError(f"{where}: X[{i}] is {type(seq).__name__}, not a DNA string")
    return encode_sequences(seqs, where)


def _check_fits(lengths: InputLengths, cls_tokens: int, max_len: int, fix: str, where: str) -> None:
    """Refuse inputs longer than the ``max_len`` tokens of the network (the length rule)."""
    if lengths.count and network_length(lengths.longest, cls_tokens) > max_len:
        message = too_long_message(lengths.longest, cls_tokens, max_len, fix)
        raise ValueError(f"{where}: {message} (the longest is {lengths.longest_id})")


class Embedder(TransformerMixin, BaseEstimator):
    """Pooled features of DNA strings as a scikit-learn transformer (``findna embed``'s).

    Args:
        model: a model source (a pretraining run folder, an export, a ``.ckpt``, ``"scratch"``)
            or a network from :func:`findna.load_model` (used as it is; ``which`` and
            ``max_len`` then stay at their defaults).
        pooling: one of :data:`findna.model.pooling.POOLINGS` (``FeatureConfig.pooling``).
        rc_average: average each sequence's features with its reverse complement's.
        batch_size: sequences per forward pass (does not change the features).
        device: ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"`` or ``"cuda:N"``.
        which: ``teacher`` or ``student`` network of a pretraining run.
        max_len: build the network for this many tokens (CLS rows included); None: for the
            sequences given to ``fit``, the longest plus the CLS rows. ``transform`` refuses
            longer sequences than the network was built for.

    Attributes:
        network_: the fitted network (eval mode; on ``device`` after the first ``transform``).
        features_: the :class:`~findna.eval.feature_config.FeatureConfig` used (CLS rows
            resolved for the source).
        model_id_: the weights' id (:func:`findna.model.loading.load_encoder`); None for a
            network given.
        max_len_: the tokens the network takes, CLS rows included.
    """

    def __init__(
        self,
        model: str | Path | FinDNANetwork,
        pooling: Pooling = "masked_mean",
        rc_average: bool = False,
        batch_size: int = 64,
        device: str = "auto",
        which: str = "teacher",
        max_len: int | None = None,
    ) -> None:
        self.model = model
        self.pooling = pooling
        self.rc_average = rc_average
        self.batch_size = batch_size
        self.device = device
        self.which = which
        self.max_len = max_len

    def fit(self, X: Any, y: Any = None) -> Embedder:
        """Load the network once, built for the sequences ``X`` (or ``max_len`` tokens).

        Args:
            X: N DNA strings (a list, array or Series; a one-column table).
            y: ignored (the features are unsupervised).

        Returns:
            self.

        Raises:
            ValueError: a bad setting, a character that is not DNA, or sequences longer than
                ``max_len`` (or than a network given).
        """
        cfg = FeatureConfig(
            pooling=self.pooling,
            rc_average=self.rc_average,
            batch_size=self.batch_size,
            device=self.device,
        )
        codes = _codes(X, "Embedder.fit")
        lengths = scan_lengths((f"sequence {i}", c) for i, c in enumerate(codes))
        if isinstance(self.model, FinDNANetwork):
            if self.which != "teacher":
                raise ValueError(
                    f"Embedder(which={self.which!r}) picks the network of a model source, but "
                    "a built network was given: pass the source, or load_model(source, which=...)"
                )
            if self.max_len is not None:
                raise ValueError(
                    f"Embedder(max_len={self.max_len}) sizes a network built from a model "
                    "source, but a built network was given: pass the source, or leave max_len out"
                )
            fix = (
                "Pass the model source instead (Embedder(source) builds the network for the "
                "sequences given to fit), or build it for them: findna.load_model(source, "
                f"max_len={network_length(lengths.longest, cfg.cls_tokens)})"
            )
            _check_fits(lengths, cfg.cls_tokens, self.model.config.max_len, fix, "Embedder.fit")
            net, model_id = self.model, None
        else:
            cfg = cfg.for_source(self.model, self.which)
            tokens = self.max_len
            if codes:
                tokens = tokens_for_inputs(lengths, cfg.cls_tokens, self.max_len, "Embedder.fit")
            net, model_id = load_encoder(self.model, which=self.which, max_len=tokens)
        self.network_, self.features_, self.model_id_ = net, cfg, model_id
        self.max_len_ = net.config.max_len
        return self

    def transform(self, X: Any) -> np.ndarray:
        """(N, D) float32 pooled features of the DNA strings ``X`` (D = the network's width, 2x
        for ``mean+cls``), the numbers of ``findna.embed(self.network_, X, ...)``.

        Raises:
            sklearn.exceptions.NotFittedError: before ``fit`` (a ValueError too).
            ValueError: a character that is not DNA, or a sequence longer than the network.
        """
        check_is_fitted(self, "network_", msg=NOT_FITTED)
        codes = _codes(X, "Embedder.transform")
        cfg = self.features_
        lengths = scan_lengths((f"sequence {i}", c) for i, c in enumerate(codes))
        tokens = network_length(lengths.longest, cfg.cls_tokens)
        fix = (
            "Fit on sequences as long as the longest you transform, or give "
            f"Embedder(..., max_len={tokens}) to build the network for them"
        )
        _check_fits(lengths, cfg.cls_tokens, self.max_len_, fix, "Embedder.transform")
        return extract_features(self.network_, codes, cfg)


__all__ = ["Embedder"]
