"""Streaming FASTA reader: plain, gzip or bgzip files, one or many records, any line width.

The file is read in large chunks (no per-base Python loop): each chunk is cut at its last
newline, header lines are located with ``bytes.find``, and sequence lines are joined with
``bytes.translate`` (which drops the line breaks). At most one record is held in memory, about
twice over while it is joined, so a whole human chromosome is fine.

Malformed input is never read partially: every problem raises ``ValueError`` naming the file and
the line or record (sequence before the first header, an empty record or header, a duplicate
record name, NUL or non-ASCII bytes, a truncated or corrupt gzip stream, an empty file).
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np

from findna.data.alphabet import N, OnInvalid, encode, softmask
from findna.outputs import require_file

_CHUNK = 16 << 20  # bytes of decompressed text read at a time
_LINE_BREAKS = b"\r\n\t "  # whitespace dropped from sequence lines
_GZIP_MAGIC = b"\x1f\x8b"
_UTF8_BOM = b"\xef\xbb\xbf"
_ENCODE_PIECE = 1 << 20  # bases encoded per lookup-table call


@dataclass(frozen=True, eq=False)
class FastaRecord:
    """One FASTA record.

    Attributes:
        name: first word of the header (without ``>``).
        description: the rest of the header line, stripped ("" when absent).
        raw: the sequence bytes as written (case kept, line breaks removed), shape (L,).
        codes: (L,) uint8 codes from :func:`findna.data.alphabet.encode` (A=0 C=1 G=2 T=3 N=4).
        source: the file the record came from.
    """

    name: str
    description: str
    raw: bytes
    codes: np.ndarray
    source: str

    def __len__(self) -> int:
        return len(self.raw)

    def softmask(self) -> np.ndarray:
        """(L,) bool track of lower-case (soft-masked) positions."""
        return softmask_chunked(self.raw)


def is_gzip(path: str | Path) -> bool:
    """True when the file starts with the gzip magic bytes (gzip and bgzip both do)."""
    with open(path, "rb") as fh:
        return fh.read(2) == _GZIP_MAGIC


def _open(path: Path) -> BinaryIO:
    # gzip.GzipFile reads every member of a multi-member stream, which is what bgzip writes.
    return gzip.open(path, "rb") if is_gzip(path) else open(path, "rb")


def _chunks(path: Path) -> Iterator[bytes]:
    """Decompressed chunks, with gzip failures turned into a ValueError naming the file."""
    try:
        with _open(path) as fh:
            while chunk := fh.read(_CHUNK):
                yield chunk
    except EOFError:
        raise ValueError(
            f"{path}: the gzip stream ends early (truncated file?). Download or copy it again; "
            "`gzip -t FILE` checks a gzip file."
        ) from None
    except (gzip.BadGzipFile, zlib.error, OSError) as err:
        if isinstance(err, (FileNotFoundError, PermissionError, IsADirectoryError)):
            raise
        raise ValueError(
            f"{path}: not a readable gzip/FASTA file ({err}). `gzip -t FILE` checks a gzip file."
        ) from None


def _lines(path: Path) -> Iterator[tuple[bytes, int]]:
    """Blocks of whole lines (each ending in a newline, except maybe the last) and the 1-based
    line number of the first line of each block. A UTF-8 byte-order mark is dropped, and a file
    whose lines end in a lone CR is read with those as line ends."""
    pending: list[bytes] = []  # a partial line, kept as pieces so long lines copy once
    line_no = 1
    cr_only = False  # old Mac line endings: a lone CR ends each line
    for n, chunk in enumerate(_chunks(path)):
        if n == 0:
            chunk = chunk.removeprefix(_UTF8_BOM)  # written by some Windows editors
            cr_only = b"\r" in chunk and b"\n" not in chunk
        if cr_only:
            chunk = chunk.replace(b"\r", b"\n")
        cut = chunk.rfind(b"\n") + 1
        if not cut:
            pending.append(chunk)
            continue
        block = b"".join([*pending, chunk[:cut]])
        pending = [chunk[cut:]]
        yield block, line_no
        line_no += block.count(b"\n")
    if any(pending):
        yield b"".join(pending), line_no


def _check_bytes(block: bytes, path: Path, line_no: int) -> None:
    """Reject NUL and non-ASCII bytes (binary garbage or a wrong file), naming the line."""
    if block.isascii() and b"\x00" not in block:
        return
    arr = np.frombuffer(block, dtype=np.uint8)
    pos = int(np.flatnonzero((arr == 0) | (arr >= 128))[0])
    line = line_no + block.count(b"\n", 0, pos)
    raise ValueError(
        f"{path}, line {line}: byte 0x{arr[pos]:02x} is not text. FASTA files hold ASCII letters "
        "only; is this a binary, a compressed format other than gzip, or a corrupt file?"
    )


def encode_chunked(raw: bytes, *, on_invalid: OnInvalid = "error", source: str) -> np.ndarray:
    """:func:`~findna.data.alphabet.encode` applied piece by piece into one (L,) uint8 array.

    A lookup-table gather with uint8 indices makes an 8-byte index copy per base; working in
    pieces of ``_ENCODE_PIECE`` bases bounds that temporary (and stays in cache).
    """
    out = np.empty(len(raw), dtype=np.uint8)
    view = memoryview(raw)
    for start in range(0, len(raw), _ENCODE_PIECE):
        piece = view[start : start + _ENCODE_PIECE]
        out[start : start + len(piece)] = encode(
            np.frombuffer(piece, dtype=np.uint8), on_invalid=on_invalid, source=source, offset=start
        )
    return out


def softmask_chunked(raw: bytes) -> np.ndarray:
    """(L,) bool soft-mask track of ``raw``, computed piece by piece like :func:`encode_chunked`."""
    out = np.empty(len(raw), dtype=bool)
    view = memoryview(raw)
    for start in range(0, len(raw), _ENCODE_PIECE):
        piece = view[start : start + _ENCODE_PIECE]
        out[start : start + len(piece)] = softmask(np.frombuffer(piece, dtype=np.uint8))
    return out


def n_runs(codes: np.ndarray) -> np.ndarray:
    """(R, 2) int64 ``[start, end)`` runs of N in a (L,) code array, found piece by piece."""
    edges = [np.zeros(0, dtype=np.int64)]
    prev = False  # whether the base before the piece is N
    for start in range(0, len(codes), _ENCODE_PIECE):
        is_n = codes[start : start + _ENCODE_PIECE] == N
        edges.append(np.flatnonzero(np.diff(is_n, prepend=prev)) + start)
        prev = bool(is_n[-1])
    if prev:
        edges.append(np.array([len(codes)], dtype=np.int64))
    return np.concatenate(edges).astype(np.int64).reshape(-1, 2)


def record_stats(record: FastaRecord) -> tuple[dict[str, Any], np.ndarray]:
    """Statistics of one record and its packed soft-mask track.

    Counts and the mask are computed in pieces of ``_ENCODE_PIECE`` bases (a multiple of 8, so the
    packed pieces concatenate to ``np.packbits`` of the whole track); only the N-run search
    holds a whole-record temporary.

    Returns:
        ``({"length", "n_count", "n_runs", "softmask_count", "softmask_fraction",
        "gc_fraction", "gc_count", "acgt_count"}, packed (ceil(L / 8),) uint8)``.
    """
    codes, raw = record.codes, memoryview(record.raw)
    counts = np.zeros(8, dtype=np.int64)
    packed, masked = [], 0
    for start in range(0, len(codes), _ENCODE_PIECE):
        counts += np.bincount(codes[start : start + _ENCODE_PIECE], minlength=8)[:8]
        mask = softmask(np.frombuffer(raw[start : start + _ENCODE_PIECE], dtype=np.uint8))
        masked += int(np.count_nonzero(mask))
        packed.append(np.packbits(mask))
    acgt, gc = int(counts[:4].sum()), int(counts[1] + counts[2])
    stats = {
        "length": len(codes),
        "n_count": int(counts[N]),
        "n_runs": n_runs(codes).tolist(),
        "softmask_count": masked,
        "softmask_fraction": masked / len(codes),
        "gc_fraction": gc / acgt if acgt else 0.0,
        "gc_count": gc,
        "acgt_count": acgt,
    }
    return stats, np.concatenate(packed)


class _RecordBuilder:
    """Accumulates one record's sequence pieces and turns them into a :class:`FastaRecord`."""

    def __init__(self, path: Path, on_invalid: OnInvalid) -> None:
        self.path = path
        self.on_invalid = on_invalid
        self.seen: set[str] = set()
        self.name: str | None = None
        self.description = ""
        self.header_line = 0
        self.pieces: list[bytes] = []

    def start(self, header: bytes, line_no: int) -> FastaRecord | None:
        done = self.finish()
        text = header[1:].decode("ascii").strip()
        if not text:
            raise ValueError(f"{self.path}, line {line_no}: empty header '>' (no record name)")
        name, *rest = text.split(None, 1)  # the first word, split at any whitespace
        description = rest[0] if rest else ""
        if name in self.seen:
            raise ValueError(
                f"{self.path}, line {line_no}: duplicate record name '{name}'. Record names must "
                "be unique; rename or remove one of them."
            )
        self.seen.add(name)
        self.name, self.description, self.header_line = name, description.strip(), line_no
        return done

    def add(self, seq_lines: bytes, line_no: int) -> None:
        piece = seq_lines.translate(None, _LINE_BREAKS)
        if not piece:
            return
        if self.name is None:
            lead = len(seq_lines) - len(seq_lines.lstrip())
            line_no += seq_lines.count(b"\n", 0, lead)
            raise ValueError(
                f"{self.path}, line {line_no}: sequence before the first header. A FASTA file "
                "starts with a '>name' line; is this a plain sequence file?"
            )
        self.pieces.append(piece)

    def finish(self) -> FastaRecord | None:
        if self.name is None:
            return None
        raw = b"".join(self.pieces)
        self.pieces = []  # drop the pieces before encoding: at most ~2 copies are alive
        if not raw:
            raise ValueError(
                f"{self.path}, line {self.header_line}: record '{self.name}' has no sequence. "
                "Remove the empty record."
            )
        source = f"{self.path}, record '{self.name}'"
        codes = encode_chunked(raw, on_invalid=self.on_invalid, source=source)
        record = FastaRecord(self.name, self.description, raw, codes, str(self.path))
        self.name = None
        return record


