"""Random access to a reference genome by record and position, for variant scoring.

Three kinds of genome are read, each by the simplest route that is correct for it:

- a folder written by ``findna prepare genome``: memory-mapped codes (nothing is loaded; the best
  choice for a whole genome);
- an uncompressed FASTA: pyfaidx (indexed; it writes ``FILE.fai`` next to the file the first
  time, and when it cannot, e.g. in a read-only folder, the file is read into memory instead);
- a gzip or bgzip FASTA: read once with findna's own reader and held in memory, one byte per base
  (pyfaidx reads neither plain gzip nor, without Biopython, bgzip).

An index ``FILE.fai`` that does not match its FASTA (older than the file, or offsets and line
widths that do not fit it, e.g. after the FASTA was replaced by a copy that kept its old time)
would make pyfaidx return the wrong bases. It is checked first (:func:`stale_index`): where
findna may remove it, it is rebuilt with a WARNING naming it; where it may not, the genome is
refused with a message naming the file and the fix (``rm FILE.fai``).

Characters outside A, C, G, T (IUPAC codes, anything else) read as N, as in
:func:`findna.data.layouts.open_genome`; lower case (soft-masking) reads as the base.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from findna.data.alphabet import N, encode
from findna.data.fasta import is_gzip
from findna.data.genome import PreparedGenome, load_genome
from findna.data.layouts import open_genome
from findna.outputs import require_file

log = logging.getLogger(__name__)


def _index_lines(fai: Path) -> list[tuple[str, int, int, int, int]]:
    """The records of a ``.fai``: (name, length, offset, bases per line, bytes per line)."""
    out = []
    for line in fai.read_text().splitlines():
        if line.strip():
            name, *numbers = line.split("\t")
            length, offset, bases, width = (int(x) for x in numbers[:4])
            out.append((name, length, offset, bases, width))
    return out


def stale_index(fasta: Path) -> str | None:
    """Why ``FASTA.fai`` does not match ``fasta``; None when it does or there is none.

    Checks the times (an index older than its FASTA) and, for every record, that the header line
    ends just before the record's offset, that its first line is as long as the index says and
    that the record ends where the index says (at a line end, the next header or the file's end).
    """
    fai = fasta.with_name(fasta.name + ".fai")
    if not fai.is_file():
        return None
    if fai.stat().st_mtime < fasta.stat().st_mtime:
        return f"it is older than {fasta.name}"
    try:
        records = _index_lines(fai)
    except (ValueError, UnicodeDecodeError):
        return "it is not a FASTA index (each line: name, length, offset, line bases, line bytes)"
    size = fasta.stat().st_size
    with open(fasta, "rb") as fh:

        def at(pos: int, n: int = 1) -> bytes:
            fh.seek(pos)
            return fh.read(n)

        for name, length, offset, bases, width in records:
            bad = f"record {name!r} is not where the index says"
            if offset < 1 or offset > size or at(offset - 1) != b"\n":
                return bad
            if length == 0:  # an empty record: nothing more to check
                continue
            if bases < 1:
                return bad
            if length > bases and at(offset + bases, width - bases).strip() != b"":
                return f"{bad} (its lines are not {bases} bases long)"
            full, rest = divmod(length, bases)
            end = offset + full * width + rest
            if rest == 0 and full:
                end -= width - bases  # the end of the last full line, before its line end
            if at(end) not in (b"", b"\n", b"\r"):
                return f"{bad} (it does not end after {length} bases)"
    return None


def _remove_index(fai: Path) -> None:
    fai.unlink()


def check_index(fasta: Path) -> None:
    """Rebuild (remove) a ``.fai`` that does not match its FASTA, or refuse the genome.

    Raises:
        ValueError: the index does not match and cannot be removed, naming it and the fix.
    """
    reason = stale_index(fasta)
    if reason is None:
        return
    fai = fasta.with_name(fasta.name + ".fai")
    try:
        _remove_index(fai)
    except OSError as err:
        raise ValueError(
            f"the genome index {fai} does not match {fasta}: {reason}, so it would give the "
            f"wrong bases, and it cannot be rebuilt here ({err.strerror or err}). Remove it "
            f"(`rm {fai}`, as a user who may) so that it is made again from the FASTA, or copy "
            f"{fasta.name} to a folder you can write"
        ) from None
    log.warning("%s does not match %s (%s): rebuilding it", fai, fasta, reason)


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
            fasta = require_file(self.path, "genome FASTA")
            if not is_gzip(fasta):
                check_index(fasta)
            self._fasta = open_genome(fasta)
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
            if len(raw) != hi - lo:  # an index changed after it was checked
                fai = f"{self.path}.fai"
                raise ValueError(
                    f"{self.path}: {name}:{lo + 1}-{hi} read {len(raw)} bases instead of "
                    f"{hi - lo}; the index {fai} does not match the FASTA. Remove it (`rm {fai}`) "
                    "so that it is made again"
                )
            out[lo - start : hi - start] = encode(raw, on_invalid="n")
        return out


__all__ = ["ReferenceGenome", "check_index", "stale_index"]
