"""``findna prepare genome``: FASTA files encoded once into a memory-mapped code array.

A prepared genome is a directory with

* ``codes.u8``: every record's uint8 codes (A=0 C=1 G=2 T=3 N=4) concatenated, in input order;
* ``softmask.bits`` (only when some base is lower case): the soft-mask track, one
  ``np.packbits`` block per record, each starting on a byte boundary (``softmask_offset``);
* ``index.json``, written last: format version, per-record name, description, offset, length,
  N count, N runs as ``[start, end)``, soft-mask and GC fractions, totals, the source files
  with size, sha256 and md5, and the size and sha256 of the files above.

Preparation is idempotent (same inputs and options -> nothing to do) and atomic: everything is
written into ``DIR.tmp-<pid>`` and moved into place when complete, with a manifest marking the
folder complete last (:mod:`findna.folders`), so a crash never leaves a genome that looks
finished, and ``--force`` keeps files that are not part of a genome. IUPAC ambiguity codes
become N (as everywhere in findna); case is kept in the soft-mask track.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from findna.data.alphabet import OnInvalid
from findna.data.fasta import read_fasta, record_stats
from findna.folders import FolderKind, check_folder, is_complete, staged_folder
from findna.outputs import require_file

log = logging.getLogger(__name__)

FORMAT = "findna-genome"
FORMAT_VERSION = 1
CODES_FILE = "codes.u8"
SOFTMASK_FILE = "softmask.bits"
INDEX_FILE = "index.json"


@dataclass(frozen=True)
class GenomeRecord:
    """One record of a prepared genome; offsets index ``PreparedGenome.codes``."""

    name: str
    description: str
    offset: int
    length: int
    n_count: int
    n_runs: tuple[tuple[int, int], ...]  # [start, end) within the record, 0-based
    softmask_fraction: float
    gc_fraction: float  # (C + G) / (A + C + G + T); 0.0 when the record is all N
    softmask_offset: int | None  # byte offset in softmask.bits, None when no track


@dataclass(frozen=True, eq=False)
class PreparedGenome:
    """A prepared genome opened read-only.

    Attributes:
        root: the directory.
        codes: (total_length,) uint8 read-only memmap of all records concatenated.
        records: the records in file order.
        index: the parsed ``index.json``.
    """

    root: Path
    codes: np.ndarray
    records: tuple[GenomeRecord, ...]
    index: dict[str, Any]

    def __reduce__(self):  # pickled by path, so DataLoader workers re-open the memmap
        return (load_genome, (self.root,))

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(r.name for r in self.records)

    @property
    def total_length(self) -> int:
        return int(self.codes.shape[0])

    def record(self, name: str) -> GenomeRecord:
        """The record called ``name``; ValueError listing the names when there is none."""
        for rec in self.records:
            if rec.name == name:
                return rec
        shown = ", ".join(self.names[:10]) + (" ..." if len(self.records) > 10 else "")
        raise ValueError(f"{self.root}: no record named '{name}'; records: {shown}")

    def sequence(self, name: str, start: int = 0, end: int | None = None) -> np.ndarray:
        """(end - start,) uint8 codes of ``name[start:end]`` (0-based, a view of the memmap)."""
        rec = self.record(name)
        start, end, _ = slice(start, end).indices(rec.length)
        return self.codes[rec.offset + start : rec.offset + end]

    def softmask(self, name: str) -> np.ndarray:
        """(length,) bool soft-mask track of ``name`` (all False when the genome has none)."""
        rec = self.record(name)
        if rec.softmask_offset is None:
            return np.zeros(rec.length, dtype=bool)
        nbytes = (rec.length + 7) // 8
        bits = np.fromfile(
            self.root / SOFTMASK_FILE, dtype=np.uint8, count=nbytes, offset=rec.softmask_offset
        )
        return np.unpackbits(bits, count=rec.length).astype(bool)


@dataclass(frozen=True)
class PrepareResult:
    """What :func:`prepare_genome` did: ``skipped`` is True when the output was up to date."""

    genome: PreparedGenome
    skipped: bool
    seconds: float


def file_checksums(path: Path) -> dict[str, Any]:
    """Name, absolute path, size, sha256 and md5 of a file, read once in 8 MiB blocks."""
    sha, md5 = hashlib.sha256(), hashlib.md5()
    with open(path, "rb") as fh:
        while block := fh.read(8 << 20):
            sha.update(block)
            md5.update(block)
    return {
        "name": path.name,
        "path": str(path.resolve()),
        "size": path.stat().st_size,
        "sha256": sha.hexdigest(),
        "md5": md5.hexdigest(),
    }


def _totals(records: list[dict[str, Any]]) -> dict[str, Any]:
    length = sum(r["length"] for r in records)
    acgt = sum(r["acgt_count"] for r in records)
    return {
        "records": len(records),
        "length": length,
        "n_count": sum(r["n_count"] for r in records),
        "n_fraction": sum(r["n_count"] for r in records) / length,
        "softmask_fraction": sum(r["softmask_count"] for r in records) / length,
        "gc_fraction": sum(r["gc_count"] for r in records) / acgt if acgt else 0.0,
    }


def _write(paths: Sequence[Path], tmp: Path, on_invalid: OnInvalid, sources: list) -> dict:
    """Encode every record into ``tmp`` and return the index (not yet written)."""
    records: list[dict[str, Any]] = []
    seen: dict[str, Path] = {}
    codes_sha = hashlib.sha256()
    offset = mask_offset = 0
    with open(tmp / CODES_FILE, "wb") as codes_fh, open(tmp / SOFTMASK_FILE, "wb") as mask_fh:
        for path in paths:
            for rec in read_fasta(path, on_invalid=on_invalid):
                if rec.name in seen:
                    raise ValueError(
                        f"{path}: record '{rec.name}' is also in {seen[rec.name]}; record names "
                        "must be unique across the input files."
                    )
                seen[rec.name] = path
                stats, packed = record_stats(rec)
                codes_fh.write(rec.codes.data)
                codes_sha.update(rec.codes.data)
                mask_fh.write(packed.data)
                length = stats["length"]
                records.append(
                    {"name": rec.name, "description": rec.description, "source": path.name}
                    | {"offset": offset, "softmask_offset": mask_offset}
                    | stats
                )
                log.debug("%s: record %s, %d bp", path.name, rec.name, length)
                offset += length
                mask_offset += packed.shape[0]
            log.info("read %s: %d records so far, %d bp in total", path.name, len(records), offset)
    has_mask = any(r["softmask_count"] for r in records)
    files: dict[str, Any] = {"codes": {"name": CODES_FILE, "size": offset}}
    files["codes"]["sha256"] = codes_sha.hexdigest()
    if has_mask:
        files["softmask"] = {"name": SOFTMASK_FILE, "size": mask_offset}
    else:
        (tmp / SOFTMASK_FILE).unlink()
        files["softmask"] = None
        for r in records:
            r["softmask_offset"] = None
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "on_invalid": on_invalid,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "sources": sources,
        "files": files,
        "totals": _totals(records),
        "records": records,
    }


def _same_inputs(index: dict[str, Any], sources: list[dict], on_invalid: str) -> bool:
    def key(items: list[dict]) -> list[tuple]:
        return [(s["size"], s["sha256"]) for s in items]

    return (
        index.get("format_version") == FORMAT_VERSION
        and index.get("on_invalid") == on_invalid
        and key(index.get("sources", [])) == key(sources)
    )


def prepare_genome(
    fasta: Sequence[str | Path],
    out: str | Path,
    *,
    force: bool = False,
    on_invalid: OnInvalid = "error",
) -> PrepareResult:
    """Encode FASTA files into a prepared genome directory (see the module docstring).

    Args:
        fasta: one or more FASTA files (plain, gzip or bgzip); their records are concatenated.
        out: the output directory.
        force: replace an existing output made from other inputs.
        on_invalid: ``"error"`` or ``"n"``, passed to :func:`findna.data.fasta.read_fasta`.

    Returns:
        The opened genome, and whether the work was skipped because ``out`` was up to date.

    Raises:
        FileNotFoundError: an input does not exist.
        FileExistsError: ``out`` exists and was not made from these inputs (without ``force``).
        ValueError: malformed input, naming the file and line or record.
    """
    t0 = time.perf_counter()
    if not fasta:
        raise ValueError("prepare genome needs at least one FASTA file")
    paths = [Path(p) for p in fasta]
    for p in paths:
        require_file(p, "FASTA file")
    out = Path(out)
    sources = [file_checksums(p) for p in paths]
    index = _existing_index(out) if is_complete(out) else None
    if index is not None and _same_inputs(index, sources, on_invalid):
        log.info("%s is up to date with its inputs; nothing to do", out)
        return PrepareResult(load_genome(out), True, time.perf_counter() - t0)
    if index is not None and not force:
        raise FileExistsError(
            f"{out} holds a genome that was made from other inputs or settings. Pass --force "
            "(force=True) to replace it, or choose another --out directory."
        )
    check_folder(out, GENOME_FOLDER, force=force, inputs=paths)
    # Written into OUT.tmp-<pid> and moved in when complete: a bad record halfway keeps the old
    # genome; --force removes only the files a genome consists of (findna/folders).
    with staged_folder(out, GENOME_FOLDER, force=force) as tmp:
        index = _write(paths, tmp, on_invalid, sources)
        # index.json last: a directory without it is never taken for a finished genome.
        (tmp / INDEX_FILE).write_text(json.dumps(index, indent=1) + "\n")
    return PrepareResult(load_genome(out), False, time.perf_counter() - t0)


def _existing_index(out: Path) -> dict[str, Any] | None:
    """The index of a prepared genome (of any format version) in ``out``, else None."""
    try:
        index = json.loads((out / INDEX_FILE).read_text())
    except (OSError, ValueError):
        return None
    return index if isinstance(index, dict) and index.get("format") == FORMAT else None


GENOME_FOLDER = FolderKind(
    "prepared genome",
    "prepare genome",
    (CODES_FILE, SOFTMASK_FILE, INDEX_FILE),
    lambda p: _existing_index(p) is not None,
)
"""What ``prepare genome`` writes in its folder (and what ``--force`` may remove there)."""


def _read_index(path: Path) -> dict[str, Any]:
    try:
        index = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"{path}: not valid JSON ({err}); prepare the genome again") from None
    if not isinstance(index, dict) or index.get("format") != FORMAT:
        raise ValueError(f"{path}: not a findna genome index (format != '{FORMAT}')")
    if index.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"{path}: genome format version {index.get('format_version')} but this findna reads "
            f"version {FORMAT_VERSION}; prepare the genome again with --force"
        )
    return index


def load_genome(root: str | Path) -> PreparedGenome:
    """Open a prepared genome; file sizes are checked against the index (a cheap check).

    Raises:
        FileNotFoundError: ``root`` or its ``index.json`` is missing (an interrupted prepare).
        ValueError: the index is invalid or a file has the wrong size.
    """
    root = Path(root)
    index_path = root / INDEX_FILE
    if not index_path.is_file():
        raise FileNotFoundError(
            f"{root} is not a prepared genome (no {INDEX_FILE}); run `findna prepare genome "
            f"FASTA... --out {root}` (add --force if an interrupted run left the directory)"
        )
    index = _read_index(index_path)
    for entry in index["files"].values():
        if entry is None:
            continue
        path = root / entry["name"]
        size = path.stat().st_size if path.is_file() else None
        if size != entry["size"]:
            raise ValueError(
                f"{path}: size {size} but {INDEX_FILE} says {entry['size']}; the genome is "
                "damaged, prepare it again with --force"
            )
    length = index["files"]["codes"]["size"]
    codes = (
        np.memmap(root / CODES_FILE, dtype=np.uint8, mode="r", shape=(length,))
        if length
        else np.zeros(0, dtype=np.uint8)
    )
    records = tuple(
        GenomeRecord(
            name=r["name"],
            description=r["description"],
            offset=r["offset"],
            length=r["length"],
            n_count=r["n_count"],
            n_runs=tuple((int(a), int(b)) for a, b in r["n_runs"]),
            softmask_fraction=r["softmask_fraction"],
            gc_fraction=r["gc_fraction"],
            softmask_offset=r["softmask_offset"],
        )
        for r in index["records"]
    )
    return PreparedGenome(root=root, codes=codes, records=records, index=index)


def genome_summary(path: str | Path) -> dict[str, Any]:
    """Records, total bp, N, soft-mask and GC fractions of a prepared genome or a FASTA file.

    A FASTA file is streamed record by record (nothing is written); a prepared directory is
    summarised from its ``index.json``.

    Returns:
        ``{"path", "records", "total_bp", "n_fraction", "softmask_fraction", "gc_fraction",
        "min_record_bp", "max_record_bp", "names"}`` (``names``: the first 20 record names).
    """
    path = Path(path)
    if path.is_dir():
        index = _read_index(path / INDEX_FILE) if (path / INDEX_FILE).is_file() else None
        if index is None:
            load_genome(path)  # raises the helpful FileNotFoundError
        records = index["records"]
    else:
        records = []
        for rec in read_fasta(path, on_invalid="n"):
            stats, _ = record_stats(rec)
            records.append({"name": rec.name} | stats)
    totals = _totals(records)
    lengths = [r["length"] for r in records]
    return {
        "path": str(path),
        "records": totals["records"],
        "total_bp": totals["length"],
        "n_fraction": totals["n_fraction"],
        "softmask_fraction": totals["softmask_fraction"],
        "gc_fraction": totals["gc_fraction"],
        "min_record_bp": min(lengths),
        "max_record_bp": max(lengths),
        "names": [r["name"] for r in records[:20]],
    }