def read_fasta(path: str | Path, on_invalid: OnInvalid = "error") -> Iterator[FastaRecord]:
    """Iterate over the records of a FASTA file (plain, gzip or bgzip).

    Args:
        path: a ``.fa``/``.fna``/``.fasta`` file, optionally ``.gz`` (gzip or bgzip).
        on_invalid: what to do with characters outside A C G T N, IUPAC and U: ``"error"``
            raises, ``"n"`` reads them as N.

    Yields:
        One :class:`FastaRecord` per record, in file order.

    Raises:
        FileNotFoundError: when ``path`` does not exist.
        ValueError: naming the file and line or record, for any malformed input, or ``path`` is
            a folder.
    """
    path = require_file(path, "FASTA file")
    builder = _RecordBuilder(path, on_invalid)
    any_record = False
    for block, line_no in _lines(path):
        _check_bytes(block, path, line_no)
        # Header positions: a '>' at the start of the block or right after a newline.
        starts = [0] if block.startswith(b">") else []
        pos = block.find(b"\n>")
        while pos != -1:
            starts.append(pos + 1)
            pos = block.find(b"\n>", pos + 1)
        first = starts[0] if starts else len(block)
        builder.add(block[:first], line_no)
        counted, header_no = 0, line_no  # count newlines incrementally: linear in the block
        for i, start in enumerate(starts):
            header_no += block.count(b"\n", counted, start)
            counted = start
            end = block.find(b"\n", start)
            end = len(block) if end == -1 else end
            done = builder.start(block[start:end], header_no)
            if done is not None:
                yield done
            any_record = True
            stop = starts[i + 1] if i + 1 < len(starts) else len(block)
            builder.add(block[end:stop], header_no + 1)
    done = builder.finish()
    if done is not None:
        yield done
    if not any_record:
        raise ValueError(f"{path}: empty FASTA file (no '>' header found)")
