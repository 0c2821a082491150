"""Random access to a reference genome by record and position, for variant scoring.

Three kinds of genome are read, each by the simplest route that is correct for it:

- a folder written by ``findna prepare genome``: memory-mapped codes (nothing is loaded; the best
  choice for a whole genome);
- an uncompressed FASTA: pyfaidx (indexed; it writes ``FILE.fai`` next to the file the first
  time, and when it cannot, e.g. in a read-only folder, the file is read into memory instead);
- a gzip or bgzip FASTA: read once with findna's own reader and held in memory, one byte per base
  (pyfaidx reads neither plain gzip nor, without Biopython, bgzip).

Characters outside A, C, G, T (IUPAC codes, anything else) read as N, as in
:func:`findna.data.layouts.open_genome`; lower case (soft-masking) reads as the base.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np

from findna.data.alphabet import N, encode
from findna.data.genome import PreparedGenome, load_genome
from findna.data.layouts import open_genome
from findna.outputs import require_file


class ReferenceGenome:
    """A genome's records by name: lengths and windows of codes.

    Args:
        path: a prepared genome folder or a FASTA file (plain, gzip or bgzip).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._prepared: PreparedGenome | None = None
        self._fasta: Mapping[str, str] | None = None
        if self.path.is_dir():
            self._prepared = load_genome(self.path)
            self._lengths = {r.name: r.length for r in self._prepared.records}
        else:
            self._fasta = open_genome(require_file(self.path, "genome FASTA"))
            self._lengths = {name: len(self._fasta[name]) for name in self._fasta.keys()}

    @property
    def names(self) -> tuple[str, ...]:
        """The record names in file order."""
        return tuple(self._lengths)

    def length(self, name: str) -> int | None:
        """The length of record ``name`` in bp, or None when the genome has no such record."""
        return self._lengths.get(name)

    def unknown_record_hint(self, name: str) -> str:
        """What to tell a user whose chromosome ``name`` is not a record of this genome."""
        other = name.removeprefix("chr") if name.startswith("chr") else f"chr{name}"
        if other in self._lengths:
            return f"the genome calls it {other!r}; rename the chromosomes of one of the two"
        shown = ", ".join(self.names[:8]) + (" ..." if len(self._lengths) > 8 else "")
        return f"the genome's records are {shown}; use the genome the variants were called on"

    def fetch(self, name: str, start: int, end: int) -> np.ndarray:
        """(end - start,) uint8 codes of ``name[start:end]`` (0-based, end excluded).

        Positions before 0 or after the record's end are N, so a window around a variant near a
        chromosome end keeps its length and its centre.

        Raises:
            KeyError: no record ``name``.
        """
        length = self._lengths[name]
        out = np.full(end - start, N, dtype=np.uint8)
        lo, hi = max(start, 0), min(end, length)
        if hi <= lo:
            return out
        if self._prepared is not None:
            out[lo - start : hi - start] = self._prepared.sequence(name, lo, hi)
        else:
            assert self._fasta is not None
            raw = str(self._fasta[name][lo:hi])
            out[lo - start : hi - start] = encode(raw, on_invalid="n")
        return out


__all__ = ["ReferenceGenome"]
