"""The length rule of the downstream commands (docs/reliability.md, "The length rule").

A network downstream is built for its inputs as ``probe`` builds one for a task
(:func:`findna.data.tasks.task_max_len`): the longest input in bp plus the CLS rows appended
after it, ``ceil(log2 tokens)`` ChordMixer blocks per layer. ``embed`` and ``predict`` stream
their inputs, so they first read the file once for its lengths only (:func:`scan_lengths`): the
network is then the same for every chunk, and an input too long for a fine-tuned classifier is
refused before the model runs or an output is made.

- A pretrained network built for longer inputs than pretraining has blocks that were never
  trained; :func:`findna.model.loading.load_encoder` logs their count at WARNING.
- A fine-tuned classifier is not rebuilt: its head was selected on inputs of at most its
  ``max_len`` tokens, so longer inputs are refused (:func:`classifier_length_error`) unless the
  user asks for them (``--allow-longer``, ``allow_longer=True``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from findna.model.config import ModelConfig


@dataclass(frozen=True)
class InputLengths:
    """What one pass over the inputs found.

    Attributes:
        count: sequences read.
        longest: the longest sequence in bp (0 when there are none).
        longest_id: its id (the first of that length).
        over: sequences longer than the ``limit`` given to :func:`scan_lengths` (0 without one).
    """

    count: int
    longest: int
    longest_id: str
    over: int = 0


def scan_lengths(
    records: Iterable[tuple[str, np.ndarray]], limit: int | None = None
) -> InputLengths:
    """Lengths of a stream of ``(id, codes)`` records (every record is read and checked).

    Args:
        records: e.g. :func:`findna.eval.embed.read_sequences`.
        limit: count the records longer than this many bp.
    """
    count = longest = over = 0
    longest_id = ""
    for rid, codes in records:
        n = len(codes)
        count += 1
        if n > longest:
            longest, longest_id = n, rid
        if limit is not None and n > limit:
            over += 1
    return InputLengths(count, longest, longest_id, over)


def network_length(longest: int, cls_tokens: int) -> int:
    """Tokens a network for inputs of at most ``longest`` bp is built for: ``longest`` plus the
    CLS rows (at least 2, the smallest network)."""
    return max(longest + cls_tokens, 2)


def untrained_blocks(config: ModelConfig, tokens: int) -> int:
    """ChordMixer blocks per layer a network of ``config`` rebuilt for ``tokens`` has beyond its
    own (0 for a transformer, or when ``tokens`` needs no more)."""
    if config.backbone != "chordmixer" or tokens <= config.max_len:
        return 0
    return max(replace(config, max_len=tokens).n_blocks_per_layer - config.n_blocks_per_layer, 0)


def too_long_message(longest: int, cls_tokens: int, max_len: int, fix: str) -> str:
    """The refusal of inputs longer than a network that was given its length explicitly."""
    return (
        f"a sequence of {longest} bp (+{cls_tokens} CLS) is longer than the {max_len} tokens the "
        f"network was built for; its blocks would not mix the whole sequence. {fix}"
    )


def tokens_for_inputs(
    lengths: InputLengths, cls_tokens: int, max_len: int | None, where: str | Path
) -> int:
    """The length of a pretrained network for ``lengths``: ``max_len`` when given (refused when
    the inputs are longer), else the longest input plus the CLS rows (:func:`network_length`).

    Raises:
        ValueError: ``max_len`` is shorter than the longest input plus its CLS rows.
    """
    tokens = network_length(lengths.longest, cls_tokens)
    if max_len is None:
        return tokens
    if tokens > max_len:
        fix = (
            f"Leave --max-len out to build it for the inputs, or give --max-len {tokens} or more "
            "(max_len= in Python)"
        )
        message = too_long_message(lengths.longest, cls_tokens, max_len, fix)
        raise ValueError(f"{where}: {message} (the longest is {lengths.longest_id!r})")
    return max_len


def check_built_network(
    lengths: InputLengths, cls_tokens: int, config: ModelConfig, max_len: int | None
) -> None:
    """``findna.embed`` given a built network: it takes inputs up to its own ``max_len``.

    Raises:
        ValueError: the inputs are longer, or a ``max_len`` was given for it; naming the API's
            fixes (the source itself, or ``findna.load_model(source, max_len=N)``).
    """
    tokens = network_length(lengths.longest, cls_tokens)
    if max_len is None and tokens <= config.max_len:
        return
    fix = (
        "Pass the model source instead (findna.embed(source, seqs) builds the network for its "
        f"inputs), or build it for them: findna.load_model(source, max_len={tokens})"
    )
    if max_len is not None:
        given = "max_len sizes a network built from a source, but a built network was given"
        raise ValueError(f"findna.embed: {given}. {fix}")
    message = too_long_message(lengths.longest, cls_tokens, config.max_len, fix)
    raise ValueError(f"findna.embed: {message} (the longest is {lengths.longest_id})")


def classifier_length_error(
    where: str | Path,
    model_dir: str | Path,
    lengths: InputLengths,
    cls_tokens: int,
    max_len: int,
    config: ModelConfig,
    flag: str = "--allow-longer",
) -> ValueError:
    """The refusal of inputs longer than a fine-tuned classifier's ``max_len`` tokens.

    Names the longest input and its length, the classifier's length, why (the head was selected
    on shorter inputs) and the two fixes: cut the inputs, or ``flag``.
    """
    limit = max_len - cls_tokens
    tokens = network_length(lengths.longest, cls_tokens)
    new = untrained_blocks(config, tokens)
    blocks = (
        f"with {new} untrained block(s) per layer added for them"
        if new
        else "with no block added (its blocks already reach that length)"
    )
    return ValueError(
        f"{where}: {lengths.over} of {lengths.count} sequence(s) are longer than classifier "
        f"{model_dir} was fine-tuned for; the longest, {lengths.longest_id!r}, is "
        f"{lengths.longest} bp ({tokens} tokens with its {cls_tokens} CLS rows), and the "
        f"classifier takes at most {max_len} tokens ({limit} bp). Its head was selected on "
        f"inputs of at most {limit} bp, so scores of longer ones are not what it was validated "
        f"on. Cut the inputs to {limit} bp, or pass {flag} to score them anyway {blocks}"
    )


__all__ = [
    "InputLengths",
    "check_built_network",
    "classifier_length_error",
    "network_length",
    "scan_lengths",
    "tokens_for_inputs",
    "too_long_message",
    "untrained_blocks",
]
