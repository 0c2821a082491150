"""The pooling names: how token states become one vector per sequence. No torch: settings
dataclasses (and so ``findna <command> --help``) read them."""

from __future__ import annotations

import typing
from typing import Literal

Pooling = Literal["masked_mean", "mean", "cls", "mean+cls"]
"""How token states become one vector per sequence (:func:`findna.model.heads.pool`):
``masked_mean`` (mean over the real non-CLS tokens; the default), ``mean`` (over every padded
position, the reference's decoder), ``cls`` (mean of the CLS outputs) or ``mean+cls`` (both,
concatenated). The one place these names are spelled."""

POOLINGS: tuple[str, ...] = typing.get_args(Pooling)
"""The pooling names, default first (``--pooling`` choices, checks of every config)."""

CLS_POOLINGS = ("cls", "mean+cls")
"""Poolings that read the CLS rows (the others append none)."""


__all__ = ["CLS_POOLINGS", "POOLINGS", "Pooling"]
