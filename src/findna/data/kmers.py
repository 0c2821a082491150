"""DNABERT's overlapping k-mer rows ("ACGTAC CGTACG GTACGT"): detection and decoding to bases.

Table readers (:mod:`findna.data.readers`, ``findna embed``) call these on the sequence column.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence


def _preview(seq: str, n: int = 40) -> str:
    return repr(seq if len(seq) <= n else seq[:n] + "...")


def sequence_space_error(where: str, seq: str, detail: str) -> ValueError:
    """The error for a sequence that holds a space outside a DNABERT k-mer file."""
    return ValueError(
        f"{where}: sequence contains a space ({_preview(seq)}); {detail}. Remove the space(s) "
        "from the sequence; only DNABERT k-mer files, where every row is written as at least 2 "
        "space-separated overlapping k-mers, may contain spaces."
    )


def detect_kmers(seqs: Sequence[str], where: Callable[[int], str]) -> bool:
    """Whether ``seqs`` (already stripped) are DNABERT k-mer rows.

    They are when some row holds a space and every non-empty row holds at least 2
    space-separated tokens. Rows without any space are plain sequences.

    Raises:
        ValueError: some rows hold a space but another holds a single token (a stray space in a
            plain-sequence file), naming the first row with a space.
    """
    spaced = next((i for i, s in enumerate(seqs) if " " in s), None)
    if spaced is None:
        return False
    single = next((i for i, s in enumerate(seqs) if s and len(s.split()) < 2), None)
    if single is None:
        return True
    raise sequence_space_error(
        where(spaced),
        seqs[spaced],
        f"the file is not read as k-mers because {where(single)} holds a single token",
    )


def decode_kmers(text: str, *, source: str = "sequence", k: int | None = None) -> str:
    """Decode space-separated overlapping k-mers (DNABERT format) into bases.

    ``"ACGTAC CGTACG GTACGT"`` (k=6) decodes to ``"ACGTACGT"``. Every k-mer must have length k and
    overlap the previous one by k-1 bases.

    Raises:
        ValueError: naming ``source`` and the first k-mer that breaks the pattern.
    """
    tokens = text.split()
    if not tokens:
        raise ValueError(f"{source}: empty k-mer sequence. Remove the row or fill it in.")
    k = k or len(tokens[0])
    for j, tok in enumerate(tokens):
        if len(tok) != k:
            raise ValueError(
                f"{source}: k-mer {j + 1} {tok!r} has length {len(tok)}, expected {k}. "
                "DNABERT k-mer files use one k for every k-mer of every row."
            )
        if j and tok[:-1] != tokens[j - 1][1:]:
            raise ValueError(
                f"{source}: k-mers {j} and {j + 1} ({tokens[j - 1]!r}, {tok!r}) do not overlap by "
                f"k-1={k - 1} bases, so the row is not written as overlapping {k}-mers. "
                "Fix the row, or store plain sequences instead."
            )
    return tokens[0] + "".join(t[-1] for t in tokens[1:])


__all__ = ["decode_kmers", "detect_kmers", "sequence_space_error"]
